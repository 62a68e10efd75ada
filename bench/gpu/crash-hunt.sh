#!/usr/bin/env bash
# Crash hunt on the GPU machine (after ../shared/device/pack.sh): short `bench attention --backend opencl` JVMs
# (batch 16, ctx 8192, dense, one iteration: mostly JVM start, OpenCL set-up and the cache fill) from each jar
# folder given, 4 of each at a time, until LIMIT seconds have passed; then exit codes per folder. For crashes
# that come in a few percent of runs (SIGSEGV, exit 139, during the cache fill): compare builds side by side.
#   LIMIT=150 bash bench/gpu/crash-hunt.sh .device/lib-old .device/lib
# Output in $OUT: rcs.txt (folder, run, exit code), failed.txt (the last lines of each failed run), hs_err_*.log.
set -u
OUT=${OUT:-/tmp/twilight4j-out}
mkdir -p "$OUT"
[ $# -ge 1 ] || { echo "usage: crash-hunt.sh JAR_FOLDER..." >&2; exit 2; }
start=$(date +%s)
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
one() { # folder run
  local log=/tmp/crash-hunt-$(basename "$1")-$2.txt
  timeout 90 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx16g \
    -XX:ErrorFile="$OUT/hs_err_%p.log" -cp "$1/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 \
    --ctx 8192 --hq 32 --hkv 8 --dim 128 --policy dense --iterations 1 --no-bandwidth > "$log" 2>&1
  local rc=$?
  echo "$1 $2 rc $rc" >> "$OUT/rcs.txt"
  [ $rc -ne 0 ] && { echo "== $1 $2 rc $rc"; tr '\r' '\n' < "$log" | grep -v WARNING | tail -5; } >> "$OUT/failed.txt"
}
i=0
while :; do # at least one round
  for j in 1 2 3 4; do
    i=$((i + 1))
    for folder in "$@"; do one "$folder" $i & done
  done
  wait
  [ $(( $(date +%s) - start )) -ge "${LIMIT:-200}" ] && break
done
for folder in "$@"; do
  echo "$folder: $(grep -c "^$folder " "$OUT/rcs.txt") runs, exit codes: $(grep "^$folder " "$OUT/rcs.txt" | awk '{print $4}' | sort | uniq -c | tr -s ' ' | tr '\n' ';')"
done
ls "$OUT" | grep hs_err | head
echo "elapsed $(( $(date +%s) - start )) s"
