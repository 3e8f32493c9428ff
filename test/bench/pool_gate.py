#!/usr/bin/env python3
"""Pool report_real --gate's GATE lines (stderr) over runs and splits.

Usage: pool_gate.py [--seeds LO-HI] err.log...

Each GATE line is one target (market) and seed: the gate's validation
numbers (the blend and target-only, each as served, full ranking, paired per
positive) and the test metrics (sampled MRR, full MRR, full HitRate@10) of
target-only, target-only as served, the product as served and "own items
first, then popular in context". The gated rows are composed here: the
product where the blend is kept (its validation full MRR not below
target-only's by more than the margin's paired s.e.; margin 0 and 1 s.e.),
else target-only as served. Seeds are the run's seed numbers (1 = split 42,
s = split s - 1), so runs with --first-seed pool by seed. Prints, for the
seeds chosen, each row against target-only, the heuristic and the product:
sampled MRR summed over the markets, full MRR and HitRate@10 as the mean over
markets, per market the paired mean difference with 2 s.e. over seeds
(better / worse beyond 2 s.e.), and the time against one target-only fit.
"""
import math
import re
import sys
from collections import defaultdict

LINE = re.compile(
    r"\[(?P<view>[^\]]+)\] (?P<dom>\S+) seed \d+: GATE split-seed (?P<seed>\d+) applies (?P<applies>\d) "
    r"n (?P<n>\d+) valid blend (?P<vb>\S+) \((?P<lb>\w+)\) to (?P<vt>\S+) \((?P<lt>\w+)\) "
    r"diff (?P<diff>\S+) se (?P<se>\S+); test to (?P<to>\S+ \S+ \S+); to_served (?P<ts>\S+ \S+ \S+); "
    r"product (?P<p>\S+ \S+ \S+); heur (?P<h>\S+ \S+ \S+); secs to (?P<sto>\S+) product (?P<sp>\S+) "
    r"gate (?P<sg>\S+);")

MARGINS = (0.0, 1.0)
ROWS = ("target-only", "target-only as served", "the product as served",
        "gated, margin 0", "gated, margin 1 s.e.", "own items first, then popular")
METRICS = ("sampled MRR", "full MRR", "full HitRate@10")


def three(s):
    return [float(x) for x in s.split()]


def load(paths, lo, hi):
    fits = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                m = LINE.search(line)
                if not m:
                    continue
                seed = int(m["seed"])
                if not lo <= seed <= hi:
                    continue
                g = m.groupdict()
                applies = g["applies"] == "1"
                diff, se = float(g["diff"]), float(g["se"])
                rows = {"target-only": three(g["to"]), "target-only as served": three(g["ts"]),
                        "the product as served": three(g["p"]),
                        "own items first, then popular": three(g["h"])}
                keeps = []
                for mg, name in zip(MARGINS, ROWS[3:5]):
                    keep = not applies or int(g["n"]) == 0 or diff >= -mg * float(se)
                    keeps.append(keep)
                    rows[name] = rows["the product as served"] if keep else rows["target-only as served"]
                sto, sp, sg = float(g["sto"]), float(g["sp"]), float(g["sg"])
                secs = {"target-only": sto, "target-only as served": sto,
                        "the product as served": sp, ROWS[3]: sp + sg, ROWS[4]: sp + sg,
                        "own items first, then popular": 0.0}
                # a later line for the same fit (a rerun) replaces an earlier one
                fits[(g["view"], g["dom"], seed)] = dict(rows=rows, keeps=keeps, applies=applies,
                                                         secs=secs, diff=diff, se=se,
                                                         vb=float(g["vb"]), vt=float(g["vt"]),
                                                         lb=g["lb"], lt=g["lt"])
    return fits


def mean_se(x):
    n = len(x)
    mu = sum(x) / n
    if n < 2:
        return mu, float("nan")
    var = sum((v - mu) ** 2 for v in x) / (n - 1)
    return mu, math.sqrt(var / n)


