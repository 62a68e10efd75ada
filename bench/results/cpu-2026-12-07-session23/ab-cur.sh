#!/usr/bin/env bash
# A/B at 32k: base (worktree) and new taking turns; prints one line per run.
. /work/main/bin/jdk.sh
for round in $(seq 1 ${ROUNDS:-6}); do
  for v in base new; do
    if [ $v = base ]; then r=/tmp/wt-cur; else r=/work/main; fi; cp="$r/cli/target/twilight4j-cli.jar:$r/cli/target/lib/*"
    line=$($JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector -cp "$cp" io.twilight4j.cli.Main bench attention --policy quest:8192+twilight:0.95 --no-bandwidth ${CTX:+--ctx $CTX} ${BATCH:+--batch $BATCH} 2>&1 | tr '\r' '\n' | grep -E "^(dense|quest)" | tr '\n' ' ')
    echo "r$round $v $line" | awk '{print $1, $2, "dense", $8, "sparse", $19, $20, "stages", $23, "step", $24}'
  done
done
