-- ---------------------------------------------------------------------------
-- Scale-out over several PostgreSQL nodes (docs/scale.md, DESIGN section 10):
-- nodes, placement of domains, the user directory, and routing a ranking
-- call to the node that holds its domain through PL/Proxy.
--
-- Only the extension's owner writes the tables (as xdrec.set_max_workers):
-- these functions are SECURITY INVOKER and check that the caller may write.
-- PL/Proxy is optional: xdrec installs without it, and the proxy functions
-- are created by xdrec.enable_routing(), once plproxy is installed.

-- Register a node (on the node that trains the source; the table replicates
-- to the others with the shared modules). Its number, the next free one,
-- goes into the high bits of every model and version id it draws.
CREATE OR REPLACE FUNCTION xdrec.add_node(name text, connstr text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
BEGIN
	IF NOT pg_catalog.has_table_privilege('xdrec.node', 'INSERT') THEN
		RAISE EXCEPTION 'permission denied to add a node'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec adds nodes.';
	END IF;
	IF name IS NULL OR connstr IS NULL THEN
		RAISE EXCEPTION 'a node needs a name and a connection string'
			USING ERRCODE = 'null_value_not_allowed';
	END IF;
	-- PL/Proxy connects as the calling role only when the string names none
	IF connstr OPERATOR(pg_catalog.~*) '(^|\s)user\s*=' THEN
		RAISE EXCEPTION 'the connection string of node "%" names a user', name
			USING ERRCODE = 'invalid_parameter_value',
				  HINT = 'Routed calls connect as the calling role, so that the holding node checks its privileges; passwords go in the server''s ~/.pgpass.';
	END IF;
	LOCK TABLE xdrec.node IN EXCLUSIVE MODE;	-- two at once would draw one number
	SELECT coalesce(pg_catalog.max(x.number), 0) OPERATOR(pg_catalog.+) 1 INTO n FROM xdrec.node x;
	IF EXISTS (SELECT 1 FROM xdrec.node x WHERE x.name OPERATOR(pg_catalog.=) add_node.name) THEN
		RAISE EXCEPTION 'node "%" exists', name
			USING ERRCODE = 'duplicate_object';
	END IF;
	INSERT INTO xdrec.node (name, number, connstr) VALUES (add_node.name, n, add_node.connstr);
	RETURN n;
END
$$;

-- Which node this database is: its number goes into the high bits of the
-- model and version ids drawn here from now on (number * 2^48, up to the
-- next node's range), so rows replicated between nodes never collide.
CREATE OR REPLACE FUNCTION xdrec.set_local_node(name text)
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n integer;
	lo bigint;
	hi bigint;
	seq text;
	last bigint;
BEGIN
	IF NOT pg_catalog.has_table_privilege('xdrec.setting', 'INSERT, UPDATE') THEN
		RAISE EXCEPTION 'permission denied to set the local node'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec sets it.';
	END IF;
	SELECT x.number INTO n FROM xdrec.node x WHERE x.name OPERATOR(pg_catalog.=) set_local_node.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no node "%"', coalesce(name, 'null')
			USING ERRCODE = 'undefined_object',
				  HINT = 'xdrec.add_node(name, connstr) registers it on the node that trains the source; it arrives here by replication.';
	END IF;
	IF EXISTS (SELECT 1 FROM xdrec.setting s WHERE s.name OPERATOR(pg_catalog.=) 'node'
				 AND s.value OPERATOR(pg_catalog.<>) n) THEN
		RAISE EXCEPTION 'this database is already another node'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'A node keeps its number: its ids are in that number''s range.';
	END IF;
	lo := n::bigint OPERATOR(pg_catalog.*) 281474976710656;	-- 2^48
	hi := lo OPERATOR(pg_catalog.+) 281474976710655;
	FOREACH seq IN ARRAY ARRAY['xdrec.model_id_seq', 'xdrec.version_id_seq'] LOOP
		EXECUTE pg_catalog.format('SELECT last_value FROM %s', seq) INTO last;
		IF last OPERATOR(pg_catalog.>) hi THEN
			RAISE EXCEPTION '% is past the range of node "%"', seq, name
				USING ERRCODE = 'object_not_in_prerequisite_state';
		END IF;
		EXECUTE pg_catalog.format('ALTER SEQUENCE %s MAXVALUE %s', seq, hi);
		IF last OPERATOR(pg_catalog.<) lo THEN
			PERFORM pg_catalog.setval(seq::regclass, lo, false);
		END IF;
	END LOOP;
	INSERT INTO xdrec.setting AS s (name, value) VALUES ('node', n)
	ON CONFLICT ON CONSTRAINT setting_pkey DO NOTHING;
	RETURN n;
END
$$;

-- Place a domain of a model on a node, or move it there. The new node
-- adapts it (xdrec.adapt or adapt_all with only_stale) and lists its users
-- (xdrec.refresh_directory); its interactions are the owner's tables there.
CREATE OR REPLACE FUNCTION xdrec.place(model text, domain text, node text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m bigint;
BEGIN
	IF NOT pg_catalog.has_table_privilege('xdrec.placement', 'INSERT, UPDATE') THEN
		RAISE EXCEPTION 'permission denied to place domains'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec places domains.';
	END IF;
	SELECT x.id INTO m FROM xdrec.model x WHERE x.name OPERATOR(pg_catalog.=) place.model;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', coalesce(model, 'null')
			USING ERRCODE = 'undefined_object';
	END IF;
	IF domain IS NULL THEN
		RAISE EXCEPTION 'domain must not be null' USING ERRCODE = 'null_value_not_allowed';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM xdrec.node x WHERE x.name OPERATOR(pg_catalog.=) place.node) THEN
		RAISE EXCEPTION 'no node "%"', coalesce(node, 'null')
			USING ERRCODE = 'undefined_object',
				  HINT = 'xdrec.add_node(name, connstr) registers it.';
	END IF;
	INSERT INTO xdrec.placement AS p (model_id, domain, node) VALUES (m, place.domain, place.node)
	ON CONFLICT ON CONSTRAINT placement_pkey
	DO UPDATE SET node = excluded.node, placed_at = pg_catalog.now();
END
$$;

-- On a holding node: list the users of the domains of model placed here, from
-- their served versions' key maps, in the directory routers read (replicated
-- to them), in place of the rows this node listed before (those of domains
-- moved away go). Rows are this node's own, so the old and the new holder of
-- a moved domain may refresh in either order. Returns the number of users
-- listed.
CREATE OR REPLACE FUNCTION xdrec.refresh_directory(model text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	m bigint;
	here text;
	n bigint;
BEGIN
	IF NOT pg_catalog.has_table_privilege('xdrec.user_domain', 'INSERT, DELETE') THEN
		RAISE EXCEPTION 'permission denied to refresh the user directory'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec refreshes it.';
	END IF;
	SELECT x.id INTO m FROM xdrec.model x WHERE x.name OPERATOR(pg_catalog.=) refresh_directory.model;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'model "%" does not exist', coalesce(model, 'null')
			USING ERRCODE = 'undefined_object';
	END IF;
	SELECT x.name INTO here FROM xdrec.node x JOIN xdrec.setting s
		ON s.name OPERATOR(pg_catalog.=) 'node' AND s.value OPERATOR(pg_catalog.=) x.number;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'this database is no node'
			USING ERRCODE = 'object_not_in_prerequisite_state',
				  HINT = 'xdrec.set_local_node(name) says which node it is.';
	END IF;
	DELETE FROM xdrec.user_domain u
	WHERE u.model_id OPERATOR(pg_catalog.=) m AND u.node OPERATOR(pg_catalog.=) here;
	INSERT INTO xdrec.user_domain (model_id, user_key, domain, node)
	SELECT DISTINCT m, k.key, d.domain, here
	FROM xdrec.placement p
	JOIN xdrec.domain d ON d.model_id OPERATOR(pg_catalog.=) p.model_id
						AND d.domain OPERATOR(pg_catalog.=) p.domain
	JOIN xdrec.key_map km ON km.version_id OPERATOR(pg_catalog.=) d.served_version
						 AND km.kind OPERATOR(pg_catalog.=) 'user'
	CROSS JOIN LATERAL pg_catalog.unnest(km.keys) AS k(key)
	WHERE p.model_id OPERATOR(pg_catalog.=) m AND p.node OPERATOR(pg_catalog.=) here;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- Create the PL/Proxy functions routed calls go through, once plproxy is
-- installed (CREATE EXTENSION plproxy). They connect to the holding node by
-- its name (never a connection string a caller passes) as the calling role;
-- xdpg_route_rows (src/pg/serve/route.c) calls them and reports their errors.
CREATE OR REPLACE FUNCTION xdrec.enable_routing()
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	f pg_catalog.regprocedure;
BEGIN
	IF NOT pg_catalog.has_table_privilege('xdrec.node', 'INSERT') THEN
		RAISE EXCEPTION 'permission denied to enable routing'
			USING ERRCODE = 'insufficient_privilege',
				  HINT = 'Only the owner of extension xdrec enables it.';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'plproxy') THEN
		RAISE EXCEPTION 'routing needs PL/Proxy'
			USING ERRCODE = 'feature_not_supported',
				  HINT = 'Install postgresql-15-plproxy, then CREATE EXTENSION plproxy.';
	END IF;
	CREATE OR REPLACE FUNCTION xdrec_internal.proxy_rank(node text, name text, user_key text, ctx jsonb,
		k integer, domain text, exclude_seen boolean, candidates text[], ctx_vector real[], history jsonb)
	RETURNS TABLE(item_key text, score real, rank integer, version bigint)
	LANGUAGE plproxy
	AS $p$
		CONNECT xdrec_internal.node_connstr(node);
		SELECT item_key, score, rank, version
		FROM xdrec.rank(name, user_key, ctx, k, domain, exclude_seen, candidates, ctx_vector, history);
	$p$;
	CREATE OR REPLACE FUNCTION xdrec_internal.proxy_rank_many(node text, name text, user_keys text[],
		ctx jsonb, k integer, domain text, exclude_seen boolean, on_unknown text)
	RETURNS TABLE(user_key text, item_key text, score real, rank integer, version bigint)
	LANGUAGE plproxy
	AS $p$
		CONNECT xdrec_internal.node_connstr(node);
		SELECT user_key, item_key, score, rank, version
		FROM xdrec.rank_many(name, user_keys, ctx, k, domain, exclude_seen, on_unknown);
	$p$;
	CREATE OR REPLACE FUNCTION xdrec_internal.proxy_evaluate(node text, name text, dom text,
		protocol text, seed integer, test text, support integer)
	RETURNS TABLE(domain text, method text, metric text, value double precision,
				  std_error double precision, n bigint, excluded bigint)
	LANGUAGE plproxy
	AS $p$
		CONNECT xdrec_internal.node_connstr(node);
		SELECT domain, method, metric, value, std_error, n, excluded
		FROM xdrec.evaluate(name, dom, protocol, seed, test::pg_catalog.regclass, support);
	$p$;
	-- members of the extension, so that DROP EXTENSION xdrec drops them too
	-- (pg_dump does not carry them: run enable_routing again after a restore)
	FOREACH f IN ARRAY ARRAY[
		'xdrec_internal.proxy_rank(text, text, text, jsonb, integer, text, boolean, text[], real[], jsonb)',
		'xdrec_internal.proxy_rank_many(text, text, text[], jsonb, integer, text, boolean, text)',
		'xdrec_internal.proxy_evaluate(text, text, text, text, integer, text, integer)']::pg_catalog.regprocedure[] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
					   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
						 AND d.objid OPERATOR(pg_catalog.=) f
						 AND d.deptype OPERATOR(pg_catalog.=) 'e') THEN
			EXECUTE pg_catalog.format('ALTER EXTENSION xdrec ADD FUNCTION %s', f);
		END IF;
	END LOOP;
END
$$;

-- The connection string of a node, for the proxy functions' CONNECT.
CREATE OR REPLACE FUNCTION xdrec_internal.node_connstr(node text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT x.connstr FROM xdrec.node x WHERE x.name OPERATOR(pg_catalog.=) node
$$;
