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
