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

-- Stored options are read back by create_model's rules now, ranges
-- included (src/pg/data/options.c: out of range is XX001). 0.1.0 took
-- patience 0, which adapt ran as 1 and train refused: it becomes 1.
UPDATE xdrec.model SET options = options || '{"patience": 1}'
WHERE options -> 'patience' = '0'::jsonb;

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

-- Scale-out (issue 22, docs/scale.md): the node number setting, the nodes,
-- placement and the user directory, and the cache invalidation of rows
-- logical replication applies.
ALTER TABLE xdrec.setting DROP CONSTRAINT setting_name_check;
ALTER TABLE xdrec.setting ADD CONSTRAINT setting_name_check CHECK (name IN ('max_workers', 'node'));
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.setting
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.invalidate_cache();
-- ---------------------------------------------------------------------------
-- Scale-out (docs/scale.md, DESIGN section 10): the nodes, where each domain
-- is held, and which domain a user is in. Written by the extension's owner
-- on the node that trains the source (xdrec.add_node, xdrec.place) and
-- replicated from there with the shared modules; the directory is written
-- by each holding node (xdrec.refresh_directory) and replicated to the
-- routers. Rows replicated in (logical replication's apply runs with
-- session_replication_role = replica, where statement triggers do not fire)
-- invalidate the ranking caches through the row triggers enabled for
-- replica mode only.

-- A node's number goes into the high bits of the model and version ids it
-- draws (number * 2^48, xdrec.set_local_node), so ids never collide.
-- Connection strings name no user: PL/Proxy then connects as the calling
-- role, which the holding node checks (docs/scale.md, "Privileges").
CREATE TABLE xdrec.node (
	name text PRIMARY KEY CHECK (name <> '' AND pg_catalog.length(name) <= 63),
	number integer NOT NULL UNIQUE CHECK (number >= 1 AND number <= 32767),
	connstr text NOT NULL,
	added_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.node', '');
ALTER TABLE xdrec.node ENABLE ROW LEVEL SECURITY;
CREATE POLICY node_select ON xdrec.node FOR SELECT USING (true);
GRANT SELECT ON xdrec.node TO PUBLIC;

CREATE TABLE xdrec.placement (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	node text NOT NULL REFERENCES xdrec.node (name),
	placed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, domain)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.placement', '');
ALTER TABLE xdrec.placement ENABLE ROW LEVEL SECURITY;
CREATE POLICY placement_select ON xdrec.placement FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.placement TO PUBLIC;

-- The user→domain directory routing reads when a call names no domain.
-- Each holding node writes only its own rows (node), so that a domain moved
-- between two nodes is listed by both until the old one refreshes, in either
-- order, and never conflicts on a router (the placement says where it goes).
CREATE TABLE xdrec.user_domain (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	user_key text NOT NULL,
	domain text NOT NULL,
	node text NOT NULL,
	PRIMARY KEY (model_id, user_key, domain, node)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.user_domain', '');
ALTER TABLE xdrec.user_domain ENABLE ROW LEVEL SECURITY;
CREATE POLICY user_domain_select ON xdrec.user_domain FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.user_domain TO PUBLIC;

-- The publication of the shared modules filters xdrec.domain on role, which
-- UPDATE and DELETE can only do with every column in the replica identity.
ALTER TABLE xdrec.domain REPLICA IDENTITY FULL;
CREATE TRIGGER invalidate_cache_applied AFTER INSERT OR UPDATE OR DELETE ON xdrec.model
	FOR EACH ROW EXECUTE FUNCTION xdrec_internal.invalidate_cache();
ALTER TABLE xdrec.model ENABLE REPLICA TRIGGER invalidate_cache_applied;
CREATE TRIGGER invalidate_cache_applied AFTER INSERT OR UPDATE OR DELETE ON xdrec.model_grant
	FOR EACH ROW EXECUTE FUNCTION xdrec_internal.invalidate_cache();
ALTER TABLE xdrec.model_grant ENABLE REPLICA TRIGGER invalidate_cache_applied;
CREATE TRIGGER invalidate_cache_applied AFTER INSERT OR UPDATE OR DELETE ON xdrec.domain
	FOR EACH ROW EXECUTE FUNCTION xdrec_internal.invalidate_cache();
ALTER TABLE xdrec.domain ENABLE REPLICA TRIGGER invalidate_cache_applied;

-- few-shot markets (issue 20): a target adapted with method 'fewshot'
ALTER TABLE xdrec.version DROP CONSTRAINT version_method_check;
ALTER TABLE xdrec.version ADD CONSTRAINT version_method_check
	CHECK (method IN ('train', 'drr', 'anneal', 'direct', 'target_only', 'fewshot', 'popularity', 'blend'));
