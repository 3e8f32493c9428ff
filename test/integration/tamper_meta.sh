#!/usr/bin/env bash
# tamper_meta.sh - the tamper test (tamper_superuser.sh) for what 0.2.0 added
# to a version: the cold-start module (cold.*, its FiLM heads, its context
# prior cold.prior.N/W/k/b and own items first, cold.rep.floor; its
# co-occurrence prior cold.cooc.nbr/share/lambda;
# docs/cold-start.md), the few-shot meta-learner stored with the source
# (fs.*), BIAO's perceptron (biao.phi), the repeat term (rep.*), a domain
# served by method 'fewshot' and one served by popularity. Stored data is
# untrusted input (DESIGN section 9): as superuser, each case changes one
# structure inside a transaction and, from a fresh backend (an empty version
# cache), makes the calls that read it, then rolls back.
#
# Three served versions of model "tm": C, d0, the source (implicit, repeat,
# cold_holdout, fewshot, source_weighting biao), called as a cold user with
# rows but no embedding, as an anonymous history, in rank_many with
# on_unknown 'cold', by evaluate's protocol 'cold', and by adapt's method
# fewshot (which reads the meta-learner); D, d1, served by method 'fewshot'
# (DRR's residuals over the source's modules), ranked warm; E, d2, served by
# popularity (one item), ranked. Some cases change what one call alone
# reads: the held-out share evaluate's protocol 'cold' reads, the served
# version's validation metrics train compares with when it deploys.
#
# Passes when every call of every case fails with XX001 naming the model,
# the domain and a version, the controls (a later release's tensors, a
# version trained without the perceptron, a cold-start module without its
# prior or its FiLM heads, counts and the floor rewritten to other valid
# values, a served version without validation metrics) are
# served, the untouched versions are served before and after, and the
# server never restarted. Prints how many cases and calls were tried.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
# XD_TAMPER_VERBOSE=1 prints each case's first answer.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_tamper_meta
it_databases "$DB"
it_workdir tamper_meta
crashes_before=$(it_crashes)

createdb "$DB"
q >/dev/null <<'SQL'
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": 37, "domains": 3, "sizes": {"source": {"users": 60, "items": 30, "interactions": 900}, "target": {"users": 25, "items": 15, "interactions": 250}}}');
SELECT xdrec.create_model('tm', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 2, "lr_search": 1, "repeat": true, "cold_holdout": 0.2, "fewshot": true, "fewshot_episodes": 4, "source_weighting": "biao", "biao_interval": 2, "biao_warmup": 0}');
SELECT xdrec.train('tm', 'd0');
SELECT xdrec.adapt('tm', 'd1', 'fewshot');
-- d2 down to one item: too small for any method, served by popularity
DELETE FROM orders WHERE domain = 'd2' AND item_key <> (SELECT min(item_key) FROM orders WHERE domain = 'd2');
SELECT xdrec.adapt('tm', 'd2');
-- a user who arrived after training: a trained user's rows under a new key
INSERT INTO orders SELECT domain, 990001, item_key, rating, hour, weekday, rain, spend, price, cuisine
	FROM orders WHERE domain = 'd0' AND user_key = (SELECT min(user_key) FROM orders WHERE domain = 'd0');
SQL

# per target: its domain, its served version, the source version it pins
# (itself for the source), a trained user and two items of the version
target_vars()
{
	q -F ' ' -c "SELECT v.id, coalesce(v.pins_shared_version, v.id), v.method,
		(SELECT keys[1] FROM xdrec.key_map WHERE version_id = v.id AND kind = 'user' AND chunk = 0),
		(SELECT keys[1] || ',' || keys[2] FROM xdrec.key_map WHERE version_id = v.id AND kind = 'item' AND chunk = 0)
		FROM xdrec.model m JOIN xdrec.domain d ON d.model_id = m.id JOIN xdrec.version v ON v.id = d.served_version
		WHERE m.name = 'tm' AND d.domain = '$1'"
}
read -r C_V C_P C_METHOD C_U C_I < <(target_vars d0)
read -r D_V D_P D_METHOD D_U _ < <(target_vars d1)
read -r E_V E_P E_METHOD E_U _ < <(target_vars d2)
[ "$C_METHOD $D_METHOD $E_METHOD" = "train fewshot popularity" ] \
	|| fail "d0, d1, d2 are served by $C_METHOD, $D_METHOD, $E_METHOD, not train, fewshot, popularity"
