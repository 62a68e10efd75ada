#!/usr/bin/env bash
# Workbench sweep on the GPU machine: phase cycles of select_top / top_p / compact (-Dtwilight4j.phaseTimes)
# and per-kernel work-group sizes past the kernels' reported limit (-Dtwilight4j.kernelGroupLimit), via
# profile-h100.sh. Output: $OUT/profile.txt, a digest on stdout.
set -uo pipefail
OUT=${OUT:-/tmp/twilight4j-out}
shapes=${1:-"16:32768:8 16:131072:8"}
POLICIES=quest:8192+twilight:0.95 KNOBS=${KNOBS:-"-Dtwilight4j.phaseTimes=true"} bash bench/gpu/profile-h100.sh "$shapes" > /dev/null 2>&1
grep -e "^==" -e "us x" -e "^quest" -e "phases of" -e "Exception" -e "rror" $OUT/profile.txt | grep -v -e attend_merge -e "attend_partial.*1152 x 256.*[0-9][0-9][0-9]\.[0-9] us"
