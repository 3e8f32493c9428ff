# test/integration/lib.bash - the prelude the integration scripts share:
# their databases and work directory, made fresh and removed at exit, q,
# fail, and the usual trained model. Sourced by each script, which stays
# runnable on its own; named .bash, not .sh, because test/check.sh runs every
# test/integration/*.sh as a test.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.

IT_DATABASES=()
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

# it_workdir NAME: $WORK, a private directory under /tmp removed at exit
it_workdir() { WORK=$(mktemp -d "/tmp/xdrec-$1.XXXXXX"); }

# What the script made. A script with more to undo traps its own function
# and calls this one from it.
it_cleanup()
{
	local db
	for db in "${IT_DATABASES[@]}"; do
		dropdb --if-exists "$db" >/dev/null 2>&1 || true
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
