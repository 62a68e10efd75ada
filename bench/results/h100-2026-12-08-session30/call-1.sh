#!/usr/bin/env bash
# Session 30, call 1: key smoothing (kv.KeySmoothing) and Quest's GQA ranking on the NVIDIA driver. FastPathCheck (now on a smoothed
# cache), SDPA for Hkv 8, then dense / quest:8192 / quest:8192+twilight:0.95 (and :head) / full+twilight:0.95 at 16 x 32k and
# 16 x 128k with key smoothing (the bench's default), and 16 x 32k again without (--no-key-smoothing, in plain/: one shape, so the call fits its 10 minutes).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT/plain"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
P=quest:8192,quest:8192+twilight:0.95,quest:8192+twilight:0.95:head,full+twilight:0.95
PEER_HKV=8 POLICIES=$P OUT="$OUT" bash bench/gpu/run-h100.sh "16:32768:8 16:131072:8" > "$OUT/run.txt" 2>&1
SKIP_PEER=1 BENCH_ARGS=--no-key-smoothing POLICIES=$P OUT="$OUT/plain" bash bench/gpu/run-h100.sh "16:32768:8" \
  > "$OUT/plain/run.txt" 2>&1
for f in "$OUT/ours.jsonl" "$OUT/plain/ours.jsonl"; do
  echo "== $f"
  grep -h '"policy"' "$f" | python3 -c 'import sys,json
for l in sys.stdin:
    r=json.loads(l); print(r["batch"], r["ctx"], "%-26s" % r["policy"], "median %.3f step %.3f budget %.1f/%d/%d rel %.3e mass %.3f/%.3f" % (r["median_ms"], r["step_ms"], r["budget_mean"], r["budget_min"], r["budget_max"], r["rel_error"], r["kept_mass_mean"], r["kept_mass_min"]))'
done
grep -h 'max |fast' "$OUT/devices.txt" | awk '{print $NF}' | sort | uniq -c
python3 -c "import json; [print(r[\"batch\"], r[\"ctx\"], \"sdpa %.3f ms\" % r[\"sdpa_ms\"]) for r in json.load(open(\"$OUT/peer_hkv8.json\")) if r[\"batch\"] == 16]"
