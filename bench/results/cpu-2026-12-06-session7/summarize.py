#!/usr/bin/env python3
"""Per-pair dense and sparse ms with ratios (thp / base) from pairs.sh logs, rounds numbered on; medians.
Usage: summarize.py LOG..."""
import re
import statistics as st
import sys

runs, first = {}, {}
offset = 0
for log in sys.argv[1:]:
    last = offset
    for block in open(log).read().split("=== pair ")[1:]:
        head = block.split("\n")[0].split()
        pair, build = int(head[0]) + offset, head[2]
        last = max(last, pair)
        first.setdefault(pair, build)
        sparse = re.search(r"^quest\S*\s.*?\s(\d+\.\d+)\s+(\d+\.\d+)x.*\s([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+)\s*$", block, re.M)
        bw = re.search(r"at ([\d.]+) GB/s = (\d+)% of a same-run streaming read \(([\d.]+) GB/s", block)
        runs[(pair, build)] = dict(
            load=re.search(r"loadavg: (\S+)", block).group(1),
            dense=float(re.search(r"^dense\s.*?\s(\d+\.\d+)\s+1\.00x", block, re.M).group(1)),
            sparse=float(sparse.group(1)), attn=float(sparse.group(6)), est=float(sparse.group(4)),
            pct=int(bw.group(2)), stream=float(bw.group(3)))
    offset = last

print("| pair | first | load base/thp | dense ms base | dense ms thp | dense ratio | % of stream base/thp "
      "| stream GB/s base/thp | sparse ms base | sparse ms thp | sparse ratio | sparse attn stage ms base/thp |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
dense_ratio, sparse_ratio = [], []
for p in sorted(first):
    b, t = runs[(p, "base")], runs[(p, "thp")]
    dense_ratio.append(t["dense"] / b["dense"])
    sparse_ratio.append(t["sparse"] / b["sparse"])
    print(f"| {p} | {first[p]} | {b['load']}/{t['load']} | {b['dense']:.3f} | {t['dense']:.3f} | {dense_ratio[-1]:.3f} "
          f"| {b['pct']}/{t['pct']} | {b['stream']:.1f}/{t['stream']:.1f} | {b['sparse']:.3f} | {t['sparse']:.3f} "
          f"| {sparse_ratio[-1]:.3f} | {b['attn']:.2f}/{t['attn']:.2f} |")


def med(build, key):
    return st.median(v[key] for k, v in runs.items() if k[1] == build)


print()
print(f"pairs: {len(dense_ratio)}")
print(f"dense ms median: base {med('base', 'dense'):.3f}, thp {med('thp', 'dense'):.3f}; paired ratio median "
      f"{st.median(dense_ratio):.3f} (range {min(dense_ratio):.3f}-{max(dense_ratio):.3f}, "
      f"{sum(r < 1 for r in dense_ratio)} of {len(dense_ratio)} below 1)")
print(f"dense % of same-run stream median: base {med('base', 'pct')}, thp {med('thp', 'pct')}; "
      f"stream GB/s median: base {med('base', 'stream'):.1f}, thp {med('thp', 'stream'):.1f}")
print(f"sparse ms median: base {med('base', 'sparse'):.3f}, thp {med('thp', 'sparse'):.3f}; paired ratio median "
      f"{st.median(sparse_ratio):.3f} (range {min(sparse_ratio):.3f}-{max(sparse_ratio):.3f})")
print(f"sparse stages median ms (estimate / attention, the one stage reading K and V): base {med('base', 'est'):.2f} / "
      f"{med('base', 'attn'):.2f}, thp {med('thp', 'est'):.2f} / {med('thp', 'attn'):.2f}")
