#!/usr/bin/env bash
# test/real/target_only_sql.sh - how target-only is trained through SQL on
# TripAdvisor by state (docs/transfer.md, "Is target-only trained through
# SQL as in the report?"): per seed, xdrec.adapt(m, t, 'target_only') on a
# model with the product's defaults whose source EASTERN is trained first (so
# the categorical vocabularies are EASTERN's: every target's item_state is
# "other"), and, per market, a model whose source is the market itself
# (xdrec.train builds the vocabularies from its rows; option cold off, which
# the fit does not read). Prints per fit its test MRR (sampled), the rate the
# search kept, epochs, best epoch, validation rows, best validation MRR and
# every rate tried (rate:epochs:validation MRR), then the sums over the three
# markets per seed and their means.
#
# Usage: XD_PRIVATE_PG=/work/pg-NAME test/real/target_only_sql.sh [seed...]
# (default seeds 1-6, about 10 min on a shared 2-core machine); needs
# build/real/tripadvisor.tsv (test/real/fetch.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
SEEDS=${*:-1 2 3 4 5 6}
. test/real/tripadvisor_sql.sh
# the fields of a train or adapt summary j, one line
FIELDS="concat_ws(' ', j->'test'->>'mrr', j->'lr_search'->>'chosen', j->>'epochs', j->>'best_epoch',
	j->'split'->>'valid', j->'best_valid'->>'mrr',
	(SELECT string_agg(format('%s:%s:%s', e->>'lr', e->>'epochs', round((e->>'valid_mrr')::numeric, 4)), ',')
	 FROM jsonb_array_elements(j->'lr_search'->'tried') e))"
for seed in $SEEDS; do
	m=m_$seed
	$P -c "SELECT xdrec.create_model('$m', 'ta', 'user_key', 'item_key', 'domain',
		features => '$FEATURES', options => '{\"seed\": $seed}')" > /dev/null
	$P -c "SELECT xdrec.train('$m', 'EASTERN')" > /dev/null
	for t in PACIFIC CENTRAL MOUNTAIN; do
		echo "seed $seed eastern_vocabulary $t $($P -At -c "SELECT $FIELDS FROM (SELECT xdrec.adapt('$m', '$t', 'target_only') j) x")" | tee -a "$LOG"
	done
	for t in PACIFIC CENTRAL MOUNTAIN; do
		v=v_${seed}_$t
		$P -c "SELECT xdrec.create_model('$v', 'ta', 'user_key', 'item_key', 'domain',
			features => '$FEATURES', options => '{\"seed\": $seed, \"cold\": false}')" > /dev/null
		$P -c "SELECT xdrec.set_source('$v', '$t')" > /dev/null 2>&1
		echo "seed $seed own_vocabulary $t $($P -At -c "SELECT $FIELDS FROM (SELECT xdrec.train('$v', '$t') j) x")" | tee -a "$LOG"
	done
done
python3 - "$LOG" <<'PY'
import sys
sums = {}
for line in open(sys.argv[1]):
    f = line.split()
    sums.setdefault(f[2], {}).setdefault(int(f[1]), 0.0)
    sums[f[2]][int(f[1])] += float(f[4])
for kind, per_seed in sums.items():
    print('%s: summed test MRR per seed %s; mean %.4f' % (kind, ' '.join(
        '%d %.4f' % (s, v) for s, v in sorted(per_seed.items())), sum(per_seed.values()) / len(per_seed)))
PY
