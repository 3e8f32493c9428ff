-- 0.2.0's ranking of trained users with few rows from their rows (option
-- cold_min) and its options attacked (docs/security.md, Attacks tested):
-- memory per ranked user, options at the ends of their ranges. No raw
-- floats.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('hgen', '{"seed": 4, "domains": 2, "sizes": {"source": {"users": 80, "items": 60, "interactions": 2400}, "target": {"users": 20, "items": 20, "interactions": 200}}}') AS rows;
SELECT xdrec.create_model('hm', 'hgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "cold_min": 30}') > 0 AS hm;
SELECT xdrec.train('hm', 'd0') ? 'version' AS trained;
-- every trained user of d0 ranked from their rows: the bound set by hand
-- above every user's item count (a fresh session reads the version again)
UPDATE xdrec.version SET encoder = encoder || '{"cold_min": 1000}'
WHERE model_id = (SELECT id FROM xdrec.model WHERE name = 'hm') AND domain = 'd0';
SELECT min(user_key) AS u FROM hgen WHERE domain = 'd0' \gset

-- 1. rank_many over 30,000 such users (one user repeated) keeps no user's
-- read for the rest of the call: the backend's peak memory grows by less
-- than 60 MB, and as little when every read fails (a column of the model
-- renamed: each user served warm after a failed read in a subtransaction).
-- Before each user got a memory context of its own both grew past 60 MB;
-- over 20,000 users, 171 MB (some 8.5 kB per user) and 53 MB, against 14
-- and 21 MB after.
\c
CREATE FUNCTION pg_temp.peak_kb() RETURNS bigint LANGUAGE sql AS $$
	SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint $$;
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank('hm', :u, '{"hour": 12}', 5);
SELECT pg_temp.peak_kb() AS peak0 \gset
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank_many('hm', array_fill(:u::bigint, ARRAY[30000]), '{"hour": 12}', 5);
SELECT pg_temp.peak_kb() - :peak0 < 60 * 1024 AS cold_peak_below_60mb;
\c
CREATE FUNCTION pg_temp.peak_kb() RETURNS bigint LANGUAGE sql AS $$
	SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint $$;
SELECT count(*) AS ranked FROM xdrec.rank('hm', :u, '{"hour": 12}', 5);
BEGIN;
ALTER TABLE hgen RENAME COLUMN hour TO hour_moved;
SELECT pg_temp.peak_kb() AS peak0 \gset
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank_many('hm', array_fill(:u::bigint, ARRAY[30000]), '{"hour": 12}', 5);
SELECT pg_temp.peak_kb() - :peak0 < 60 * 1024 AS failed_reads_peak_below_60mb;
ROLLBACK;


-- 2. a model owner's SQL run as whoever ranks. A role that owns a schema
-- declares features "hour" and "price" (of the item) as the expressions
-- xd_hostile.spy(hour) and xd_hostile.spy(price): run as
-- any other role, spy copies that role's secret into the owner's table
-- and tries to make the owner superuser. It grants 'use' and SELECT on its
-- relation to a victim. Before, the victim ranking a trained user with few
-- rows (cold_min), a user who arrived after training or a new item, or
-- evaluating, ran spy as itself: its secret copied; run by a superuser,
-- the owner became superuser. Now each read is parsed and rewritten first
-- as the reader and refused (42501) when it would call a function of a
-- role the reader does not belong to, or a volatile built-in; the few-row
-- user is then served warm. The owner is served from the rows as before.
CREATE ROLE regress_xdrec_hostile;
CREATE ROLE regress_xdrec_victim;
GRANT USAGE ON SCHEMA xdrec TO regress_xdrec_hostile, regress_xdrec_victim;
CREATE TABLE xd_victim_secret (s text);
INSERT INTO xd_victim_secret VALUES ('the victim''s secret');
ALTER TABLE xd_victim_secret OWNER TO regress_xdrec_victim;
CREATE SCHEMA xd_hostile AUTHORIZATION regress_xdrec_hostile;
GRANT USAGE ON SCHEMA xd_hostile TO regress_xdrec_victim;
GRANT SELECT ON hgen TO regress_xdrec_hostile;
SET ROLE regress_xdrec_hostile;
CREATE TABLE xd_hostile.orders AS SELECT * FROM hgen;
CREATE TABLE xd_hostile.loot (who text, what text);
GRANT INSERT ON xd_hostile.loot TO PUBLIC;
CREATE FUNCTION xd_hostile.spy(x real) RETURNS real LANGUAGE plpgsql AS $$
BEGIN
	IF current_user <> 'regress_xdrec_hostile' THEN
		INSERT INTO xd_hostile.loot VALUES (current_user, 'ran');
		BEGIN
			INSERT INTO xd_hostile.loot SELECT current_user, s FROM public.xd_victim_secret;
		EXCEPTION WHEN OTHERS THEN NULL;
		END;
		BEGIN
			ALTER ROLE regress_xdrec_hostile SUPERUSER;
		EXCEPTION WHEN OTHERS THEN NULL;
		END;
	END IF;
	RETURN x;
