#!/usr/bin/env bash
# Session 19: attend_merge with the chunks' maxima and sums staged in local memory, against the build before
# (.device/lib-old), dense attention at batch 1 (8k, 32k, 128k) and 16 x 32k, Hkv 8; the builds take turns.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING > "$OUT/fastpath.txt"
: > "$OUT/ab.txt"
for round in 1 2; do
  for lib in lib-old lib; do
    for s in 1:8192:8 1:32768:8 1:131072:8 16:32768:8; do
      IFS=: read -r b l h <<< "$s"
      echo "== $lib round $round batch $b ctx $l hkv $h" >> "$OUT/ab.txt"
      timeout 100 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx40g \
        -Dtwilight4j.kernelProfile=true -cp ".device/$lib/*" io.twilight4j.cli.Main bench attention --backend opencl \
        --batch "$b" --ctx "$l" --hq 32 --hkv "$h" --dim 128 --policy dense --iterations 30 --no-bandwidth 2>&1 \
        | tr '\r' '\n' | grep -e 'attend_' -e '^dense' >> "$OUT/ab.txt"
    done
  done
done
grep -c ok "$OUT/fastpath.txt"; grep -v ' ok$' "$OUT/fastpath.txt" | head -5
awk '/^==/ {h=$2" "$6"x"$8} /attend_merge/ {m=$(NF-8)} /^dense/ {print h, "merge", m, "us, step", $NF, "ms"}' "$OUT/ab.txt"
