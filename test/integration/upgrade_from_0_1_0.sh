#!/usr/bin/env bash
# upgrade_from_0_1_0.sh - a DBA's upgrade from release 0.1.0, step by step, on
# a server of its own: 0.1.0's library and install script, built from the
# repository's history, train a model and adapt its targets; the current
# package replaces the library and the server restarts; until ALTER EXTENSION
# xdrec UPDATE every call that reads a model says to run it (and nothing is
# misread); after it, every ranking of the old model is identical, score for
# score, and the current release's functions work on the old model.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster started by
# test/lib.sh (for XD_PGBIN); run as root, in a git checkout with its history.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

# The last commit of release 0.1.0 (sql/xdrec--0.1.0.sql is frozen as it was).
V010_COMMIT=5985515

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PGBIN=${XD_PGBIN:-/usr/lib/postgresql/15/bin}
it_workdir upgrade
chmod 755 "$WORK"

git -C "$ROOT" cat-file -e "$V010_COMMIT^{commit}" 2>/dev/null \
	|| fail "commit $V010_COMMIT (release 0.1.0) is not in this checkout's history; clone the repository without --depth"

# A private PostgreSQL installation: the server's binaries, libraries and
# share directory, which the builds below install into.
mkdir -p "$WORK/pg/usr/lib/postgresql" "$WORK/pg/usr/share/postgresql"
cp -a "$(cd "$PGBIN/.." && pwd)" "$WORK/pg/usr/lib/postgresql/15"
cp -a "$("$PGBIN/pg_config" --sharedir)" "$WORK/pg/usr/share/postgresql/15"
ln -sfn /usr/include "$WORK/pg/usr/include"
PRIV=$WORK/pg/usr/lib/postgresql/15/bin
rm -f "$("$PRIV/pg_config" --sharedir)"/extension/xdrec*

echo "building release 0.1.0 ($V010_COMMIT)"
mkdir "$WORK/v010"
git -C "$ROOT" archive "$V010_COMMIT" | tar -x -C "$WORK/v010"
make -C "$WORK/v010" -s -j2 PG_CONFIG="$PRIV/pg_config" >/dev/null
make -C "$WORK/v010" -s install PG_CONFIG="$PRIV/pg_config" >/dev/null

