-- Forgetting a user (docs/security.md, "Forgetting a user"): xdrec.forget_user
-- clears the user from every stored version of the domain in place, every
-- other user ranks bit-identically, the ranking cache sees it at once, and
-- later training leaves the user's rows out though they stay in the table.
-- No raw floats: scores are compared bit for bit with themselves.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

-- a digest of a version's blobs, the per-user tensors apart or alone
CREATE FUNCTION pg_temp.digest(v bigint, per_user boolean) RETURNS text LANGUAGE sql AS $$
	SELECT md5(string_agg(md5(data), '' ORDER BY tensor, chunk)) FROM xdrec.weight
	WHERE version_id = v
	  AND (tensor IN ('emb.user', 'bias.user', 'feat.user_num', 'feat.user_codes')) = per_user
$$;

-- what a version holds of user key k: the key, null keys (forgotten users),
-- and, for k or else the first forgotten user, the seen count and whether
-- the embedding row (d = 8: 32 bytes after the 48-byte header) is all zero
-- ('-' when the version has neither)
CREATE FUNCTION pg_temp.holds(v bigint, k text) RETURNS text LANGUAGE sql AS $$
	WITH m AS (SELECT keys FROM xdrec.key_map WHERE version_id = v AND kind = 'user' AND chunk = 0),
		 u AS (SELECT coalesce(array_position(keys, k), array_position(keys, NULL)) - 1 AS id FROM m)
	SELECT format('key %s, null keys %s, seen %s, embedding zero %s, forgotten_users %s',
		(SELECT count(*) FROM m WHERE k = ANY (m.keys)),
		(SELECT count(*) FROM m, unnest(m.keys) x WHERE x IS NULL),
		coalesce((SELECT s.counts[u.id + 1] FROM xdrec.seen s, u WHERE s.version_id = v AND s.chunk = 0)::text, '-'),
		coalesce((SELECT substring(w.data FROM 49 + 32 * u.id FOR 32) = decode(repeat('00', 32), 'hex')
				  FROM xdrec.weight w, u WHERE w.version_id = v AND w.tensor = 'emb.user' AND w.chunk = 0)::text, '-'),
		(SELECT forgotten_users FROM xdrec.version WHERE id = v))
$$;

SELECT xdrec.generate('gen', '{"seed": 5, "domains": 2, "sizes": {"source": {"users": 60, "items": 30, "interactions": 1500}, "target": {"users": 30, "items": 15, "interactions": 300}}}') AS rows;
SELECT xdrec.create_model('g', 'gen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 2, "seed": 1}') AS model_id;

-- two source versions and a target version
SELECT (xdrec.train('g', 'd0')->>'version')::bigint AS v1 \gset
SELECT (xdrec.train('g', 'd0')->>'version')::bigint AS v2 \gset
SELECT (xdrec.adapt('g', 'd1', 'direct')->>'version')::bigint AS t1 \gset
SELECT pg_temp.holds(:v1, '7') AS v1, pg_temp.holds(:v2, '7') AS v2;
SELECT pg_temp.digest(:v2, false) AS shared_digest \gset

-- every other user's top 5 (seen items excluded), and user 7's: all cached
CREATE TEMP TABLE ranked_before AS
SELECT u, r.rank, r.item_key, r.score
FROM (SELECT DISTINCT user_key AS u FROM gen WHERE domain = 'd0' AND user_key <> 7) us,
	 LATERAL xdrec.rank('g', us.u, '{"hour": 19, "weekday": "fri", "rain": true}', 5) r;
SELECT count(*) AS users_ranked FROM (SELECT DISTINCT u FROM ranked_before) x;
SELECT count(*) AS rows FROM xdrec.rank('g', 7, '{}', 5);

-- forget user 7 of d0: both source versions held it
SELECT xdrec.forget_user('g', 'd0', 7) AS versions_changed;
SELECT pg_temp.holds(:v1, '7') AS v1, pg_temp.holds(:v2, '7') AS v2;
-- its neighbours' rows are untouched, and so is every tensor not per user
SELECT pg_temp.holds(:v2, '8') AS neighbour;
SELECT pg_temp.digest(:v2, false) = :'shared_digest' AS shared_tensors_unchanged;
SELECT model_id > 0 AS model, domain, user_key, forgotten_by = current_user AS by_me FROM xdrec.forgotten;

