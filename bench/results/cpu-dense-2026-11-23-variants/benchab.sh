#!/usr/bin/env bash
# Interleaved A/B of the bench attention command: old jar (HEAD 82f6816) vs new jar (working tree), 3 times each.
. /work/wt-dense/bin/jdk.sh
runjar() { java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -cp "$1/twilight4j-cli.jar:$1/lib/*" io.twilight4j.cli.Main "${@:2}" 2>/dev/null; }
for ctx in 32768 131072; do
  for i in 1 2 3; do
    for v in old new; do
      echo "## $v jar, run $i: bin/twilight4j bench attention --policy quest:8192+twilight:0.95 --ctx $ctx --iterations 30   ($(uptime | sed 's/.*load/load/'))"
      runjar /tmp/dense-$v bench attention --policy quest:8192+twilight:0.95 --ctx $ctx --iterations 30
    done
  done
done