END $$;
SELECT xdrec.create_model('hx', 'xd_hostile.orders', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "expression": "xd_hostile.spy(hour)", "kind": "interactional", "type": "numeric"},
				  {"name": "price", "expression": "xd_hostile.spy(price)", "kind": "attributional", "type": "numeric", "scope": "item"}]',
	options => '{"d": 8, "epochs": 2, "seed": 1, "lr_search": 1, "cold_holdout": 0.2}') > 0 AS hx;
SELECT xdrec.train('hx', 'd0') ? 'version' AS trained;
-- a user who arrived after training, and an item
INSERT INTO xd_hostile.orders SELECT domain, 990001, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM xd_hostile.orders WHERE domain = 'd0' AND user_key = :u;
INSERT INTO xd_hostile.orders SELECT domain, user_key, 990002, rating, hour, weekday, rain, spend, price, cuisine
FROM xd_hostile.orders WHERE domain = 'd0' AND user_key = :u;
GRANT SELECT ON xd_hostile.orders TO regress_xdrec_victim;
SELECT xdrec.grant('hx', 'regress_xdrec_victim', 'use');
RESET ROLE;
-- every trained user below the bound (as in section 1)
UPDATE xdrec.version SET encoder = encoder || '{"cold_min": 1000}'
WHERE model_id = (SELECT id FROM xdrec.model WHERE name = 'hx') AND domain = 'd0';
\c
\i sql/include/try.sql
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
CREATE FUNCTION pg_temp.victim_calls() RETURNS TABLE (call text, answer text) LANGUAGE sql AS $$
	SELECT 'few rows', (SELECT count(*) || ' ' || current_setting('xdrec.served_as')
		FROM xdrec.rank('hx', (SELECT min(user_key) FROM xd_hostile.orders WHERE domain = 'd0'), '{"hour": 12}', 5))
	UNION ALL SELECT 'after training', pg_temp.try($q$SELECT * FROM xdrec.rank('hx', 990001, '{"hour": 12}', 5)$q$)
	UNION ALL SELECT 'rank_many', pg_temp.try($q$SELECT * FROM xdrec.rank_many('hx', ARRAY[990001], '{"hour": 12}', 5)$q$)
	UNION ALL SELECT 'rank_many popular', pg_temp.try($q$SELECT * FROM xdrec.rank_many('hx', ARRAY[990001], '{"hour": 12}', 5, on_unknown => 'popular')$q$)
	UNION ALL SELECT 'rank_many skip', (SELECT count(*) || ' ' || current_setting('xdrec.served_as')
		FROM xdrec.rank_many('hx', ARRAY[990001], '{"hour": 12}', 5, on_unknown => 'skip'))
	UNION ALL SELECT 'history', pg_temp.try($q$SELECT * FROM xdrec.rank('hx', NULL::bigint, '{"hour": 12}', 5, history => '[990002]')$q$)
	UNION ALL SELECT 'new item', pg_temp.try($q$SELECT * FROM xdrec.rank('hx', (SELECT min(user_key) FROM xd_hostile.orders WHERE domain = 'd0'), '{"hour": 12}', 5, candidates => ARRAY[990002])$q$)
	UNION ALL SELECT 'evaluate', pg_temp.try($q$SELECT * FROM xdrec.evaluate('hx', 'd0')$q$)
	UNION ALL SELECT 'evaluate cold', pg_temp.try($q$SELECT * FROM xdrec.evaluate('hx', 'd0', protocol => 'cold')$q$) $$;
