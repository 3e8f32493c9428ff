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
