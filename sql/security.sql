-- Security with a trained model (DESIGN section 9, docs/security.md): who
-- may train on the interactions, read what was trained on them, rank,
-- retrain, adapt, forget users of and drop a model, directly and through a
-- NOLOGIN role reached by SET ROLE. Every refusal shows its SQLSTATE, and
-- the catalog is compared before and after to show refusals change nothing.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

-- every way into a model, one line each: ok or SQLSTATE
CREATE FUNCTION pg_temp.attempts() RETURNS TABLE(call text, outcome text) LANGUAGE sql AS $$
	SELECT c, left(pg_temp.try(c), 5)
	FROM unnest(ARRAY[
		$q$SELECT * FROM xdrec.rank('sec', 3, '{}', 3)$q$,
		$q$SELECT * FROM xdrec.evaluate('sec', 'd0')$q$,
		$q$SELECT xdrec.train('sec', 'd0')$q$,
		$q$SELECT xdrec.adapt('sec', 'd1', 'direct')$q$,
		$q$SELECT * FROM xdrec.adapt_all('sec', 'direct')$q$,
		$q$SELECT xdrec.rollback('sec', 'd1')$q$,
		$q$SELECT xdrec.forget_user('sec', 'd0', 5)$q$,
		$q$SELECT xdrec.grant('sec', 'regress_sec_stranger')$q$,
		$q$SELECT xdrec.drop_model('sec')$q$]) WITH ORDINALITY AS a(c, i)
	ORDER BY i
$$;
GRANT EXECUTE ON FUNCTION pg_temp.attempts() TO PUBLIC;

-- what the current role sees of the catalog
CREATE FUNCTION pg_temp.sees() RETURNS text LANGUAGE sql AS $$
	SELECT format('models %s, domains %s, versions %s, weights %s, keys %s, seen %s, forgotten %s',
		(SELECT count(*) FROM xdrec.models), (SELECT count(*) FROM xdrec.domain),
		(SELECT count(*) FROM xdrec.version), (SELECT count(*) FROM xdrec.weight),
		(SELECT count(*) FROM xdrec.key_map), (SELECT count(*) FROM xdrec.seen),
		(SELECT count(*) FROM xdrec.forgotten))
$$;
GRANT EXECUTE ON FUNCTION pg_temp.sees() TO PUBLIC;

-- the whole catalog, as the superuser sees it
CREATE FUNCTION pg_temp.catalog() RETURNS text LANGUAGE sql AS $$
	SELECT md5(concat_ws('|',
		(SELECT string_agg(format('%s %s %s %s', id, domain, state, forgotten_users), ',' ORDER BY id) FROM xdrec.version),
		(SELECT string_agg(format('%s %s', domain, served_version), ',' ORDER BY domain) FROM xdrec.domain),
		(SELECT md5(string_agg(md5(data), '' ORDER BY version_id, tensor, chunk)) FROM xdrec.weight),
		(SELECT md5(string_agg(keys::text, '' ORDER BY version_id, kind, chunk)) FROM xdrec.key_map),
		(SELECT md5(string_agg(items::text, '' ORDER BY version_id, chunk)) FROM xdrec.seen),
		(SELECT string_agg(user_key, ',' ORDER BY user_key) FROM xdrec.forgotten),
		(SELECT string_agg(format('%s %s', grantee, privilege), ',' ORDER BY grantee) FROM xdrec.model_grant),
		(SELECT string_agg(name, ',' ORDER BY name) FROM xdrec.model)))
$$;

CREATE ROLE regress_sec_owner;
CREATE ROLE regress_sec_stranger;		-- may read the table, has no grant
CREATE ROLE regress_sec_blind;			-- may not read the table
CREATE ROLE regress_sec_user;			-- 'use'
CREATE ROLE regress_sec_trainer;		-- 'train'
CREATE ROLE regress_sec_blind_trainer;	-- 'train', may not read the table
CREATE ROLE regress_sec_team NOLOGIN;	-- a group, reached by SET ROLE
CREATE ROLE regress_sec_member LOGIN IN ROLE regress_sec_team;

SELECT xdrec.generate('sec_gen', '{"seed": 7, "domains": 2, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}, "target": {"users": 20, "items": 10, "interactions": 200}}}') AS rows;
GRANT SELECT ON sec_gen TO regress_sec_owner, regress_sec_stranger, regress_sec_user,
	regress_sec_trainer, regress_sec_team;

SET ROLE regress_sec_owner;
SELECT xdrec.create_model('sec', 'sec_gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 4, "epochs": 1, "seed": 1}') > 0 AS created;
SELECT xdrec.train('sec', 'd0') ? 'version' AS trained;
SELECT xdrec.adapt('sec', 'd1', 'direct') ? 'version' AS adapted;
SELECT xdrec.forget_user('sec', 'd0', 4) AS forgot;
-- the owner ranks first, so this backend's cache holds the model
SELECT count(*) AS ranked FROM xdrec.rank('sec', 3, '{}', 3);
SELECT pg_temp.sees();
SELECT xdrec.grant('sec', 'regress_sec_user', 'use');
SELECT xdrec.grant('sec', 'regress_sec_trainer', 'train');
SELECT xdrec.grant('sec', 'regress_sec_blind_trainer', 'train');
RESET ROLE;
SELECT pg_temp.catalog() AS catalog_before \gset
SELECT id AS model_id FROM xdrec.model WHERE name = 'sec' \gset

