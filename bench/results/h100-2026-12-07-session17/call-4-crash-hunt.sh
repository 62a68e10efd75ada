set -u
# Crash hunt: bench JVMs with the old progress bar (jline terminal probing) against the fixed-width one, 4 + 4 at a time.
start=$(date +%s)
DEVICE_JAVA_ONLY=1 bash .device/run.sh; [ -d /tmp/icd ] && export OCL_ICD_VENDORS=/tmp/icd
one() { # tag lib i
  timeout 90 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx16g -XX:ErrorFile=$OUT/hs_err_%p.log -cp "$2/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx 8192 --hq 32 --hkv 8 --dim 128 --policy dense --iterations 1 --no-bandwidth > /tmp/run-$1-$3.txt 2>&1
  rc=$?; echo "$1 $3 rc $rc $(grep -c '^dense ' /tmp/run-$1-$3.txt)" >> $OUT/rcs.txt
  [ $rc -ne 0 ] && { echo "== $1 $3 rc $rc"; tr '\r' '\n' < /tmp/run-$1-$3.txt | grep -v WARNING | tail -5; } >> $OUT/failed.txt
}
i=0
while [ $(( $(date +%s) - start )) -lt ${LIMIT:-200} ]; do
  for j in 1 2 3 4; do i=$((i+1)); one old .device/lib-old $i & one new .device/lib $i & done
  wait
done
echo "old: $(grep -c '^old' $OUT/rcs.txt) runs, $(grep '^old' $OUT/rcs.txt | grep -vc 'rc 0') failed ($(grep '^old' $OUT/rcs.txt | grep -v 'rc 0' | awk '{print $4}' | sort | uniq -c | tr '\n' ' '))"
echo "new: $(grep -c '^new' $OUT/rcs.txt) runs, $(grep '^new' $OUT/rcs.txt | grep -vc 'rc 0') failed ($(grep '^new' $OUT/rcs.txt | grep -v 'rc 0' | awk '{print $4}' | sort | uniq -c | tr '\n' ' '))"
ls $OUT | grep hs_err | head; echo "elapsed $(( $(date +%s) - start )) s"
