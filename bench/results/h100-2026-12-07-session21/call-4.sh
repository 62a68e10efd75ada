#!/usr/bin/env bash
# Session 21, call 4 (on call 2's still-held machine): base (b066fc5: profiled queues, step from kernel events) and
# lib (plain queues for latency, step between two markers) taking turns three times at 16 x 32k, quest+twilight
# twice per JVM, to see the run-to-run spread behind calls 2 and 3.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
: > "$OUT/ab.txt"
for round in 1 2 3; do
  for v in base lib; do
    cp=".device/lib/*"; [ $v = base ] && cp=".device/base/*:$deps"
    echo "== $v round $round batch 16 ctx 32768" >> "$OUT/ab.txt"
    timeout 100 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g -cp "$cp" \
      io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx 32768 --hq 32 --hkv 8 --dim 128 \
      --policy quest:8192+twilight:0.95,quest:8192+twilight:0.95 --iterations 40 --no-bandwidth 2>&1 \
      | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend' >> "$OUT/ab.txt"
  done
done
awk '/^==/ {h=$2" r"$4} /^quest:8192\+/ {print h, "q+t wall", $6, "step", $NF}' "$OUT/ab.txt"
