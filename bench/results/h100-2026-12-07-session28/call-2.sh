#!/usr/bin/env bash
# Session 28, call 2: the new +topp:P stage (exact_scores kernel) on the NVIDIA driver, against +twilight:P, at
# 1 x 32k (the same workload as the CPU rows of ../cpu-2026-12-07-session28/topp-32k.txt) and 16 x 32k. No SDPA.
# Results: $OUT (devices.txt with FastPathCheck, ours.jsonl, log.txt).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
SKIP_PEER=1 POLICIES=full+topp:0.95,full+twilight:0.95,quest:8192+topp:0.95,quest:8192+twilight:0.95 OUT="$OUT" \
  bash bench/gpu/run-h100.sh "1:32768:8 16:32768:8" > "$OUT/run.txt" 2>&1
grep -h '"policy"' "$OUT/ours.jsonl" | python3 -c 'import sys,json
for l in sys.stdin:
    r=json.loads(l); print(r["batch"], r["ctx"], r["policy"], "median %.3f step %.3f budget %.1f/%d/%d rel %.3e mass %.3f/%.3f" % (r["median_ms"], r["step_ms"], r["budget_mean"], r["budget_min"], r["budget_max"], r["rel_error"], r["kept_mass_mean"], r["kept_mass_min"]))'
grep -h 'max |fast' "$OUT/devices.txt" | sort | uniq -c | head -3
