#!/usr/bin/env bash
# test/bench/serve.sh - make bench-serve: serving speed on a throwaway cluster
# (docs/serving.md explains the numbers). For 1k, 10k and 100k items at
# d = 64, a model built for speed, not quality (random interactions that
# cover every item, two interaction-scoped features, one epoch); then:
#   - p50/p99 latency at the client of xdrec_rank(user, ctx, 10) with a
#     repeated context and with a new context per call (pgbench over the unix
#     socket, -M prepared, one client, from its per-transaction log; each
#     client's first call, which loads the version into its backend, left out);
#   - pgbench TPS with 2 clients (both scripts);
#   - rows/s of xdrec.rank_many for 1000 users, k = 10 (new and repeated context);
#   - cold-start users (issue 19, docs/cold-start.md): p50/p99 of xdrec_rank
#     for 200 users inserted after training with 20 rows each (read through
#     an index on the user column), and of xdrec.rank with an anonymous
#     history of 20 random items, both in the repeated context, against the
#     warm user's repeated-context p50, with the cold path's co-occurrence
#     pass (timed by serve_kernel at lambda 1) added when the model's lambda
#     is 0 and serving skipped it;
#   - the uncached path's GFLOP/s on one core against OpenBLAS's single-thread
#     sgemm at the towers' shape (test/bench/serve_kernel.c), and the rate the
#     new-context p50 implies end to end.
# XD_BENCH_SECONDS (default 8) per pgbench run; XD_BENCH_ITEMS the sizes.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
cd "$XD_ROOT"

SECONDS_PER_RUN=${XD_BENCH_SECONDS:-8}
SIZES=${XD_BENCH_ITEMS:-"1000 10000 100000"}
USERS=2000
D=64

xd_install_deps >/dev/null
xd_build_install
make -s build/bench/serve_kernel
xd_start_cluster
PGBENCH="$XD_PGBIN/pgbench"
WORK="$XD_TMP/bench"
mkdir -p "$WORK/scripts"
xd_psql -c "CREATE EXTENSION xdrec"

# p50 p99 (ms, nearest rank) and the TPS after every client's first call,
# from pgbench logs: client_id transaction_no (from 1) latency_us script_no epoch us
latency_stats()
{
	cat "$1".* | awk '
		$2 == 1 { t = $5 + $6 / 1e6; if (t > warm) warm = t; next }
		{ lat[++n] = $3; end[n] = $5 + $6 / 1e6 }
		END {
			m = 0; last = 0
			for (i = 1; i <= n; i++) if (end[i] > warm) { m++; if (end[i] > last) last = end[i] }
			printf "%d %.4f\n", n, (last > warm ? m / (last - warm) : 0)
			for (i = 1; i <= n; i++) print lat[i]
		}' | {
		read -r count tps
		sort -n | awk -v n="$count" -v tps="$tps" '
			{ a[NR] = $1 }
			END {
				p50 = int(n * 0.50 + 0.999999); p99 = int(n * 0.99 + 0.999999)
				printf "%.3f %.3f %.1f %d\n", a[p50] / 1000, a[p99] / 1000, tps, n
			}'
	}
}

# run <name> <clients> <script> [extra pgbench args]: prints "p50 p99 tps n"
run()
{
	local name=$1 clients=$2 script=$3
	rm -f "$WORK/$name".*
	"$PGBENCH" -n -M prepared -c "$clients" -j "$clients" -T "$SECONDS_PER_RUN" \
		-f "$script" --log --log-prefix="$WORK/$name" >"$WORK/$name-stdout" 2>&1 \
		|| { cat "$WORK/$name-stdout" >&2; return 1; }
	latency_stats "$WORK/$name"
}

cat >"$WORK/scripts/repeated.sql" <<'SQL'
\set uid random(0, 1999)
SELECT * FROM xdrec_rank((:uid)::bigint, '{"hour": 12, "weekday": "fri"}', 10);
SQL
cat >"$WORK/scripts/cold.sql" <<'SQL'
\set uid random(100000, 100199)
SELECT * FROM xdrec_rank((:uid)::bigint, '{"hour": 12, "weekday": "fri"}', 10);
SQL
cat >"$WORK/scripts/new.sql" <<'SQL'
\set uid random(0, 1999)
\set h random(0, 999999)
SELECT * FROM xdrec_rank((:uid)::bigint, jsonb_build_object('hour', (:h)::int * 0.000023, 'weekday', 'fri'), 10);
SQL

declare -A RESULT
for n in $SIZES; do
	t="b$n"
	rows=$((3 * n > 30000 ? 3 * n : 30000))
	xd_log "$n items: building model $t ($rows random interactions, $USERS users, d = $D, 1 epoch)"
	start=$EPOCHREALTIME
	xd_psql -v ON_ERROR_STOP=1 <<SQL >/dev/null
