#!/usr/bin/env bash
# Syntax- and type-checks the NVIDIA fast-path kernels (INLINE_PTX, EST_SHUFFLE) here, without a GPU:
# PoCL in CI builds only the portable variants, so a typo in a fast path would otherwise first show on
# the device. Needs clang (15 or later) with the OpenCL headers; PTX asm is parsed, not assembled.
#   bash bench/gpu/check-fast-paths.sh
set -euo pipefail
clang=$(command -v clang-15 || command -v clang || true)
[ -n "$clang" ] || { echo "check-fast-paths: no clang found" >&2; exit 2; }
src=$(dirname "$0")/../../kernels/src/main/resources/io/twilight4j/opencl
defs="-Dasm=__asm__ -DKV_HEADS=8 -DHEAD_DIM=128 -DPAGE_TOKENS=16 -DLABEL_CHANNELS=16 -DCODE_BYTES=64 -DLABEL_BYTES=4 -DSCORE_SCALE_BITS=1035273459
 -DQUERY_HEADS=32 -DGQA_GROUP=4 -DHEADS_PER_ENTRY=4 -DSCAN_RUN=4 -DROW_LOCAL=1 -DTOP_P_HISTOGRAM=1 -DTOP_P_BUCKET_SHIFT=20 -DSELECT_LOCAL=1 -DKEPT_LOCAL=1 -DQVEC=8 -DQSLOTS=8 -DQROWS=4
 -DINLINE_PTX=1 -DSTREAM_LOADS=${STREAM_LOADS:-1} -DPHASE_TIMES=${PHASE_TIMES:-0} -DEST_SHUFFLE=1 -DEST_LANE_BYTES=8 -DEST_LANES=8 -DEST_UNROLL=4 -DEST_STAGE=1024 -DATT_STAGE=512
 -DATT_SHUFFLE=1 -DATT_VEC=8 -DATT_UNROLL=2 -DROWS=2 -DSLOTS=16 -DATT_WG=256"
tmp=$(mktemp --suffix=.cl)
trap 'rm -f "$tmp"' EXIT
status=0
# file:DENSE:QSCATTER:FUSED_MERGE:ATT_PIPELINE
# (ATT_PIPELINE is dense-only: attention.cl rejects it with DENSE=0.)
for variant in query:0:1:0:0 select:0:1:0:0 select:0:0:0:0 prune:0:1:0:0 attention:0:1:0:0 attention:0:1:1:0 attention:1:1:0:0 \
    attention:1:1:0:1; do
  IFS=: read -r f dense scatter fused pipe <<< "$variant"
  cat "$src/common.cl" "$src/$f.cl" > "$tmp"
  if "$clang" -x cl -cl-std=CL1.2 -target nvptx64-nvidia-nvcl -Xclang -finclude-default-header -fsyntax-only $defs \
      -DDENSE="$dense" -DQSCATTER="$scatter" -DFUSED_MERGE="$fused" -DATT_PIPELINE="$pipe" "$tmp"; then
    echo "$f.cl (DENSE=$dense, QSCATTER=$scatter, FUSED_MERGE=$fused, ATT_PIPELINE=$pipe): NVIDIA variants OK"
  else
    echo "$f.cl (DENSE=$dense, QSCATTER=$scatter, FUSED_MERGE=$fused, ATT_PIPELINE=$pipe): errors above (line numbers count common.cl first)"; status=1
  fi
done
exit $status
