-- option shared_users (docs/transfer.md, "Shared users"): a model may declare
-- that a user key means the same person in every domain; adapt then starts
-- each target user whose key is a user of the source version from that
-- user's embedding, and its summary says how many (users_from_source). Off,
-- nothing changes. Here domain d1's first 30 users are renamed to keys of
-- d0's users, the other 20 keep keys the source does not have. No raw
-- floats: BLAS kernels differ.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql

SELECT xdrec.generate('sgen', '{"seed": 5, "domains": 2, "sizes": {"source": {"users": 120, "items": 60, "interactions": 3000}, "target": {"users": 50, "items": 30, "interactions": 600}}}') AS rows;
-- the generator's domains share no user keys
SELECT count(*) AS shared_before FROM (SELECT user_key FROM sgen WHERE domain = 'd0'
	INTERSECT SELECT user_key FROM sgen WHERE domain = 'd1') s;
CREATE TEMP TABLE rename AS
SELECT t.user_key AS old_key, s.user_key AS new_key
FROM (SELECT user_key, row_number() OVER (ORDER BY user_key) AS k
      FROM (SELECT DISTINCT user_key FROM sgen WHERE domain = 'd1') x) t
JOIN (SELECT user_key, row_number() OVER (ORDER BY user_key) AS k
      FROM (SELECT DISTINCT user_key FROM sgen WHERE domain = 'd0') x) s USING (k)
WHERE t.k <= 30;
UPDATE sgen g SET user_key = r.new_key FROM rename r WHERE g.domain = 'd1' AND g.user_key = r.old_key;
SELECT count(*) AS shared_after FROM (SELECT user_key FROM sgen WHERE domain = 'd0'
	INTERSECT SELECT user_key FROM sgen WHERE domain = 'd1') s;

-- a bad value is refused with its message, and the catalog is unchanged
SELECT pg_temp.try($$SELECT xdrec.create_model('s_bad', 'sgen', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(), options => '{"shared_users": "yes"}')$$);
SELECT count(*) AS bad_models FROM xdrec.model WHERE name = 's_bad';
-- repeat false: the fits compared on their validation without a lift of the
-- user's items (the generated rows repeat: the default "auto" would lift them)
SELECT xdrec.create_model('s', 'sgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(),
	options => '{"d": 8, "epochs": 3, "seed": 1, "lr_search": 1, "repeat": false}') AS model_id \gset
SELECT options AS options_before FROM xdrec.model WHERE name = 's' \gset
SELECT pg_temp.try($$SELECT xdrec.alter_model('s', options => '{"shared_users": 1}')$$);
SELECT options = :'options_before'::jsonb AS options_unchanged FROM xdrec.model WHERE name = 's';
-- its default, as the views show it
SELECT (xdrec_internal.resolved_options(options))->>'shared_users' AS default_shared_users
FROM xdrec.model WHERE name = 's';

SELECT (xdrec.train('s', 'd0')->>'version')::bigint AS src \gset

-- off (the default): no user starts from the source
SELECT xdrec.adapt('s', 'd1', 'drr') AS off \gset
SELECT ((:'off'::jsonb)->>'users_from_source')::int AS off_users_from_source;

-- on: d1's 30 users with a key of d0 start from the source's embeddings;
-- the fit differs from the one without them, with the same seed
SELECT xdrec.alter_model('s', options => '{"shared_users": true}') IS NOT NULL AS altered;
SELECT xdrec.adapt('s', 'd1', 'drr') AS j_on \gset
SELECT ((:'j_on'::jsonb)->>'users_from_source')::int AS on_users_from_source,
       ((:'j_on'::jsonb)->>'pins_shared_version')::bigint = :src AS pins_source;
-- (its weights: on 20 items popularity in context on every item can leave
-- the two validation rankings the same)
SELECT EXISTS (SELECT 1 FROM xdrec.weight x JOIN xdrec.weight y USING (tensor, chunk)
			   WHERE x.version_id = a.id AND y.version_id = b.id AND x.data <> y.data) AS fit_differs
FROM xdrec.version a, xdrec.version b
WHERE a.id = ((:'off'::jsonb)->>'version')::bigint AND b.id = ((:'j_on'::jsonb)->>'version')::bigint;
-- every method under the source's modules uses them; target-only never does
SELECT m AS method, ((xdrec.adapt('s', 'd1', m))->>'users_from_source')::int AS users_from_source
FROM unnest(ARRAY['direct', 'anneal', 'auto', 'target_only']) m;
-- auto_blend's partner too: DRR with the shared users, beside target-only
-- (auto_margin 100 keeps target-only, auto_small_rows 100 makes d1 large)
SELECT xdrec.alter_model('s', options => '{"shared_users": true, "auto_margin": 100, "auto_small_rows": 100}') IS NOT NULL AS altered;
SELECT xdrec.adapt('s', 'd1', 'auto') AS j_blend \gset
SELECT (:'j_blend'::jsonb)->>'method' AS method, (:'j_blend'::jsonb)->'blend'->>'second' AS second,
       ((:'j_blend'::jsonb)->>'users_from_source')::int AS users_from_source;

-- off again: 0, and the fit is the first one's again (bit for bit)
SELECT xdrec.alter_model('s', options => '{"shared_users": false}') IS NOT NULL AS altered;
SELECT xdrec.adapt('s', 'd1', 'drr') AS off2 \gset
SELECT ((:'off2'::jsonb)->>'users_from_source')::int AS off_again,
       a.metrics->'valid' = b.metrics->'valid' AS same_as_first
FROM xdrec.version a, xdrec.version b
WHERE a.id = ((:'off'::jsonb)->>'version')::bigint AND b.id = ((:'off2'::jsonb)->>'version')::bigint;

SET client_min_messages = warning;
DROP EXTENSION xdrec;
