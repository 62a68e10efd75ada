#!/usr/bin/env bash
# One bench call per build; every 2 s, the bench JVM's AnonHugePages and Rss (/proc/PID/smaps_rollup) and its
# mappings holding huge pages (/proc/PID/smaps), as the cache fills and dense runs.
for tree in /work/wt-thp-base /work/wt-thp; do
  echo "=== $tree ($(git -C $tree rev-parse --short HEAD)$(git -C $tree diff --quiet HEAD -- engine || echo ' + working tree')) loadavg: $(cat /proc/loadavg)"
  (cd $tree && bin/twilight4j bench attention --ctx 32768 --policy quest:8192+twilight:0.95 2>/dev/null) > /tmp/thp/diag-run.txt &
  for i in $(seq 1 12); do
    sleep 2
    pid=$(pgrep -n -f "io.twilight4j.cli.Main bench attention") || continue
    echo "t=$((2 * i))s $(grep -E '^(Rss|AnonHugePages)' /proc/$pid/smaps_rollup | tr -s ' ' | tr '\n' ' ')"
    [ $i = 2 ] && awk '/^[0-9a-f]+-[0-9a-f]+ /{m=$1} /^AnonHugePages:/ && $2 > 0 {print "  mapping " m ": AnonHugePages " $2 " kB"}' /proc/$pid/smaps
  done
  wait
  cat /tmp/thp/diag-run.txt
done
