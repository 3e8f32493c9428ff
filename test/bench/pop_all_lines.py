#!/usr/bin/env python3
"""Popularity in context on every item (report_real --by-kind, XD_KIND_POP=1) on issue 17's
two lines, from the KIND, TO and POPALL lines of report_real's stderr.
usage: test/bench/pop_all_lines.py [--choose] first_seed:file.err [first_seed:file.err ...]
(first_seed: the run's --first-seed; seed s of that run is first_seed + s)
Paired per split, s.e. over splits; sampled MRR summed over the markets, full MRR and
HitRate@10 their mean. --choose: the choice rule (docs/transfer.md): among the product's
families' rows, the highest full MRR mean whose sampled sum is not below the product as
served by more than 1 paired s.e.

Old logs only: report_real's XD_KIND_POP rows were dropped once the term was served (the
served rows with the term, SERVED lines, read by test/bench/pool_served.py, equal rows 24
and 38 here). Newer --by-kind logs print KIND rows 20-22 as the product as served with the
term, target-only as served with it and without; this script does not read those."""
import re, sys, math, collections

POP0, NW, NROWS = 20, 6, 7          # report_real: 4 + N_KIND_TOP + N_KIND_MIX, N_POP_W, N_POP_ROWS
PROD, HEUR = 0, 3
args = [a for a in sys.argv[1:] if not a.startswith('--')]
choose = '--choose' in sys.argv
kind, to, chose = {}, {}, collections.defaultdict(list)
for arg in args:
    f0, path = arg.split(':', 1); f0 = int(f0)
    for line in open(path):
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): KIND (\d+) repeats ([\d.]+)/(\d+) new ([\d.]+)/(\d+); sampled ([\d.]+) full MRR ([\d.]+) H10 ([\d.]+) \((.*)\)$', line)
        if m:
            kind[(f0 + int(m[3]), m[2], int(m[4]))] = (float(m[9]), float(m[10]), float(m[11]), m[12])
            continue
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): TO ([\d.]+) ', line)
        if m:
            to[(f0 + int(m[3]), m[2])] = float(m[4]); continue
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): POPALL (\d+) chose w (\S+)', line)
        if m:
            chose[int(m[4])].append(f"{f0 + int(m[3])}:{m[2][:3]}:{m[5]}")
doms = sorted({d for (_, d) in to})
rows = sorted({r for (_, _, r) in kind})
splits = sorted({s for (s, d) in to if all((s, dd) in to for dd in doms)})
splits = [s for s in splits if all((s, d, r) in kind for d in doms for r in rows)]
if len(splits) < 2:
    sys.exit(f"fewer than two complete splits: {splits}")


def ms(x):
    n = len(x); mu = sum(x) / n
    return mu, math.sqrt(sum((v - mu) ** 2 for v in x) / (n - 1) / n)


def fmt(m, k=2):
    f = '**' if abs(m[0]) > k * m[1] else ''
    return f"{f}{m[0]:+.4f} ({m[1]:.4f}){f}"


def to_term(r):
    """target-only as served with the same term: family 2's row of r's weight (or rule)"""
    return POP0 + 2 * NROWS + (r - POP0) % NROWS if r >= POP0 else None


def stats(r, ds):
    w = len(ds)
    col = lambda i, rr: [sum(kind[(s, x, rr)][i] for x in ds) for s in splits]
    smp = col(0, r); full = [v / w for v in col(1, r)]; h10 = [v / w for v in col(2, r)]
    tos = [sum(to[(s, x)] for x in ds) for s in splits]
    out = {'smp': sum(smp) / len(smp), 'full': sum(full) / len(full), 'h10': sum(h10) / len(h10),
           'vs_to': ms([a - b for a, b in zip(smp, tos)]), 'to': sum(tos) / len(tos),
           'vs_prod_s': ms([a - b for a, b in zip(smp, col(0, PROD))]),
           'vs_heur_f': ms([a - b / w for a, b in zip(full, col(1, HEUR))]),
           'vs_prod_f': ms([a - b / w for a, b in zip(full, col(1, PROD))]),
           'vs_heur_h': ms([a - b / w for a, b in zip(h10, col(2, HEUR))])}
    t = to_term(r)
    if t is not None and t in rows:
        out['vs_toterm'] = ms([a - b for a, b in zip(smp, col(0, t))])
    return out


print(f"splits (seed numbers): {splits}; markets {doms}\n")
print("All markets (sampled MRR: sum; full MRR, HitRate@10: mean; ** beyond 2 s.e.)\n")
print("| row | sampled | vs product (se) | vs target-only (se) | % | vs target-only + same term (se) | full MRR | vs heuristic (se) | vs product (se) | H10 | vs heuristic (se) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
allst = {}
for r in rows:
    if r in (1, 2):
        continue
    st = allst[r] = stats(r, doms)
    tt = fmt(st['vs_toterm']) if 'vs_toterm' in st else ''
    print(f"| {r}: {kind[(splits[0], doms[0], r)][3]} | {st['smp']:.4f} | {fmt(st['vs_prod_s'])} | {fmt(st['vs_to'])} | "
          f"{100 * st['vs_to'][0] / st['to']:+.1f}% | {tt} | {st['full']:.4f} | {fmt(st['vs_heur_f'])} | "
          f"{fmt(st['vs_prod_f'])} | {st['h10']:.4f} | {fmt(st['vs_heur_h'])} |")
if choose:
    cand = [r for r in rows if POP0 <= r < POP0 + 2 * NROWS] + [PROD]
    ok = [r for r in cand if allst[r]['vs_prod_s'][0] >= -allst[r]['vs_prod_s'][1]]
    best = max(ok, key=lambda r: allst[r]['full'])
    print(f"\nchoice: row {best} ({kind[(splits[0], doms[0], best)][3]}), full MRR {allst[best]['full']:.4f}; "
          f"qualifying rows {ok}")
sel = [int(x) for a in sys.argv[1:] if a.startswith('--rows=') for x in a[7:].split(',')]
for r in sel or [PROD]:
    print(f"\nPer market, row {r}: {kind[(splits[0], doms[0], r)][3]}\n")
    print("| market | sampled | vs target-only (se) | vs target-only + same term (se) | vs product (se) | full MRR | vs heuristic (se) | H10 | vs heuristic (se) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for d in doms:
        st = stats(r, [d])
        tt = fmt(st['vs_toterm']) if 'vs_toterm' in st else ''
        print(f"| {d} | {st['smp']:.4f} | {fmt(st['vs_to'])} | {tt} | {fmt(st['vs_prod_s'])} | {st['full']:.4f} | "
              f"{fmt(st['vs_heur_f'])} | {st['h10']:.4f} | {fmt(st['vs_heur_h'])} |")
print("\nweights chosen on validation (family: split:market:w):")
for f, l in sorted(chose.items()):
    print(f, ' '.join(l))
