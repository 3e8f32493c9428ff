#!/usr/bin/env bash
# tamper_superuser.sh - the superuser half of the tamper test (issue 15):
# stored data is untrusted input. As superuser, corrupts each stored
# structure of a served version in turn (key maps, seen items, the version
# row, the encoder JSON's config, sizes, features and vocabularies, missing
# and malformed tensors, non-finite values and codes) inside a transaction,
# and in that transaction, from a fresh backend (an empty version cache),
# calls rank, rank_many, predict and evaluate on it; then rolls back, which
# restores the version for the next case. Two served versions are tampered
# with: "te" d0, an explicit source version (its biases; predict serves it),
# and "ti" d1, an implicit DRR target (its residuals; its modules come from
# the source version it pins, which some cases tamper with instead).
#
# Passes when every call of every case fails with XX001 (data_corrupted)
# naming the model, the domain and a version, the controls (changes that
# leave a valid version: a finite value rewritten, a missing profile value, a
# tensor of a later release) are served, the untouched versions are served
# before and after, and the server never restarted (pg_postmaster_start_time
# unchanged, no "terminated by signal" in the server log). Prints how many
# cases and calls were tried.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
# XD_TAMPER_VERBOSE=1 prints each case's first answer.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_tamper
SERVER_LOG=$PGHOST/server.log
it_databases "$DB"
it_workdir tamper
[ -f "$SERVER_LOG" ] || fail "no server log at $SERVER_LOG"

createdb "$DB"
q >/dev/null <<'SQL'
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": 31, "domains": 2, "explicit": true, "sizes": {"source": {"users": 60, "items": 30, "interactions": 900}, "target": {"users": 25, "items": 15, "interactions": 250}}}');
-- every kind of stored structure: bin edges (hour), vocabularies (weekday,
-- cuisine), user and item profiles (spend, price, cuisine)
SELECT xdrec.create_model('te', 'orders', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => jsonb_set(xdrec.generated_features(), '{0,options}', '{"bins": 4}'),
	options => '{"d": 8, "epochs": 2, "feedback": "explicit"}');
SELECT xdrec.train('te', 'd0');
SELECT xdrec.create_model('ti', 'orders', 'user_key', 'item_key', 'domain',
	features => jsonb_set(xdrec.generated_features(), '{0,options}', '{"bins": 4}'),
	options => '{"d": 8, "epochs": 2}');
SELECT xdrec.train('ti', 'd0');
SELECT xdrec.adapt('ti', 'd1', 'drr');
SQL

# per target: model, domain, its served version, the source version it pins
# (itself for a source), a user and an item of the version
target_vars()
{
	q -F ' ' -c "SELECT m.id, v.id, coalesce(v.pins_shared_version, v.id),
		(SELECT keys[1] FROM xdrec.key_map WHERE version_id = v.id AND kind = 'user' AND chunk = 0),
		(SELECT keys[1] FROM xdrec.key_map WHERE version_id = v.id AND kind = 'item' AND chunk = 0)
		FROM xdrec.model m JOIN xdrec.domain d ON d.model_id = m.id JOIN xdrec.version v ON v.id = d.served_version
		WHERE m.name = '$1' AND d.domain = '$2'"
}

# calls <model> <domain> <user> <item> [adapt]: the calls a case makes, one
# per line: on "te", a source version, also an adaptation of d1, which reads
# it with its distributional encoders; with "adapt", that call alone
calls()
{
	if [ "${5:-}" != adapt ]; then
		echo "SELECT * FROM xdrec.rank('$1', $3, '{\"hour\": 9}', 5, domain => '$2')"
		echo "SELECT * FROM xdrec.rank_many('$1', ARRAY[$3]::bigint[], '{\"hour\": 9}', 5, domain => '$2')"
		[ "$1" = te ] && echo "SELECT xdrec.predict('$1', $3, $4, '{\"hour\": 9}', domain => '$2')"
		echo "SELECT * FROM xdrec.evaluate('$1', '$2')"
	fi
	[ "$1" = te ] && echo "SELECT xdrec.adapt('$1', 'd1', 'drr')"
	return 0
}

# pg_temp.try, crc32 and blob_set (lib.bash)
it_tamper_helpers "$WORK/helpers.sql"