# every group the cases tamper with is stored with the source
for t in cold.enc.W1 cold.film.g1.W cold.prior.N cold.rep.floor cold.cooc.nbr fs.stop.Wx biao.phi rep.w; do
	[ "$(q -c "SELECT count(*) FROM xdrec.weight WHERE version_id = $C_V AND tensor = '$t'")" = 1 ] \
		|| fail "the source version $C_V does not store $t"
done

# ... and the target's own module with the target (adapt, docs/cold-start.md)
for t in cold.enc.W1 cold.prior.N; do
	[ "$(q -c "SELECT count(*) FROM xdrec.weight WHERE version_id = $D_V AND tensor = '$t'")" = 1 ] \
		|| fail "the target version $D_V does not store $t"
done

# calls <target> [only]: the calls a case makes, one per line; C: the cold
# paths and adapt's fewshot (reads the meta-learner); with "only" the one
# call that reads what the case changes: adapt, coldeval (evaluate's
# protocol 'cold', the held-out share) or train (deploy, the served
# version's metrics)
calls()
{
	case $1:${2:-} in
		C:)
			echo "SELECT * FROM xdrec.rank('tm', 990001, '{\"hour\": 9}', 5, domain => 'd0')"
			echo "SELECT * FROM xdrec.rank('tm', NULL::bigint, '{\"hour\": 9}', 5, domain => 'd0', history => '[${C_I}]')"
			echo "SELECT * FROM xdrec.rank_many('tm', ARRAY[$C_U, 990001]::bigint[], '{\"hour\": 9}', 5, domain => 'd0', on_unknown => 'cold')"
			echo "SELECT * FROM xdrec.evaluate('tm', 'd0', protocol => 'cold')"
			echo "SELECT xdrec.adapt('tm', 'd1', 'fewshot')"
			;;
		C:adapt) echo "SELECT xdrec.adapt('tm', 'd1', 'fewshot')" ;;
		C:coldeval) echo "SELECT * FROM xdrec.evaluate('tm', 'd0', protocol => 'cold')" ;;
		C:train) echo "SELECT xdrec.train('tm', 'd0')" ;;
		D:)
			echo "SELECT * FROM xdrec.rank('tm', $D_U, '{\"hour\": 9}', 5, domain => 'd1')"
			echo "SELECT * FROM xdrec.rank_many('tm', ARRAY[$D_U]::bigint[], '{\"hour\": 9}', 5, domain => 'd1')"
			echo "SELECT * FROM xdrec.evaluate('tm', 'd1')"
			;;
		E:)
			echo "SELECT * FROM xdrec.rank('tm', $E_U, '{\"hour\": 9}', 5, domain => 'd2')"
			echo "SELECT * FROM xdrec.rank_many('tm', ARRAY[$E_U]::bigint[], '{\"hour\": 9}', 5, domain => 'd2')"
			;;
	esac
}

it_tamper_helpers "$WORK/helpers.sql"

