-- Scale-out on one server (docs/scale.md; three servers: test/t/007_scale_out.pl):
-- the node functions' checks and errors, ids in the local node's range,
-- routing that is not enabled, and ranking unchanged for what this node holds.
CREATE EXTENSION xdrec;

\i sql/include/try.sql
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
CREATE ROLE regress_xdrec_scale_user;

SELECT xdrec.generate('sc_gen', '{"seed": 9, "domains": 3, "sizes": {"source": {"users": 60, "items": 30, "interactions": 1200}, "target": {"users": 20, "items": 15, "interactions": 200}}}') > 0 AS generated;
SELECT xdrec.create_model('sc', 'sc_gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 1}') < 2^48 AS legacy_id;

-- nodes: numbered in order; a connection string naming a user is refused
SELECT xdrec.add_node('a', 'host=/nonexistent dbname=here'), xdrec.add_node('b', 'host=/nonexistent dbname=there');
SELECT pg_temp.try($$SELECT xdrec.add_node('c', 'host=x user=postgres')$$);
SELECT pg_temp.try($$SELECT xdrec.add_node('a', 'host=x')$$);
SELECT pg_temp.try($$SELECT xdrec.set_local_node('nowhere')$$);
SELECT xdrec.set_local_node('a');
SELECT pg_temp.try($$SELECT xdrec.set_local_node('b')$$);
SELECT xdrec.set_local_node('a') AS again;

-- ids drawn from now on are in node 1's range
SELECT id BETWEEN 2^48 AND 2 * 2^48 - 1 AS in_range
FROM xdrec.create_model('sc2', 'sc_gen', 'user_key', 'item_key', 'domain', options => '{"d": 4, "epochs": 1}') AS id;
SELECT v BETWEEN 2^48 AND 2 * 2^48 - 1 AS version_in_range
FROM (SELECT (xdrec.train('sc', 'd0')->>'version')::bigint) AS t(v);
SELECT xdrec.adapt('sc', 'd1', 'target_only') ? 'version' AS adapted;

-- placement
SELECT pg_temp.try($$SELECT xdrec.place('nope', 'd1', 'b')$$);
SELECT pg_temp.try($$SELECT xdrec.place('sc', 'd1', 'nobody')$$);
SELECT xdrec.place('sc', 'd1', 'b'), xdrec.place('sc', 'd0', 'a');
SELECT xdrec.place('sc', 'd1', 'b');	-- again: a move, to the same node
SELECT m.name, p.domain, p.node FROM xdrec.placement p JOIN xdrec.model m ON m.id = p.model_id ORDER BY 2;
SELECT xdrec.refresh_directory('sc') > 0 AS listed;
-- the users of d0, held here; d1's holder lists its own
SELECT string_agg(DISTINCT domain, ',') AS directory_domains,
	   count(*) = (SELECT count(DISTINCT user_key) FROM sc_gen WHERE domain = 'd0') AS all_users
FROM xdrec.user_domain;

-- a domain held here ranks as before; one held elsewhere needs routing
SELECT count(*) AS ranked FROM xdrec.rank('sc', (SELECT min(user_key) FROM sc_gen WHERE domain = 'd0'), '{}', 5);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('sc', 1::bigint, '{}', 5, domain => 'd1')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.rank_many('sc', ARRAY['1'], '{}', 5, domain => 'd1')$$);
SELECT pg_temp.try($$SELECT * FROM xdrec.evaluate('sc', 'd1')$$);
SELECT pg_temp.try($$SELECT xdrec.enable_routing()$$);
-- each backend remembers whether this database is a node until xdrec.setting
-- changes: no longer a node, d1 ranks here; a node again, it is routed
DELETE FROM xdrec.setting WHERE name = 'node';
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('sc', (SELECT min(user_key) FROM sc_gen WHERE domain = 'd1'), '{}', 5, domain => 'd1')$$) AS not_a_node;
SELECT xdrec.set_local_node('a') AS node_again;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('sc', (SELECT min(user_key) FROM sc_gen WHERE domain = 'd1'), '{}', 5, domain => 'd1')$$) AS routed_again;

-- only the extension's owner writes them; roles read under row-level security
SET ROLE regress_xdrec_scale_user;
SELECT pg_temp.try($$SELECT xdrec.add_node('x', 'host=x')$$);
SELECT pg_temp.try($$SELECT xdrec.place('sc', 'd2', 'a')$$);
SELECT pg_temp.try($$SELECT xdrec.set_local_node('b')$$);
SELECT pg_temp.try($$SELECT xdrec.refresh_directory('sc')$$);
SELECT (SELECT count(*) FROM xdrec.node) AS nodes, (SELECT count(*) FROM xdrec.placement) AS placements,
	   (SELECT count(*) FROM xdrec.user_domain) AS directory_rows;
RESET ROLE;

DROP EXTENSION xdrec;
DROP TABLE sc_gen;
DROP ROLE regress_xdrec_scale_user;
