#!/usr/bin/env bash
# Interleaved in-JVM A/B of dense kernel variants (single thread): OldKernel = HEAD 82f6816, "new" = the variant.
. /work/wt-dense/bin/jdk.sh
J="java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED"
ab() { # name classes-out classes ctx trials flags...
  local name=$1 out=$2 cls=$3 ctx=$4 trials=$5; shift 5
  echo "### $name  (ctx $ctx, $trials interleaved trials, flags: ${*:-none})"
  $J "$@" -cp /tmp/scratch/$out:/tmp/scratch/$cls io.twilight4j.attention.AB $ctx $trials 2>&1 | grep -v -e WARNING -e madvise
  echo "## uptime: $(uptime)"
}
echo "# $(date -u) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(nproc) cores, shared; HEAD $(git -C /work/wt-dense rev-parse --short HEAD)"
for ctx in 1024 32768; do
  t=$([ $ctx = 1024 ] && echo 1500 || echo 20)
  ab "fused in-register fp16 conversion (fused-in-register-fp16.patch)" ab-out-fused new-classes $ctx $t
  ab "softmax per 64 tokens, exp skipped when the max holds (softmax-per-64-tokens.patch)" ab-out-hy hy-classes $ctx $t
  ab "attribution: no fp16 conversion (wrong output, cost split only)" ab-out2 pf-classes $ctx $t -Dnoconv=true
  ab "attribution: no scores" ab-out2 pf-classes $ctx $t -Dnoscores=true
  ab "attribution: no value accumulation" ab-out2 pf-classes $ctx $t -Dnoacc=true
  ab "attribution: no softmax" ab-out2 pf-classes $ctx $t -Dnosoft=true
  ab "inline polynomial exp instead of VectorOperators.EXP" ab-out2 pf-classes $ctx $t -Dfastexp=true
  ab "software pipeline: next block-head converted in 8 pieces inside accumulate" ab-out2 pf-classes $ctx $t -Dpipe=true -Dpieces=8
  ab "touch ahead: first 2 lines of the K and V run 16 KiB ahead" ab-out2 pf-classes $ctx $t -Dahead=16384 -Dlines=2
  ab "spread touches of the next block-head's 128 lines inside accumulate (distance 2)" ab-out2 pf-classes $ctx $t -Dspread=true -Ddist=2
done
ab "transparent huge pages (mmap + madvise) under both kernels" ab-out2 pf-classes 32768 20 -Dthp=true
ab "same run without huge pages" ab-out2 pf-classes 32768 20 -Dthp=false
