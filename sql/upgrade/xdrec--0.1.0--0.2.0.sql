/*
 * xdrec--0.1.0--0.2.0.sql - the upgrade from 0.1.0, built by the Makefile:
 * this file's changes to the schema and the tables, then every re-runnable
 * part of sql/src/ (functions and views, CREATE OR REPLACE), as in the
 * install script. docs/CONTRIBUTING.md, "The install script".
 */

\echo Use "ALTER EXTENSION xdrec UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------
-- The catalog is written only by xdrec's own code (docs/security.md): roles
-- keep SELECT under row-level security and lose every write, the write
-- policies go, and columns that named the writing role by default name
-- nobody (the code passes the caller; a default would name the owner).

REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
	ON xdrec.model, xdrec.model_grant, xdrec.feature, xdrec.domain, xdrec.version,
	   xdrec.weight, xdrec.key_map, xdrec.seen, xdrec.forgotten, xdrec.job,
	   xdrec.job_progress, xdrec.setting
	FROM PUBLIC;
REVOKE UPDATE (source_domain) ON xdrec.model FROM PUBLIC;
REVOKE UPDATE (privilege, granted_at) ON xdrec.model_grant FROM PUBLIC;
REVOKE ALL ON SEQUENCE xdrec.model_id_seq, xdrec.version_id_seq, xdrec.job_id_seq FROM PUBLIC;

DROP POLICY model_insert ON xdrec.model;
DROP POLICY model_update ON xdrec.model;
DROP POLICY model_delete ON xdrec.model;
DROP POLICY model_grant_insert ON xdrec.model_grant;
DROP POLICY model_grant_update ON xdrec.model_grant;
DROP POLICY model_grant_delete ON xdrec.model_grant;
DROP POLICY feature_write ON xdrec.feature;
DROP POLICY domain_write ON xdrec.domain;
DROP POLICY version_write ON xdrec.version;
DROP POLICY weight_write ON xdrec.weight;
DROP POLICY key_map_write ON xdrec.key_map;
DROP POLICY seen_write ON xdrec.seen;
DROP POLICY forgotten_write ON xdrec.forgotten;
DROP POLICY job_write ON xdrec.job;
DROP POLICY job_progress_write ON xdrec.job_progress;

ALTER TABLE xdrec.model ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE xdrec.job ALTER COLUMN submitted_by DROP DEFAULT;
ALTER TABLE xdrec.job ALTER COLUMN login_role DROP DEFAULT;
ALTER TABLE xdrec.forgotten ALTER COLUMN forgotten_by DROP DEFAULT;

-- ---------------------------------------------------------------------------
-- The internal helpers leave schema xdrec for xdrec_internal. Those that
-- policies, triggers and views depend on move (their dependents follow);
-- the others, and the one only the dropped policies used, are dropped and
-- made again by the parts that follow.

CREATE SCHEMA xdrec_internal;
GRANT USAGE ON SCHEMA xdrec_internal TO PUBLIC;
COMMENT ON SCHEMA xdrec_internal IS 'xdrec: helpers of its functions, views and policies (not an interface)';

ALTER FUNCTION xdrec._is_member(name) SET SCHEMA xdrec_internal;
ALTER FUNCTION xdrec_internal._is_member(name) RENAME TO is_member;
ALTER FUNCTION xdrec._model_access(bigint, text) SET SCHEMA xdrec_internal;
ALTER FUNCTION xdrec_internal._model_access(bigint, text) RENAME TO model_access;
ALTER FUNCTION xdrec._invalidate_cache() SET SCHEMA xdrec_internal;
ALTER FUNCTION xdrec_internal._invalidate_cache() RENAME TO invalidate_cache;
ALTER FUNCTION xdrec._job_state(bigint, text) SET SCHEMA xdrec_internal;
ALTER FUNCTION xdrec_internal._job_state(bigint, text) RENAME TO job_state;

