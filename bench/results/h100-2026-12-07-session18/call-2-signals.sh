#!/usr/bin/env bash
# Session 18, call 2 (copy to .device/ and run with carry [".device"]): whether the JVM's signal handlers survive
# the OpenCL drivers now (io.twilight4j.opencl.JvmSignals), then the crash hunt with and without the guard.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
echo "OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-unset}; vendors: $(ls ${OCL_ICD_VENDORS:-/etc/OpenCL/vendors} 2>&1 | tr '\n' ' ')" | tee "$OUT/signals.txt"
for keep in "" "-Dtwilight4j.clDriverSignals=keep"; do
  echo "== -Xcheck:jni ${keep:-(guard on)}" | tee -a "$OUT/signals.txt"
  timeout 120 /tmp/jre/bin/java -Xcheck:jni -Dorg.slf4j.simpleLogger.log.io.twilight4j.opencl.JvmSignals=debug $keep \
    --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx16g -cp ".device/lib/*" io.twilight4j.cli.Main \
    bench attention --backend opencl --batch 16 --ctx 8192 --hq 32 --hkv 8 --dim 128 --policy dense --iterations 1 --no-bandwidth 2>&1 \
    | tr '\r' '\n' | grep -v '^filling\|^WARNING' | grep -i 'signal\|modified\|Expected\|^dense\|backend' | tee -a "$OUT/signals.txt"
  echo "exit ${PIPESTATUS[0]}" | tee -a "$OUT/signals.txt"
done
# The safepoint race (bench/results/cpu-2026-12-07-session18/SafepointRaceHarness.java.txt, compiled into .device/race/):
# 4 x RACE_ROUNDS (default 10) runs per variant, 8 at a time.
race() { # variant run
  local opt=; [ "$1" = keep ] && opt=-Dtwilight4j.clDriverSignals=keep
  timeout 60 /tmp/jre/bin/java $opt --enable-native-access=ALL-UNNAMED -cp ".device/race:.device/lib/*" Race > /dev/null 2>&1
  echo "$1 $2 rc $?" >> "$OUT/race.txt"
}
: > "$OUT/race.txt"
for round in $(seq "${RACE_ROUNDS:-10}"); do
  for j in 1 2 3 4; do race keep "$round.$j" & race guard "$round.$j" & done
  wait
done
for v in keep guard; do
  awk -v v=$v '$1 == v { n++; c[$4]++ } END { printf "race %s: %d runs, exit codes:", v, n; for (k in c) printf " %s x%d", k, c[k]; print "" }' "$OUT/race.txt"
done
CTX=${CTX:-16384} LIMIT=${LIMIT:-240} bash bench/gpu/crash-hunt.sh .device/lib .device/lib@-Dtwilight4j.clDriverSignals=keep 2>&1 | grep -v 'Illegal instruction\|Segmentation' | tail -8
