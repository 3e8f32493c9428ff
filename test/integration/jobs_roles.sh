#!/usr/bin/env bash
# jobs_roles.sh - a job runs with its submitter's privileges (DESIGN
# sections 8 and 9, docs/jobs.md): a role granted train on a model but not
# SELECT on its relation gets a failed job with SQLSTATE 42501 and nothing
# deployed; a NOLOGIN role reached by SET ROLE submits a job that connects
# as the login role, runs as the NOLOGIN role (row-level security shows it
# only its rows; neither the login role nor a superuser would read exactly
# those) and succeeds.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster.
set -euo pipefail

DB=xd_jobs_roles
ROLES="xdj_owner xdj_trainer xdj_member xdj_team"
cleanup()
{
	dropdb --if-exists "$DB" >/dev/null 2>&1 || true
	for r in $ROLES; do psql -X -q -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null 2>&1 || true; done
}
trap cleanup EXIT
q() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$DB" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup
createdb "$DB"
q >/dev/null <<'SQL'
CREATE ROLE xdj_owner LOGIN;
CREATE ROLE xdj_trainer LOGIN;
CREATE ROLE xdj_team NOLOGIN;
CREATE ROLE xdj_member LOGIN NOINHERIT IN ROLE xdj_team;
CREATE EXTENSION xdrec;
SELECT xdrec.generate('orders', '{"seed": 8, "domains": 2, "sizes": {"source": {"users": 200, "items": 100, "interactions": 4000}, "target": {"users": 40, "items": 30, "interactions": 400}}}');
GRANT SELECT ON orders TO xdj_owner;
-- the team sees only its even users' rows
CREATE TABLE team_orders AS SELECT * FROM orders;
ALTER TABLE team_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_rows ON team_orders USING (current_user = 'xdj_team' AND user_key % 2 = 0);
GRANT SELECT ON team_orders TO xdj_team;
SQL

# a trainer without SELECT on the relation: the job fails as the trainer would
q -U xdj_owner >/dev/null <<'SQL'
SELECT xdrec.create_model('m', 'orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2}');
SELECT xdrec.train('m', 'd0');
SELECT xdrec.grant('m', 'xdj_trainer', 'train');
SQL
v1=$(q -U xdj_owner -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'")
j=$(q -U xdj_trainer -c "SELECT xdrec.train('m', 'd0', background => true) ->> 'job'")
[ "$(q -U xdj_trainer -c "SELECT xdrec.wait($j, '60 s')")" = failed ] || fail "job $j did not fail"
IFS='|' read -r sqlstate err by < <(q -U xdj_trainer -c "SELECT sqlstate, error, submitted_by FROM xdrec.jobs WHERE job = $j")
echo "job $j of xdj_trainer: $sqlstate $err"
[ "$sqlstate" = 42501 ] || fail "job $j failed with $sqlstate, not 42501: $err"
case "$err" in *"permission denied"*orders*) ;; *) fail "job $j failed for another reason: $err" ;; esac
[ "$by" = xdj_trainer ] || fail "job $j was submitted by $by"
[ "$(q -U xdj_owner -c "SELECT served_version FROM xdrec.domains WHERE model = 'm' AND domain = 'd0'")" = "$v1" ] \
	|| fail "the failed job deployed something"

# a NOLOGIN role reached by SET ROLE
out=$(q -U xdj_member <<'SQL'
SET ROLE xdj_team;
SELECT xdrec.create_model('tm', 'team_orders', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2}') \g /dev/null
SELECT xdrec.train('tm', 'd0', background => true) ->> 'job';
SQL
)
j=$out
[ "$(q -U xdj_member -c "SET ROLE xdj_team" -c "SELECT xdrec.wait($j, '60 s')")" = finished ] \
	|| fail "job $j of xdj_team did not finish: $(q -c "SELECT state, error FROM xdrec.jobs WHERE job = $j")"
IFS='|' read -r by login used ver < <(q -c "SELECT submitted_by, login_role, result ->> 'rows_used', result ->> 'version' FROM xdrec.jobs WHERE job = $j")
team_rows=$(q -c "SELECT count(*) FROM team_orders WHERE domain = 'd0' AND user_key % 2 = 0")
all_rows=$(q -c "SELECT count(*) FROM team_orders WHERE domain = 'd0'")
echo "job $j: submitted by $by, connected as $login, read $used rows (the team sees $team_rows of $all_rows)"
[ "$by" = xdj_team ] && [ "$login" = xdj_member ] || fail "job $j: submitted_by $by, login_role $login"
[ "$used" = "$team_rows" ] && [ "$used" -lt "$all_rows" ] || fail "job $j read $used rows, not the team's $team_rows"
[ "$(q -c "SELECT owner FROM xdrec.models WHERE name = 'tm'")" = xdj_team ] || fail "model tm is not xdj_team's"
[ "$(q -U xdj_member -c "SET ROLE xdj_team" -c "SELECT DISTINCT version FROM xdrec.rank('tm', 2, '{\"hour\": 9}', 3)")" = "$ver" ] \
	|| fail "xdj_team does not rank from version $ver"
echo "ok: jobs run as their submitter, a NOLOGIN one through SET ROLE"
