-- The shape of the installation (DESIGN sections 6, 7, 9): everything in
-- schemas xdrec and xdrec_internal whatever schema CREATE EXTENSION is
-- given, every catalog table and sequence dumped, row-level security on
-- every table, tables PUBLIC may only read, no SECURITY DEFINER, a pinned
-- search_path on every function, nothing left after DROP.
CREATE ROLE regress_xdrec_install_nobody;
CREATE SCHEMA app;
CREATE EXTENSION xdrec SCHEMA app;

SELECT extname, extversion, extrelocatable, extnamespace::regnamespace AS schema
FROM pg_extension WHERE extname = 'xdrec';

-- the schemas the extension's objects live in (xdrec_rank is the one
-- object in app)
SELECT DISTINCT classid::regclass AS catalog,
       CASE classid
            WHEN 'pg_class'::regclass THEN (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = objid)
            WHEN 'pg_proc'::regclass THEN (SELECT pronamespace::regnamespace::text FROM pg_proc WHERE oid = objid)
            WHEN 'pg_namespace'::regclass THEN (SELECT nspname::text FROM pg_namespace WHERE oid = objid)
            WHEN 'pg_type'::regclass THEN (SELECT typnamespace::regnamespace::text FROM pg_type WHERE oid = objid)
       END AS schema
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass AND deptype = 'e'
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'xdrec')
ORDER BY 1, 2;

-- tables and sequences registered with pg_extension_config_dump
SELECT c.relname, c.relkind, c.relrowsecurity AS rls
FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
WHERE e.extname = 'xdrec' ORDER BY c.relkind, c.relname;

-- every table of the schema is registered and has row-level security
SELECT c.relname
FROM pg_class c
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind IN ('r', 'p', 'S')
  AND (c.oid <> ALL ((SELECT extconfig FROM pg_extension WHERE extname = 'xdrec')::oid[])
       OR (c.relkind <> 'S' AND NOT c.relrowsecurity));

-- functions: none SECURITY DEFINER, all with a pinned search_path
SELECT p.proname, p.prosecdef,
       coalesce(p.proconfig::text, '') LIKE '%search_path=pg_catalog, pg_temp%' AS pinned
FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
WHERE p.pronamespace IN ('xdrec'::regnamespace, 'xdrec_internal'::regnamespace)
  AND (p.prosecdef OR (l.lanname <> 'c' AND coalesce(p.proconfig::text, '') NOT LIKE '%search_path=pg_catalog, pg_temp%'));

-- roles only read the catalog (DESIGN section 9): PUBLIC may SELECT each
-- table, and nothing else on a table, a column or a sequence
SELECT c.relname, c.relkind, coalesce(string_agg(a.privilege_type, ', ' ORDER BY a.privilege_type), '')
	   AS public_may
FROM pg_class c LEFT JOIN LATERAL aclexplode(c.relacl) a ON a.grantee = 0
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind IN ('r', 'S')
GROUP BY c.relname, c.relkind ORDER BY c.relkind, c.relname;
SELECT a.attrelid::regclass, a.attname, x.privilege_type
FROM pg_attribute a, aclexplode(a.attacl) x
WHERE a.attrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'xdrec'::regnamespace)
  AND x.grantee = 0;

-- schema xdrec holds what users call, xdrec_internal the helpers; only the
-- trigger function is not PUBLIC's to call
SELECT p.proname FROM pg_proc p
WHERE p.pronamespace = 'xdrec'::regnamespace AND p.proname LIKE '\_%';
SELECT p.proname, has_function_privilege('regress_xdrec_install_nobody', p.oid, 'EXECUTE') AS anyone_may_call
FROM pg_proc p WHERE p.pronamespace = 'xdrec_internal'::regnamespace ORDER BY 1;

-- the views run as the caller
SELECT c.relname, c.reloptions FROM pg_class c
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v' ORDER BY 1;

-- installing twice, or over an existing schema xdrec, fails cleanly
CREATE EXTENSION xdrec;
DROP EXTENSION xdrec;
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname IN ('xdrec', 'xdrec_internal');
CREATE SCHEMA xdrec;
CREATE EXTENSION xdrec;
DROP SCHEMA xdrec;
DROP SCHEMA app;
DROP ROLE regress_xdrec_install_nobody;
