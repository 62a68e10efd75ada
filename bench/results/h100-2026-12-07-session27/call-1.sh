#!/usr/bin/env bash
# Session 27, call 1: the build with the bench's kept-mass column (no kernel change since session 21's kernels),
# the three batch >= 16 Hkv 8 shapes of the targets with SDPA in the same call; also full+twilight:0.95.
# Results: $OUT (devices.txt, peer_hkv8.json, ours.jsonl, log.txt, summary.md).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
POLICIES=quest:8192,quest:8192+twilight:0.95,full+twilight:0.95 PEER_HKV=8 OUT="$OUT" \
  bash bench/gpu/run-h100.sh "16:32768:8 16:131072:8 64:32768:8" > "$OUT/run.txt" 2>&1
python3 bench/gpu/summarize.py "$OUT" > "$OUT/summary.md" 2>&1
cat "$OUT/summary.md"
grep -h '"policy"' "$OUT/ours.jsonl" | python3 -c 'import sys,json
for l in sys.stdin:
    r=json.loads(l); print(r["batch"], r["ctx"], r["policy"], "median %.3f step %.3f rel %.3e mass %.3f/%.3f" % (r["median_ms"], r["step_ms"], r["rel_error"], r["kept_mass_mean"], r["kept_mass_min"]))'
