#!/usr/bin/env bash
# Session 23, call 1: this session's build (lib: OpenClDecodeAttention.run picks the queues its own plan needs,
# BlockedStepTimer gone; no kernel changed) against the session's start (base, 6a7aaff) on one machine, taking turns:
# FastPathCheck of lib, then quest+twilight at 16 x 32k and 1 x 32k, Hkv 8, two rows per JVM, two rounds.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version --format=csv > "$OUT/device.txt" 2>&1
timeout 200 bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING > "$OUT/fastpath.txt"
tail -3 "$OUT/fastpath.txt"
deps=$(ls .device/lib/*.jar | grep -v twilight4j | tr '\n' ':')
: > "$OUT/ab.txt"
for round in 1 2; do
  for v in base lib; do
    if [ $v = base ]; then cp=".device/base/*:$deps"; else cp=".device/lib/*"; fi
    for s in 16:32768 1:32768; do
      IFS=: read -r b l <<< "$s"
      echo "== $v round $round batch $b ctx $l" >> "$OUT/ab.txt"
      timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
        -cp "$cp" io.twilight4j.cli.Main bench attention --backend opencl \
        --batch "$b" --ctx "$l" --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95,quest:8192+twilight:0.95 \
        --iterations 40 --no-bandwidth 2>&1 | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend' >> "$OUT/ab.txt"
    done
  done
done
cat "$OUT/device.txt"
awk '/^==/ {h=$2" r"$4" "$6"x"$8} /^(dense|quest)/ {print h, $1, "wall", $6, "step", $NF}' "$OUT/ab.txt"