# The cases: "<targets>[:adapt]|<name>|<SQL>", targets A ("te" d0), B ("ti"
# d1) or AB; ":adapt" when only adapt reads what the case changes. In the
# SQL, @V@ is the served version, @P@ the version holding its modules (the
# pinned source for B), @M@ the model's id.
W="UPDATE xdrec.weight SET data ="
E="UPDATE xdrec.version SET encoder ="
CASES=$(cat <<'CASES'
AB|key map: a user key too many|UPDATE xdrec.key_map SET keys = keys || '99999999'::text WHERE version_id = @V@ AND kind = 'user'
AB|key map: a user key missing|UPDATE xdrec.key_map SET keys = keys[2:] WHERE version_id = @V@ AND kind = 'user'
AB|key map: an item key missing|UPDATE xdrec.key_map SET keys = keys[2:] WHERE version_id = @V@ AND kind = 'item'
AB|key map: user keys out of order|UPDATE xdrec.key_map SET keys[1:2] = ARRAY[keys[2], keys[1]] WHERE version_id = @V@ AND kind = 'user'
AB|key map: a user key twice|UPDATE xdrec.key_map SET keys[2] = keys[1] WHERE version_id = @V@ AND kind = 'user'
AB|key map: an item key null|UPDATE xdrec.key_map SET keys[1] = NULL WHERE version_id = @V@ AND kind = 'item'
AB|key map: a user key not an integer|UPDATE xdrec.key_map SET keys[1] = 'u1' WHERE version_id = @V@ AND kind = 'user'
AB|key map: chunk renumbered|UPDATE xdrec.key_map SET chunk = 3 WHERE version_id = @V@ AND kind = 'user'
AB|key map: user keys deleted|DELETE FROM xdrec.key_map WHERE version_id = @V@ AND kind = 'user'
AB|key map: two-dimensional|UPDATE xdrec.key_map SET keys = ARRAY[keys[1:2], keys[1:2]] WHERE version_id = @V@ AND kind = 'item'
AB|key map: lower bound 0|UPDATE xdrec.key_map SET keys = ('[0:' || cardinality(keys) - 1 || ']=' || keys::text)::text[] WHERE version_id = @V@ AND kind = 'item'
AB|seen: item id 2000000000|UPDATE xdrec.seen SET items[1] = 2000000000 WHERE version_id = @V@
AB|seen: item id -1|UPDATE xdrec.seen SET items[1] = -1 WHERE version_id = @V@
AB|seen: item id n_items|UPDATE xdrec.seen s SET items[1] = (v.encoder->>'n_items')::int FROM xdrec.version v WHERE v.id = s.version_id AND s.version_id = @V@
AB|seen: a count negative|UPDATE xdrec.seen SET counts[1] = -3 WHERE version_id = @V@
AB|seen: a count too large|UPDATE xdrec.seen SET counts[1] = counts[1] + 1000 WHERE version_id = @V@
AB|seen: a user missing|UPDATE xdrec.seen SET counts = counts[2:] WHERE version_id = @V@
AB|seen: a count null|UPDATE xdrec.seen SET counts[1] = NULL WHERE version_id = @V@
AB|seen: an item null|UPDATE xdrec.seen SET items[1] = NULL WHERE version_id = @V@
AB|seen: deleted|DELETE FROM xdrec.seen WHERE version_id = @V@
AB|seen: chunk renumbered|UPDATE xdrec.seen SET chunk = 1 WHERE version_id = @V@
AB|seen: two-dimensional items|UPDATE xdrec.seen SET items = ARRAY[items[1:2], items[1:2]] WHERE version_id = @V@
AB|row: another domain|UPDATE xdrec.version SET domain = 'd9' WHERE id = @V@
A|row: method drr without a pin|UPDATE xdrec.version SET method = 'drr' WHERE id = @V@
B|row: method anneal without modules|UPDATE xdrec.version SET method = 'anneal' WHERE id = @V@
B|row: pin removed|UPDATE xdrec.version SET pins_shared_version = NULL WHERE id = @V@
B|row: pinned to itself|UPDATE xdrec.version SET pins_shared_version = id WHERE id = @V@
B|row: another domain's version served|UPDATE xdrec.domain SET served_version = @P@ WHERE model_id = @M@ AND domain = 'd1'
AB|encoder: null|UPDATE xdrec.version SET encoder = NULL WHERE id = @V@
AB|encoder: a number|UPDATE xdrec.version SET encoder = '5' WHERE id = @V@
AB|encoder: an array|UPDATE xdrec.version SET encoder = '[]' WHERE id = @V@
AB|config: missing|@E@ encoder - 'config' WHERE id = @V@
AB|config: d missing|@E@ encoder #- '{config,d}' WHERE id = @V@
AB|config: d null|@E@ jsonb_set(encoder, '{config,d}', 'null') WHERE id = @V@
AB|config: d a string|@E@ jsonb_set(encoder, '{config,d}', '"8"') WHERE id = @V@
AB|config: d 0|@E@ jsonb_set(encoder, '{config,d}', '0') WHERE id = @V@
AB|config: d 100000|@E@ jsonb_set(encoder, '{config,d}', '100000') WHERE id = @V@
AB|config: d 8.5|@E@ jsonb_set(encoder, '{config,d}', '8.5') WHERE id = @V@
AB|config: d 16, tensors of 8|@E@ jsonb_set(encoder, '{config,d}', '16') WHERE id = @V@
AB|config: context_layers 99|@E@ jsonb_set(encoder, '{config,context_layers}', '99') WHERE id = @V@
AB|config: context_layers 1, tensors of 2|@E@ jsonb_set(encoder, '{config,context_layers}', '1') WHERE id = @V@
AB|config: tower_layers -1|@E@ jsonb_set(encoder, '{config,tower_layers}', '-1') WHERE id = @V@
AB|config: tower_layers 3, tensors of 2|@E@ jsonb_set(encoder, '{config,tower_layers}', '3') WHERE id = @V@
AB|config: variant unknown|@E@ jsonb_set(encoder, '{config,variant}', '"xyz"') WHERE id = @V@
AB|config: variant a number|@E@ jsonb_set(encoder, '{config,variant}', '1') WHERE id = @V@
AB|config: mm_residual a string|@E@ jsonb_set(encoder, '{config,mm_residual}', '"true"') WHERE id = @V@
AB|config: mm_residual off, tensors on|@E@ jsonb_set(encoder, '{config,mm_residual}', 'false') WHERE id = @V@
AB|config: repeat an unknown word|@E@ jsonb_set(encoder, '{config,repeat}', '"lifted"') WHERE id = @V@
AB|config: repeat a number|@E@ jsonb_set(encoder, '{config,repeat}', '1') WHERE id = @V@
A|config: feedback implicit on a rated model|@E@ jsonb_set(encoder, '{config,feedback}', '"implicit"') WHERE id = @V@
B|config: feedback explicit without ratings|@E@ jsonb_set(encoder, '{config,feedback}', '"explicit"') WHERE id = @V@
AB|config: batch_size 10^9|@E@ jsonb_set(encoder, '{config,batch_size}', '1000000000') WHERE id = @V@
AB|config: m off by one|@E@ jsonb_set(encoder, '{config,m}', to_jsonb((encoder->'config'->>'m')::int + 1)) WHERE id = @V@
AB|sizes: n_users 10^9|@E@ jsonb_set(encoder, '{n_users}', '1000000000') WHERE id = @V@
AB|sizes: n_items 10^9|@E@ jsonb_set(encoder, '{n_items}', '1000000000') WHERE id = @V@
AB|sizes: n_users 0|@E@ jsonb_set(encoder, '{n_users}', '0') WHERE id = @V@
AB|sizes: n_users -1|@E@ jsonb_set(encoder, '{n_users}', '-1') WHERE id = @V@
AB|sizes: n_users one more|@E@ jsonb_set(encoder, '{n_users}', to_jsonb((encoder->>'n_users')::int + 1)) WHERE id = @V@
AB|sizes: n_items one fewer|@E@ jsonb_set(encoder, '{n_items}', to_jsonb((encoder->>'n_items')::int - 1)) WHERE id = @V@
AB|sizes: n_users a string|@E@ jsonb_set(encoder, '{n_users}', '"60"') WHERE id = @V@
AB|sizes: n_users missing|@E@ encoder - 'n_users' WHERE id = @V@
AB|sizes: n_items null|@E@ jsonb_set(encoder, '{n_items}', 'null') WHERE id = @V@
AB|sizes: rating_mean a string|@E@ jsonb_set(encoder, '{rating_mean}', '"x"') WHERE id = @V@
AB|sizes: rating_mean 1e400|@E@ jsonb_set(encoder, '{rating_mean}', '1e400') WHERE id = @V@
AB|schema: missing|@E@ encoder - 'schema' WHERE id = @V@
AB|schema: features an object|@E@ jsonb_set(encoder, '{schema,features}', '{}') WHERE id = @V@
AB|schema: a feature removed|@E@ encoder #- '{schema,features,2}' WHERE id = @V@
AB|schema: a feature null|@E@ jsonb_set(encoder, '{schema,features,2}', 'null') WHERE id = @V@
AB|schema: m off by one|@E@ jsonb_set(encoder, '{schema,m}', to_jsonb((encoder->'schema'->>'m')::int + 1)) WHERE id = @V@
AB|schema: m_I missing|@E@ encoder #- '{schema,m_I}' WHERE id = @V@
AB|feature: name null|@E@ jsonb_set(encoder, '{schema,features,0,name}', 'null') WHERE id = @V@
AB|feature: name a number|@E@ jsonb_set(encoder, '{schema,features,0,name}', '5') WHERE id = @V@
AB|feature: name empty|@E@ jsonb_set(encoder, '{schema,features,0,name}', '""') WHERE id = @V@
AB|feature: name twice|@E@ jsonb_set(encoder, '{schema,features,1,name}', encoder #> '{schema,features,0,name}') WHERE id = @V@
AB|feature: numeric retyped categorical|@E@ jsonb_set(encoder, '{schema,features,0,type}', '"categorical"') WHERE id = @V@
AB|feature: binned retyped boolean|@E@ jsonb_set(encoder, '{schema,features,0,type}', '"boolean"') WHERE id = @V@
AB|feature: categorical retyped numeric|@E@ jsonb_set(encoder, '{schema,features,1,type}', '"numeric"') WHERE id = @V@
AB|feature: type missing|@E@ encoder #- '{schema,features,2,type}' WHERE id = @V@
AB|feature: kind unknown|@E@ jsonb_set(encoder, '{schema,features,2,kind}', '"temporal"') WHERE id = @V@
AB|feature: kind moved|@E@ jsonb_set(encoder, '{schema,features,2,kind}', '"historical"') WHERE id = @V@
AB|feature: scope null|@E@ jsonb_set(encoder, '{schema,features,3,scope}', 'null') WHERE id = @V@
AB|feature: scope moved|@E@ jsonb_set(encoder, '{schema,features,2,scope}', '"user"') WHERE id = @V@
AB|feature: bins 1|@E@ jsonb_set(encoder, '{schema,features,0,bins}', '1') WHERE id = @V@
AB|feature: bins 6, edges of 4|@E@ jsonb_set(encoder, '{schema,features,0,bins}', '6') WHERE id = @V@
AB|feature: bins on a boolean|@E@ jsonb_set(encoder, '{schema,features,2,bins}', '3') WHERE id = @V@
AB|feature: offset moved|@E@ jsonb_set(encoder, '{schema,features,1,offset}', to_jsonb((encoder #>> '{schema,features,1,offset}')::int + 1)) WHERE id = @V@
AB|feature: width changed|@E@ jsonb_set(encoder, '{schema,features,1,width}', to_jsonb((encoder #>> '{schema,features,1,width}')::int + 1)) WHERE id = @V@
AB|feature: offset a string|@E@ jsonb_set(encoder, '{schema,features,1,offset}', '"4"') WHERE id = @V@
AB|vocabulary: missing|@E@ encoder #- '{schema,features,1,vocab}' WHERE id = @V@
AB|vocabulary: a string|@E@ jsonb_set(encoder, '{schema,features,1,vocab}', '"mon"') WHERE id = @V@
AB|vocabulary: an entry null|@E@ jsonb_set(encoder, '{schema,features,1,vocab,0}', 'null') WHERE id = @V@
AB|vocabulary: an entry a number|@E@ jsonb_set(encoder, '{schema,features,1,vocab,0}', '7') WHERE id = @V@
AB|vocabulary: an entry twice|@E@ jsonb_set(encoder, '{schema,features,1,vocab,1}', encoder #> '{schema,features,1,vocab,0}') WHERE id = @V@
AB|vocabulary: an entry added|@E@ jsonb_insert(encoder, '{schema,features,1,vocab,0}', '"zzz"') WHERE id = @V@
AB|vocabulary: an entry removed|@E@ encoder #- '{schema,features,5,vocab,0}' WHERE id = @V@
AB|tensor: emb.user missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.user'
AB|tensor: emb.item missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.item'
AB|tensor: every weight deleted|DELETE FROM xdrec.weight WHERE version_id = @V@
A:adapt|tensor: an encoder missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'enc.U.W1'
A:adapt|values: NaN in an encoder|@W@ pg_temp.blob_set(data, 7, 'NaN') WHERE version_id = @V@ AND tensor = 'enc.C.bm'
A:adapt|blob: an encoder garbled|@W@ set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 1) WHERE version_id = @V@ AND tensor = 'enc.V.Wl'
AB|tensor: a module missing|DELETE FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'ctx.W1'
AB|tensor: a tower layer missing|DELETE FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'clu.U.W2'
AB|tensor: feat.item_codes missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'feat.item_codes'
AB|tensor: feat.bin_edges missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'feat.bin_edges'
AB|tensor: feat.num_min also under its 0.1.0 name|INSERT INTO xdrec.weight SELECT model_id, version_id, 'enc.num_min', chunk, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'feat.num_min'
A|tensor: bias.user missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'bias.user'
A|tensor: bias.global missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'bias.global'
B|tensor: res.U.R missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'res.U.R'
B|tensor: res.C.r missing|DELETE FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'res.C.r'
B|tensor: a module in the target too|INSERT INTO xdrec.weight SELECT model_id, @V@, tensor, chunk, data FROM xdrec.weight WHERE version_id = @P@ AND tensor = 'rank.w_C'
AB|blob: truncated|@W@ substr(data, 1, length(data) - 4) WHERE version_id = @V@ AND tensor = 'emb.item'
AB|blob: a byte too many|@W@ data || '\x00'::bytea WHERE version_id = @V@ AND tensor = 'emb.item'
AB|blob: payload garbled|@W@ set_byte(data, length(data) - 1, get_byte(data, length(data) - 1) # 255) WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: magic garbled|@W@ set_byte(data, 0, 0) WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: format version 9|@W@ set_byte(data, 8, 9) WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: ndim 3|@W@ set_byte(data, 12, 3) WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: byte-order marker garbled|@W@ set_byte(data, 4, 7) WHERE version_id = @V@ AND tensor = 'feat.num_min'
AB|blob: shape transposed|@W@ overlay(data placing substr(data, 41, 8) || substr(data, 33, 8) from 33) WHERE version_id = @V@ AND tensor = 'emb.item'
AB|blob: another tensor's|@W@ (SELECT data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.item') WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: chunk renumbered|UPDATE xdrec.weight SET chunk = 1 WHERE version_id = @V@ AND tensor = 'emb.user'
AB|blob: a chunk too many|INSERT INTO xdrec.weight SELECT model_id, version_id, tensor, 1, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.user'
AB|values: NaN in emb.item|@W@ pg_temp.blob_set(data, 5, 'NaN') WHERE version_id = @V@ AND tensor = 'emb.item'
AB|values: +Inf in emb.user|@W@ pg_temp.blob_set(data, 0, 'Infinity') WHERE version_id = @V@ AND tensor = 'emb.user'
AB|values: -Inf in a module|@W@ pg_temp.blob_set(data, 3, '-Infinity') WHERE version_id = @P@ AND tensor = 'ctx.W1'
AB|values: NaN in the context bias|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @P@ AND tensor = 'rank.b_C'
A|values: NaN in bias.global|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'bias.global'
B|values: NaN in res.V.r|@W@ pg_temp.blob_set(data, 2, 'NaN') WHERE version_id = @V@ AND tensor = 'res.V.r'
AB|values: +Inf in feat.num_min|@W@ pg_temp.blob_set(data, 0, 'Infinity') WHERE version_id = @V@ AND tensor = 'feat.num_min'
AB|values: -Inf in an item profile|@W@ pg_temp.blob_set(data, 1, '-Infinity') WHERE version_id = @V@ AND tensor = 'feat.item_num'
AB|values: +Inf in a bin edge|@W@ pg_temp.blob_set(data, 1, 'Infinity') WHERE version_id = @V@ AND tensor = 'feat.bin_edges'
AB|codes: 99, past the vocabulary|@W@ pg_temp.blob_set(data, 0, 99) WHERE version_id = @V@ AND tensor = 'feat.item_codes'
AB|codes: 0.5|@W@ pg_temp.blob_set(data, 0, 0.5) WHERE version_id = @V@ AND tensor = 'feat.item_codes'
AB|codes: -2|@W@ pg_temp.blob_set(data, 0, -2) WHERE version_id = @V@ AND tensor = 'feat.item_codes'
AB|codes: NaN|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'feat.item_codes'
AB|codes: 1e30|@W@ pg_temp.blob_set(data, 0, 1e30) WHERE version_id = @V@ AND tensor = 'feat.item_codes'
CASES
)
# changes that leave a valid version, which must still be served
CONTROLS=$(cat <<'CASES'
AB|control: a finite value rewritten|@W@ pg_temp.blob_set(data, 5, 0.25) WHERE version_id = @V@ AND tensor = 'emb.item'
AB|control: a profile value missing (NaN)|@W@ pg_temp.blob_set(data, 0, 'NaN') WHERE version_id = @V@ AND tensor = 'feat.item_num'
AB|control: a code for "other"|@W@ pg_temp.blob_set(data, 0, ((encoder #>> '{schema,features,5,width}')::int - 1)::real) FROM xdrec.version v WHERE v.id = @V@ AND weight.version_id = @V@ AND tensor = 'feat.item_codes'
AB|control: a later release's tensor|INSERT INTO xdrec.weight SELECT model_id, version_id, 'later.tensor', 0, data FROM xdrec.weight WHERE version_id = @V@ AND tensor = 'emb.item'
CASES
)

read -r A_M A_V A_P A_U A_I < <(target_vars te d0)
read -r B_M B_V B_P B_U B_I < <(target_vars ti d1)
[ "$B_P" != "$B_V" ] || fail "ti d1 does not pin a source version"

# run_case <target> <name> <sql> <expect: corrupt|served>: prints the
# failures, one per line
run_case()
{
	local target=$1 name=$2 sql=$3 expect=$4 only=${5:-} model domain m v p u i
	if [ "$target" = A ]; then
		model=te domain=d0 m=$A_M v=$A_V p=$A_P u=$A_U i=$A_I
	else
		model=ti domain=d1 m=$B_M v=$B_V p=$B_P u=$B_U i=$B_I
	fi
	sql=${sql//@W@/$W}
	sql=${sql//@E@/$E}
	sql=${sql//@V@/$v}
	sql=${sql//@P@/$p}
	sql=${sql//@M@/$m}
	calls "$model" "$domain" "$u" "$i" "$only" |
		it_tamper_case "$target $name" "$expect" "$model" "$domain" "$sql"
}

started=$(q -c "SELECT pg_postmaster_start_time()")
signals_before=$(grep -c "terminated by signal" "$SERVER_LOG" || true)

# the helpers themselves: blob_set's checksum is blob.c's
q -c "\\i $WORK/helpers.sql" -c "SELECT bool_and(pg_temp.crc32(substr(data, 33 + 8 * get_byte(data, 12)))
		= get_byte(data, 24) + 256 * get_byte(data, 25) + 65536 * get_byte(data, 26) + 16777216::bigint * get_byte(data, 27))
	FROM xdrec.weight WHERE version_id IN ($A_V, $B_V)" | grep -qx t || fail "pg_temp.crc32 is not the blobs' checksum"

N_CASES=0
N_CALLS=0
FAILURES=()
# every case against each target it applies to, then controls and the
# untouched versions (before the cases, and after them: the rollbacks restored)
for pass in before cases controls after; do
	case $pass in
		before | after) list='AB|untouched|SELECT 1 WHERE false' expect=served ;;
		cases) list=$CASES expect=corrupt ;;
		controls) list=$CONTROLS expect=served ;;
	esac
	while IFS='|' read -r targets name sql; do
		only=
		[[ "$targets" == *:adapt ]] && only=adapt
		for target in A B; do
			[[ "${targets%%:*}" == *"$target"* ]] || continue
			if [ "$pass" = cases ]; then
				N_CASES=$((N_CASES + 1))
				N_CALLS=$((N_CALLS + $(calls "$([ $target = A ] && echo te || echo ti)" d 0 0 "$only" | wc -l)))
			fi
			mapfile -t -O "${#FAILURES[@]}" FAILURES < <(run_case "$target" "$name" "$sql" "$expect" "$only")
		done
	done <<<"$list"
done

now=$(q -c "SELECT pg_postmaster_start_time()") || fail "the server is gone"
signals_after=$(grep -c "terminated by signal" "$SERVER_LOG" || true)
echo "tamper: $N_CASES corruptions of two served versions tried, $N_CALLS calls on them"
if [ "${#FAILURES[@]}" -gt 0 ]; then
	printf 'FAIL: %s\n' "${FAILURES[@]}"
	exit 1
fi
if [ "$now" != "$started" ] || [ "$signals_after" != "$signals_before" ]; then
	echo "FAIL: the server restarted: start time $started -> $now"
	grep -B2 -A5 "terminated by signal" "$SERVER_LOG" | tail -40
	exit 1
fi
echo "ok: every corruption was XX001 naming the model, domain and version; controls served; no server restart"
