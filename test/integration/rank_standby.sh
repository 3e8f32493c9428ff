#!/usr/bin/env bash
# rank_standby.sh - ranking works on a hot standby (DESIGN section 6), and a
# version trained on the primary reaches a standby session's cache before its
# next call (the relcache invalidation is WAL-logged; DESIGN section 7).
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster started by
# test/lib.sh (trust authentication, replication allowed locally); run as root.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_standby
it_databases "$DB"
PGBIN=${XD_PGBIN:-/usr/lib/postgresql/15/bin}
SDIR=$(mktemp -d /tmp/xdrec-standby.XXXXXX)
chmod 755 "$SDIR"
chown postgres: "$SDIR"
SPORT=$((PGPORT + 1))
while (exec 3<>"/dev/tcp/127.0.0.1/$SPORT") 2>/dev/null || [ -e "$SDIR/.s.PGSQL.$SPORT" ]; do
	SPORT=$((SPORT + 1))
done
cleanup()
{
	if [ -f "$SDIR/data/postmaster.pid" ]; then
		runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SDIR/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	it_cleanup
	rm -rf "$SDIR"
}
trap cleanup EXIT
s() { psql -X -q -v ON_ERROR_STOP=1 -At -h "$SDIR" -p "$SPORT" -d "$DB" "$@"; }

it_trained_model "$DB" food \
	'{"seed": 5, "domains": 1, "sizes": {"source": {"users": 100, "items": 50, "interactions": 2500}}}' \
	'{"d": 8, "epochs": 2}'

runuser -u postgres -- "$PGBIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" \
	-D "$SDIR/data" -R -X stream -c fast >/dev/null
cat >>"$SDIR/data/postgresql.conf" <<CONF
port = $SPORT
unix_socket_directories = '$SDIR'
hot_standby = on
shared_preload_libraries = ''
CONF
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SDIR/data" -l "$SDIR/standby.log" -w start >/dev/null \
	|| { cat "$SDIR/standby.log"; exit 1; }
[ "$(s -c 'SELECT pg_is_in_recovery()')" = t ] || { echo "FAIL: not a standby"; exit 1; }

# wait until the standby has replayed everything the primary wrote
catch_up()
{
	local lsn i
	lsn=$(q -c "SELECT pg_current_wal_insert_lsn()")
	for i in $(seq 1 100); do
		[ "$(s -c "SELECT pg_last_wal_replay_lsn() >= '$lsn'::pg_lsn")" = t ] && return 0
		sleep 0.1
	done
	echo "FAIL: the standby did not catch up"
	return 1
}
catch_up

Q="SELECT string_agg(item_key::text || ':' || version, ',' ORDER BY rank) FROM xdrec.rank('food', 3, '{\"hour\": 20, \"weekday\": \"fri\"}', 5)"
[ "$(q -c "$Q")" = "$(s -c "$Q")" ] || { echo "FAIL: the standby ranks differently"; exit 1; }

# one standby session ranks, the primary trains, the same session ranks again
coproc STANDBY { psql -X -q -At -h "$SDIR" -p "$SPORT" -d "$DB" 2>&1; }
# bash unsets STANDBY_PID when the coprocess ends: keep it for the wait below
standby_pid=$STANDBY_PID
ask()
{
	echo "$1" >&"${STANDBY[1]}"
	echo "SELECT 'end-of-answer';" >&"${STANDBY[1]}"
	local line out=""
	while read -r -t 30 line <&"${STANDBY[0]}"; do
		[ "$line" = end-of-answer ] && break
		out+="$line"
	done
	echo "$out"
}
v1=$(ask "SELECT DISTINCT version FROM xdrec.rank('food', 3, '{}', 5);")
v2=$(q -c "SELECT xdrec.train('food', 'd0', deploy => 'always')->>'version'")
catch_up
seen=$(ask "SELECT DISTINCT version FROM xdrec.rank('food', 3, '{}', 5);")
echo '\q' >&"${STANDBY[1]}"
wait "$standby_pid" 2>/dev/null || true
echo "standby session: version $v1, primary trained $v2, the same standby session now serves $seen"
[ "$seen" = "$v2" ] && [ "$v1" != "$v2" ] || { echo "FAIL: the standby session kept version $seen"; exit 1; }
[ "$(q -c "$Q")" = "$(s -c "$Q")" ] || { echo "FAIL: the standby ranks differently after the new version"; exit 1; }
echo "hot standby: ranks as the primary does; a new version reaches a standby session's cache"

# what writes is refused up front, saying why, in C and in plpgsql alike
for call in "SELECT xdrec.train('food')" "SELECT xdrec.train('food', background => true)" \
	"SELECT xdrec.adapt('food', 'd1', background => true)" "SELECT xdrec.forget_user('food', 'd0', 3)" \
	"SELECT xdrec.create_model('x', 'orders', 'user_key', 'item_key', 'domain')" \
	"SELECT xdrec.deploy('food', 'd0', $v1)" "SELECT xdrec.alter_model('food', '{\"epochs\": 3}')"; do
	err=$(s -v VERBOSITY=verbose -c "$call" 2>&1 >/dev/null || true)
	echo "$call on the standby: $(echo "$err" | head -1)"
	case "$err" in
	*"ERROR:  25006: "*"writes xdrec's catalog, and this server is a hot standby"*) ;;
	*) echo "FAIL: no clear refusal of $call on the standby: $err"; exit 1 ;;
	esac
	case "$err" in
	*"read-only transaction"* | *CONTEXT*) echo "FAIL: $call shows internals on the standby: $err"; exit 1 ;;
	esac
done
echo "hot standby: every write is refused with the reason and where to run it"
