#!/usr/bin/env bash
# upgrade_shape.sh - the upgrade script leaves the installation exactly as
# the install script makes it: CREATE EXTENSION xdrec VERSION '0.1.0' then
# ALTER EXTENSION xdrec UPDATE gives, object by object (catalog_shape.sql:
# functions with their definitions, privileges and comments, tables, columns,
# constraints, policies, triggers, views, what pg_dump keeps), what a fresh
# CREATE EXTENSION xdrec gives. A change to the tables in sql/src/ without its
# migration in sql/upgrade/ fails here.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

it_databases xd_shape_fresh xd_shape_updated
it_workdir upgrade-shape
SHAPE="$(dirname "${BASH_SOURCE[0]}")/catalog_shape.sql"

createdb xd_shape_fresh
createdb xd_shape_updated
DB=xd_shape_fresh q -c "CREATE EXTENSION xdrec"
DB=xd_shape_updated q -c "CREATE EXTENSION xdrec VERSION '0.1.0'"
from=$(DB=xd_shape_updated q -c "SELECT extversion FROM pg_extension WHERE extname = 'xdrec'")
DB=xd_shape_updated q -c "ALTER EXTENSION xdrec UPDATE"
to=$(DB=xd_shape_updated q -c "SELECT extversion FROM pg_extension WHERE extname = 'xdrec'")
current=$(DB=xd_shape_fresh q -c "SELECT extversion FROM pg_extension WHERE extname = 'xdrec'")
echo "updated $from -> $to; fresh install $current"
[ "$from" = "0.1.0" ] || fail "the old install is $from, not 0.1.0"
[ "$to" = "$current" ] || fail "ALTER EXTENSION UPDATE reached $to, not $current"

DB=xd_shape_fresh q -f "$SHAPE" >"$WORK/fresh"
DB=xd_shape_updated q -f "$SHAPE" >"$WORK/updated"
n=$(wc -l <"$WORK/fresh")
[ "$n" -gt 100 ] || fail "the shape lists only $n objects"
if ! diff "$WORK/fresh" "$WORK/updated" >"$WORK/diff"; then
	cat "$WORK/diff"
	fail "0.1.0 updated to $to differs from a fresh $current install (< fresh, > updated)"
fi
echo "0.1.0 updated to $to equals a fresh install: $n objects compared"
