#!/usr/bin/env bash
# Session 21, call 3 (call 2 again on its still-held machine, without SDPA and 128k): the build whose latency pass runs on queues without profiling and whose step column is the span
# between two markers around the step, its kernels without events (lib), against b066fc5 (base: every queue
# profiled, the step from the kernels' events), taking turns; SDPA at the same shapes.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv > "$OUT/device.txt"
run() { # batch ctx extra-props classpath
  timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
    ${3:-} -cp "$4" io.twilight4j.cli.Main bench attention --backend opencl \
    --batch "$1" --ctx "$2" --hq 32 --hkv 8 --dim 128 --policy dense,quest:8192+twilight:0.95 --iterations 40 --no-bandwidth 2>&1 \
    | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend'
}
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
: > "$OUT/ab.txt"
for round in 1; do
  for v in base lib; do
    cp=".device/lib/*"; p=""
    case $v in base) cp=".device/base/*:$deps";; esac
    for s in 16:32768 1:32768; do
      IFS=: read -r b l <<< "$s"
      echo "== $v round $round batch $b ctx $l" >> "$OUT/ab.txt"
      run "$b" "$l" "$p" "$cp" >> "$OUT/ab.txt"
    done
  done
done

awk '/^==/ {h=$2" r"$4" "$6"x"$8} /^dense / {d=$6; ds=$NF} /^quest:8192\+/ {print h, "dense wall", d, "step", ds, "| q+t wall", $6, "step", $NF}' "$OUT/ab.txt"

