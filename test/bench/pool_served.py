#!/usr/bin/env python3
"""Pool report_real's SERVED lines (stderr) over runs and splits: issue 17's two lines with
popularity in context on every item as served.

Usage: pool_served.py [--seeds LO-HI] err.log...

Each SERVED line is one target (market) and seed: the test metrics (sampled MRR, full MRR,
full HitRate@10) of target-only as fitted, target-only as served without and with
popularity in context on every item (w = 1), the product the same two ways, and "own items
first, then popular in context". Seeds are the run's seed numbers (1 = split 42, s = split
s - 1), so runs with --first-seed pool by seed; only seeds with every market are read.
Paired per seed, mean and standard error over seeds: sampled MRR summed over the markets,
full MRR and HitRate@10 as the mean over markets, and per market. ** marks a difference
beyond 2 s.e. Line 1 (the honest baseline): the product against target-only as served, both
with the term. Line 2: the product against the heuristic on full ranking.
"""
import math
import re
import sys

ROWS = ("to", "to_served", "to_served_pop", "product", "product_pop", "heur")
NAME = {"to": "target-only (as fitted)",
        "to_served": "target-only as served, without the term",
        "to_served_pop": "target-only as served + popularity on every item",
        "product": "the product, without the term",
        "product_pop": "the product as served (+ popularity on every item)",
        "heur": "own items first, then popular in context"}
LINE = re.compile(r"\[(?P<view>[^\]]+)\] (?P<dom>\S+) seed \d+: SERVED split-seed (?P<seed>\d+);(?P<rest>.*) secs to (?P<sto>\S+) product (?P<sp>\S+)$")
METRICS = ("sampled MRR", "full MRR", "full HitRate@10")


def load(paths, lo, hi):
    fits = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                m = LINE.search(line.rstrip("\n"))
                if not m:
                    continue
                seed = int(m["seed"])
                if not lo <= seed <= hi:
                    continue
                rows = {}
                for part in m["rest"].split(";"):
                    p = part.split()
                    if len(p) == 4:
                        rows[p[0]] = [float(x) for x in p[1:]]
                rows["secs"] = (float(m["sto"]), float(m["sp"]))
                fits[(m["view"], seed, m["dom"])] = rows
    return fits


def ms(x):
    n = len(x)
    mu = sum(x) / n
    return mu, (math.sqrt(sum((v - mu) ** 2 for v in x) / (n - 1) / n) if n > 1 else float("inf"))


def fmt(d, pct=None):
    f = "**" if abs(d[0]) > 2 * d[1] and d[0] != 0 else ""
    p = f", {pct:+.1f}%" if pct is not None else ""
    return f"{f}{d[0]:+.4f} ({d[1]:.4f}){f}{p}"


def main():
    args = sys.argv[1:]
    lo, hi = 1, 10 ** 9
    if args and args[0] == "--seeds":
        a, b = args[1].split("-")
        lo, hi = int(a), int(b)
        args = args[2:]
    fits = load(args, lo, hi)
    for view in sorted({v for (v, _, _) in fits}):
        doms = sorted({d for (v, _, d) in fits if v == view})
        seeds = sorted({s for (v, s, _) in fits if v == view and all((v, s, d) in fits for d in doms)})
        if len(seeds) < 2:
            print(f"{view}: fewer than two complete seeds")
            continue
        # per seed: the sum (sampled) or mean (full) over markets; per market the value
        def val(row, i, ds, s):
            x = [fits[(view, s, d)][row][i] for d in ds]
            return sum(x) if i == 0 else sum(x) / len(x)

        print(f"## {view}: seeds {seeds[0]}-{seeds[-1]} ({len(seeds)} seeds: {','.join(map(str, seeds))}), markets {', '.join(doms)}\n")
        print("| row | sampled MRR (sum) | full MRR (mean) | HitRate@10 (mean) |")
        print("|---|---|---|---|")
        for r in ROWS:
            print(f"| {NAME[r]} | " + " | ".join(f"{sum(val(r, i, doms, s) for s in seeds) / len(seeds):.4f}" for i in range(3)) + " |")
        pairs = (("product_pop", "to_served_pop", 0, "line 1: the product against target-only as served, both with the term"),
                 ("product_pop", "to_served", 0, "the product with the term against target-only as served before (without)"),
                 ("product_pop", "to", 0, "the product with the term against target-only as fitted"),
                 ("product", "to_served", 0, "before: the product against target-only as served, both without the term"),
                 ("product_pop", "product", 0, "the term's gain on the product"),
                 ("to_served_pop", "to_served", 0, "the term's gain on target-only as served"),
                 ("product_pop", "heur", 1, "line 2: the product (+ term) against the heuristic, full MRR"),
                 ("product_pop", "heur", 2, "line 2: the same, HitRate@10"),
                 ("product", "heur", 1, "before: the product without the term against the heuristic, full MRR"),
                 ("product", "heur", 2, "before: the same, HitRate@10"),
                 ("to_served_pop", "heur", 1, "target-only as served + the term against the heuristic, full MRR"),
                 ("to_served_pop", "heur", 2, "the same, HitRate@10"))
        print(f"\nPaired per seed, mean difference (s.e.); ** beyond 2 s.e.; % of the second row's mean\n")
        print("| comparison | metric | all markets | " + " | ".join(doms) + " |")
        print("|---|---|---|" + "---|" * len(doms))
        for a, b, i, what in pairs:
            cells = []
            for ds in [doms] + [[d] for d in doms]:
                d = ms([val(a, i, ds, s) - val(b, i, ds, s) for s in seeds])
                base = sum(val(b, i, ds, s) for s in seeds) / len(seeds)
                cells.append(fmt(d, 100 * d[0] / base if base else None))
            print(f"| {what} | {METRICS[i]} | " + " | ".join(cells) + " |")
        t = [fits[(view, s, d)]["secs"] for s in seeds for d in doms]
        print(f"\nTime: the product's fits {sum(x[1] for x in t) / sum(x[0] for x in t):.2f}x target-only's (CPU s, summed over fits)\n")


if __name__ == "__main__":
    main()
