#!/usr/bin/env bash
# Crash hunt on the GPU machine (after ../shared/device/pack.sh): short `bench attention --backend opencl` JVMs
# (batch 16, ctx $CTX (default 8192), dense, one iteration: mostly JVM start, OpenCL set-up and the cache fill)
# of each variant given, 4 of each at a time, until LIMIT seconds have passed; then exit codes per variant. For
# crashes that come in a few percent of runs (SIGSEGV, exit 139, during the cache fill): compare side by side.
# A variant is a jar folder, optionally with java options after '@', comma-separated:
#   LIMIT=150 bash bench/gpu/crash-hunt.sh .device/lib-old .device/lib
#   CTX=32768 bash bench/gpu/crash-hunt.sh .device/lib .device/lib@-Dtwilight4j.clDriverSignals=keep
# Output in $OUT: rcs.txt (variant, run, exit code), failed.txt (the last lines of each failed run), hs_err_*.log.
set -u
OUT=${OUT:-/tmp/twilight4j-out}
mkdir -p "$OUT"
[ $# -ge 1 ] || { echo "usage: crash-hunt.sh JAR_FOLDER..." >&2; exit 2; }
start=$(date +%s)
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
one() { # variant run
  local folder=${1%%@*} opts=
  [[ "$1" == *@* ]] && opts=${1#*@}
  local log=/tmp/crash-hunt-$(echo "$1" | tr -c 'A-Za-z0-9\n' _)-$2.txt
  # shellcheck disable=SC2086 # the options are words
  timeout 90 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx16g \
    -XX:ErrorFile="$OUT/hs_err_%p.log" ${opts//,/ } -cp "$folder/*" io.twilight4j.cli.Main bench attention --backend opencl \
    --batch 16 --ctx "${CTX:-8192}" --hq 32 --hkv 8 --dim 128 --policy dense --iterations 1 --no-bandwidth > "$log" 2>&1
  local rc=$?
  echo "$1 $2 rc $rc" >> "$OUT/rcs.txt"
  [ $rc -ne 0 ] && { echo "== $1 $2 rc $rc"; tr '\r' '\n' < "$log" | grep -v WARNING | tail -5; } >> "$OUT/failed.txt"
}
i=0
while :; do # at least one round
  for j in 1 2 3 4; do
    i=$((i + 1))
    for variant in "$@"; do one "$variant" $i & done
  done
  wait
  [ $(( $(date +%s) - start )) -ge "${LIMIT:-200}" ] && break
done
for variant in "$@"; do
  awk -v v="$variant" '$1 == v { n++; c[$4]++ } END { printf "%s: %d runs, exit codes:", v, n; for (k in c) printf " %s x%d", k, c[k]; print "" }' "$OUT/rcs.txt"
done
ls "$OUT" | grep hs_err | head
echo "elapsed $(( $(date +%s) - start )) s"