# The cases: "<targets>[:only]|<name>|<SQL>", targets C, D, E; ":only"
# when only that call (calls) reads what the case changes. In the SQL, @V@ is the served
# version, @P@ the version holding its modules (the source for D and E).
CASES=$(cat <<'CASES'
C|cold: an encoder tensor missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.enc.W1'
D|cold: a target's encoder tensor missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.enc.W1'
D|cold: a target's prior counts of the source's items|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'cold.prior.N') WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a FiLM head missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.film.g2.b'
C|cold: the prior's counts missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: the prior's k missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.prior.k'
C|cold: the floor missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: the module gone, its prior kept|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor ~ '^cold\.(enc|emb|rep\.[Wb])'
C|cold: the module gone, its FiLM kept|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor ~ '^cold\.(enc|emb|rep|prior)'
C|cold: a FiLM head of a third layer|INSERT INTO xdrec.weight SELECT model_id, version_id, 'cold.film.g3.W', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.film.g2.W'
C|cold: the module's user bias on implicit feedback|INSERT INTO xdrec.weight SELECT model_id, version_id, 'cold.bias.W', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.rep.W'
C|cold: counts of another shape|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.prior.W') WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: counts transposed|@W@ overlay(data placing substr(data, 41, 8) || substr(data, 33, 8) from 33) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: k a value short|@W@ substr(data, 1, length(data) - 4) WHERE version_id = @V@ AND tensor = 'cold.prior.k'
C|cold: the encoder a byte too many|@W@ data || '\x00'::bytea WHERE version_id = @V@ AND tensor = 'cold.enc.W2'
C|cold: the floor garbled|@W@ set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 1) WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: NaN in the encoder|@W@ pg_temp.blob_set(data, 3, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.enc.W2'
C|cold: +Inf in a FiLM head|@W@ pg_temp.blob_set(data, 0, 'Infinity') WHERE version_id = @V@ AND tensor = 'cold.film.b1.W'
C|cold: NaN in the prior's k|@W@ pg_temp.blob_set(data, 1, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.prior.k'
C|cold: -Inf in the prior's weights|@W@ pg_temp.blob_set(data, 2, '-Infinity') WHERE version_id = @V@ AND tensor = 'cold.prior.W'
C|cold: NaN in the prior's b|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.prior.b'
C|cold: NaN in the repeat weight|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.rep.b'
C|cold: a count NaN|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a count -1|@W@ pg_temp.blob_set(data, 1, -1) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a count 0.5|@W@ pg_temp.blob_set(data, 2, 0.5) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a count 2^25|@W@ pg_temp.blob_set(data, 0, 33554432) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a count 1e30|@W@ pg_temp.blob_set(data, 3, 1e30) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: a count +Inf|@W@ pg_temp.blob_set(data, 3, 'Infinity') WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: the floor 2|@W@ pg_temp.blob_set(data, 0, 2) WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: the floor 0.5|@W@ pg_temp.blob_set(data, 0, 0.5) WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: the floor -1|@W@ pg_temp.blob_set(data, 0, -1) WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: the floor NaN|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C|cold: chunks renumbered|UPDATE xdrec.weight SET chunk = 1 WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|cold: the co-occurrence lambda missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.cooc.lambda'
C|cold: co-occurrence shares of another shape|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.prior.N') WHERE version_id = @V@ AND tensor = 'cold.cooc.share'
C|cold: a neighbour beyond the items|@W@ pg_temp.blob_set(data, 0, 1e6) WHERE version_id = @V@ AND tensor = 'cold.cooc.nbr'
C|cold: a neighbour 0.5|@W@ pg_temp.blob_set(data, 0, 0.5) WHERE version_id = @V@ AND tensor = 'cold.cooc.nbr'
C|cold: a neighbour -2|@W@ pg_temp.blob_set(data, 0, -2) WHERE version_id = @V@ AND tensor = 'cold.cooc.nbr'
C|cold: a share 1.5|@W@ pg_temp.blob_set(data, 0, 1.5) WHERE version_id = @V@ AND tensor = 'cold.cooc.share'
C|cold: a share NaN|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'cold.cooc.share'
C|cold: lambda -1|@W@ pg_temp.blob_set(data, 0, -1) WHERE version_id = @V@ AND tensor = 'cold.cooc.lambda'
C|cold: lambda +Inf|@W@ pg_temp.blob_set(data, 0, 'Infinity') WHERE version_id = @V@ AND tensor = 'cold.cooc.lambda'
C|repeat: rep.w missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'rep.w'
C|repeat: NaN in rep.b|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'rep.b'
C|repeat: config repeat off, tensors on|@E@ jsonb_set(encoder, '{config,repeat}', 'false') WHERE id = @V@
C|biao: the perceptron a value short|@W@ substr(data, 1, length(data) - 4) WHERE version_id = @V@ AND tensor = 'biao.phi'
C|biao: NaN in the perceptron|@W@ pg_temp.blob_set(data, 5, 'NaN') WHERE version_id = @V@ AND tensor = 'biao.phi'
C|biao: the perceptron transposed|@W@ overlay(data placing substr(data, 41, 8) || substr(data, 33, 8) from 33) WHERE version_id = @V@ AND tensor = 'biao.phi'
C:adapt|fewshot: the stop LSTM missing a tensor|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'fs.stop.bo'
C:adapt|fewshot: an initialisation missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'fs.init.emb.user'
C:adapt|fewshot: an update LSTM of another shape|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'fs.upd.res.U.r.Wh') WHERE version_id = @V@ AND tensor = 'fs.upd.res.U.R.Wx'
C:adapt|fewshot: a bias slot on implicit feedback|INSERT INTO xdrec.weight SELECT model_id, version_id, 'fs.init.bias.user', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.rep.b'
C:adapt|fewshot: NaN in the stop LSTM|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'fs.stop.Wx'
C:adapt|fewshot: +Inf in an initialisation|@W@ pg_temp.blob_set(data, 1, 'Infinity') WHERE version_id = @V@ AND tensor = 'fs.init.res.V.R'
C:adapt|fewshot: -Inf in a LayerNorm gain|@W@ pg_temp.blob_set(data, 0, '-Infinity') WHERE version_id = @V@ AND tensor = 'fs.upd.emb.item.ln_g'
C|popularity on every item: the weight negative|@E@ encoder || '{"context_popularity": -1}' WHERE id = @V@
C|popularity on every item: the weight a string|@E@ encoder || '{"context_popularity": "1"}' WHERE id = @V@
C|popularity on every item: the weight without the prior it reads|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor LIKE 'cold.prior.%'; @E@ encoder || '{"context_popularity": 1}' WHERE id = @V@
C:coldeval|holdout: the share a string|@E@ jsonb_set(encoder, '{cold_holdout}', '"a fifth"') WHERE id = @V@
C:coldeval|holdout: the share 0.9|@E@ jsonb_set(encoder, '{cold_holdout}', '0.9') WHERE id = @V@
C:coldeval|holdout: the seed a string|@E@ jsonb_set(encoder, '{cold_holdout_seed}', '"x42"') WHERE id = @V@
C:coldeval|holdout: the seed missing|@E@ encoder - 'cold_holdout_seed' WHERE id = @V@
C:train|metrics: the served validation mrr a string|UPDATE xdrec.version SET metrics = jsonb_set(metrics, '{valid,mrr}', '"high"') WHERE id = @V@
C:train|metrics: the served validation se 1e400|UPDATE xdrec.version SET metrics = jsonb_set(metrics, '{valid,se}', '1e400') WHERE id = @V@
D|fewshot target: res.U.R missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'res.U.R'
D|fewshot target: res.C.r missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'res.C.r'
D|fewshot target: NaN in res.V.r|@W@ pg_temp.blob_set(data, 2, 'NaN') WHERE version_id = @V@ AND tensor = 'res.V.r'
D|fewshot target: +Inf in emb.user|@W@ pg_temp.blob_set(data, 0, 'Infinity') WHERE version_id = @V@ AND tensor = 'emb.user'
D|fewshot target: emb.item of another shape|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.user') WHERE version_id = @V@ AND tensor = 'emb.item'
D|fewshot target: a module missing from its source|DELETE FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'clu.W_CU'
D|fewshot target: pin removed|UPDATE xdrec.version SET pins_shared_version = NULL WHERE id = @V@
D|fewshot target: a seen item n_items|UPDATE xdrec.seen s SET items[1] = (v.encoder->>'n_items')::int FROM xdrec.version v WHERE v.id = s.version_id AND s.version_id = @V@
D|fewshot target: method train|UPDATE xdrec.version SET method = 'train' WHERE id = @V@
D|fewshot target: NaN in rep.w|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'rep.w'
E|popularity: pin removed|UPDATE xdrec.version SET pins_shared_version = NULL WHERE id = @V@
E|popularity: pinned to itself|UPDATE xdrec.version SET pins_shared_version = id WHERE id = @V@
E|popularity: method train|UPDATE xdrec.version SET method = 'train' WHERE id = @V@
E|popularity: emb.item missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.item'
E|popularity: a seen item -1|UPDATE xdrec.seen SET items[1] = -1 WHERE version_id = @V@
E|popularity: a seen item n_items|UPDATE xdrec.seen s SET items[1] = (v.encoder->>'n_items')::int FROM xdrec.version v WHERE v.id = s.version_id AND s.version_id = @V@
E|popularity: a count too large|UPDATE xdrec.seen SET counts[1] = counts[1] + 1000 WHERE version_id = @V@
E|popularity: n_items 2, one item stored|@E@ jsonb_set(encoder, '{n_items}', '2') WHERE id = @V@
E|popularity: a module missing from its source|DELETE FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'rank.w_C'
CASES
)
# changes that leave a valid version, which must still be served
CONTROLS=$(cat <<'CASES'
C|control: a later release's cold tensor|INSERT INTO xdrec.weight SELECT model_id, version_id, 'cold.later', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'cold.prior.k'
C|control: a later release's few-shot tensor|INSERT INTO xdrec.weight SELECT model_id, version_id, 'fs.later.Wx', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'fs.stop.Wx'
C|control: trained without the perceptron|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'biao.phi'
C|control: the module stored before its context prior (nor the floor, nor popularity on every item)|DELETE FROM xdrec.weight WHERE version_id = @V@ AND (tensor LIKE 'cold.prior.%' OR tensor = 'cold.rep.floor'); @E@ encoder - 'context_popularity' WHERE id = @V@
C|control: the module without its FiLM heads|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor LIKE 'cold.film.%'
C|control: the module stored before its co-occurrence prior|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor LIKE 'cold.cooc.%'
C|control: the co-occurrence lambda rewritten|@W@ pg_temp.blob_set(data, 0, 0.5) WHERE version_id = @V@ AND tensor = 'cold.cooc.lambda'
C|control: a count rewritten|@W@ pg_temp.blob_set(data, 1, 7) WHERE version_id = @V@ AND tensor = 'cold.prior.N'
C|control: the floor 0 (own items not first)|@W@ pg_temp.blob_set(data, 0, 0) WHERE version_id = @V@ AND tensor = 'cold.rep.floor'
C:train|control: the served version validated on nothing|UPDATE xdrec.version SET metrics = metrics - 'valid' WHERE id = @V@
D|control: a later release's tensor|INSERT INTO xdrec.weight SELECT model_id, version_id, 'later.tensor', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'res.U.r'
E|control: a later release's tensor|INSERT INTO xdrec.weight SELECT model_id, version_id, 'later.tensor', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.item'
CASES
)

