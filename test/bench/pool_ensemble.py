#!/usr/bin/env python3
"""Pools the ENSEMBLE lines of report_real --ensemble runs (their stderr).

Usage: pool_ensemble.py stderr_file...

Each file holds one ENSEMBLE line per target and split (run_thirds in
report_real.c): every --ensemble row's test metrics (sampled MRR, full MRR,
full HitRate@10). Runs on different splits (--first-seed) pool into one
reading, printed as print_ensemble prints one run's: per comparison and
metric the sums over targets of the means over splits, the change, the
targets better / worse beyond 2 paired standard errors, and per target the
mean difference (2 s.e.). Implicit views only (RMSE is not turned).

The last row, the switch (run_switch: the target-only ensemble as served
where the product deployed its blend, else the product), is in the lines
of runs from 2026-12-06 on; for an older line it is derived: the product
deployed its blend where the thirds row of auto's three fits differs from
the product's (run_thirds copies the product's cell elsewhere).
"""
import math
import re
import sys

LINE = re.compile(r"^\[(\S+)\] (\S+) split (\d+): ENSEMBLE (.*)$")
# the rows in the line's order: M_TO_SERVED..M_TO_ENS3 (report_real.c's enum),
# then M_TO and M_AUTO_PRODUCT
ORDER = ["TO served", "TO ens", "TO ens served", "thirds auto", "thirds (b)", "TO ens3",
         "switch"]
PAIRS = [
    ("product", "TO"), ("TO ens served", "TO"), ("TO ens3", "TO"),
    ("TO ens3", "TO ens"), ("TO ens3", "TO ens served"),
    ("product", "TO ens served"), ("product", "TO ens3"),
    ("thirds (b)", "TO ens served"), ("thirds (b)", "TO ens"),
    ("thirds (b)", "TO ens3"), ("thirds (b)", "product"),
    ("thirds auto", "TO ens3"),
    ("switch", "product"), ("switch", "TO"), ("switch", "TO served"), ("switch", "TO ens3"),
]
METRICS = ["sampled MRR", "full MRR", "full H@10"]


def load(paths):
    cells = {}  # (target, split) -> row -> metrics
    for path in paths:
        with open(path) as f:
            for line in f:
                m = LINE.match(line.strip())
                if not m:
                    continue
                tok = m.group(4).split()
                vals = [tok[i:i + 4] for i in range(0, len(tok), 4)]
                names = ORDER + ["TO", "product"]
                old = len(vals) == len(names) - 1
                if old:
                    names = [n for n in names if n != "switch"]
                if len(vals) != len(names):
                    sys.exit("%s: an ENSEMBLE line of %d rows, not %d" % (path, len(vals), len(names)))
                key = (m.group(2), int(m.group(3)))
                if key in cells:
                    sys.exit("%s: target %s split %d twice" % (path, key[0], key[1]))
                row = {n: [float(x) for x in v[1:]] for n, v in zip(names, vals)}
                if old:
                    blended = row["thirds auto"] != row["product"]
                    row["switch"] = row["TO ens served" if blended else "product"]
                cells[key] = row
    return cells


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    cells = load(sys.argv[1:])
    targets = sorted({t for t, _ in cells}, key=lambda t: [t2 for t2, _ in cells].index(t))
    splits = sorted({s for _, s in cells})
    for t in targets:
        if sorted(s for t2, s in cells if t2 == t) != splits:
            sys.exit("target %s lacks some of the splits %s" % (t, splits))
    n = len(splits)
    if n < 2:
        sys.exit("two splits at least: the verdicts are standard errors over splits")
    print("%d splits (%s), targets %s" % (n, ", ".join(map(str, splits)), ", ".join(targets)))
    for q, metric in enumerate(METRICS):
        for a, b in PAIRS:
            tot_a = tot_b = 0.0
            better = worse = 0
            per = []
            for t in targets:
                d = [cells[(t, s)][a][q] - cells[(t, s)][b][q] for s in splits]
                mu = sum(d) / n
                se = math.sqrt(sum((x - mu) ** 2 for x in d) / (n - 1) / n)
                tot_a += sum(cells[(t, s)][a][q] for s in splits) / n
                tot_b += sum(cells[(t, s)][b][q] for s in splits) / n
                better += mu > 2 * se and mu != 0.0
                worse += mu < -2 * se and mu != 0.0
                per.append("%s %+.4f (%.4f)" % (t, mu, 2 * se))
            pct = "%+6.1f%%" % (100.0 * (tot_a / tot_b - 1.0)) if tot_b else "    n/a"
            print("  %-12s %-14s vs %-14s %.4f %.4f %s %d/%d | %s" %
                  (metric, a, b, tot_a, tot_b, pct, better, worse, " ".join(per)))


if __name__ == "__main__":
    main()
