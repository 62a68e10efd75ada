#!/usr/bin/env bash
# Session 20, call 4: Quest scoring and the select_top rows in the estimate_top_p launch (lib) against HEAD b066fc5 (base)
# and the same build with -Dtwilight4j.clFuseQuest=false (sel: only select_top in the launch) and
# -Dtwilight4j.clFuseSelect=false (none: both launched apart, as before).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.applications.graphics,clocks.mem,power.limit --format=csv > "$OUT/device.txt"
bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING > "$OUT/fastpath.txt"
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
run() { # classpath batch ctx extra-props
  timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g \
    -Dtwilight4j.kernelProfile=true ${4:-} -cp "$1" io.twilight4j.cli.Main bench attention --backend opencl \
    --batch "$2" --ctx "$3" --hq 32 --hkv 8 --dim 128 --policy quest:8192,quest:8192+twilight:0.95 --iterations 30 --no-bandwidth 2>&1 \
    | tr '\r' '\n' | grep -v -e '^filling' -e WARNING -e '^measuring' -e '^backend'
}
( for i in $(seq 5); do nvidia-smi --query-gpu=clocks.sm,clocks.mem,power.draw,utilization.gpu --format=csv,noheader; sleep 2; done ) > "$OUT/clocks.txt" 2>&1 &
: > "$OUT/ab.txt"
for round in 1; do
  for v in base lib none; do
    case $v in base) cp=".device/base/*:$deps"; p="";; lib) cp=".device/lib/*"; p="";; sel) cp=".device/lib/*"; p="-Dtwilight4j.clFuseQuest=false";; none) cp=".device/lib/*"; p="-Dtwilight4j.clFuseSelect=false";; esac
    for s in 16:32768 1:32768; do
      IFS=: read -r b l <<< "$s"
      echo "== $v round $round batch $b ctx $l" >> "$OUT/ab.txt"
      run "$cp" "$b" "$l" "$p" >> "$OUT/ab.txt"
    done
  done
done
wait
grep -c ' ok$' "$OUT/fastpath.txt"; grep -v ' ok$' "$OUT/fastpath.txt" | grep -v '^fast-path' | head -5
awk '/^==/ {h=$2" r"$4" "$6"x"$8; n=0} /kernel times of plan quest:8192\+/ {qs="-"; st="-"} /quest_page_scores/ {n++; if (n==1) q1=$(NF-8); else qs=$(NF-8)} /select_top/ {st=$(NF-8)} /estimate_top_p/ {et=$(NF-8)} /attend_partial/ {ap=$(NF-8)} /^quest:8192 / {qa=$NF} /^quest:8192\+/ {print h, "questonly quest", q1, "step", qa, "| q+t quest", qs, "select", st, "est", et, "att", ap, "step", $NF, "wall", $6}' "$OUT/ab.txt"
sort "$OUT/clocks.txt" | uniq -c | sort -rn | head -5