W="UPDATE xdrec.weight SET data ="
E="UPDATE xdrec.version SET encoder ="

# run_case <target> <name> <sql> <expect: corrupt|served> [only]: prints
# the failures, one per line
run_case()
{
	local target=$1 name=$2 sql=$3 expect=$4 only=${5:-} v p
	case $target in
		C) v=$C_V p=$C_P ;;
		D) v=$D_V p=$D_P ;;
		E) v=$E_V p=$E_P ;;
	esac
	sql=${sql//@W@/$W}
	sql=${sql//@E@/$E}
	sql=${sql//@V@/$v}
	sql=${sql//@P@/$p}
	calls "$target" "$only" | it_tamper_case "$target $name" "$expect" tm "d[0-2]" "$sql"
}

started=$(q -c "SELECT pg_postmaster_start_time()")
N_CASES=0
N_CALLS=0
FAILURES=()
for pass in before cases controls after; do
	case $pass in
		before | after) list='CDE|untouched|SELECT 1 WHERE false' expect=served ;;
		cases) list=$CASES expect=corrupt ;;
		controls) list=$CONTROLS expect=served ;;
	esac
	while IFS='|' read -r targets name sql; do
		only=
		[[ "$targets" == *:* ]] && only=${targets#*:}
		for target in C D E; do
			[[ "${targets%%:*}" == *"$target"* ]] || continue
			if [ "$pass" = cases ]; then
				N_CASES=$((N_CASES + 1))
				N_CALLS=$((N_CALLS + $(calls "$target" "$only" | wc -l)))
			fi
			mapfile -t -O "${#FAILURES[@]}" FAILURES < <(run_case "$target" "$name" "$sql" "$expect" "$only")
		done
	done <<<"$list"
done

now=$(q -c "SELECT pg_postmaster_start_time()") || fail "the server is gone"
echo "tamper_meta: $N_CASES corruptions of three served versions tried, $N_CALLS calls on them"
if [ "${#FAILURES[@]}" -gt 0 ]; then
	printf 'FAIL: %s\n' "${FAILURES[@]}"
	exit 1
fi
if [ "$now" != "$started" ] || [ "$(it_crashes)" != "$crashes_before" ]; then
	echo "FAIL: the server restarted: start time $started -> $now"
	grep -B2 -A5 "terminated by signal" "$PGHOST/server.log" | tail -40
	exit 1
fi
echo "ok: every corruption was XX001 naming the model, domain and version; controls served; no server restart"
