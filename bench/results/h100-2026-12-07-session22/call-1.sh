#!/usr/bin/env bash
# Session 22, call 1 (prepared in session 21 as its call 5): a sparse step of 128 entries cut in two slices on two queues (-Dtwilight4j.clSlices=2) against
# one (the default below 512 entries), now that kernels carry no profiling events (session 7 measured it with them:
# 0.168 -> 0.188 ms at 16 x 32k); two rounds taking turns, step between markers, two quest+twilight rows per JVM.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
: > "$OUT/ab.txt"
for round in 1 2; do
  for v in s1 s2; do
    for s in 16:32768 16:131072; do
      IFS=: read -r b l <<< "$s"
      echo "== $v round $round batch $b ctx $l" >> "$OUT/ab.txt"
      timeout 100 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
        -Dtwilight4j.clSlices=${v#s} -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl \
        --batch "$b" --ctx "$l" --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95,quest:8192+twilight:0.95 \
        --iterations 40 --no-bandwidth 2>&1 | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend' >> "$OUT/ab.txt"
    done
  done
done
awk '/^==/ {h=$2" r"$4" "$6"x"$8} /^quest:8192\+/ {print h, "q+t wall", $6, "step", $NF}' "$OUT/ab.txt"
