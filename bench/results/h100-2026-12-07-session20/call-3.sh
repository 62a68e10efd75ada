#!/usr/bin/env bash
# Session 20, call 3: DispatchCost (launch and group-dispatch overhead of an empty and a spinning kernel).
set -u
OUT=${OUT:-/tmp/twilight4j-out}; mkdir -p "$OUT"
bash .device/run.sh io.twilight4j.opencl.DispatchCost 1 2>&1 | grep -v WARNING | tee "$OUT/dispatch.txt"
