#!/usr/bin/env bash
# Session 21, call 1: what the profiling costs. DispatchCost (launch cost; launches back to back behind a blocker
# on the profiling queue with and without events and on a queue without profiling), then the bench's wall
# time with the queues profiled (default) and not (-Dtwilight4j.clProfiling=false), and the step's device time behind
# a 1 ms blocker (BlockedStepTimer, -Dtwilight4j.clBlockerUs=1000) without and with profiling, taking turns; SDPA at 16 x 32k.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit --format=csv > "$OUT/device.txt"
timeout 200 bash .device/run.sh io.twilight4j.opencl.DispatchCost 2>&1 | grep -v WARNING > "$OUT/dispatch-cost.txt"
cat "$OUT/dispatch-cost.txt"
run() { # batch ctx extra-props
  timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
    ${3:-} -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl \
    --batch "$1" --ctx "$2" --hq 32 --hkv 8 --dim 128 --policy dense,quest:8192+twilight:0.95 --iterations 50 --no-bandwidth 2>&1 \
    | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend'
}
: > "$OUT/ab.txt"
for round in 1 2; do
  for v in prof plain bplain bprof; do
    case $v in prof) p="";; plain) p="-Dtwilight4j.clProfiling=false";;
      bplain) p="-Dtwilight4j.clProfiling=false -Dtwilight4j.clBlockerUs=1000";; bprof) p="-Dtwilight4j.clBlockerUs=1000";; esac
    shapes="16:32768 1:32768"; case $v in b*) shapes="16:32768";; esac
    for s in $shapes; do
      IFS=: read -r b l <<< "$s"
      echo "== $v round $round batch $b ctx $l" >> "$OUT/ab.txt"
      run "$b" "$l" "$p" >> "$OUT/ab.txt"
    done
  done
done
timeout 120 python3 .device/peer_attention.py --batch 16 --ctx 32768 --hq 32 --hkv 8 --dim 128 --json "$OUT/peer.json" > "$OUT/peer.txt" 2>&1
awk '/^==/ {h=$2" r"$4" "$6"x"$8} /^dense / {d=$6} /^quest:8192\+/ {print h, "dense wall", d, "q+t wall", $6, "step", $NF}' "$OUT/ab.txt"
tail -3 "$OUT/peer.txt"