PORT=$((PGPORT + 2))
while (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || [ -e "$WORK/.s.PGSQL.$PORT" ]; do
	PORT=$((PORT + 1))
done
cleanup()
{
	if [ -f "$WORK/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PRIV/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	it_cleanup
}
trap cleanup EXIT
chown postgres: "$WORK"
runuser -u postgres -- "$PRIV/initdb" -D "$WORK/data" -U postgres -A trust -E UTF8 --no-locale \
	--no-sync >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; exit 1; }
cat >>"$WORK/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$WORK'
port = $PORT
fsync = off
CONF
server() { runuser -u postgres -- "$PRIV/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -w "$@" >/dev/null; }
server start || { cat "$WORK/server.log"; exit 1; }
u() { psql -X -q -v ON_ERROR_STOP=1 -At -h "$WORK" -p "$PORT" -d postgres "$@"; }

# Under 0.1.0: a model trained on its source and adapted on every target.
u >/dev/null <<'SQL'
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": 3, "domains": 3, "sizes": {"source": {"users": 150, "items": 80, "interactions": 4000}, "target": {"users": 40, "items": 30, "interactions": 600}}}');
SELECT xdrec.create_model('food', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 3}');
SELECT xdrec.train('food', 'd0');
SELECT count(*) FROM xdrec.adapt_all('food');
-- 0.1.0 took patience 0 (create_model's range is 1.. now)
SELECT xdrec.create_model('p0', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "patience": 0}');
SQL
[ "$(u -c "SELECT extversion FROM pg_extension WHERE extname = 'xdrec'")" = 0.1.0 ] || fail "not 0.1.0"

# Every ranking the old model serves: ten users of each domain, in two
# contexts, scores printed exactly (float8 of a real is exact).
RANKINGS="SELECT o.domain, o.user_key, c.ctx, r.rank, r.item_key, r.score::float8, r.version
FROM (SELECT DISTINCT ON (domain, user_key) domain, user_key FROM orders ORDER BY domain, user_key LIMIT 40) o
CROSS JOIN (VALUES ('{\"hour\": 8, \"weekday\": \"mon\", \"rain\": false}'::jsonb),
				   ('{\"hour\": 20, \"weekday\": \"sat\", \"rain\": true}')) c(ctx)
CROSS JOIN LATERAL xdrec.rank('food', o.user_key, c.ctx, 10, domain => o.domain) r
ORDER BY 1, 2, 3::text, 4"
u -c "$RANKINGS" >"$WORK/before"
n_before=$(wc -l <"$WORK/before")
[ "$n_before" -ge 400 ] || fail "0.1.0 ranked only $n_before rows"

# The package upgrade: the current library and scripts, then a restart.
make -C "$ROOT" -s install PG_CONFIG="$PRIV/pg_config" >/dev/null
server restart || { cat "$WORK/server.log"; exit 1; }

# Before ALTER EXTENSION UPDATE: a clear error, not a misread catalog.
if u -c "SELECT * FROM xdrec.rank('food', 1, '{}', 10)" >"$WORK/early.out" 2>&1; then
	fail "ranking with the new library on the 0.1.0 catalog did not fail"
fi
grep -q "extension xdrec is version 0.1.0 in this database, but its library is version" "$WORK/early.out" \
	|| { cat "$WORK/early.out"; fail "the error before the update does not name the versions"; }
grep -q "ALTER EXTENSION xdrec UPDATE" "$WORK/early.out" || fail "the error does not name the fix"

u -c "ALTER EXTENSION xdrec UPDATE"
to=$(u -c "SELECT extversion FROM pg_extension WHERE extname = 'xdrec'")
echo "updated 0.1.0 -> $to"
[ "$to" != 0.1.0 ] || fail "still 0.1.0"

# Stored options are read back by create_model's ranges now: the update
# stores 0.1.0's patience 0 as 1, so the model still loads.
[ "$(u -c "SELECT options ->> 'patience' FROM xdrec.model WHERE name = 'p0'")" = 1 ] \
	|| fail "0.1.0's patience 0 was not stored as 1"
[ "$(u -c "SELECT count(*) FROM xdrec.models WHERE name = 'p0'")" = 1 ] || fail "model p0 not listed"
u -c "SELECT xdrec.drop_model('p0')" >/dev/null

u -c "$RANKINGS" >"$WORK/after"
if ! diff "$WORK/before" "$WORK/after" >"$WORK/diff"; then
	head -20 "$WORK/diff"
	fail "rankings changed across the upgrade"
fi
echo "$n_before ranking rows identical before and after the upgrade"

# The current release on the old model: every public function that reads or
# writes it, and the views.
u >"$WORK/current.out" <<'SQL'
SELECT count(*) > 0 FROM xdrec.rank('food', '1', '{"hour": 12}', 5, domain => 'd0');
SELECT count(*) > 0 FROM xdrec.rank_many('food', ARRAY[1, 2]::bigint[], '{"hour": 12}', 5, domain => 'd0');
SELECT count(*) > 0 FROM xdrec.evaluate('food', 'd1');
SELECT xdrec.adapt('food', 'd1') ->> 'requested';  -- the upgraded default: auto
SELECT xdrec.train('food', 'd0') ? 'version';
SELECT count(*) = 2 FROM xdrec.adapt_all('food');
SELECT xdrec.rollback('food', 'd1') IS NOT NULL;
SELECT count(*) FROM xdrec.domains WHERE model = 'food';
SELECT count(*) FROM xdrec.models WHERE name = 'food';
SELECT xdrec.forget_user('food', 'd1', (SELECT min(user_key) FROM orders WHERE domain = 'd1'));
SELECT count(*) > 0 FROM xdrec.cache_stats;
SELECT xdrec.drop_model('food');
SELECT count(*) FROM xdrec.models;
SQL
expected="t
t
t
auto
t
t
t
3
1
3
t

0"
[ "$(cat "$WORK/current.out")" = "$expected" ] || { cat "$WORK/current.out"; fail "the current release's functions on the old model"; }
grep -q "terminated by signal" "$WORK/server.log" && fail "the server crashed (see $WORK/server.log)"
echo "the current release's functions work on the model trained under 0.1.0"