def compare(fits, view, doms, seeds, row, base, j):
    """row against base on metric j: the aggregate's % and per market Δ (2 s.e.)"""
    agg_r = agg_b = 0.0
    per = []
    agg_d = []
    for s in seeds:
        d = 0.0
        for dom in doms:
            f = fits[(view, dom, s)]
            d += f["rows"][row][j] - f["rows"][base][j]
        agg_d.append(d if j == 0 else d / len(doms))
    for dom in doms:
        xs = [fits[(view, dom, s)]["rows"][row][j] - fits[(view, dom, s)]["rows"][base][j] for s in seeds]
        mu, se = mean_se(xs)
        per.append((dom, mu, 2 * se))
        agg_r += sum(fits[(view, dom, s)]["rows"][row][j] for s in seeds) / len(seeds)
        agg_b += sum(fits[(view, dom, s)]["rows"][base][j] for s in seeds) / len(seeds)
    mu, se = mean_se(agg_d)
    pct = 100.0 * (agg_r - agg_b) / agg_b if agg_b else float("nan")
    return pct, mu, 2 * se, per


def fmt(c, j):
    pct, mu, se2, per = c
    parts = []
    for dom, m, s in per:
        tag = " **better**" if m > s else (" **worse**" if m < -s else "")
        parts.append("%s %+.4f (%.4f)%s" % (dom, m, s, tag))
    what = "sum" if j == 0 else "mean"
    return "%+.1f%% (%s %+.4f, 2 s.e. %.4f); %s" % (pct, what, mu, se2, ", ".join(parts))


def main(argv):
    lo, hi = 1, 10 ** 6
    if len(argv) > 2 and argv[1] == "--seeds":
        lo, hi = (int(x) for x in argv[2].split("-"))
        argv = argv[2:]
    fits = load(argv[1:], lo, hi)
    if not fits:
        print("no GATE lines")
        return 1
    for view in sorted({k[0] for k in fits}):
        doms = sorted({k[1] for k in fits if k[0] == view})
        seeds = sorted({k[2] for k in fits if k[0] == view})
        seeds = [s for s in seeds if all((view, d, s) in fits for d in doms)]
        n_fit = len(seeds) * len(doms)
        print("\n## %s: seeds %s (%d splits, %d fits)\n" % (view, ",".join(map(str, seeds)), len(seeds), n_fit))
        applies = sum(fits[(view, d, s)]["applies"] for d in doms for s in seeds)
        print("The product deployed its blend on %d of %d fits." % (applies, n_fit))
        for i, name in enumerate(ROWS[3:5]):
            kept = sum(fits[(view, d, s)]["keeps"][i] for d in doms for s in seeds
                       if fits[(view, d, s)]["applies"])
            per = ", ".join("%s %d" % (d, sum(fits[(view, d, s)]["keeps"][i] for s in seeds
                                                  if fits[(view, d, s)]["applies"])) for d in doms)
            print("- %s: the blend kept on %d of %d (%s)" % (name, kept, applies, per))
        lifts = sum(fits[(view, d, s)]["lb"] == "lift" for d in doms for s in seeds)
        liftt = sum(fits[(view, d, s)]["lt"] == "lift" for d in doms for s in seeds)
        print("- repeat decision kept the lift: on the blend %d, on target-only %d" % (lifts, liftt))
        print("\nValidation (full ranking as served), blend - target-only, per fit:\n")
        for d in doms:
            print("- %s: %s" % (d, " ".join("%+.4f(%.4f)" % (fits[(view, d, s)]["diff"], fits[(view, d, s)]["se"])
                                            for s in seeds)))
        print("\nMeans over splits (sampled MRR summed over the markets; full MRR and HitRate@10 the mean over markets):\n")
        print("| row | sampled MRR | full MRR | full HitRate@10 | time / target-only |\n|---|---|---|---|---|")
        for row in ROWS:
            vals = []
            for j in range(3):
                v = sum(fits[(view, d, s)]["rows"][row][j] for d in doms for s in seeds) / len(seeds)
                vals.append(v if j == 0 else v / len(doms))
            ratio = sum(fits[(view, d, s)]["secs"][row] / fits[(view, d, s)]["secs"]["target-only"]
                        for d in doms for s in seeds) / n_fit
            print("| %s | %.4f | %.4f | %.4f | %.2f |" % (row, vals[0], vals[1], vals[2], ratio))
        pairs = [(r, "target-only") for r in ROWS[1:5]] + \
                [(r, "own items first, then popular") for r in ROWS[:5]] + \
                [(r, "the product as served") for r in ROWS[3:5]] + \
                [(r, "target-only as served") for r in ROWS[2:5]]
        print("\n| row | against | metric | Δ (per market: mean, 2 s.e.) |\n|---|---|---|---|")
        for row, base in pairs:
            for j, metric in enumerate(METRICS):
                print("| %s | %s | %s | %s |" % (row, base, metric,
                                                fmt(compare(fits, view, doms, seeds, row, base, j), j)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