-- a stranger who may read the table sees nothing of the model and can do
-- nothing with it, though the owner's ranking is in this backend's cache
SET ROLE regress_sec_stranger;
SELECT pg_temp.sees();
-- nor the cached versions of the owner's model, even from the helper
SELECT count(*) AS cached_versions_seen FROM xdrec_internal.cache_stats();
SELECT * FROM pg_temp.attempts();
-- nor behind the functions' back: roles only read the catalog
SELECT left(pg_temp.try($$UPDATE xdrec.version SET state = 'retired'$$), 5) AS retire;
SELECT left(pg_temp.try($$DELETE FROM xdrec.weight$$), 5) AS delete_weights;
SELECT left(pg_temp.try($$UPDATE xdrec.key_map SET keys = '{}'$$), 5) AS clear_keys;
SELECT left(pg_temp.try($$DELETE FROM xdrec.forgotten$$), 5) AS unforget;
SELECT left(pg_temp.try(format($$INSERT INTO xdrec.forgotten (model_id, domain, user_key) VALUES (%s, 'd0', '3')$$,
	:model_id)), 5) AS forge_forgotten;
RESET ROLE;
SELECT pg_temp.catalog() = :'catalog_before' AS unchanged;

-- a role that may not read the table sees none of what was trained on it
SET ROLE regress_sec_blind;
SELECT pg_temp.sees();
SELECT * FROM pg_temp.attempts();
RESET ROLE;
SELECT pg_temp.catalog() = :'catalog_before' AS unchanged;

-- 'use' ranks and evaluates, and can neither train, adapt, roll back,
-- forget, grant nor drop; it does not see whom the owner forgot
SET ROLE regress_sec_user;
SELECT pg_temp.sees();
SELECT * FROM pg_temp.attempts();
SELECT left(pg_temp.try($$DELETE FROM xdrec.forgotten$$), 5) AS unforget;
SELECT left(pg_temp.try($$UPDATE xdrec.version SET forgotten_users = 0$$), 5) AS uncount;
SELECT left(pg_temp.try(format($$INSERT INTO xdrec.forgotten (model_id, domain, user_key) VALUES (%s, 'd0', '3')$$,
	:model_id)), 5) AS forge_forgotten;
RESET ROLE;
SELECT pg_temp.catalog() = :'catalog_before' AS unchanged;

-- 'train' without SELECT on the table: it sees the trained model (the owner
-- granted it) but cannot train or adapt on rows it may not read
SET ROLE regress_sec_blind_trainer;
SELECT pg_temp.sees();
SELECT pg_temp.try($$SELECT xdrec.train('sec', 'd0')$$);
SELECT pg_temp.try($$SELECT xdrec.adapt('sec', 'd1', 'direct')$$);
-- a user no version holds must be looked up in the table: refused too
SELECT pg_temp.try($$SELECT xdrec.forget_user('sec', 'd0', 123456)$$);
RESET ROLE;
SELECT pg_temp.catalog() = :'catalog_before' AS unchanged;

-- 'train' trains, adapts and forgets, but neither grants nor drops
SET ROLE regress_sec_trainer;
SELECT pg_temp.sees();
SELECT xdrec.train('sec', 'd0') ? 'version' AS trained;
SELECT xdrec.adapt('sec', 'd1', 'direct') ? 'version' AS adapted;
SELECT xdrec.forget_user('sec', 'd0', 6) AS forgot;
SELECT user_key, forgotten_by FROM xdrec.forgotten ORDER BY user_key;
SELECT left(pg_temp.try($$INSERT INTO xdrec.forgotten (model_id, domain, user_key, forgotten_by)
	SELECT id, 'd0', '3', 'regress_sec_owner' FROM xdrec.model$$), 5) AS forge_forgotten_by;
SELECT left(pg_temp.try($$SELECT xdrec.grant('sec', 'regress_sec_stranger')$$), 5) AS grant_;
SELECT left(pg_temp.try($$SELECT xdrec.drop_model('sec')$$), 5) AS drop_;
RESET ROLE;

-- a NOLOGIN group reached by SET ROLE from a login role: nothing before a
-- grant, then what the grant allows and no more
SET SESSION AUTHORIZATION regress_sec_member;
SET ROLE regress_sec_team;
SELECT current_user, session_user;
SELECT pg_temp.sees();
SELECT * FROM pg_temp.attempts();
RESET ROLE;
RESET SESSION AUTHORIZATION;
SET ROLE regress_sec_owner;
SELECT xdrec.grant('sec', 'regress_sec_team', 'use');
RESET ROLE;
SELECT pg_temp.catalog() AS catalog_before \gset
SET SESSION AUTHORIZATION regress_sec_member;
SET ROLE regress_sec_team;
SELECT * FROM pg_temp.attempts();
RESET ROLE;
RESET SESSION AUTHORIZATION;
SELECT pg_temp.catalog() = :'catalog_before' AS unchanged;

-- a revoke reaches the cache at once: the grantee ranked a moment ago
SET ROLE regress_sec_user;
SELECT count(*) AS ranked FROM xdrec.rank('sec', 3, '{}', 3);
RESET ROLE;
SET ROLE regress_sec_owner;
SELECT xdrec.revoke('sec', 'regress_sec_user');
RESET ROLE;
SET ROLE regress_sec_user;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('sec', 3, '{}', 3)$$);
SELECT pg_temp.sees();
RESET ROLE;

-- only the owner drops, and the drop takes everything with it
SET ROLE regress_sec_owner;
SELECT xdrec.drop_model('sec');
RESET ROLE;
SELECT pg_temp.sees();

DROP TABLE sec_gen;
DROP EXTENSION xdrec;
DROP ROLE regress_sec_owner, regress_sec_stranger, regress_sec_blind, regress_sec_user,
	regress_sec_trainer, regress_sec_blind_trainer, regress_sec_member, regress_sec_team;