SELECT setseed(0.$n);
CREATE TABLE $t AS
SELECT 'd0'::text AS domain, floor(random() * $USERS)::bigint AS user_key, (g % $n)::bigint AS item_key,
       floor(random() * 24)::real AS hour,
       (ARRAY['mon','tue','wed','thu','fri','sat','sun'])[1 + floor(random() * 7)::int] AS weekday
FROM generate_series(0, $rows - 1) g;
SELECT xdrec.create_model('$t', '$t', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"},
	              {"name": "weekday", "column": "weekday", "kind": "interactional", "type": "categorical"}]',
	options => '{"d": $D, "epochs": 1}');
CREATE TABLE ${t}_summary AS SELECT xdrec.train('$t', 'd0') AS j;
SQL
	# the co-occurrence prior's lambda (random rows: often 0, which skips its pass)
	lambda=$(xd_psql -At -c "SELECT coalesce(j->'cold'->'cooc'->>'lambda', 'none') FROM ${t}_summary")
	m=$(xd_psql -At -c "SELECT encoder->'schema'->>'m' FROM xdrec.version v JOIN xdrec.model x ON x.id = v.model_id WHERE x.name = '$t'")
	items=$(xd_psql -At -c "SELECT encoder->>'n_items' FROM xdrec.version v JOIN xdrec.model x ON x.id = v.model_id WHERE x.name = '$t'")
	printf '   built in %.1f s: %s items, m = %s\n' "$(echo "$EPOCHREALTIME - $start" | bc)" "$items" "$m"

	export PGOPTIONS="-c xdrec.default_model=$t"
	read -r rep50 rep99 _ repn < <(run "rep$n" 1 "$WORK/scripts/repeated.sql")
	read -r new50 new99 _ newn < <(run "new$n" 1 "$WORK/scripts/new.sql")
	# cold-start users: 200 users arrive after training with 20 rows each; an
	# anonymous session of 20 random items (xdrec.rank's history)
	xd_psql -v ON_ERROR_STOP=1 <<SQL >/dev/null
INSERT INTO $t SELECT 'd0', 100000 + u, floor(random() * $n)::bigint, floor(random() * 24)::real,
	(ARRAY['mon','tue','wed','thu','fri','sat','sun'])[1 + floor(random() * 7)::int]
FROM generate_series(0, 199) u, generate_series(1, 20) r;
CREATE INDEX ON $t (user_key);
ANALYZE $t;
SQL
	{
		for i in $(seq 1 20); do echo "\\set i$i random(0, $((n - 1)))"; done
		printf "SELECT * FROM xdrec.rank('%s', NULL, '{\"hour\": 12, \"weekday\": \"fri\"}', 10, history => jsonb_build_array(" "$t"
		for i in $(seq 1 20); do printf '%s(:i%d)::int' "$([ "$i" = 1 ] || echo ', ')" "$i"; done
		echo "));"
	} >"$WORK/scripts/hist$n.sql"
	read -r cold50 cold99 _ coldn < <(run "cold$n" 1 "$WORK/scripts/cold.sql")
	read -r hist50 hist99 _ histn < <(run "hist$n" 1 "$WORK/scripts/hist$n.sql")
	read -r _ _ rep_tps _ < <(run "rep2c$n" 2 "$WORK/scripts/repeated.sql")
	read -r _ _ new_tps _ < <(run "new2c$n" 2 "$WORK/scripts/new.sql")
	cat >"$WORK/scripts/many_new$n.sql" <<SQL
\set h random(0, 999999)
SELECT count(*) FROM xdrec.rank_many('$t', (SELECT array_agg(u::bigint) FROM generate_series(0, 999) u),
	jsonb_build_object('hour', (:h)::int * 0.000023, 'weekday', 'fri'), 10);
