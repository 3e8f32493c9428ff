#!/usr/bin/env bash
# tamper_roles.sh - no role writes xdrec's catalog behind its functions
# (DESIGN section 9, docs/security.md): as each role that can reach a catalog
# table (one with no grant, a 'use' grantee, a 'train' grantee, the model's
# owner), with a trained model, a target, a forgotten user, a finished job
# and its progress rows in place, try every table of schema xdrec (listed
# from pg_class, so a table added later is tried too): INSERT, UPDATE of each
# column, DELETE, TRUNCATE, row locks, and the sequences. Every attempt must
# be refused with 42501 and the catalog must be unchanged, row for row.
# Needs PGHOST, PGPORT, PGUSER (a superuser) of a running cluster; the server
# log is read from $PGHOST/server.log, where test/lib.sh puts it.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.bash"

DB=xd_tamper
ROLES=(xdtr_stranger xdtr_user xdtr_trainer xdtr_owner)
it_databases "$DB"
it_roles "${ROLES[@]}"
crashes_before=$(it_crashes)

createdb "$DB"
q >/dev/null <<'SQL'
CREATE ROLE xdtr_stranger;
CREATE ROLE xdtr_user;
CREATE ROLE xdtr_trainer;
CREATE ROLE xdtr_owner LOGIN;
CREATE EXTENSION xdrec;
SELECT xdrec.generate('g', '{"seed": 2, "domains": 2, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}, "target": {"users": 20, "items": 10, "interactions": 300}}}');
GRANT SELECT ON g TO PUBLIC;
SET ROLE xdtr_owner;
SELECT xdrec.create_model('tm', 'g', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 2, "seed": 1}');
SELECT xdrec.train('tm', 'd0');
SELECT xdrec.adapt('tm', 'd1', 'direct');
SELECT xdrec.forget_user('tm', 'd0', 5);
SELECT xdrec.grant('tm', 'xdtr_user', 'use');
SELECT xdrec.grant('tm', 'xdtr_trainer', 'train');
RESET ROLE;
SELECT xdrec.set_max_workers(3);

-- every attempt, as the current role: one row per statement with its SQLSTATE
CREATE FUNCTION tamper() RETURNS TABLE(attempt text, outcome text) LANGUAGE plpgsql AS $f$
DECLARE
	t regclass;
	c name;
	stmts text[] := '{}';
BEGIN
	FOR t IN SELECT oid FROM pg_class WHERE relnamespace = 'xdrec'::regnamespace AND relkind IN ('r', 'p')
			 ORDER BY relname LOOP
		stmts := stmts || ARRAY[format('INSERT INTO %s DEFAULT VALUES', t),
								format('INSERT INTO %s SELECT * FROM %s', t, t),
								format('DELETE FROM %s', t),
								format('TRUNCATE %s', t),
								format('TRUNCATE %s CASCADE', t),
								format('SELECT 1 FROM %s FOR UPDATE', t),
								format('SELECT 1 FROM %s FOR KEY SHARE', t)];
		FOR c IN SELECT attname FROM pg_attribute WHERE attrelid = t AND attnum > 0 AND NOT attisdropped
				 ORDER BY attnum LOOP
			stmts := stmts || format('UPDATE %s SET %I = %I', t, c, c);
		END LOOP;
	END LOOP;
	FOR t IN SELECT oid FROM pg_class WHERE relnamespace = 'xdrec'::regnamespace AND relkind = 'S'
			 ORDER BY relname LOOP
		stmts := stmts || ARRAY[format('SELECT nextval(%L)', t), format('SELECT setval(%L, 1000)', t)];
	END LOOP;
	FOREACH attempt IN ARRAY stmts LOOP
		BEGIN
			EXECUTE attempt;
			outcome := 'ok';
		EXCEPTION WHEN OTHERS THEN
			outcome := SQLSTATE;
		END;
		RETURN NEXT;
	END LOOP;
END $f$;
GRANT EXECUTE ON FUNCTION tamper() TO PUBLIC;

-- the whole catalog, row for row, as the superuser sees it
CREATE FUNCTION catalog_digest() RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	t regclass;
	k "char";
	d text := '';
	part text;
BEGIN
	FOR t, k IN SELECT oid, relkind FROM pg_class WHERE relnamespace = 'xdrec'::regnamespace AND relkind IN ('r', 'S')
			 ORDER BY relname LOOP
		IF k = 'S' THEN
			EXECUTE format('SELECT last_value || '' '' || is_called FROM %s', t) INTO part;
		ELSE
			EXECUTE format('SELECT md5(coalesce(string_agg(x::text, ''|'' ORDER BY x::text), '''')) FROM %s x', t) INTO part;
		END IF;
		d := d || t::text || '=' || part || ' ';
	END LOOP;
	RETURN md5(d);
END $f$;
SQL
job=$(q -U xdtr_owner -c "SELECT xdrec.train('tm', 'd0', background => true) ->> 'job'")
[ "$(q -c "SELECT xdrec.wait($job, '60 s')")" = finished ] || fail "job $job did not finish"
[ "$(q -c "SELECT count(*) FROM xdrec.job_progress")" -gt 0 ] || fail "the job wrote no progress"
before=$(q -c "SELECT catalog_digest()")
tables=$(q -c "SELECT count(*) FROM pg_class WHERE relnamespace = 'xdrec'::regnamespace AND relkind IN ('r', 'p')")

total=0
for r in "${ROLES[@]}"; do
	IFS='|' read -r tried refused visible others < <(q <<SQL
SET ROLE $r;
SELECT count(*), count(*) FILTER (WHERE outcome = '42501'),
	   (SELECT count(*) FROM xdrec.model) + (SELECT count(*) FROM xdrec.job),
	   coalesce(string_agg(attempt || ': ' || outcome, '; ') FILTER (WHERE outcome <> '42501'), '')
FROM tamper();
SQL
)
	echo "$r (sees $visible model and job rows): $refused of $tried attempts refused with 42501"
	[ "$tried" -gt 0 ] && [ "$refused" = "$tried" ] || fail "$r was not refused: $others"
	total=$((total + tried))
done
after=$(q -c "SELECT catalog_digest()")
[ "$before" = "$after" ] || fail "the catalog changed"
# the roles that see rows did see some: the attempts were not vacuous
[ "$(q -c "SET ROLE xdtr_user; SELECT count(*) FROM xdrec.weight")" -gt 0 ] || fail "the use grantee sees no weights"
crashes_after=$(it_crashes)
[ "$crashes_after" = "$crashes_before" ] || fail "the server crashed $((crashes_after - crashes_before)) time(s)"
echo "ok: $total attempts on $tables tables and their sequences by ${#ROLES[@]} roles, every one refused; catalog unchanged; crashes: 0"
