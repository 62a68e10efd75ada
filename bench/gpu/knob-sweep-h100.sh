#!/usr/bin/env bash
# Workbench sweep on the GPU machine (after ../shared/device/pack.sh): profile-h100.sh for quest+twilight with
# each entry of $KNOBS (default: the phase cycles of select_top / top_p / compact, -Dtwilight4j.phaseTimes=true),
# then a digest of the per-kernel times, phases and results on stdout. Output: $OUT/profile.txt.
#   KNOBS="- -Dtwilight4j.phaseTimes=true" bash bench/gpu/knob-sweep-h100.sh "16:32768:8"
set -uo pipefail
OUT=${OUT:-/tmp/twilight4j-out}
shapes=${1:-"16:32768:8 16:131072:8"}
POLICIES=quest:8192+twilight:0.95 KNOBS=${KNOBS:-"-Dtwilight4j.phaseTimes=true"} bash bench/gpu/profile-h100.sh "$shapes" > /dev/null 2>&1
grep -e "^==" -e "us x" -e "^quest" -e "phases of" -e "Exception" -e "rror" "$OUT/profile.txt" | grep -v attend_merge
