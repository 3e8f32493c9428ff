#!/usr/bin/env bash
# test/real/shared_users_sql.sh - the model option shared_users measured
# through SQL on TripAdvisor by state (docs/transfer.md, "Where the +17.0%
# went"): per seed, one model with shared_users false and one with true
# (the seed varies the split, the source and the fits), the source trained on
# EASTERN, then per market xdrec.adapt(m, t, 'target_only') on the first and
# xdrec.adapt(m, t, 'auto') on both; prints each summary's test MRR and
# adapt_seconds, then the paired sums (2 standard errors over seeds).
#
# Usage: XD_PRIVATE_PG=/work/pg-NAME test/real/shared_users_sql.sh [seed...]
# (default seeds 1-6, about 25 min on a shared 2-core machine); needs
# build/real/tripadvisor.tsv (test/real/fetch.sh). Builds, installs and
# starts a throwaway cluster as test/lib.sh does.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SEEDS=${*:-1 2 3 4 5 6}
. test/real/tripadvisor_sql.sh
for seed in $SEEDS; do
	for on in false true; do
		m=m_${seed}_$on
		$P -c "SELECT xdrec.create_model('$m', 'ta', 'user_key', 'item_key', 'domain',
			features => '$FEATURES', options => '{\"seed\": $seed, \"shared_users\": $on}')" > /dev/null
		echo "seed $seed $on source $($P -At -c "SELECT xdrec.train('$m', 'EASTERN')->'test'->>'mrr'")" | tee -a "$LOG"
		for t in PACIFIC CENTRAL MOUNTAIN; do
			if [ "$on" = false ]; then
				echo "seed $seed target_only $t $($P -At -F ' ' -c "SELECT j->'test'->>'mrr', j->>'adapt_seconds'
					FROM (SELECT xdrec.adapt('$m', '$t', 'target_only') j) x")" | tee -a "$LOG"
			fi
			echo "seed $seed $on $t $($P -At -F ' ' -c "SELECT j->'test'->>'mrr', j->>'adapt_seconds', j->>'method',
				j->>'users_from_source' FROM (SELECT xdrec.adapt('$m', '$t', 'auto') j) x")" | tee -a "$LOG"
		done
	done
done
# the paired sums: auto (each setting) against target-only, true against false
python3 - "$LOG" <<'PY'
import math, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    if len(f) >= 5 and f[3] in ('PACIFIC', 'CENTRAL', 'MOUNTAIN'):
        rows[(int(f[1]), f[2], f[3])] = float(f[4])
T = ('PACIFIC', 'CENTRAL', 'MOUNTAIN')
seeds = sorted({s for s, _, _ in rows})
def line(name, a, b):
    out = []
    for ts in [T] + [(t,) for t in T]:
        d = [sum(rows[(s, a, t)] - rows[(s, b, t)] for t in ts) for s in seeds]
        mu = sum(d) / len(d)
        se = math.sqrt(sum((x - mu) ** 2 for x in d) / (len(d) - 1) / len(d)) if len(d) > 1 else float('nan')
        base = sum(rows[(s, b, t)] for s in seeds for t in ts) / len(seeds)
        out.append('%s %+.4f (2 s.e. %.4f, %+.1f%%)' % ('sum' if len(ts) > 1 else ts[0], mu, 2 * se, 100 * mu / base))
    print(name + ': ' + '; '.join(out))
line('auto, shared_users false, vs target_only', 'false', 'target_only')
line('auto, shared_users true, vs target_only', 'true', 'target_only')
line('auto, shared_users true vs false', 'true', 'false')
PY
