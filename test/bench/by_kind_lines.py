#!/usr/bin/env python3
"""Issue 17's lines per --by-kind row from report_real's stderr (KIND, TO, MIX lines).
usage: test/bench/by_kind_lines.py first_seed:file.err [first_seed:file.err ...]
(first_seed: the run's --first-seed; seed s of that run is first_seed + s)"""
import re, sys, math, collections
kind = {}   # (split, dom, row) -> (sampled, full, h10, label, rep_rr, rep_n)
to = {}     # (split, dom) -> sampled
mix = collections.defaultdict(list)
for arg in sys.argv[1:]:
    f0, path = arg.split(':', 1); f0 = int(f0)
    for line in open(path):
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): KIND (\d+) repeats ([\d.]+)/(\d+) new ([\d.]+)/(\d+); sampled ([\d.]+) full MRR ([\d.]+) H10 ([\d.]+) \((.*)\)$', line)
        if m:
            sp = f0 + int(m[3]); kind[(sp, m[2], int(m[4]))] = (float(m[9]), float(m[10]), float(m[11]), m[12], float(m[5]), int(m[6]))
            continue
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): TO ([\d.]+) ', line)
        if m:
            to[(f0 + int(m[3]), m[2])] = float(m[4]); continue
        m = re.match(r'\[(\S+)\] (\S+) seed (\d+): MIX (\d+) k \S+ pi0 \S+ T (\S+) a (\S+)', line)
        if m:
            mix[int(m[4])].append((f0 + int(m[3]), m[2], m[5], m[6]))
doms = sorted({d for (_, d) in to})
splits = sorted({s for (s, d) in to if all((s, dd) in to for dd in doms)})
rows = sorted({r for (_, _, r) in kind})
# keep splits where every market has every row
splits = [s for s in splits if all((s, d, r) in kind for d in doms for r in rows)]
def ms(x):
    n = len(x); mu = sum(x) / n
    se = math.sqrt(sum((v - mu) ** 2 for v in x) / (n - 1) / n) if n > 1 else float('nan')
    return mu, se
print(f"splits (seed numbers): {splits}; markets {doms}")
HEUR, PROD = 3, 0
for r in rows:
    if r in (1, 2): continue
    label = kind[(splits[0], doms[0], r)][3]
    print(f"\n### row {r}: {label}")
    print("| market | sampled | vs target-only (se) | % | full MRR | vs heuristic (se) | vs product (se) | H10 | vs heuristic (se) | repeats' MRR |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for d in doms + ['sum/mean']:
        ds = doms if d == 'sum/mean' else [d]
        w = len(ds) if d == 'sum/mean' else 1
        a = []; b = []; c = []; e = []; sv = []; fv = []; hv = []; tov = []; rr = 0; rn = 0
        for s in splits:
            a.append(sum(kind[(s, x, r)][0] - to[(s, x)] for x in ds))
            b.append(sum(kind[(s, x, r)][1] - kind[(s, x, HEUR)][1] for x in ds) / w)
            c.append(sum(kind[(s, x, r)][1] - kind[(s, x, PROD)][1] for x in ds) / w)
            e.append(sum(kind[(s, x, r)][2] - kind[(s, x, HEUR)][2] for x in ds) / w)
            sv.append(sum(kind[(s, x, r)][0] for x in ds)); tov.append(sum(to[(s, x)] for x in ds))
            fv.append(sum(kind[(s, x, r)][1] for x in ds) / w); hv.append(sum(kind[(s, x, r)][2] for x in ds) / w)
            rr += sum(kind[(s, x, r)][4] for x in ds); rn += sum(kind[(s, x, r)][5] for x in ds)
        A, B, C, E = ms(a), ms(b), ms(c), ms(e)
        flag = lambda m: '**' if abs(m[0]) > 2 * m[1] else ''
        print(f"| {d} | {sum(sv)/len(sv):.4f} | {flag(A)}{A[0]:+.4f} ({A[1]:.4f}){flag(A)} | {100*A[0]/(sum(tov)/len(tov)):+.1f}% | {sum(fv)/len(fv):.4f} | {flag(B)}{B[0]:+.4f} ({B[1]:.4f}){flag(B)} | {flag(C)}{C[0]:+.4f} ({C[1]:.4f}){flag(C)} | {sum(hv)/len(hv):.4f} | {flag(E)}{E[0]:+.4f} ({E[1]:.4f}){flag(E)} | {rr/rn if rn else 0:.3f} |")
print("\n(** beyond 2 s.e.; paired per split; sampled summed over markets, full metrics the mean over markets)")
print("\nMIX choices (row: split market T a):")
for r, l in sorted(mix.items()):
    print(r, ' '.join(f"{s}:{d[:3]}:T{T}:a{a}" for s, d, T, a in l))
