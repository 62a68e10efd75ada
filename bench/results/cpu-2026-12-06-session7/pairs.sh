#!/usr/bin/env bash
# Paired bench calls taking turns: base build (b6e125d, /work/wt-thp-base) and this branch (/work/wt-thp).
# Usage: pairs.sh CTX PAIRS > log. Order alternates per pair (base first in odd pairs, new first in even ones).
ctx=$1; pairs=$2
run() {
  echo "=== pair $1 build $2 ctx $ctx"
  echo "loadavg: $(cat /proc/loadavg)"
  (cd "$3" && bin/twilight4j bench attention --ctx "$ctx" --policy quest:8192+twilight:0.95 2>/dev/null)
}
for p in $(seq 1 "$pairs"); do
  if [ $((p % 2)) = 1 ]; then
    run "$p" base /work/wt-thp-base; run "$p" thp /work/wt-thp
  else
    run "$p" thp /work/wt-thp; run "$p" base /work/wt-thp-base
  fi
done
