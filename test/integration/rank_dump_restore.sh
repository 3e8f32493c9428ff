#!/usr/bin/env bash
# rank_dump_restore.sh - a database with trained models ranks identically
# after a superuser's pg_dump -Fc / pg_restore (DESIGN section 7): the same
# items, scores (every digit) and versions, for integer and text keys, with
# and without item-scoped features, for a DRR target pinned to a source
# version that is no longer served (stale), and evaluate gives the same
# metrics.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

SRC=xd_rank_src
DST=xd_rank_dst
it_databases "$SRC" "$DST"
it_workdir rankdump
it_trained_model "$SRC" food \
	'{"seed": 21, "domains": 2, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 30, "items": 20, "interactions": 300}}}' \
	'{"d": 16, "epochs": 2}'
q -d "$SRC" >/dev/null <<'SQL'
SELECT xdrec.adapt('food', 'd1', 'drr');
SELECT xdrec.train('food', 'd0');
CREATE TABLE orders_text AS SELECT domain, 'u' || user_key AS u, 'i' || item_key AS i, hour, weekday FROM orders;
SELECT xdrec.create_model('food_text', 'orders_text', 'u', 'i', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric", "options": {"bins": 5}},
	              {"name": "weekday", "column": "weekday", "kind": "interactional", "type": "categorical"}]',
	options => '{"d": 8, "epochs": 2}');
SELECT xdrec.train('food_text', 'd0');
SQL

ranks()
{
	q -d "$1" <<'SQL'
SELECT 'food', u::text, c, r.rank, r.item_key::text, r.score::text, r.version
FROM (SELECT DISTINCT user_key AS u FROM orders WHERE domain = 'd0' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon", "rain": true}', '{"hour": 21, "weekday": "sat"}']::jsonb[]) AS c,
     xdrec.rank('food', u, c, 10) r
UNION ALL
SELECT 'food_text', u, c, r.rank, r.item_key, r.score::text, r.version
FROM (SELECT DISTINCT u FROM orders_text WHERE domain = 'd0' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon"}', '{"hour": 21}']::jsonb[]) AS c,
     xdrec.rank('food_text', u, c, 10) r
UNION ALL
SELECT 'target', u::text, c, r.rank, r.item_key::text, r.score::text, r.version
FROM (SELECT DISTINCT user_key AS u FROM orders WHERE domain = 'd1' ORDER BY 1 LIMIT 3) us,
     unnest(ARRAY['{"hour": 8, "weekday": "mon", "rain": true}', '{"hour": 21, "weekday": "sat"}']::jsonb[]) AS c,
     xdrec.rank('food', u, c, 10, domain => 'd1') r
ORDER BY 1, 2, 3, 4;
SELECT domain, role, method, stale FROM xdrec.domains WHERE model = 'food' ORDER BY domain;
SELECT metric, value::text, n FROM xdrec.evaluate('food') ORDER BY metric;
SQL
}
ranks "$SRC" >"$WORK/src.txt"
pg_dump -Fc -d "$SRC" -f "$WORK/src.dump" 2>/dev/null
createdb -T template0 "$DST"
pg_restore --exit-on-error -d "$DST" "$WORK/src.dump"
ranks "$DST" >"$WORK/dst.txt"
if ! diff -u "$WORK/src.txt" "$WORK/dst.txt"; then
	echo "FAIL: the restored database ranks differently"
	exit 1
fi
n=$(grep -c '^food' "$WORK/src.txt")
[ "$n" -eq 120 ] || { echo "FAIL: expected 120 ranked rows, got $n"; exit 1; }
t=$(grep -c '^target' "$WORK/src.txt")
[ "$t" -eq 60 ] || { echo "FAIL: expected 60 ranked target rows, got $t"; exit 1; }
grep -qx 'd1|target|drr|t' "$WORK/src.txt" || { echo "FAIL: the target is not a stale DRR target"; exit 1; }
echo "pg_dump/pg_restore: $n ranked rows, $t of a stale DRR target, and the evaluation identical after restore"
