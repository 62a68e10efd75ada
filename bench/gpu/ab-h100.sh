#!/usr/bin/env bash
# A/B of two builds on the GPU machine (through the device tool, after ../shared/device/pack.sh): per-kernel
# device times (-Dtwilight4j.kernelProfile=true) of `bench attention` for each shape, the baseline and the
# build under test taking turns in one call, so their numbers compare like with like. .device/lib holds the
# build under test (pack.sh); $BASE (default .device/base) holds only the baseline's project jars
# (twilight4j-*.jar, e.g. from a `git worktree` of the baseline commit built with `mvn -DskipTests package`),
# run against the same dependency jars. KNOBS (space-separated, each a comma-separated list of JVM -D options,
# "-" for none) runs the build under test once per entry. Output: $OUT/ab.txt (and hs_err_<pid>.log of a JVM that
# crashed: two bench runs out of ~40 died with SIGSEGV on the H100 on 2026-12-06, cause not yet known).
#   KNOBS="- -Dtwilight4j.someKnob=2" bash bench/gpu/ab-h100.sh "16:131072:8 16:32768:8"
set -uo pipefail
OUT=${OUT:-/tmp/twilight4j-out}
mkdir -p "$OUT"
shapes=${1:-"16:131072:8 16:32768:8"}
policies=${POLICIES:-quest:8192+twilight:0.95}
base=${BASE:-.device/base}
rounds=${ROUNDS:-1}
knobs=${KNOBS:--}
DEVICE_JAVA_ONLY=1 bash .device/run.sh
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-/tmp/icd}
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
bench() { # classpath batch ctx hkv [-D options]
  for attempt in 1 2; do
    timeout 200 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g \
      -XX:ErrorFile="$OUT/hs_err_%p.log" -Dtwilight4j.kernelProfile=true ${5:-} -cp "$1" io.twilight4j.cli.Main bench attention --backend opencl \
      --batch "$2" --ctx "$3" --hq 32 --hkv "$4" --dim 128 --policy "$policies" --iterations 30 --no-bandwidth 2>&1 | tr '\r' '\n' \
      | grep -v -e '^filling' -e WARNING
    [ "${PIPESTATUS[0]}" -ne 139 ] && return
    # Some JVMs die with SIGSEGV and no log while the cache fills (h100-2026-12-06-session14): run it once more.
    echo "(this JVM died with SIGSEGV, exit 139; attempt $attempt of 2)"
  done
}
{
  date -u
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  echo "baseline: $(ls "$base" | tr '\n' ' ')"
  bash .device/run.sh io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING
  # Again with stages of 64 token slots: its small shapes then walk several stages of the staged loops.
  bash .device/run.sh -Dtwilight4j.stageTokens=64 io.twilight4j.opencl.FastPathCheck 2>&1 | grep -v WARNING
  for s in $shapes; do
    IFS=: read -r b l h <<< "$s"
    for r in $(seq "$rounds"); do
      echo "== batch $b ctx $l hkv $h: baseline (round $r)"
      bench "$base/*:$deps" "$b" "$l" "$h"
      for k in $knobs; do
        props=${k//,/ }
        [ "$k" = "-" ] && props=""
        echo "== batch $b ctx $l hkv $h: under test ${props:-(defaults)} (round $r)"
        bench ".device/lib/*" "$b" "$l" "$h" "$props"
      done
    done
  done
} 2>&1 | tee "$OUT/ab.txt"