DROP FUNCTION xdrec._model_owner(bigint);
DROP FUNCTION xdrec._column_type(regclass, text);
DROP FUNCTION xdrec._check_column(regclass, text, text, regtype[]);
DROP FUNCTION xdrec._int_option(text, jsonb, bigint, bigint);
DROP FUNCTION xdrec._num_option(text, jsonb, numeric, numeric, boolean, boolean);
DROP FUNCTION xdrec._enum_option(text, jsonb, text[]);
DROP FUNCTION xdrec._check_options(jsonb, boolean);
DROP FUNCTION xdrec._check_expression(regclass, text, text);
DROP FUNCTION xdrec._feature_type_ok(text, regtype);
DROP FUNCTION xdrec._model_for(text, text);
DROP FUNCTION xdrec._generate_options(jsonb);
DROP FUNCTION xdrec._generate_rows(bigint, integer, integer, integer, bigint, integer, integer,
								   bigint, boolean, boolean);
DROP FUNCTION xdrec._cache_stats();
-- cache_stats counts how the users were served (issue 19): its view and
-- function come back with the new columns from the parts that follow
DROP VIEW xdrec.cache_stats;
DROP FUNCTION xdrec.cache_stats();

-- ---------------------------------------------------------------------------
-- The lifecycle (sql/src/46_lifecycle.sql). Versions record who trained them
-- and when they were last served (the deploy policy stores versions it does
-- not serve; rollback and xdrec.versions read it); 0.1.0 served every version
-- it wrote, trained by the model's owner. A model records when alter_model
-- last replaced its features (a version trained before is then out of date,
-- not corrupt).
ALTER TABLE xdrec.version ADD COLUMN trained_by name;
ALTER TABLE xdrec.version ADD COLUMN deployed_at timestamptz;
UPDATE xdrec.version v SET trained_by = m.owner, deployed_at = v.created_at
FROM xdrec.model m WHERE m.id = v.model_id;
ALTER TABLE xdrec.version ALTER COLUMN trained_by SET NOT NULL;
ALTER TABLE xdrec.model ADD COLUMN features_changed_at timestamptz;

-- train, adapt and adapt_all take a deploy policy; train's domain is
-- optional (the source) and adapt_all may adapt only stale domains;
-- evaluate has baselines, standard errors, excluded as a column and
-- test => relation.
DROP FUNCTION xdrec.train(text, text, boolean);
DROP FUNCTION xdrec.adapt(text, text, text, boolean);
DROP FUNCTION xdrec.adapt_all(text, text, boolean);
DROP FUNCTION xdrec.evaluate(text, text, text, integer);

-- cold-start users (issue 19): rank takes an anonymous session's history,
-- rank_many says what users without a trained embedding get (on_unknown)
DROP FUNCTION xdrec.rank(text, bigint, jsonb, integer, text, boolean, bigint[], real[]);
DROP FUNCTION xdrec.rank(text, text, jsonb, integer, text, boolean, text[], real[]);
DROP FUNCTION xdrec.rank_many(text, bigint[], jsonb, integer, text, boolean);
DROP FUNCTION xdrec.rank_many(text, text[], jsonb, integer, text, boolean);

-- A version's pin was a self-referencing foreign key, and every pg_dump
-- warned of circular foreign keys; two triggers keep the rule now. Their
-- functions are defined in full by sql/src/10_access.sql, which follows.
ALTER TABLE xdrec.version DROP CONSTRAINT version_pins_shared_version_fkey;
CREATE FUNCTION xdrec_internal.check_pin() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE FUNCTION xdrec_internal.keep_pinned() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';
CREATE CONSTRAINT TRIGGER check_pin AFTER INSERT OR UPDATE OF pins_shared_version ON xdrec.version
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION xdrec_internal.check_pin();
CREATE TRIGGER keep_pinned AFTER DELETE ON xdrec.version REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.keep_pinned();
