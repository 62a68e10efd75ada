#!/usr/bin/env python3
"""Joins a GPU run's ours.jsonl (bench attention --json rows) with the SDPA peer's peer_hkv*.json into the
markdown table the README quotes. Device time = the step's span on the device (since 2026-12-07: between two
markers around the step, its kernels without profiling events; before: first kernel start to last kernel end by
the kernels' events); wall = the Java call with stage timing off. Usage: python3 bench/gpu/summarize.py bench/results/<run>/ > summary.md"""
import glob, json, os, sys

run = sys.argv[1]
peer = {}
for f in glob.glob(os.path.join(run, "peer_hkv*.json")):
    for r in json.load(open(f)):
        peer[(r["batch"], r["ctx"], r["hkv"])] = r["sdpa_ms"]
rows = {}
order = []
for line in open(os.path.join(run, "ours.jsonl")):
    line = line.strip()
    if not line:
        continue
    r = json.loads(line)
    key = (r["batch"], r["ctx"], r["hkv"])
    if key not in rows:
        rows[key] = {}
        order.append(key)
    rows[key][r["policy"]] = r

def device(r):
    # step_ms: the step's span on the device (rows before it: the stages' sum, which it equals when the
    # stages do not overlap).
    return r.get("step_ms") or r["select_ms"] + r["estimate_ms"] + r["top_p_ms"] + r["attention_ms"]

print("| batch | ctx | Hkv | SDPA ms | dense ms (device / wall) | dense / SDPA (device / wall) | quest:8192 ms (device / wall) "
      "| quest+twilight:0.95 ms (device / wall) | q+t speedup vs SDPA (device / wall) | q+t stages select/est/top-p/attn ms "
      "| kept budget mean (min-max) | q+t rel_err | q+t kept mass mean (min) |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for key in order:
    p = rows[key]
    d, q, t = p.get("dense"), p.get("quest:8192"), p.get("quest:8192+twilight:0.95")
    sdpa = peer.get(key)
    cell = lambda r: "%.3f / %.3f" % (device(r), r["median_ms"]) if r else "n/a"
    ratio = lambda a, b: "%.2fx / %.2fx" % (a[0] / b, a[1] / b) if sdpa else "n/a"
    out = [str(key[0]), str(key[1]), str(key[2]), "%.3f" % sdpa if sdpa else "does not fit", cell(d)]
    out.append(ratio((device(d), d["median_ms"]), sdpa) if d and sdpa else "n/a")
    out.append(cell(q))
    out.append(cell(t))
    out.append("%.2fx / %.2fx" % (sdpa / device(t), sdpa / t["median_ms"]) if t and sdpa else "n/a")
    out.append("/".join("%.2f" % t[k] for k in ("select_ms", "estimate_ms", "top_p_ms", "attention_ms")) if t else "n/a")
    out.append("%.0f (%d-%d)" % (t["budget_mean"], t["budget_min"], t["budget_max"]) if t else "n/a")
    out.append("%.3f" % t["rel_error"] if t else "n/a")
    # kept_mass_*: the true softmax weight of the attended tokens (rows from 2026-12-07's twenty-seventh session on).
    out.append("%.3f (%.3f)" % (t["kept_mass_mean"], t["kept_mass_min"]) if t and "kept_mass_mean" in t else "n/a")
    print("| " + " | ".join(out) + " |")
