-- catalog_shape.sql - everything extension xdrec installs, one line per
-- object, in a stable order: functions (a hash of each definition, with its
-- privileges and comment), relations, columns, constraints, policies,
-- triggers, views, the tables pg_dump keeps, and the schema.
-- upgrade_shape.sh compares two installations with it.
SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(pg_get_functiondef(p.oid))
	   || ' acl=' || coalesce(p.proacl::text, '')
	   || ' comment=' || coalesce(md5(obj_description(p.oid, 'pg_proc')), '')
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'xdrec')
UNION ALL
SELECT 'rel ' || c.oid::regclass::text || ' ' || c.relkind::text || ' rls=' || c.relrowsecurity
	   || ' acl=' || coalesce(c.relacl::text, '') || ' comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
FROM pg_class c WHERE c.relnamespace = 'xdrec'::regnamespace
UNION ALL
SELECT 'col ' || a.attrelid::regclass::text || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	   || ' #' || a.attnum || ' notnull=' || a.attnotnull || ' storage=' || a.attstorage::text
	   || ' default=' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') || ' acl=' || coalesce(a.attacl::text, '')
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind IN ('r', 'v') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'xdrec'::regnamespace
UNION ALL
SELECT 'pol ' || tablename || ' ' || policyname || ' ' || cmd::text || ' ' || roles::text
	   || ' using ' || coalesce(qual, '') || ' check ' || coalesce(with_check, '')
FROM pg_policies WHERE schemaname = 'xdrec'
UNION ALL
SELECT 'trg ' || pg_get_triggerdef(t.oid)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE NOT t.tgisinternal AND c.relnamespace = 'xdrec'::regnamespace
UNION ALL
SELECT 'view ' || c.oid::regclass::text || ' ' || md5(pg_get_viewdef(c.oid)) || ' ' || coalesce(c.reloptions::text, '')
FROM pg_class c WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v'
UNION ALL
SELECT 'dumped ' || cfg::regclass::text
FROM pg_extension e, unnest(e.extconfig) AS cfg WHERE e.extname = 'xdrec'
UNION ALL
SELECT 'schema ' || n.nspname || ' acl=' || coalesce(n.nspacl::text, '')
	   || ' comment=' || coalesce(obj_description(n.oid, 'pg_namespace'), '')
FROM pg_namespace n
WHERE n.oid IN (SELECT d.objid FROM pg_depend d
				WHERE d.classid = 'pg_namespace'::regclass AND d.deptype = 'e'
				  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'xdrec'))
ORDER BY 1;