GRANT EXECUTE ON FUNCTION pg_temp.victim_calls() TO PUBLIC;
SET ROLE regress_xdrec_victim;
SELECT * FROM pg_temp.victim_calls();
RESET ROLE;
-- a superuser, the same
SELECT * FROM pg_temp.victim_calls();
SELECT count(*) AS loot FROM xd_hostile.loot;
SELECT rolsuper AS hostile_superuser FROM pg_roles WHERE rolname = 'regress_xdrec_hostile';
-- the owner: its own function runs for it, served from the rows
SET ROLE regress_xdrec_hostile;
SELECT count(*) AS ranked, current_setting('xdrec.served_as') AS served_as
FROM xdrec.rank('hx', :u, '{"hour": 12}', 5);
SELECT count(*) AS ranked FROM xdrec.rank('hx', 990001, '{"hour": 12}', 5);
RESET ROLE;
-- a volatile built-in aimed by the owner's expression: set_config, which
-- the bootstrap superuser owns (so owning the function is no defence: the
-- owner chose its arguments), refused to the superuser and to the victim;
-- the setting stays unset
SET ROLE regress_xdrec_hostile;
SELECT xdrec.create_model('hs', 'xd_hostile.orders', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "expression": "hour + pg_catalog.length(pg_catalog.set_config(''xd_hostile.ran_as'', current_user::text, false))", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1}') > 0 AS hs;
SELECT xdrec.train('hs', 'd0') ? 'version' AS trained;
SELECT xdrec.grant('hs', 'regress_xdrec_victim', 'use');
RESET ROLE;
\c
\i sql/include/try.sql
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
INSERT INTO xd_hostile.orders SELECT domain, 990004, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM xd_hostile.orders WHERE domain = 'd0' AND user_key = :u;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hs', 990004, '{"hour": 12}', 5)$$) AS superuser;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hs', 990004, '{"hour": 12}', 5)$$) AS victim;
RESET ROLE;
SELECT current_setting('xd_hostile.ran_as', true) IS NULL AS never_set;

-- 3. the relation's owner's SQL: the same function in a view the model
-- reads, and in a row-level security policy of its table, each a model of
-- column features only: refused to the victim the same way; the superuser
-- is not subject to the policy, so nothing of it runs for it
SET ROLE regress_xdrec_hostile;
CREATE VIEW xd_hostile.orders_v AS
	SELECT domain, user_key, item_key, xd_hostile.spy(hour) AS hour, price FROM xd_hostile.orders;
GRANT SELECT ON xd_hostile.orders_v TO regress_xdrec_victim;
SELECT xdrec.create_model('hv', 'xd_hostile.orders_v', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1}') > 0 AS hv;
SELECT xdrec.train('hv', 'd0') ? 'version' AS trained;
SELECT xdrec.grant('hv', 'regress_xdrec_victim', 'use');
CREATE TABLE xd_hostile.orders_p AS SELECT * FROM xd_hostile.orders;
ALTER TABLE xd_hostile.orders_p ENABLE ROW LEVEL SECURITY;
CREATE POLICY spy ON xd_hostile.orders_p FOR SELECT USING (xd_hostile.spy(hour) IS NOT NULL);
GRANT SELECT ON xd_hostile.orders_p TO regress_xdrec_victim;
SELECT xdrec.create_model('hp', 'xd_hostile.orders_p', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1}') > 0 AS hp;
SELECT xdrec.train('hp', 'd0') ? 'version' AS trained;
SELECT xdrec.grant('hp', 'regress_xdrec_victim', 'use');
-- a user who arrived after both trainings
INSERT INTO xd_hostile.orders SELECT domain, 990003, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM xd_hostile.orders WHERE domain = 'd0' AND user_key = :u;
INSERT INTO xd_hostile.orders_p SELECT * FROM xd_hostile.orders WHERE user_key = 990003;
RESET ROLE;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hv', 990003, '{"hour": 12}', 5)$$) AS view;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hp', 990003, '{"hour": 12}', 5)$$) AS policy;
RESET ROLE;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hv', 990003, '{"hour": 12}', 5)$$) AS view;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('hp', 990003, '{"hour": 12}', 5)$$) AS policy;
SELECT count(*) AS loot FROM xd_hostile.loot;
SELECT rolsuper AS hostile_superuser FROM pg_roles WHERE rolname = 'regress_xdrec_hostile';