SQL
	sed 's/jsonb_build_object.*fri.)/'"'"'{"hour": 12, "weekday": "fri"}'"'"'/' "$WORK/scripts/many_new$n.sql" | grep -v '\\set' >"$WORK/scripts/many_rep$n.sql"
	many_rows=$(xd_psql -At -c "SELECT count(*) FROM xdrec.rank_many('$t', (SELECT array_agg(u::bigint) FROM generate_series(0, 999) u), '{\"hour\": 1}', 10)")
	read -r _ _ many_new_tps _ < <(run "many_new$n" 1 "$WORK/scripts/many_new$n.sql")
	read -r _ _ many_rep_tps _ < <(run "many_rep$n" 1 "$WORK/scripts/many_rep$n.sql")
	unset PGOPTIONS

	mapfile -t kernel < <(build/bench/serve_kernel "$items" "$m" "$D" 2)
	peak=$(echo "${kernel[0]}" | sed -E 's/.*: ([0-9.]+) GFLOP.*/\1/')
	kern=$(echo "${kernel[1]}" | sed -E 's/.*, ([0-9.]+) GFLOP.*/\1/')
	# the towers' flops per new-context call (xd_item_outputs_flops): n (2 d^2 L + 3 d)
	e2e=$(awk -v n="$items" -v d="$D" -v t="$new50" 'BEGIN { printf "%.1f", n * (4 * d * d + 3 * d) / (t / 1000) / 1e9 }')

	printf '   xdrec_rank, repeated context: p50 %s ms, p99 %s ms (%s calls, 1 client)\n' "$rep50" "$rep99" "$repn"
	printf '   xdrec_rank, new context:      p50 %s ms, p99 %s ms (%s calls, 1 client)\n' "$new50" "$new99" "$newn"
	printf '   cold user from 20 rows:       p50 %s ms, p99 %s ms (%s calls): %s x the warm p50\n' "$cold50" "$cold99" "$coldn" \
		"$(awk -v a="$cold50" -v b="$rep50" 'BEGIN { printf "%.2f", a / b }')"
	printf '   anonymous history of 20:      p50 %s ms, p99 %s ms (%s calls): %s x the warm p50\n' "$hist50" "$hist99" "$histn" \
		"$(awk -v a="$hist50" -v b="$rep50" 'BEGIN { printf "%.2f", a / b }')"
	printf '   2 clients: %s TPS repeated context, %s TPS new context\n' "$rep_tps" "$new_tps"
	printf '   rank_many, 1000 users x k 10: %s rows/s new context, %s rows/s repeated\n' \
		"$(awk -v a="$many_new_tps" -v b="$many_rows" 'BEGIN { printf "%.0f", a * b }')" \
		"$(awk -v a="$many_rep_tps" -v b="$many_rows" 'BEGIN { printf "%.0f", a * b }')"
	printf '   %s\n   %s\n' "${kernel[0]}" "${kernel[1]}"
	# the cold path's co-occurrence pass, timed at lambda 1 whatever the model's
	cooc=$(echo "${kernel[2]}" | sed -E 's/.*median ([0-9.]+) ms.*/\1/')
	printf '   %s; the model'"'"'s lambda %s\n' "${kernel[2]}" "$lambda"
	printf '   cold user p50 with the pass: %s ms, %s x the warm p50\n' \
		"$(awk -v a="$cold50" -v c="$cooc" -v l="$lambda" 'BEGIN { printf "%.3f", a + (l == "0" || l == "none" ? c : 0) }')" \
		"$(awk -v a="$cold50" -v c="$cooc" -v l="$lambda" -v b="$rep50" 'BEGIN { printf "%.2f", (a + (l == "0" || l == "none" ? c : 0)) / b }')"
	printf '   end to end, towers flops / new-context p50: %s GFLOP/s\n' "$e2e"
	# a cold user's p50 as served with the prior's pass (added when lambda 0 skipped it)
	cold50=$(awk -v a="$cold50" -v c="$cooc" -v l="$lambda" 'BEGIN { printf "%.3f", a + (l == "0" || l == "none" ? c : 0) }')
	hist50=$(awk -v a="$hist50" -v c="$cooc" -v l="$lambda" 'BEGIN { printf "%.3f", a + (l == "0" || l == "none" ? c : 0) }')
	RESULT[$n]="$rep50 $new50 $rep_tps $kern $peak $cold50 $hist50"
done

if [ -n "${RESULT[10000]:-}" ]; then
	read -r rep50 new50 tps kern peak cold50 hist50 <<<"${RESULT[10000]}"
	goal() { printf '   %-4s %s\n' "$(if [ "$1" = 1 ]; then echo ok; else echo MISS; fi)" "$2"; }
	xd_log "goals at 10k items"
	goal "$(echo "$new50 <= 10" | bc)" "new context p50 $new50 ms <= 10 ms"
	goal "$(echo "$rep50 <= 0.5" | bc)" "repeated context p50 $rep50 ms <= 0.5 ms"
	goal "$(echo "$tps >= 2000" | bc)" "2 clients $tps TPS >= 2000"
	goal "$(echo "$kern * 2 >= $peak" | bc)" "uncached $kern GFLOP/s >= half the sgemm peak $peak GFLOP/s"
	goal "$(echo "$cold50 <= 2 * $rep50" | bc)" "cold user from 20 rows p50 $cold50 ms (with the co-occurrence pass) <= 2 x the warm p50 $rep50 ms"
	goal "$(echo "$hist50 <= 2 * $rep50" | bc)" "anonymous history of 20 p50 $hist50 ms (with the co-occurrence pass) <= 2 x the warm p50 $rep50 ms"
fi