-- ranking the user now fails in this backend, whose cache held the version
SELECT * FROM xdrec.rank('g', 7, '{}', 5);
SELECT * FROM xdrec.rank('g', '7', '{}', 5, domain => 'd0');
-- nor is the user ranked from their rows for a role with 'use' only, which
-- may read the relation but not xdrec.forgotten
CREATE ROLE xdf_reader;
GRANT SELECT ON gen TO xdf_reader;
SELECT xdrec.grant('g', 'xdf_reader', 'use');
SET ROLE xdf_reader;
SELECT count(*) AS forgotten_rows_visible FROM xdrec.forgotten;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 7, '{}', 5)$$);
SELECT count(*) AS neighbour_rows FROM xdrec.rank('g', 8, '{}', 5);
RESET ROLE;
SELECT xdrec.revoke('g', 'xdf_reader');
REVOKE SELECT ON gen FROM xdf_reader;
DROP ROLE xdf_reader;
-- everyone else ranks bit-identically
CREATE TEMP TABLE ranked_after AS
SELECT u, r.rank, r.item_key, r.score
FROM (SELECT DISTINCT u FROM ranked_before) us,
	 LATERAL xdrec.rank('g', us.u, '{"hour": 19, "weekday": "fri", "rain": true}', 5) r;
SELECT count(*) AS rows,
	   count(*) FILTER (WHERE a.item_key IS DISTINCT FROM b.item_key
						OR float4send(a.score) IS DISTINCT FROM float4send(b.score)) AS differ
FROM ranked_before b FULL JOIN ranked_after a USING (u, rank);

-- evaluation reads the version with its forgotten user
SELECT count(*) AS metrics FROM xdrec.evaluate('g', 'd0') WHERE value BETWEEN 0 AND 1 AND method = 'train';

-- idempotent: a second call changes nothing and says so; text keys too
SELECT xdrec.forget_user('g', 'd0', '7') AS versions_changed;
SELECT pg_temp.holds(:v2, '7') AS v2;

-- a target user: only the target's version holds it
SELECT min(user_key) AS tuser FROM gen WHERE domain = 'd1' \gset
SELECT xdrec.forget_user('g', 'd1', :tuser) AS versions_changed;
SELECT pg_temp.try(format($$SELECT * FROM xdrec.rank('g', %s, '{}', 5)$$, :tuser));

-- bad input changes nothing
CREATE TEMP TABLE catalog_before AS
SELECT (SELECT string_agg(format('%s:%s', id, forgotten_users), ',' ORDER BY id) FROM xdrec.version) AS versions,
	   (SELECT count(*) FROM xdrec.forgotten) AS forgotten;
SELECT pg_temp.try($$SELECT xdrec.forget_user('nope', 'd0', 1)$$);
SELECT pg_temp.try($$SELECT xdrec.forget_user('g', 'd9', 1)$$);
SELECT pg_temp.try($$SELECT xdrec.forget_user('g', 'd0', 123456789)$$);
SELECT pg_temp.try($$SELECT xdrec.forget_user('g', 'd0', 'abc')$$);
SELECT pg_temp.try($$SELECT xdrec.forget_user('g', NULL, 1)$$);
SELECT pg_temp.try($$SELECT xdrec.forget_user(NULL, 'd0', 1)$$);
SELECT (SELECT string_agg(format('%s:%s', id, forgotten_users), ',' ORDER BY id) FROM xdrec.version) = versions
	   AND (SELECT count(*) FROM xdrec.forgotten) = forgotten AS unchanged
FROM catalog_before;

-- a user only in the table, not yet trained on, can be forgotten too
INSERT INTO gen (domain, user_key, item_key, rating, hour, weekday, rain, spend, price, cuisine)
SELECT domain, 999, item_key, rating, hour, weekday, rain, spend, price, cuisine
FROM gen WHERE domain = 'd0' AND user_key = 8;
SELECT xdrec.forget_user('g', 'd0', 999) AS versions_changed;

