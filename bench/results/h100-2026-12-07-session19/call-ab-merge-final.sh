#!/usr/bin/env bash
# Session 19: attend_merge with staged maxima and sums and a work-item per channel for each 32 chunks (up to 4), against the build before
# (.device/lib-old), dense attention at batch 1 (8k, 32k, 128k) and 16 x 32k, Hkv 8; the builds take turns.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING > "$OUT/fastpath.txt"
: > "$OUT/ab.txt"
for round in 1 2; do
  for lib in lib-old lib; do
    for s in 1:32768:8 16:32768:8; do
      IFS=: read -r b l h <<< "$s"
      echo "== $lib round $round batch $b ctx $l hkv $h" >> "$OUT/ab.txt"
      timeout 100 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx40g \
        -Dtwilight4j.kernelProfile=true -cp ".device/$lib/*" io.twilight4j.cli.Main bench attention --backend opencl \
        --batch "$b" --ctx "$l" --hq 32 --hkv "$h" --dim 128 --policy quest:8192,quest:8192+twilight:0.95 --iterations 30 --no-bandwidth 2>&1 \
        | tr '\r' '\n' | grep -e 'attend_' -e '^dense' -e '^quest' >> "$OUT/ab.txt"
    done
  done
done
grep -c ok "$OUT/fastpath.txt"; grep -v ' ok$' "$OUT/fastpath.txt" | head -5
awk '/^==/ {h=$2" "$6"x"$8; n=0} /attend_merge/ {n++; if (n == 1) dm=$10; else qm=$10} /^dense/ {print h, "dense merge", dm, "us, step", $NF, "ms"} /^quest:8192 / {print h, "quest:8192 merge", qm, "us, step", $NF, "ms"} /^quest:8192\+/ {print h, "q+t step", $NF, "ms"}' "$OUT/ab.txt"
