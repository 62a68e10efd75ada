set -u
deps=$(ls .device/lib/*.jar | grep -v '/twilight4j-' | tr '\n' ':')
DEVICE_JAVA_ONLY=1 bash .device/run.sh
b() { timeout 120 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g -XX:ErrorFile="$OUT/hs_err_%p.log" -Dtwilight4j.kernelProfile=true "$@" -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx 32768 --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth 2>&1 | tr '\r' '\n' | grep -v -e '^filling' -e WARNING; echo "rc ${PIPESTATUS[0]}"; }
for k in "-Dx=1" "-Dx=2" "-Dtwilight4j.estMma=true -Dtwilight4j.estMmaUnroll=1" "-Dtwilight4j.estMma=true -Dtwilight4j.estMmaUnroll=4" "-Dx=3"; do
  echo "== $k"; b $k > $OUT/r.txt; grep -E "estimate_top_p|quest_page|^quest:8192\+|^rc|rror|xception" $OUT/r.txt | cut -c1-120; cat $OUT/r.txt >> $OUT/all.txt
done
ls $OUT; dmesg 2>/dev/null | tail -3
