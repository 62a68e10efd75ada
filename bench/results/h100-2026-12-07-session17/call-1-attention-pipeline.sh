set -u
start=$(date +%s)
DEVICE_JAVA_ONLY=1 bash .device/run.sh; [ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
P="-Dtwilight4j.attPipeline=true"
for k in "$P -Dtwilight4j.stageTokens=64"; do
  timeout 150 bash .device/run.sh $k io.twilight4j.opencl.FastPathCheck > $OUT/fp.txt 2>&1
  echo "fastpath [$k]: $(grep -c ' ok$' $OUT/fp.txt) ok, $(grep -c FAIL $OUT/fp.txt) FAIL"; grep -i -E "FAIL|xception|error" $OUT/fp.txt | head -3 | cut -c1-200
  cat $OUT/fp.txt >> $OUT/fastpath-pipeline.txt
done
b() { # ctx, opts; skipped once the call has run past LIMIT seconds (device time is short)
  local ctx=$1; shift
  if [ $(( $(date +%s) - start )) -gt ${LIMIT:-330} ]; then echo "ctx $ctx [$*] skipped (time)"; return; fi
  for attempt in 1 2; do
    timeout 120 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g -Dtwilight4j.kernelProfile=true "$@" -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx $ctx --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth > $OUT/r.txt 2>&1
    rc=$?; echo "== ctx $ctx [$*] rc $rc" >> $OUT/ab.txt; tr '\r' '\n' < $OUT/r.txt | grep -v -e '^filling' -e WARNING >> $OUT/ab.txt
    [ $rc -ne 139 ] && break
  done
  echo "ctx $ctx [$*] rc $rc: $(grep -o 'attend_partial \[[0-9]* x [0-9]*, limit [0-9]*, private [0-9]* B\] *[0-9.]* us' $OUT/r.txt | tail -1 | sed 's/, limit.*B\]//') | est $(grep -o 'estimate_top_p [^]]*\] *[0-9.]* us' $OUT/r.txt | grep -o '[0-9.]* us$') | span $(grep '^quest:8192+' $OUT/r.txt | awk '{print $NF}')"
}
for k in "-Dx=0" "$P" "-Dx=0" "$P" "$P -Dtwilight4j.attRows=1" "$P -Dtwilight4j.attRows=3"; do b 32768 $k; done
echo "elapsed $(( $(date +%s) - start )) s"
