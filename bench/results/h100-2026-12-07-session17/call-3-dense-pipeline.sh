set -u
# Dense attention pipelined (new default) against -Dtwilight4j.attPipeline=false, builds taking turns, per shape.
start=$(date +%s)
DEVICE_JAVA_ONLY=1 bash .device/run.sh; [ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
timeout 150 bash .device/run.sh io.twilight4j.opencl.FastPathCheck > $OUT/fastpath.txt 2>&1
echo "fastpath [defaults]: rc $? $(grep -c ' ok$' $OUT/fastpath.txt) ok, $(grep -c FAIL $OUT/fastpath.txt) FAIL"; grep -i -E "FAIL|xception|error" $OUT/fastpath.txt | head -3 | cut -c1-200
b() { # batch ctx opts
  local batch=$1 ctx=$2; shift 2
  if [ $(( $(date +%s) - start )) -gt ${LIMIT:-420} ]; then echo "$batch x $ctx [$*] skipped (time)"; return; fi
  timeout 120 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g -Dtwilight4j.kernelProfile=true "$@" -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl --batch $batch --ctx $ctx --hq 32 --hkv 8 --dim 128 --policy dense --iterations 30 --no-bandwidth > $OUT/r.txt 2>&1
  rc=$?; echo "== $batch x $ctx [$*] rc $rc" >> $OUT/ab.txt; tr '\r' '\n' < $OUT/r.txt | grep -v -e '^filling' -e WARNING >> $OUT/ab.txt
  echo "$batch x $ctx [$*] rc $rc: $(grep -o 'attend_partial \[[0-9]* x [0-9]*, limit [0-9]*, private [0-9]* B\] *[0-9.]* us' $OUT/r.txt | tail -1 | sed 's/, limit.*B\]//') | span $(grep '^dense ' $OUT/r.txt | awk '{print $NF}') | $(( $(date +%s) - start )) s"
}
dense_ab() { for s in "$@"; do
  IFS=: read -r bb ll <<< "$s"
  for k in "-Dx=0" "-Dtwilight4j.attPipeline=false" "-Dx=0" "-Dtwilight4j.attPipeline=false"; do b $bb $ll $k; done
done; }
dense_ab 16:32768 1:32768 16:131072
# Steps taking turns on 2 cache layers against 1 (sparse): does the step before warm the GPU's L2 for the next?
for L in 1 2 1 2; do
  if [ $(( $(date +%s) - start )) -gt ${LIMIT:-420} ]; then echo "layers $L skipped (time)"; continue; fi
  timeout 150 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx 32768 --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth --layers $L > $OUT/r.txt 2>&1
  rc=$?; echo "== layers $L rc $rc" >> $OUT/layers.txt; tr '\r' '\n' < $OUT/r.txt | grep -v -e '^filling' -e WARNING >> $OUT/layers.txt
  echo "layers $L rc $rc: $(grep -E '^(dense|quest)' $OUT/r.txt | awk '{printf "%s %s %s | ", $1, $6, $NF}') $(( $(date +%s) - start )) s"
done
dense_ab 64:32768 16:8192 1:131072
echo "elapsed $(( $(date +%s) - start )) s"
