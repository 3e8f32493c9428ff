-- ---------------------------------------------------------------------------
-- Access control (DESIGN section 9, docs/security.md): the functions the
-- tables' row-level security policies, triggers and views call, so they come
-- first. Roles read the tables under row-level security and write none of
-- them: xdrec's C code writes as the tables' owner once it has checked the
-- caller's privilege with these same functions (src/pg/store/owner.c). They
-- are SECURITY INVOKER and read the catalog under the caller's own policies,
-- so calling them directly tells a role only what it may see anyway.

-- Whether the current role is (a member of) role r; false for a dropped role.
CREATE OR REPLACE FUNCTION xdrec_internal.is_member(r name)
RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT coalesce((SELECT pg_catalog.pg_has_role(a.oid, 'MEMBER')
					 FROM pg_catalog.pg_roles a WHERE a.rolname OPERATOR(pg_catalog.=) r), false)
$$;

/*
 * Whether the current role holds privilege want on model id m: 'own' (the owner),
 * 'train' (owner or a train grant) or 'use' (owner or any grant). The model
 * row is read under its own policy, so an invisible model gives false.
 * plpgsql, not inlined: its queries get their own row-level security, which
 * keeps the policies below free of recursion.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.model_access(m bigint, want text)
RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	o name;
BEGIN
	SELECT x.owner INTO o FROM xdrec.model x WHERE x.id OPERATOR(pg_catalog.=) m;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	IF xdrec_internal.is_member(o) THEN
		RETURN true;
	END IF;
	IF want OPERATOR(pg_catalog.=) 'own' THEN
		RETURN false;
	END IF;
	RETURN EXISTS (SELECT 1 FROM xdrec.model_grant g
				   WHERE g.model_id OPERATOR(pg_catalog.=) m AND g.owner OPERATOR(pg_catalog.=) o
					 AND xdrec_internal.is_member(g.grantee)
					 AND (want OPERATOR(pg_catalog.=) 'use' OR g.privilege OPERATOR(pg_catalog.=) 'train'));
END
$$;

-- Any write to the tables ranking reads through its per-backend cache sends
-- a relcache invalidation of xdrec.domain, which every backend's cache
-- listens to (also on a hot standby: invalidations are WAL-logged). A
-- trigger function: no role calls it.
CREATE OR REPLACE FUNCTION xdrec_internal.invalidate_cache()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'xdrec_invalidate_cache';
REVOKE EXECUTE ON FUNCTION xdrec_internal.invalidate_cache() FROM PUBLIC;

/*
 * A target version pins the source version it was adapted against
 * (pins_shared_version). A self-referencing foreign key said so until 0.2.0,
 * but made every pg_dump warn of circular foreign keys; these two triggers
 * keep the same rule. A pin must name a version of the same model, checked
 * at commit (pg_restore loads the table in heap order, not id order) ...
 * Trigger functions: no role calls them.
 */
CREATE OR REPLACE FUNCTION xdrec_internal.check_pin()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF NEW.pins_shared_version IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM xdrec.version v
					   WHERE v.id OPERATOR(pg_catalog.=) NEW.pins_shared_version
						 AND v.model_id OPERATOR(pg_catalog.=) NEW.model_id) THEN
		RAISE EXCEPTION 'version % pins version %, which model % does not have',
			NEW.id, NEW.pins_shared_version, NEW.model_id
			USING ERRCODE = 'foreign_key_violation';
	END IF;
	RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION xdrec_internal.check_pin() FROM PUBLIC;

-- ... and a version still pinned by one that stays is never deleted.
CREATE OR REPLACE FUNCTION xdrec_internal.keep_pinned()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	gone_id bigint;
	by_id bigint;
BEGIN
	SELECT g.id, v.id INTO gone_id, by_id
	FROM gone g JOIN xdrec.version v ON v.pins_shared_version OPERATOR(pg_catalog.=) g.id LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'version % is pinned by version %, which serves on its modules', gone_id, by_id
			USING ERRCODE = 'foreign_key_violation',
				  HINT = 'Delete or re-adapt the pinning versions first.';
	END IF;
	RETURN NULL;
END
$$;
REVOKE EXECUTE ON FUNCTION xdrec_internal.keep_pinned() FROM PUBLIC;
