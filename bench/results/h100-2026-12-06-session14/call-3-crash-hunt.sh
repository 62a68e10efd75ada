set -u
DEVICE_JAVA_ONLY=1 bash .device/run.sh
echo "gdb: $(which gdb) strace: $(which strace) core: $(cat /proc/sys/kernel/core_pattern) jsig: $(ls /tmp/jre/lib/libjsig.so 2>&1)"
b() { # label, env prefix, java opts...
  local tag=$1; shift; local pre=$1; shift
  env $pre timeout 120 /tmp/jre/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -Xmx100g -XX:ErrorFile="$OUT/hs_err_%p.log" "$@" -cp ".device/lib/*" io.twilight4j.cli.Main bench attention --backend opencl --batch 16 --ctx 32768 --hq 32 --hkv 8 --dim 128 --policy quest:8192+twilight:0.95 --iterations 30 --no-bandwidth > $OUT/$tag.out 2> $OUT/$tag.err
  local rc=$?
  echo "$tag rc $rc last-err: $(tr '\r' '\n' < $OUT/$tag.err | grep -v WARNING | tail -1 | cut -c1-100)"
}
for i in 1 2 3 4 5 6; do b plain$i X=1; done
for i in 1 2 3 4 5 6; do b jsig$i LD_PRELOAD=/tmp/jre/lib/libjsig.so; done
for i in 1 2 3 4 5 6; do b dumb$i X=1 -Dorg.jline.terminal.provider=dumb; done
ls $OUT | grep -v -e '\.out$' -e '\.err$'
for f in $OUT/hs_err*; do [ -f $f ] && grep -m1 -A12 "^# Problematic\|^Current thread" $f | head -30; done
