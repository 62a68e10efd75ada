#!/usr/bin/env bash
# Runs on the GPU machine through the device tool (see ../../README.md, "GPU"): lists the device, runs
# the PyTorch SDPA peer and our OpenCL dense / quest / quest+twilight for each shape, all in one call,
# so every ratio compares numbers measured in the same run. Results go to $OUT:
#   devices.txt  ours.jsonl (one JSON row per policy and shape)  peer_hkv8.json  peer_hkv32.json  log.txt
# Usage (from the project root, after ../shared/device/pack.sh and copying peer_attention.py to .device/):
#   bash bench/gpu/run-h100.sh "16:32768:8 16:131072:8 ..."    (batch:ctx:hkv list; default below)
# SKIP_PEER=1 leaves SDPA out; PEER_HKV="8" runs the peer for those KV-head counts only (default "8 32").
# Then: python3 bench/gpu/summarize.py <results folder> > <results folder>/summary.md
set -uo pipefail
OUT=${OUT:-/tmp/twilight4j-out}
mkdir -p "$OUT"
shapes=${1:-"16:32768:8 16:131072:8 1:32768:8 1:131072:8 64:32768:8 16:8192:8 1:8192:8 64:8192:8 64:131072:8 1:32768:32 16:32768:32 16:8192:32 1:8192:32 1:131072:32"}
policies=${POLICIES:-quest:8192,quest:8192+twilight:0.95}
# JAVA_OPTS: further JVM options for every bench run (e.g. a -Dtwilight4j.* knob under test).
# BENCH_ARGS: further bench attention options for every shape (e.g. --no-key-smoothing).
java="bash .device/run.sh -Xmx100g -XX:ErrorFile=$OUT/hs_err_%p.log ${JAVA_OPTS:-} io.twilight4j.cli.Main"
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  $java devices
  echo "profilers: $(command -v ncu nsys || echo none)"
} > "$OUT/devices.txt" 2>&1
cat "$OUT/devices.txt"
# Fast-path kernels against their portable variants (CI's PoCL builds only the portable ones).
bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING | tee -a "$OUT/devices.txt"
if [ -z "${SKIP_PEER:-}" ]; then
  for hkv in ${PEER_HKV:-8 32}; do
    batches=1,16,64
    [ "$hkv" = 32 ] && batches=1,16
    PYTHONUNBUFFERED=1 timeout 300 python3 .device/peer_attention.py --batch $batches --ctx 8192,32768,131072 --hq 32 --hkv "$hkv" --dim 128 --json "$OUT/peer_hkv$hkv.json" 2>&1 | tee -a "$OUT/log.txt"
  done
fi
: > "$OUT/ours.jsonl"
for s in $shapes; do
  IFS=: read -r b l h <<< "$s"
  echo "== batch $b ctx $l hkv $h" | tee -a "$OUT/log.txt"
  for attempt in 1 2; do
    timeout 240 $java bench attention --backend opencl --batch "$b" --ctx "$l" --hq 32 --hkv "$h" --dim 128 \
      --policy "$policies" --iterations 30 --no-bandwidth ${BENCH_ARGS:-} --json "$OUT/row.json" 2>&1 | tr '\r' '\n' | grep -v '^filling' | tee -a "$OUT/log.txt"
    [ "${PIPESTATUS[0]}" -ne 139 ] && break
    # Some JVMs die with SIGSEGV and no log while the cache fills (h100-2026-12-06-session14): run it once more.
    echo "(this JVM died with SIGSEGV, exit 139; attempt $attempt of 2)" | tee -a "$OUT/log.txt"
  done
  [ -f "$OUT/row.json" ] && cat "$OUT/row.json" >> "$OUT/ours.jsonl" && rm -f "$OUT/row.json"
done
echo "done" | tee -a "$OUT/log.txt"
