#!/usr/bin/env bash
# Session 20, call 5 (warm machine): select_top rows alone in the estimate_top_p launch (-Dtwilight4j.clFuseQuest=false) against base.
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
[ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
for v in base sel; do
  case $v in base) cp=".device/base/*:$deps"; p="";; sel) cp=".device/lib/*"; p="-Dtwilight4j.clFuseQuest=false";; esac
  for s in 16:32768 1:32768; do
    IFS=: read -r b l <<< "$s"
    echo "== $v batch $b ctx $l" >> "$OUT/ab.txt"
    timeout 60 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx60g -Dtwilight4j.kernelProfile=true $p \
      -cp "$cp" io.twilight4j.cli.Main bench attention --backend opencl --batch "$b" --ctx "$l" --hq 32 --hkv 8 --dim 128 \
      --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth 2>&1 | tr '\r' '\n' | grep -e 'us x' -e 'host per' -e '^quest' >> "$OUT/ab.txt"
  done
done
grep -e '^==' -e '^quest' -e estimate_top_p -e select_top "$OUT/ab.txt"
