-- ---------------------------------------------------------------------------
-- Catalog (DESIGN section 7). Table names are singular; the plural names
-- (xdrec.models, ...) are the views users read. Relations are regclass, roles
-- are names: no raw OIDs, so pg_dump/pg_restore carries everything. Each
-- table comes with what belongs to it: its registration with pg_dump, its
-- row-level security and policies, its privileges and its triggers.
--
-- Roles may only read the tables, under row-level security (DESIGN section
-- 9): the catalog is written by xdrec's own code, as the tables' owner, once
-- it has checked the caller's privilege (src/pg/store/owner.c). Columns that
-- name a role have no default: a default such as CURRENT_USER would name the
-- owner the write runs as; the code passes the caller's name.
--
-- Any write to a table ranking reads through its per-backend cache (model,
-- model_grant, domain, forgotten) sends a relcache invalidation of
-- xdrec.domain by a statement trigger, which every backend's cache listens
-- to (also on a hot standby: invalidations are WAL-logged).

SELECT pg_catalog.pg_extension_config_dump('xdrec.model_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.version_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('xdrec.job_id_seq', '');
-- the owner's writes draw the ids; no role uses the sequences
REVOKE ALL ON SEQUENCE xdrec.model_id_seq, xdrec.version_id_seq, xdrec.job_id_seq FROM PUBLIC;

CREATE TABLE xdrec.model (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.model_id_seq'),
	name text NOT NULL UNIQUE
		CHECK (name <> '' AND pg_catalog.length(name) <= 63),
	relation regclass NOT NULL,
	user_col name NOT NULL,
	item_col name NOT NULL,
	domain_col name NOT NULL,
	rating_col name,
	user_type text NOT NULL,		-- key types, by SQL type name
	item_type text NOT NULL,
	domain_type text NOT NULL,
	options jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
	owner name NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	source_domain text,				-- the default source domain, set by training
	features_changed_at timestamptz	-- xdrec.alter_model replaced the features then
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.model', '');

-- A model's grants (xdrec.grant); created here, as the model's policies read it.
CREATE TABLE xdrec.model_grant (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	grantee name NOT NULL,
	privilege text NOT NULL CHECK (privilege IN ('use', 'train')),
	owner name NOT NULL,			-- the model's owner when granted; see the policies
	granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, grantee)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.model_grant', '');

ALTER TABLE xdrec.model ENABLE ROW LEVEL SECURITY;
CREATE POLICY model_select ON xdrec.model FOR SELECT
	USING (xdrec_internal.is_member(owner)
		   OR EXISTS (SELECT 1 FROM xdrec.model_grant g
					  WHERE g.model_id = id AND g.owner = model.owner
						AND xdrec_internal.is_member(g.grantee)));
GRANT SELECT ON xdrec.model TO PUBLIC;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.model
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.invalidate_cache();
ALTER TABLE xdrec.model_grant ENABLE ROW LEVEL SECURITY;
-- A grant counts only while its recorded owner is still the model's owner.
CREATE POLICY model_grant_select ON xdrec.model_grant FOR SELECT
	USING (xdrec_internal.is_member(grantee) OR xdrec_internal.is_member(owner));
GRANT SELECT ON xdrec.model_grant TO PUBLIC;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.model_grant
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.invalidate_cache();

CREATE TABLE xdrec.feature (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	position int NOT NULL CHECK (position >= 1),
	name text NOT NULL CHECK (name <> ''),
	column_name name,
	expression text,
	kind text NOT NULL CHECK (kind IN ('interactional', 'historical', 'attributional')),
	type text NOT NULL CHECK (type IN ('numeric', 'categorical', 'boolean')),
	scope text NOT NULL DEFAULT 'interaction' CHECK (scope IN ('interaction', 'user', 'item')),
	options jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(options) = 'object'),
	PRIMARY KEY (model_id, position),
	UNIQUE (model_id, name),
	CHECK ((column_name IS NULL) <> (expression IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.feature', '');
ALTER TABLE xdrec.feature ENABLE ROW LEVEL SECURITY;
-- Features are written once, when the model is created.
CREATE POLICY feature_select ON xdrec.feature FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.feature TO PUBLIC;

CREATE TABLE xdrec.version (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.version_id_seq'),
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	kind text NOT NULL CHECK (kind IN ('source', 'target')),
	method text NOT NULL CHECK (method IN ('train', 'drr', 'anneal', 'direct', 'target_only', 'fewshot', 'popularity', 'blend')),
	-- deferred: pg_restore loads this table in heap order, not id order
	-- a version of the same model, kept by the triggers below (not a
	-- foreign key: pg_dump warns of circular foreign keys on one)
	pins_shared_version bigint,
	state text NOT NULL DEFAULT 'building'
		CHECK (state IN ('building', 'ready', 'failed', 'retired')),
	metrics jsonb NOT NULL DEFAULT '{}',
	-- config, feature layout and frozen vocabularies (src/pg/store/version_write.c)
	encoder jsonb,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	UNIQUE (model_id, id),
	-- how many users were forgotten from the version since it was written; the
	-- ranking cache re-reads a version whose count moved (src/pg/serve/version_cache.c)
	forgotten_users int NOT NULL DEFAULT 0 CHECK (forgotten_users >= 0),
	trained_by name NOT NULL,		-- the role the run trained as
	deployed_at timestamptz			-- when last served; NULL: never served
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.version', '');
ALTER TABLE xdrec.version ENABLE ROW LEVEL SECURITY;
-- Training state: read with 'use' (written by train, adapt, rollback and
-- forget_user for roles with 'train').
CREATE POLICY version_select ON xdrec.version FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.version TO PUBLIC;
CREATE CONSTRAINT TRIGGER check_pin AFTER INSERT OR UPDATE OF pins_shared_version ON xdrec.version
	DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION xdrec_internal.check_pin();
CREATE TRIGGER keep_pinned AFTER DELETE ON xdrec.version REFERENCING OLD TABLE AS gone
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.keep_pinned();

CREATE TABLE xdrec.domain (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	role text NOT NULL CHECK (role IN ('source', 'target')),
	stats jsonb,					-- normalisation statistics and vocabularies
	served_version bigint,			-- the version ranking uses; NULL before training
	PRIMARY KEY (model_id, domain),
	FOREIGN KEY (model_id, served_version) REFERENCES xdrec.version (model_id, id)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.domain', '');
ALTER TABLE xdrec.domain ENABLE ROW LEVEL SECURITY;
CREATE POLICY domain_select ON xdrec.domain FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.domain TO PUBLIC;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.domain
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.invalidate_cache();

-- Generic versioned weight store: blobs of src/core/blob.c, chunked below the
-- 1 GB datum limit.
CREATE TABLE xdrec.weight (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	tensor text NOT NULL,
	chunk int NOT NULL CHECK (chunk >= 0),
	data bytea NOT NULL,
	PRIMARY KEY (version_id, tensor, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);
ALTER TABLE xdrec.weight ALTER COLUMN data SET STORAGE EXTERNAL;	-- float noise does not compress
SELECT pg_catalog.pg_extension_config_dump('xdrec.weight', '');
ALTER TABLE xdrec.weight ENABLE ROW LEVEL SECURITY;
CREATE POLICY weight_select ON xdrec.weight FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.weight TO PUBLIC;

-- A version's key maps: dense id = position in the sorted keys ("C"
-- collation for text keys, numeric order for integers), in text form,
-- chunked (src/pg/store/version_write.c).
CREATE TABLE xdrec.key_map (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('user', 'item')),
	chunk int NOT NULL CHECK (chunk >= 0),
	keys text[] NOT NULL,
	PRIMARY KEY (version_id, kind, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);

SELECT pg_catalog.pg_extension_config_dump('xdrec.key_map', '');
ALTER TABLE xdrec.key_map ENABLE ROW LEVEL SECURITY;
CREATE POLICY key_map_select ON xdrec.key_map FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.key_map TO PUBLIC;

-- 65,536 per chunk; counts[i] items of user chunk * 65536 + i, then items.
CREATE TABLE xdrec.seen (
	model_id bigint NOT NULL,
	version_id bigint NOT NULL,
	chunk int NOT NULL CHECK (chunk >= 0),
	counts int[] NOT NULL,
	items int[] NOT NULL,
	PRIMARY KEY (version_id, chunk),
	FOREIGN KEY (model_id, version_id) REFERENCES xdrec.version (model_id, id) ON DELETE CASCADE
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.seen', '');
ALTER TABLE xdrec.seen ENABLE ROW LEVEL SECURITY;
CREATE POLICY seen_select ON xdrec.seen FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.seen TO PUBLIC;

-- The users forgotten from a domain, by key in the key maps' text form.
-- src/pg/data/relation.c filters the relation's rows on it; the interactions
-- themselves stay in the owner's relation (docs/security.md, "Forgetting a
-- user").
CREATE TABLE xdrec.forgotten (
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text NOT NULL,
	user_key text NOT NULL,
	forgotten_by name NOT NULL,
	forgotten_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, domain, user_key)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.forgotten', '');
-- Read with 'train' only: the keys of forgotten users are shown to no role
-- that does not train on the domain; a row names who forgot the user.
ALTER TABLE xdrec.forgotten ENABLE ROW LEVEL SECURITY;
CREATE POLICY forgotten_select ON xdrec.forgotten FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'train'));
GRANT SELECT ON xdrec.forgotten TO PUBLIC;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON xdrec.forgotten
	FOR EACH STATEMENT EXECUTE FUNCTION xdrec_internal.invalidate_cache();

CREATE TABLE xdrec.job (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('xdrec.job_id_seq'),
	model_id bigint NOT NULL REFERENCES xdrec.model (id) ON DELETE CASCADE,
	domain text,
	kind text NOT NULL CHECK (kind IN ('train', 'adapt')),	-- adapt_all submits adapt jobs
	state text NOT NULL DEFAULT 'scheduled'
		CHECK (state IN ('scheduled', 'running', 'finished', 'cancelling', 'cancelled', 'failed')),
	submitted_by name NOT NULL,
	login_role name NOT NULL,		-- the submitting session's: its worker connects as it
	submitted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	started_at timestamptz,
	finished_at timestamptz,
	error text,
	options jsonb NOT NULL DEFAULT '{}',
	result jsonb,
	pid integer,					-- the worker's, while it runs (src/pg/jobs/worker.c)
	sqlstate text					-- of the error a failed or cancelled job ended with
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.job', '');
ALTER TABLE xdrec.job ENABLE ROW LEVEL SECURITY;
-- Jobs are written by the queue alone (src/pg/jobs/): their state, outcome
-- and pid never come from a role.
CREATE POLICY job_select ON xdrec.job FOR SELECT
	USING (xdrec_internal.model_access(model_id, 'use'));
GRANT SELECT ON xdrec.job TO PUBLIC;

CREATE TABLE xdrec.job_progress (
	job_id bigint NOT NULL REFERENCES xdrec.job (id) ON DELETE CASCADE,
	epoch int NOT NULL,
	loss double precision,
	metric double precision,
	rows_per_sec double precision,
	eta interval,
	at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (job_id, epoch)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.job_progress', '');
ALTER TABLE xdrec.job_progress ENABLE ROW LEVEL SECURITY;
CREATE POLICY job_progress_select ON xdrec.job_progress FOR SELECT
	USING (EXISTS (SELECT 1 FROM xdrec.job j WHERE j.id = job_id));
GRANT SELECT ON xdrec.job_progress TO PUBLIC;

-- Settings of the job queue; a missing row means the default. Only the
-- extension's owner writes them (xdrec.set_max_workers; 'node', the number
-- of this database's node in a scale-out: xdrec.set_local_node, never
-- replicated).
CREATE TABLE xdrec.setting (
	name text PRIMARY KEY CHECK (name IN ('max_workers', 'node')),
	value integer NOT NULL CHECK (value >= 1)
);
SELECT pg_catalog.pg_extension_config_dump('xdrec.setting', '');
ALTER TABLE xdrec.setting ENABLE ROW LEVEL SECURITY;
CREATE POLICY setting_select ON xdrec.setting FOR SELECT USING (true);
GRANT SELECT ON xdrec.setting TO PUBLIC;
-- routing reads whether this database is a node once per backend, until
-- this invalidation (src/pg/serve/route.c)
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