-- training again leaves both out, though their rows are still in the table
SELECT count(*) FILTER (WHERE user_key = 7) > 0 AS rows_of_7_remain,
	   count(*) FILTER (WHERE user_key = 999) > 0 AS rows_of_999_remain
FROM gen WHERE domain = 'd0';
CREATE TEMP TABLE v3 AS SELECT xdrec.train('g', 'd0') AS j;
SELECT (j->>'users')::int = (SELECT count(DISTINCT user_key) - 2 FROM gen WHERE domain = 'd0') AS users_without_both,
	   (j->>'rows_used')::int = (SELECT count(*) FROM gen WHERE domain = 'd0' AND user_key NOT IN (7, 999)) AS rows_without_both
FROM v3;
SELECT (j->>'version')::bigint AS v3 FROM v3 \gset
SELECT pg_temp.holds(:v3, '7') AS v3_7, pg_temp.holds(:v3, '999') AS v3_999;
-- and the ranking cache moved to it: user 7 is still unknown
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('g', 7, '{}', 5)$$);
SELECT count(*) AS rows FROM xdrec.rank('g', 8, '{}', 5);

-- a user forgotten while a training reads the domain is cleared from the
-- version before it is served: here the training itself forgets user 9, in
-- a feature expression, after the rows were read
CREATE FUNCTION pg_temp.forget_9(hour real) RETURNS real LANGUAGE sql AS $$
	INSERT INTO xdrec.forgotten (model_id, domain, user_key, forgotten_by)
	SELECT id, 'd0', '9', current_user FROM xdrec.model WHERE name = 'h'
	ON CONFLICT DO NOTHING;
	SELECT hour
$$;
SELECT xdrec.create_model('h', 'gen', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "expression": "pg_temp.forget_9(hour)", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1, "seed": 1}') > 0 AS created;
SELECT (xdrec.train('h', 'd0')->>'version')::bigint AS h1 \gset
SELECT pg_temp.holds(:h1, '9') AS h1;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('h', 9, '{}', 5)$$);

-- explicit feedback: the user's bias goes too (bias.user, one float per
-- user after a 48-byte header), and other users' predictions stay exact
SELECT xdrec.generate('gen_ex', '{"seed": 5, "domains": 1, "explicit": true, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}}}') AS rows;
SELECT xdrec.create_model('ex', 'gen_ex', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(), options => '{"feedback": "explicit", "d": 8, "epochs": 2}') > 0 AS created;
SELECT (xdrec.train('ex', 'd0')->>'version')::bigint AS e1 \gset
CREATE FUNCTION pg_temp.bias_zero(v bigint, k text) RETURNS boolean LANGUAGE sql AS $$
	SELECT substring(w.data FROM 49 + 4 * (coalesce(array_position(m.keys, k), array_position(m.keys, NULL)) - 1) FOR 4)
		   = '\x00000000'::bytea
	FROM xdrec.weight w, xdrec.key_map m
	WHERE w.version_id = v AND w.tensor = 'bias.user' AND m.version_id = v AND m.kind = 'user'
$$;
CREATE TEMP TABLE predicted_before AS
SELECT u, float4send(xdrec.predict('ex', u, 3, '{"hour": 12}')) AS p FROM generate_series(0, 39) u WHERE u <> 2;
SELECT pg_temp.bias_zero(:e1, '2') AS bias_zero_before;
SELECT xdrec.forget_user('ex', 'd0', 2) AS versions_changed;
SELECT pg_temp.bias_zero(:e1, '2') AS bias_zero_after;
SELECT pg_temp.try($$SELECT xdrec.predict('ex', 2, 3, '{}')$$);
SELECT count(*) AS users, count(*) FILTER (WHERE float4send(xdrec.predict('ex', u, 3, '{"hour": 12}')) <> p) AS differ
FROM predicted_before;

-- dropping the model drops what it forgot
SELECT xdrec.drop_model('ex');
SELECT xdrec.drop_model('h');
SELECT xdrec.drop_model('g');
SELECT count(*) AS forgotten_left FROM xdrec.forgotten;
DROP TABLE gen, gen_ex;
DROP EXTENSION xdrec;
