# test/integration/lib.bash - the prelude the integration scripts share:
# their databases, roles and work directory, made fresh and removed at exit,
# q, fail, until_ok, the crash count, and the usual trained model. Sourced by
# each script, which stays runnable on its own; named .bash, not .sh, because
# test/check.sh runs every test/integration/*.sh as a test.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.

IT_DATABASES=()
IT_ROLES=()
WORK=

# it_databases NAME...: databases the script makes; any an earlier run left
# are dropped now, and all of them at exit
it_databases()
{
	local db
	for db in "$@"; do
		dropdb --if-exists "$db" >/dev/null 2>&1 || true
		IT_DATABASES+=("$db")
	done
}

# it_roles NAME...: roles the script makes (they are the cluster's); any an
# earlier run left are dropped now, and all of them at exit, after the
# databases that hold their objects and grants
it_roles()
{
	local r
	for r in "$@"; do
		psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
		IT_ROLES+=("$r")
	done
}

# it_workdir NAME: $WORK, a private directory under /tmp removed at exit
it_workdir() { WORK=$(mktemp -d "/tmp/xdrec-$1.XXXXXX"); }

# it_crashes: how many server processes the server log (where test/lib.sh
# puts it) says were terminated by a signal. A crash restart keeps
# pg_postmaster_start_time(), so crashes are counted here.
it_crashes()
{
	[ -f "$PGHOST/server.log" ] || fail "no server log at $PGHOST/server.log"
	grep -c "terminated by signal" "$PGHOST/server.log" || true
}

# until_ok SECONDS WHAT COMMAND...: polls COMMAND until it succeeds, or fails
# with WHAT after SECONDS
until_ok()
{
	local deadline=$((SECONDS + $1)) what=$2
	shift 2
	until "$@"; do
		[ $SECONDS -lt $deadline ] || fail "$what"
		sleep 0.1
	done
}

# What the script made. A script with more to undo traps its own function
# and calls this one from it.
it_cleanup()
{
	local db r
	for db in "${IT_DATABASES[@]}"; do
		dropdb --if-exists "$db" >/dev/null 2>&1 || true
	done
	for r in "${IT_ROLES[@]}"; do
		psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true
	done
	if [ -n "$WORK" ]; then
		rm -rf "$WORK"
	fi
}
trap it_cleanup EXIT

# psql for scripting, on $DB when the script has one
q() { psql -X -q -v ON_ERROR_STOP=1 -At ${DB:+-d "$DB"} "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# it_trained_model DB MODEL GENERATE OPTIONS: a new database DB with xdrec,
# a table orders from xdrec.generate (GENERATE: its options), and MODEL on
# orders with the generated features and OPTIONS, trained on domain d0
it_trained_model()
{
	createdb "$1"
	psql -X -q -v ON_ERROR_STOP=1 -At -d "$1" >/dev/null <<SQL
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '$3');
SELECT xdrec.create_model('$2', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '$4');
SELECT xdrec.train('$2', 'd0');
SQL
}

# it_tamper_helpers FILE: writes a psql script defining, in pg_temp, try
# (the regression tests'), crc32 (blob.c's checksum) and blob_set (a blob
# with one value rewritten and its checksum updated), for the tamper tests
it_tamper_helpers()
{
	echo "\\i $(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/sql/include/try.sql" >"$1"
	cat >>"$1" <<'SQL'
-- CRC-32 (IEEE, reflected) of b, as blob.c computes it
CREATE FUNCTION pg_temp.crc32(b bytea) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
	c bigint := 4294967295;
BEGIN
	FOR i IN 0 .. length(b) - 1 LOOP
		c := c # get_byte(b, i);
		FOR k IN 1 .. 8 LOOP
			c := (c >> 1) # (3988292384 & -(c & 1));
		END LOOP;
	END LOOP;
	RETURN c # 4294967295;
END $$;
-- a one-chunk blob (blob.h) with element i set to x and its checksum
-- updated: a well-formed blob holding x
CREATE FUNCTION pg_temp.blob_set(b bytea, i int, x real) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
	payload int := 32 + 8 * get_byte(b, 12);
	bits bytea := float4send(x);
	crc bigint;
BEGIN
	FOR k IN 0 .. 3 LOOP
		b := set_byte(b, payload + 4 * i + k, get_byte(bits, 3 - k));
	END LOOP;
	crc := pg_temp.crc32(substr(b, payload + 1));
	FOR k IN 0 .. 3 LOOP
		b := set_byte(b, 24 + k, ((crc >> (8 * k)) & 255)::int);
	END LOOP;
	RETURN b;
END $$;
SQL
}

# it_tamper_case LABEL EXPECT MODEL DOMAIN_RE SQL: one tamper case in a fresh
# backend (an empty version cache): SQL (the corruption), then each call read
# from stdin, one a line, through pg_temp.try (it_tamper_helpers' script at
# $WORK/helpers.sql), in one transaction rolled back after it, which restores
# the version. Prints a line for each answer that is not the expected one:
# EXPECT served, 'ok'; corrupt, XX001 naming MODEL, a domain matching
# DOMAIN_RE and a version.
it_tamper_case()
{
	local label=$1 expect=$2 model=$3 domain_re=$4 sql=$5 call out line
	{
		echo "\\i $WORK/helpers.sql"
		# evaluate's notices (a small test split) are not outcomes
		echo "SET client_min_messages = warning;"
		echo "BEGIN;"
		echo "$sql;"
		while IFS= read -r call; do
			echo "SELECT pg_temp.try(\$call\$$call\$call\$);"
		done
		echo "ROLLBACK;"
	} >"$WORK/case.sql"
	if ! out=$(q -f "$WORK/case.sql" 2>&1); then
		echo "$label: the case did not run: $out"
		return
	fi
	[ -n "${XD_TAMPER_VERBOSE:-}" ] && echo "$label => $(head -1 <<<"$out")" >&2
	while IFS= read -r line; do
		if [ "$expect" = served ]; then
			[ "$line" = "ok" ] || echo "$label: not served: $line"
		elif ! [[ "$line" =~ ^XX001:\ version\ [0-9]+\ of\ model\ \"$model\"\ \(domain\ $domain_re\)\ is\ corrupt:\  ]]; then
			echo "$label: $line"
		fi
	done <<<"$out"
}
