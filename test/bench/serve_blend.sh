#!/usr/bin/env bash
# test/bench/serve_blend.sh - make bench-serve-blend: what serving a blend
# version (auto's large-target blend, docs/serving.md "Blend versions") costs
# against target-only alone, in one backend on a throwaway cluster.
#
# A control-world target of 200 users and 1,500 items (xdrec.generate, seed
# 11; source 400 users, 300 items, 20,000 rows; target 2,000 rows), d = 32,
# other options the defaults: auto keeps target-only on its 1,596 training
# rows and deploys the blend. target_only is then adapted alone (the same
# seed, the same fit as the blend's first half). Both versions stay in the
# backend's caches and are served in turn, XD_BENCH_ROUNDS (default 5)
# rounds of each, one warm-up call before each round:
#   - rank: XD_BENCH_PASSES (default 5) passes of one xdrec.rank(user, '{}',
#     10) for each of the target's users;
#   - rank_many: XD_BENCH_MANY (default 20) calls of xdrec.rank_many over all
#     of them, k = 10.
# Prints the fastest round of each (ms) and the blend's ratio to target-only,
# for the generator's features and again without its item-scoped ones.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$XD_ROOT"

ROUNDS=${XD_BENCH_ROUNDS:-5}
MANY=${XD_BENCH_MANY:-20}
PASSES=${XD_BENCH_PASSES:-5}

xd_install_deps >/dev/null
xd_build_install
xd_start_cluster
xd_psql -c "CREATE EXTENSION xdrec"

xd_psql >/dev/null <<'SQL'
SELECT xdrec.generate('bb_gen', '{"seed": 11, "control": true, "domains": 2, "sizes": {"source": {"users": 400, "items": 300, "interactions": 20000}, "target": {"users": 200, "items": 1500, "interactions": 2000}}}');
SQL

# measure <model> <features>: fit the source, auto's blend and target-only
# alone, then time both versions in turn
measure()
{
	local model=$1 features=$2
	xd_log "$model: fitting the source, auto's blend and target-only"
	xd_psql >/dev/null <<SQL
SELECT xdrec.create_model('$model', 'bb_gen', 'user_key', 'item_key', 'domain',
	features => $features, options => '{"d": 32}');
SELECT xdrec.train('$model', 'd0');
CREATE TABLE ${model}_versions AS
SELECT (xdrec.adapt('$model', 'd1', 'auto')->>'version')::bigint AS blend;
ALTER TABLE ${model}_versions ADD COLUMN target_only bigint;
UPDATE ${model}_versions
SET target_only = (xdrec.adapt('$model', 'd1', 'target_only', deploy => 'always')->>'version')::bigint;
SQL
	method=$(xd_psql -At -c "SELECT v.method FROM xdrec.version v, ${model}_versions b WHERE v.id = b.blend")
	if [ "$method" != blend ]; then
		echo "$model: auto deployed $method, not the blend: nothing to measure" >&2
		return 1
	fi

	# the warm users (an embedding in the served versions), then the rounds
	xd_psql -At <<SQL
CREATE TABLE ${model}_users AS
SELECT array_agg(DISTINCT user_key ORDER BY user_key) AS keys
FROM xdrec.rank_many('$model', (SELECT array_agg(DISTINCT user_key) FROM bb_gen WHERE domain = 'd1'),
                     '{}', 1, on_unknown => 'skip');
CREATE FUNCTION ${model}_time(version bigint, OUT rank_ms float8, OUT many_ms float8, OUT served bool)
LANGUAGE plpgsql AS \$\$
DECLARE
	keys bigint[] := (SELECT b.keys FROM ${model}_users b);
	t0 timestamptz;
	u bigint;
BEGIN
	PERFORM xdrec.deploy('$model', 'd1', version);
	served := (SELECT bool_and(m.version = ${model}_time.version)
	           FROM xdrec.rank_many('$model', keys, '{}', 10) m);
	t0 := clock_timestamp();
	FOR i IN 1..$PASSES LOOP
		FOREACH u IN ARRAY keys LOOP
			PERFORM * FROM xdrec.rank('$model', u, '{}', 10);
		END LOOP;
	END LOOP;
	rank_ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
	t0 := clock_timestamp();
	FOR i IN 1..$MANY LOOP
		PERFORM count(*) FROM xdrec.rank_many('$model', keys, '{}', 10);
	END LOOP;
	many_ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
END
\$\$;
CREATE TEMP TABLE t (round int, which text, rank_ms float8, many_ms float8, served bool);
DO \$\$
DECLARE
	b bigint := (SELECT blend FROM ${model}_versions);
	o bigint := (SELECT target_only FROM ${model}_versions);
BEGIN
	FOR r IN 1..$ROUNDS LOOP
		INSERT INTO t SELECT r, 'blend', x.* FROM ${model}_time(b) x;
		INSERT INTO t SELECT r, 'target_only', x.* FROM ${model}_time(o) x;
	END LOOP;
END
\$\$;
SELECT '$model ' || rpad(which, 12) || ' rank x ' || cardinality((SELECT keys FROM ${model}_users)) || ' users x $PASSES: '
       || round(min(rank_ms)::numeric, 1) || ' ms   rank_many x $MANY: ' || round(min(many_ms)::numeric, 1)
       || ' ms   (fastest of $ROUNDS rounds; served as asked: ' || bool_and(served) || ')'
FROM t GROUP BY which ORDER BY which;
SELECT '$model blend / target-only: rank '
       || round((min(rank_ms) FILTER (WHERE which = 'blend') / min(rank_ms) FILTER (WHERE which = 'target_only'))::numeric, 2)
       || 'x, rank_many '
       || round((min(many_ms) FILTER (WHERE which = 'blend') / min(many_ms) FILTER (WHERE which = 'target_only'))::numeric, 2)
       || 'x'
FROM t;
SQL
}

# with the generator's item-scoped features (price, cuisine) every user's
# tower runs once per item (serve.h, per-item gates); without them once per
# user, and rank_many's users share one matrix product
status=0
measure bb "xdrec.generated_features()" || status=1
measure bb_noitem "(SELECT jsonb_agg(f) FROM jsonb_array_elements(xdrec.generated_features()) f WHERE f->>'scope' IS DISTINCT FROM 'item')" || status=1
exit $status
