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
# Prints the fastest round of each, per pass of rank and per call of
# rank_many: wall-clock ms and the backend's own CPU ms (on-CPU time from
# /proc/self/schedstat, so it does not count the time other jobs on a shared
# machine held the cores; empty where that file is not readable); then the
# blend's ratio to target-only, and rank_many's to the rank loop over the same
# users. XD_BENCH_FEATURES: both (default), item (the generator's features)
# or noitem (without its item-scoped ones).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$XD_ROOT"

ROUNDS=${XD_BENCH_ROUNDS:-5}
MANY=${XD_BENCH_MANY:-20}
PASSES=${XD_BENCH_PASSES:-5}
FEATURES=${XD_BENCH_FEATURES:-both}
case "$FEATURES" in
both | item | noitem) ;;
*)
	echo "XD_BENCH_FEATURES must be both, item or noitem, not $FEATURES" >&2
	exit 2
	;;
esac

xd_install_deps >/dev/null
xd_build_install
xd_start_cluster
xd_psql -c "CREATE EXTENSION xdrec"

xd_psql >/dev/null <<'SQL'
-- this backend's time on a CPU so far, in ms (Linux), or NULL
CREATE FUNCTION bench_cpu_ms() RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN
	RETURN split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::float8 / 1e6;
EXCEPTION WHEN OTHERS THEN
	RETURN NULL;
END
$$;
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
-- per pass of rank over the users and per call of rank_many: wall and CPU ms
CREATE FUNCTION ${model}_time(version bigint, OUT rank_ms float8, OUT many_ms float8,
	OUT rank_cpu float8, OUT many_cpu float8, OUT served bool)
LANGUAGE plpgsql AS \$\$
DECLARE
	keys bigint[] := (SELECT b.keys FROM ${model}_users b);
	t0 timestamptz;
	c0 float8;
	u bigint;
BEGIN
	PERFORM xdrec.deploy('$model', 'd1', version);
	served := (SELECT bool_and(m.version = ${model}_time.version)
	           FROM xdrec.rank_many('$model', keys, '{}', 10) m);
	t0 := clock_timestamp();
	c0 := bench_cpu_ms();
	FOR i IN 1..$PASSES LOOP
		FOREACH u IN ARRAY keys LOOP
			PERFORM * FROM xdrec.rank('$model', u, '{}', 10);
		END LOOP;
	END LOOP;
	rank_cpu := (bench_cpu_ms() - c0) / $PASSES;
	rank_ms := 1000 * extract(epoch FROM clock_timestamp() - t0) / $PASSES;
	t0 := clock_timestamp();
	c0 := bench_cpu_ms();
	FOR i IN 1..$MANY LOOP
		PERFORM count(*) FROM xdrec.rank_many('$model', keys, '{}', 10);
	END LOOP;
	many_cpu := (bench_cpu_ms() - c0) / $MANY;
	many_ms := 1000 * extract(epoch FROM clock_timestamp() - t0) / $MANY;
END
\$\$;
CREATE TEMP TABLE t (round int, which text, rank_ms float8, many_ms float8, rank_cpu float8,
	many_cpu float8, served bool);
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
-- format() prints a NULL (no CPU time) as empty
SELECT format('%s %s rank x %s users: %s ms (CPU %s)   one rank_many of them: %s ms (CPU %s)   '
              'rank_many / rank loop: %sx (CPU %sx)   (fastest of $ROUNDS rounds of $PASSES passes '
              'and $MANY calls; served as asked: %s)',
              '$model', rpad(which, 12), cardinality((SELECT keys FROM ${model}_users)),
              round(min(rank_ms)::numeric, 2), round(min(rank_cpu)::numeric, 2),
              round(min(many_ms)::numeric, 2), round(min(many_cpu)::numeric, 2),
              round((min(many_ms) / min(rank_ms))::numeric, 2),
              round((min(many_cpu) / min(rank_cpu))::numeric, 2), bool_and(served))
FROM t GROUP BY which ORDER BY which;
SELECT format('%s blend / target-only: rank %sx (CPU %sx), rank_many %sx (CPU %sx)', '$model',
              round((min(rank_ms) FILTER (WHERE which = 'blend') / min(rank_ms) FILTER (WHERE which = 'target_only'))::numeric, 2),
              round((min(rank_cpu) FILTER (WHERE which = 'blend') / min(rank_cpu) FILTER (WHERE which = 'target_only'))::numeric, 2),
              round((min(many_ms) FILTER (WHERE which = 'blend') / min(many_ms) FILTER (WHERE which = 'target_only'))::numeric, 2),
              round((min(many_cpu) FILTER (WHERE which = 'blend') / min(many_cpu) FILTER (WHERE which = 'target_only'))::numeric, 2))
FROM t;
SQL
}

# with the generator's item-scoped features (price, cuisine) every user's
# tower runs once per item (serve.h, per-item gates); without them once per
# user, and rank_many's users share one matrix product
status=0
if [ "$FEATURES" != noitem ]; then
	measure bb "xdrec.generated_features()" || status=1
fi
if [ "$FEATURES" != item ]; then
	measure bb_noitem "(SELECT jsonb_agg(f) FROM jsonb_array_elements(xdrec.generated_features()) f WHERE f->>'scope' IS DISTINCT FROM 'item')" || status=1
fi
exit $status
