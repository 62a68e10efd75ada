#!/usr/bin/env bash
# Session 20, call 1: Quest scoring's queries quantized by the warp together (lib) against HEAD b066fc5 (base);
# then phase marks of every kernel of the new build at 16 x 32k and 1 x 32k.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > "$OUT/device.txt"
bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING > "$OUT/fastpath.txt"
run() { # lib batch ctx extra-props
  timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
    -Dtwilight4j.kernelProfile=true ${4:-} -cp ".device/$1/*" io.twilight4j.cli.Main bench attention --backend opencl \
    --batch "$2" --ctx "$3" --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth 2>&1 \
    | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend'
}
: > "$OUT/ab.txt"
for round in 1 2; do
  for lib in base lib; do
    for s in 16:32768 1:32768; do
      IFS=: read -r b l <<< "$s"
      echo "== $lib round $round batch $b ctx $l" >> "$OUT/ab.txt"
      run "$lib" "$b" "$l" >> "$OUT/ab.txt"
    done
  done
done
: > "$OUT/phases.txt"
for s in 16:32768 1:32768; do
  IFS=: read -r b l <<< "$s"
  echo "== lib phases batch $b ctx $l" >> "$OUT/phases.txt"
  run lib "$b" "$l" -Dtwilight4j.phaseTimes=true >> "$OUT/phases.txt"
done
grep -c ' ok$' "$OUT/fastpath.txt"; grep -v ' ok$' "$OUT/fastpath.txt" | grep -v '^fast-path' | head -5
awk '/^==/ {h=$2" r"$4" "$6"x"$8} /quest_page_scores/ {qs=$(NF-8)} /select_top/ {st=$(NF-8)} /estimate_top_p/ {et=$(NF-8)} /attend_partial/ {ap=$(NF-8)} /^quest:8192\+/ {print h, "quest", qs, "select", st, "est", et, "att", ap, "step", $NF, "wall", $6}' "$OUT/ab.txt"
