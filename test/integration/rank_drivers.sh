#!/usr/bin/env bash
# rank_drivers.sh - ranking from psql, from Python's psycopg2 (Debian
# python3-psycopg2) and from Node's pg (npm), each sending parameters the way
# that driver does (psycopg2 interpolates literals client-side; pg sends
# untyped $n parameters, which resolve to the text form of xdrec.rank). All
# three must return the same items in the same order. Also: a version trained
# in one session invalidates another session's cache before its next call.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_drivers
it_databases "$DB"
it_workdir drivers
it_trained_model "$DB" food \
	'{"seed": 11, "domains": 2, "sizes": {"source": {"users": 200, "items": 100, "interactions": 5000}, "target": {"users": 50, "items": 30, "interactions": 400}}}' \
	'{"d": 16, "epochs": 2}'

CTX='{"hour": 19, "weekday": "fri", "rain": true}'
USER_KEY=$(q -c "SELECT min(user_key) FROM orders WHERE domain = 'd0'")

# psql, both forms and the short form
from_psql=$(q -c "SELECT string_agg(item_key::text, ',' ORDER BY rank) FROM xdrec.rank('food', $USER_KEY, '$CTX', 10)")
from_psql_text=$(q -c "SELECT string_agg(item_key, ',' ORDER BY rank) FROM xdrec.rank('food', '$USER_KEY', '$CTX', 10)")
from_psql_short=$(q -c "SET xdrec.default_model = 'food'" -c "SELECT string_agg(item_key::text, ',' ORDER BY rank) FROM xdrec_rank($USER_KEY, '$CTX', 10)")
echo "psql:            $from_psql"
[ "$from_psql" = "$from_psql_text" ] || { echo "FAIL: text form differs: $from_psql_text"; exit 1; }
[ "$from_psql" = "$from_psql_short" ] || { echo "FAIL: short form differs: $from_psql_short"; exit 1; }
[ "$(echo "$from_psql" | tr ',' '\n' | wc -l)" -eq 10 ] || { echo "FAIL: not 10 items"; exit 1; }

# Python psycopg2: parameters interpolated as literals, an int and a str key
cat >"$WORK/rank.py" <<'PY'
import json, os, subprocess, sys
import psycopg2
user, ctx = int(sys.argv[1]), json.loads(sys.argv[2])
conn = psycopg2.connect(dbname=os.environ["XD_DB"])
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT item_key, score, rank, version FROM xdrec.rank(%s, %s, %s, %s)",
            ("food", user, json.dumps(ctx), 10))
rows = cur.fetchall()
assert isinstance(rows[0][0], int), rows[0]
ints = ",".join(str(r[0]) for r in rows)
cur.execute("SELECT item_key FROM xdrec.rank(%s, %s, %s, %s)", ("food", str(user), json.dumps(ctx), 10))
texts = ",".join(r[0] for r in cur.fetchall())
assert ints == texts, (ints, texts)
cur.execute("SET xdrec.default_model = 'food'")
cur.execute("SELECT item_key FROM xdrec_rank(%s, %s, %s)", (user, json.dumps(ctx), 10))
assert ",".join(str(r[0]) for r in cur.fetchall()) == ints
print(ints)
# another session trains: this session's next call serves the new version
v1 = rows[0][3]
subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", os.environ["XD_DB"],
                "-c", "SELECT xdrec.train('food', 'd0')"], check=True, stdout=subprocess.DEVNULL)
cur.execute("SELECT DISTINCT version FROM xdrec.rank(%s, %s, %s, %s)", ("food", user, json.dumps(ctx), 10))
v2 = cur.fetchall()
assert len(v2) == 1 and v2[0][0] > v1, (v1, v2)
print("invalidated: version %d -> %d" % (v1, v2[0][0]), file=sys.stderr)
PY
from_python=$(XD_DB=$DB /usr/bin/python3 "$WORK/rank.py" "$USER_KEY" "$CTX")
echo "python psycopg2: $from_python"
[ "$from_psql" = "$from_python" ] || { echo "FAIL: psycopg2 ranks differently"; exit 1; }
# the retrain above served a new version: rank again in psql for node
from_psql=$(q -c "SELECT string_agg(item_key::text, ',' ORDER BY rank) FROM xdrec.rank('food', $USER_KEY, '$CTX', 10)")

# Node pg: untyped $n parameters (extended protocol), numbers and strings
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "FAIL: node and npm are needed (test/lib.sh installs them)"
	exit 1
fi
(cd "$WORK" && npm install --silent --no-audit --no-fund --prefix "$WORK" pg >/dev/null 2>&1) \
	|| { echo "FAIL: npm install pg"; exit 1; }
cat >"$WORK/rank.js" <<'JS'
const { Client } = require('pg');
(async () => {
	const [user, ctx] = [process.argv[2], process.argv[3]];
	const c = new Client({ host: process.env.PGHOST, port: process.env.PGPORT,
		user: process.env.PGUSER, database: process.env.XD_DB });
	await c.connect();
	const a = await c.query('SELECT item_key, score, rank, version FROM xdrec.rank($1, $2, $3, $4)',
		['food', Number(user), ctx, 10]);
	const b = await c.query('SELECT item_key FROM xdrec.rank($1, $2, $3, $4)', ['food', user, JSON.parse(ctx), '10']);
	const ia = a.rows.map(r => r.item_key).join(','), ib = b.rows.map(r => r.item_key).join(',');
	if (ia !== ib) throw new Error(`forms differ: ${ia} / ${ib}`);
	await c.query("SET xdrec.default_model = 'food'");
	const s = await c.query('SELECT item_key FROM xdrec_rank($1, $2, $3)', [user, ctx, 10]);
	if (s.rows.map(r => r.item_key).join(',') !== ia) throw new Error('short form differs');
	console.log(ia);
	await c.end();
})().catch(e => { console.error(e.message); process.exit(1); });
JS
from_node=$(cd "$WORK" && XD_DB=$DB node rank.js "$USER_KEY" "$CTX")
echo "node pg:         $from_node"
[ "$from_psql" = "$from_node" ] || { echo "FAIL: node pg ranks differently (psql now: $from_psql)"; exit 1; }
echo "drivers: psql, psycopg2 and node pg rank identically; a new version reaches other sessions"
