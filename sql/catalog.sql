-- create_model, drop_model and the models view; every bad input shows its
-- SQLSTATE and leaves the catalog as it was (DESIGN sections 6 and 9).
CREATE EXTENSION xdrec;

\i sql/include/try.sql

CREATE TABLE interactions (
	user_id bigint,
	item_id bigint,
	city text,
	rating real,
	ts timestamptz,
	spend numeric,
	cuisine text,
	weekend boolean,
	payload jsonb,
	tags text[],
	guest uuid,
	shop varchar(20)
);
INSERT INTO interactions
SELECT i % 7, i % 11, CASE WHEN i % 3 = 0 THEN 'small' ELSE 'big' END, (i % 5) + 1,
       '2024-01-01'::timestamptz + i * interval '1 hour', i, 'c' || (i % 4), i % 2 = 0,
       '{}', '{}', NULL, 's' || (i % 3)
FROM generate_series(1, 50) AS i;
CREATE SEQUENCE not_a_table;

-- the smallest model
SELECT xdrec.create_model('plain', 'interactions', 'user_id', 'item_id', 'city') > 0 AS created;

-- a model with every kind of feature, explicit feedback and options
SELECT xdrec.create_model('full', 'interactions', 'user_id', 'item_id', 'city',
	rating_col => 'rating',
	features => '[
		{"name": "hour", "expression": "extract(hour from ts)", "kind": "interactional",
		 "type": "numeric", "options": {"bins": 4}},
		{"name": "weekend", "column": "weekend", "kind": "interactional", "type": "boolean"},
		{"name": "spend", "expression": "interactions.spend::float8", "kind": "historical",
		 "type": "numeric", "scope": "user"},
		{"name": "cuisine", "column": "cuisine", "kind": "attributional", "type": "categorical",
		 "scope": "item", "options": {"vocab_cap": 50}}
	]',
	options => '{"feedback": "explicit", "d": 32, "lr": 0.001, "variant": "fmt",
				 "context_layers": 3, "dropout": 0.2, "seed": 7, "lambda_kl": "search"}') > 0 AS created;

-- text-like keys: varchar domain, uuid user
SELECT xdrec.create_model('texty', 'interactions', 'guest', 'cuisine', 'shop') > 0 AS created;

SELECT name, relation, user_col, item_col, domain_col, rating_col, feedback, variant,
       features, source_domain, owner = current_user AS mine, access
FROM xdrec.models ORDER BY name;

SELECT m.name AS model, f.position, f.name, f.column_name, f.expression, f.kind, f.type,
       f.scope, f.options
FROM xdrec.feature f JOIN xdrec.model m ON m.id = f.model_id
ORDER BY m.name, f.position;

SELECT name, user_type, item_type, domain_type FROM xdrec.model ORDER BY name;

-- Bad inputs. Snapshot the catalog first.
CREATE TEMP TABLE before AS
SELECT (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY m.id), '')) FROM xdrec.model m) AS models,
       (SELECT md5(coalesce(string_agg(f::text, ',' ORDER BY f.model_id, f.position), '')) FROM xdrec.feature f) AS features,
       (SELECT count(*) FROM xdrec.model_grant) AS grants;

-- the relation
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'no_such_table', 'user_id', 'item_id', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'not_a_table', 'user_id', 'item_id', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', NULL, 'user_id', 'item_id', 'city')$$);
-- the name
SELECT pg_temp.try($$SELECT xdrec.create_model(NULL, 'interactions', 'user_id', 'item_id', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('', 'interactions', 'user_id', 'item_id', 'city')$$);
SELECT pg_temp.try(format($$SELECT xdrec.create_model(%L, 'interactions', 'user_id', 'item_id', 'city')$$, repeat('n', 64)));
SELECT pg_temp.try($$SELECT xdrec.create_model('plain', 'interactions', 'user_id', 'item_id', 'city')$$);
-- the columns
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'uid', 'item_id', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', NULL, 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'payload', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'tags')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'rating')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'user_id', 'city')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', rating_col => 'cuisine')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', rating_col => 'stars')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', rating_col => 'item_id')$$);
-- the options
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '[]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => NULL)$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"depth": 3}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"d": 0}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"d": "big"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"batch_size": 1.5}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"dropout": 1}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"lr": 0}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"seed": -1}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"variant": "xyz"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"mm_residual": "yes"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"lambda_kl": "auto"}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', options => '{"feedback": "explicit"}')$$);
-- the features
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '{}')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[1]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"column": "spend", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "numeric", "colour": 1}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "numeric"}, {"name": "s", "column": "ts", "kind": "historical", "type": "categorical"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "temporal", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "float"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "numeric", "scope": "domain"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "expression": "spend", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "amount", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "cuisine", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "boolean"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "payload", "kind": "historical", "type": "categorical"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "numeric", "options": {"vocab_cap": 3}}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "s", "column": "spend", "kind": "historical", "type": "numeric", "options": {"bins": 1}}]')$$);
-- feature expressions
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "spend +", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "amount * 2", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "spend; DROP TABLE interactions", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "spend -- comment", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "1) FROM pg_class, (SELECT 1", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "avg(spend)", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "generate_series(1, 3)", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "rank() OVER ()", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "cuisine || ''x''", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": "$1", "kind": "historical", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('x', 'interactions', 'user_id', 'item_id', 'city', features => '[{"name": "e", "expression": 42, "kind": "historical", "type": "numeric"}]')$$);

-- nothing was written by any of them
SELECT (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY m.id), '')) FROM xdrec.model m) = models AS models_unchanged,
       (SELECT md5(coalesce(string_agg(f::text, ',' ORDER BY f.model_id, f.position), '')) FROM xdrec.feature f) = features AS features_unchanged,
       (SELECT count(*) FROM xdrec.model_grant) = grants AS grants_unchanged
FROM before;

-- drop_model
SELECT pg_temp.try($$SELECT xdrec.drop_model('no_such_model')$$);
SELECT pg_temp.try($$SELECT xdrec.drop_model(NULL)$$);
SELECT xdrec.drop_model('full');
SELECT name FROM xdrec.models ORDER BY name;
SELECT count(*) AS orphan_features
FROM xdrec.feature f WHERE NOT EXISTS (SELECT 1 FROM xdrec.model m WHERE m.id = f.model_id);
SELECT pg_temp.try($$SELECT xdrec.drop_model('full')$$);

-- the name is free again
SELECT xdrec.create_model('full', 'interactions', 'user_id', 'item_id', 'city') > 0 AS created;

SELECT xdrec.drop_model('full');
SELECT xdrec.drop_model('plain');
SELECT xdrec.drop_model('texty');
DROP EXTENSION xdrec;
DROP TABLE interactions;
DROP SEQUENCE not_a_table;
