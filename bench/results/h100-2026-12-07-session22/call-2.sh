#!/usr/bin/env bash
# Session 22, call 2: the grid (part 1 of 3) with this build (plain queues, step between markers),
# SDPA for Hkv 8 in the same call. Results: $OUT (devices.txt, peer_hkv8.json, ours.jsonl, log.txt).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
PEER_HKV=8 OUT="$OUT" bash bench/gpu/run-h100.sh "16:32768:8 16:131072:8 1:32768:8 1:131072:8 64:32768:8" > "$OUT/run.txt" 2>&1
python3 bench/gpu/summarize.py "$OUT" > "$OUT/summary.md" 2>&1
cat "$OUT/summary.md"
