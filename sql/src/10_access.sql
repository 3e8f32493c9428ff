-- ---------------------------------------------------------------------------
-- Access control (DESIGN section 9, docs/security.md): the functions the
-- tables' row-level security policies and triggers call, so they come first.
-- The tables are granted to PUBLIC and row-level security decides which rows
-- a role sees and changes, so every function stays SECURITY INVOKER.

-- Whether the current role is (a member of) role r; false for a dropped role.
CREATE OR REPLACE FUNCTION xdrec._is_member(r name)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT pg_catalog.pg_has_role(a.oid, 'MEMBER')
					 FROM pg_catalog.pg_roles a WHERE a.rolname = r), false)
$$;

/*
 * Whether the current role holds privilege want on model id m: 'own' (the owner),
 * 'train' (owner or a train grant) or 'use' (owner or any grant). The model
 * row is read under its own policy, so an invisible model gives false.
 * plpgsql, not inlined: its queries get their own row-level security, which
 * keeps the policies below free of recursion.
 */
CREATE OR REPLACE FUNCTION xdrec._model_access(m bigint, want text)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o name;
BEGIN
	SELECT x.owner INTO o FROM xdrec.model x WHERE x.id = m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF xdrec._is_member(o) THEN
		RETURN true;
	END IF;
	IF want = 'own' THEN
		RETURN false;
	END IF;
	RETURN EXISTS (SELECT 1 FROM xdrec.model_grant g
				   WHERE g.model_id = m AND g.owner = o
					 AND xdrec._is_member(g.grantee)
					 AND (want = 'use' OR g.privilege = 'train'));
END
$$;

-- The owner of model id m as the current role sees it (NULL if invisible).
CREATE OR REPLACE FUNCTION xdrec._model_owner(m bigint)
RETURNS name
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	RETURN (SELECT x.owner FROM xdrec.model x WHERE x.id = m);
END
$$;

-- Any write to the tables ranking reads through its per-backend cache sends
-- a relcache invalidation of xdrec.domain, which every backend's cache
-- listens to (also on a hot standby: invalidations are WAL-logged).
CREATE OR REPLACE FUNCTION xdrec._invalidate_cache()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'xdrec_invalidate_cache';

/*
 * A target version pins the source version it was adapted against
 * (pins_shared_version). A self-referencing foreign key said so until 0.2.0,
 * but made every pg_dump warn of circular foreign keys; these two triggers
 * keep the same rule. A pin must name a version of the same model, checked
 * at commit (pg_restore loads the table in heap order, not id order) ...
 */
CREATE OR REPLACE FUNCTION xdrec._check_pin()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.pins_shared_version IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM xdrec.version v
					   WHERE v.id = NEW.pins_shared_version AND v.model_id = NEW.model_id) THEN
		RAISE EXCEPTION 'version % pins version %, which model % does not have',
			NEW.id, NEW.pins_shared_version, NEW.model_id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END
$$;

-- ... and a version still pinned by one that stays is never deleted.
CREATE OR REPLACE FUNCTION xdrec._keep_pinned()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	gone_id bigint;
	by_id bigint;
BEGIN
	SELECT g.id, v.id INTO gone_id, by_id
	FROM gone g JOIN xdrec.version v ON v.pins_shared_version = g.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'version % is pinned by version %, which serves on its modules', gone_id, by_id
			USING ERRCODE = 'foreign_key_violation',
				  HINT = 'Delete or re-adapt the pinning versions first.';
	END IF;
	RETURN NULL;
END
$$;
