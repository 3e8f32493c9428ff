#!/usr/bin/env bash
# forget_sessions.sh - xdrec.forget_user seen from other sessions and through
# a dump: a session that ranked a user before another session forgot them
# gets the unknown-user error on its next call, and ranks every other user
# exactly as before; a superuser's pg_dump/pg_restore carries the forgotten
# user (xdrec.forgotten and the cleared versions), so the restored database
# ranks identically and its next training still leaves the user out.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

SRC=xd_forget_src
DST=xd_forget_dst
it_databases "$SRC" "$DST"
it_workdir forget
it_trained_model "$SRC" food \
	'{"seed": 13, "domains": 2, "sizes": {"source": {"users": 80, "items": 40, "interactions": 2000}, "target": {"users": 30, "items": 15, "interactions": 300}}}' \
	'{"d": 8, "epochs": 2}'

# every d0 user's top 10, one line per user
RANK_ALL="SELECT string_agg(format('%s:%s:%s', u, r.item_key, encode(float4send(r.score), 'hex')), ' ' ORDER BY u, r.rank)
FROM (SELECT DISTINCT user_key AS u FROM orders WHERE domain = 'd0' AND user_key <> 5) us,
     LATERAL xdrec.rank('food', us.u, '{\"hour\": 19, \"weekday\": \"fri\"}', 10) r"

# session A ranks (and caches) user 5 and everyone else; session B forgets
# user 5 while A stays connected; A's next calls see it
cat >"$WORK/sessions.py" <<'PY'
import os, subprocess, sys
import psycopg2
conn = psycopg2.connect(dbname=os.environ["XD_DB"])
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT count(*) FROM xdrec.rank('food', 5, '{}', 10)")
assert cur.fetchone()[0] == 10
cur.execute(os.environ["RANK_ALL"])
before = cur.fetchone()[0]
subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", os.environ["XD_DB"],
                "-c", "SELECT xdrec.forget_user('food', 'd0', 5)"], check=True, stdout=subprocess.DEVNULL)
try:
    cur.execute("SELECT count(*) FROM xdrec.rank('food', 5, '{}', 10)")
    sys.exit("FAIL: the forgotten user still ranks in a session that had cached the version")
except psycopg2.Error as e:
    assert e.pgcode == "42704", (e.pgcode, str(e))
cur.execute(os.environ["RANK_ALL"])
after = cur.fetchone()[0]
assert before == after, "other users rank differently after the forget"
print(after)
PY
ranked=$(XD_DB=$SRC RANK_ALL=$RANK_ALL /usr/bin/python3 "$WORK/sessions.py")
echo "sessions: another session's forget reached this session's cache; $(echo "$ranked" | wc -w) rankings unchanged"

# dump and restore: the forgotten user stays forgotten, the others rank identically
pg_dump -Fc -d "$SRC" -f "$WORK/src.dump" 2>"$WORK/dump.err"
grep -v 'circular foreign-key\|detail: version\|hint:' "$WORK/dump.err" >&2 || true
createdb -T template0 "$DST"
pg_restore --exit-on-error -d "$DST" "$WORK/src.dump"
[ "$(q -d "$DST" -c "SELECT string_agg(user_key, ',') FROM xdrec.forgotten")" = "5" ] \
	|| { echo "FAIL: xdrec.forgotten was not restored"; exit 1; }
restored=$(q -d "$DST" -c "$RANK_ALL")
[ "$restored" = "$ranked" ] || { echo "FAIL: the restored database ranks differently"; exit 1; }
if q -d "$DST" -c "SELECT * FROM xdrec.rank('food', 5, '{}', 10)" >/dev/null 2>"$WORK/rank.err"; then
	echo "FAIL: the forgotten user ranks in the restored database"
	exit 1
fi
grep -q 'user 5 is not known' "$WORK/rank.err" || { cat "$WORK/rank.err"; exit 1; }
users=$(q -d "$DST" -c "SELECT xdrec.train('food', 'd0')->>'users'")
expected=$(q -d "$DST" -c "SELECT count(DISTINCT user_key) - 1 FROM orders WHERE domain = 'd0'")
[ "$users" = "$expected" ] || { echo "FAIL: training after the restore saw $users users, not $expected"; exit 1; }
echo "dump/restore: the forgotten user stays forgotten, $(echo "$restored" | wc -w) rankings identical, retraining leaves them out"
