#!/usr/bin/env bash
# Per-kernel device times of the sparse pipeline (workbench; runs on the GPU machine through the device
# tool after ../shared/device/pack.sh): FastPathCheck first, then `bench attention` with the plan's
# per-kernel table (-Dtwilight4j.kernelProfile=true) for each shape and each value of the knobs in
# $KNOBS (space-separated JVM -D lists, "-" for none). Output: $OUT/profile.txt.
#   bash bench/gpu/profile-h100.sh "16:131072:8 16:32768:8"
set -uo pipefail
OUT=${OUT:-/tmp/twilight4j-out}
mkdir -p "$OUT"
shapes=${1:-"16:131072:8 16:32768:8"}
policies=${POLICIES:-dense,quest:8192,quest:8192+twilight:0.95}
knobs=${KNOBS:--}
{
  date -u
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING
  for s in $shapes; do
    IFS=: read -r b l h <<< "$s"
    for k in $knobs; do
      props=${k//,/ }
      [ "$k" = "-" ] && props=""
      echo "== batch $b ctx $l hkv $h ${props:-(defaults)}"
      timeout 200 bash .device/run.sh -Xmx100g -Dtwilight4j.kernelProfile=true $props io.twilight4j.cli.Main \
        bench attention --backend opencl --batch "$b" --ctx "$l" --hq 32 --hkv "$h" --dim 128 \
        --policy "$policies" --iterations 30 --no-bandwidth 2>&1 | tr '\r' '\n' | grep -v -e '^filling' -e WARNING
    done
  done
} 2>&1 | tee "$OUT/profile.txt"
