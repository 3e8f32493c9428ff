/*
 * xdrec--0.1.0--0.2.0.sql - the upgrade from 0.1.0, built by the Makefile:
 * this file's changes to the schema and the tables, then every re-runnable
 * part of sql/src/ (functions and views, CREATE OR REPLACE), as in the
 * install script. docs/CONTRIBUTING.md, "The install script".
 */

\echo Use "ALTER EXTENSION xdrec UPDATE TO '0.2.0'" to load this file. \quit


-- Versions record who trained them and when they were last served (the
-- deploy policy stores versions it does not serve; rollback and
-- xdrec.versions read it). 0.1.0 served every version it wrote, by the
-- model's owner.
ALTER TABLE xdrec.version ADD COLUMN trained_by name;
ALTER TABLE xdrec.version ADD COLUMN deployed_at timestamptz;
UPDATE xdrec.version v SET trained_by = m.owner, deployed_at = v.created_at
FROM xdrec.model m WHERE m.id = v.model_id;
ALTER TABLE xdrec.version ALTER COLUMN trained_by SET NOT NULL,
	ALTER COLUMN trained_by SET DEFAULT CURRENT_USER;

-- train, adapt and adapt_all take a deploy policy; train's domain is
-- optional (the source) and adapt_all may adapt only stale domains.
DROP FUNCTION xdrec.train(text, text, boolean);
DROP FUNCTION xdrec.adapt(text, text, text, boolean);
DROP FUNCTION xdrec.adapt_all(text, text, boolean);

-- xdrec.alter_model writes a model's options, with the options' validation,
-- and records when it replaced the features (a version trained before them
-- is then not corrupt but out of date).
ALTER TABLE xdrec.model ADD COLUMN features_changed_at timestamptz;
GRANT UPDATE (options, features_changed_at) ON xdrec.model TO PUBLIC;

-- evaluate: baselines, standard errors, excluded as a column, test => relation
DROP FUNCTION xdrec.evaluate(text, text, text, integer);

-- A version's pin was a self-referencing foreign key, and every pg_dump
-- warned of circular foreign keys; two triggers keep the rule now. Their
-- functions are defined in full by sql/src/10_access.sql, which follows.
ALTER TABLE xdrec.version DROP CONSTRAINT version_pins_shared_version_fkey;
CREATE FUNCTION xdrec._check_pin() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE FUNCTION xdrec._keep_pinned() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE CONSTRAINT TRIGGER check_pin AFTER INSERT OR UPDATE OF pins_shared_version ON xdrec.version
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION xdrec._check_pin();
CREATE TRIGGER keep_pinned AFTER DELETE ON xdrec.version REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec._keep_pinned();