-- 4. the verdict kept: a read the check allowed is not parsed again while
-- nothing it depends on has changed (docs/security.md, "Reading the
-- interactions"). Each change below, made after an allowed call in the
-- same session (so the verdict is kept), is refused on the victim's next
-- call: a function of a role both belong to, which the view calls, made
-- volatile by the hostile member, then given to the hostile role; the
-- victim's membership revoked; the view replaced by one that calls spy; a
-- policy that allowed every row altered to call spy. Nothing runs.
CREATE ROLE regress_xdrec_team;
GRANT regress_xdrec_team TO regress_xdrec_victim, regress_xdrec_hostile;
CREATE FUNCTION pg_temp.call(model text) RETURNS text LANGUAGE sql AS $$
	SELECT pg_temp.try(format('SELECT * FROM xdrec.rank(%L, 990005, ''{"hour": 12}'', 5)', model)) $$;
GRANT EXECUTE ON FUNCTION pg_temp.call(text) TO PUBLIC;
SET ROLE regress_xdrec_hostile;
GRANT CREATE ON SCHEMA xd_hostile TO regress_xdrec_team;
CREATE FUNCTION xd_hostile.same(x real) RETURNS real LANGUAGE sql IMMUTABLE AS 'SELECT x';
ALTER FUNCTION xd_hostile.same(real) OWNER TO regress_xdrec_team;
CREATE VIEW xd_hostile.orders_w AS
	SELECT domain, user_key, item_key, xd_hostile.same(hour) AS hour, price FROM xd_hostile.orders;
GRANT SELECT ON xd_hostile.orders_w TO regress_xdrec_victim;
SELECT xdrec.create_model('hw', 'xd_hostile.orders_w', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1}') > 0 AS hw;
SELECT xdrec.train('hw', 'd0') ? 'version' AS trained;
SELECT xdrec.grant('hw', 'regress_xdrec_victim', 'use');
CREATE TABLE xd_hostile.orders_q AS SELECT * FROM xd_hostile.orders;
ALTER TABLE xd_hostile.orders_q ENABLE ROW LEVEL SECURITY;
CREATE POLICY open ON xd_hostile.orders_q FOR SELECT USING (true);
GRANT SELECT ON xd_hostile.orders_q TO regress_xdrec_victim;
SELECT xdrec.create_model('hq', 'xd_hostile.orders_q', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1, "lr_search": 1}') > 0 AS hq;
SELECT xdrec.train('hq', 'd0') ? 'version' AS trained;
SELECT xdrec.grant('hq', 'regress_xdrec_victim', 'use');
-- a user who arrived after both trainings
INSERT INTO xd_hostile.orders SELECT domain, 990005, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM xd_hostile.orders WHERE domain = 'd0' AND user_key = :u;
INSERT INTO xd_hostile.orders_q SELECT * FROM xd_hostile.orders WHERE user_key = 990005;
RESET ROLE;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS first, pg_temp.call('hw') AS again,
	pg_temp.call('hq') AS first_q, pg_temp.call('hq') AS again_q;
RESET ROLE;
SET ROLE regress_xdrec_hostile;
CREATE OR REPLACE FUNCTION xd_hostile.same(x real) RETURNS real LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	INSERT INTO xd_hostile.loot VALUES (current_user, 'same ran');
	RETURN x;
END $$;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS made_volatile;
SET ROLE regress_xdrec_hostile;
CREATE OR REPLACE FUNCTION xd_hostile.same(x real) RETURNS real LANGUAGE sql IMMUTABLE AS 'SELECT x';
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS immutable_again;
SET ROLE regress_xdrec_hostile;
ALTER FUNCTION xd_hostile.same(real) OWNER TO regress_xdrec_hostile;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS given_to_hostile;
SET ROLE regress_xdrec_hostile;
ALTER FUNCTION xd_hostile.same(real) OWNER TO regress_xdrec_team;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS given_back;
RESET ROLE;
REVOKE regress_xdrec_team FROM regress_xdrec_victim;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS membership_revoked;
RESET ROLE;
GRANT regress_xdrec_team TO regress_xdrec_victim;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS membership_granted;
SET ROLE regress_xdrec_hostile;
CREATE OR REPLACE VIEW xd_hostile.orders_w AS
	SELECT domain, user_key, item_key, xd_hostile.spy(hour) AS hour, price FROM xd_hostile.orders;
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hw') AS view_replaced;
SET ROLE regress_xdrec_hostile;
ALTER POLICY open ON xd_hostile.orders_q USING (xd_hostile.spy(hour) IS NOT NULL);
SET ROLE regress_xdrec_victim;
SELECT pg_temp.call('hq') AS policy_altered;
RESET ROLE;
SELECT count(*) AS loot FROM xd_hostile.loot;
SELECT rolsuper AS hostile_superuser FROM pg_roles WHERE rolname = 'regress_xdrec_hostile';

SET ROLE regress_xdrec_hostile;
SELECT xdrec.drop_model(m) FROM unnest(ARRAY['hx', 'hs', 'hv', 'hp', 'hw', 'hq']) m;
RESET ROLE;
DROP SCHEMA xd_hostile CASCADE;
DROP TABLE xd_victim_secret;
REVOKE USAGE ON SCHEMA xdrec FROM regress_xdrec_hostile, regress_xdrec_victim;
REVOKE SELECT ON hgen FROM regress_xdrec_hostile;
DROP ROLE regress_xdrec_hostile, regress_xdrec_victim, regress_xdrec_team;
DROP TABLE hgen;
DROP EXTENSION xdrec CASCADE;
