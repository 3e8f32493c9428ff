-- Help inside psql (docs/sql-reference.md, "Help"): a comment on every
-- user-facing function, view and view column; xdrec.help(); errors without
-- PL/pgSQL CONTEXT lines; "did you mean" for options, features, categorical
-- values, domains and help topics; a feature's column defaulting to its
-- name; k defaulting to 10; a notice (or, by xdrec.unknown_category, an
-- error) for a categorical value outside the vocabulary; the xdrec.features
-- view.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

-- every function a user calls, every view, table and column has a
-- comment; internal helpers (schema xdrec_internal) have none
SELECT p.oid::regprocedure AS uncommented_function
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'xdrec'
WHERE (p.pronamespace <> 'xdrec_internal'::regnamespace) = (obj_description(p.oid, 'pg_proc') IS NULL)
  AND p.prorettype <> 'trigger'::regtype;
SELECT c.relname AS uncommented_view FROM pg_class c
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'v' AND obj_description(c.oid, 'pg_class') IS NULL;
SELECT c.relname, a.attname AS uncommented_column
FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind IN ('v', 'r') AND col_description(c.oid, a.attnum) IS NULL;
SELECT c.relname AS uncommented_table FROM pg_class c
WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'r' AND obj_description(c.oid, 'pg_class') IS NULL;
-- each function's comment names its arguments
SELECT p.proname AS comment_without_arguments
FROM pg_proc p
WHERE p.pronamespace = 'xdrec'::regnamespace AND p.proname NOT LIKE '\_%'
  AND obj_description(p.oid, 'pg_proc') NOT LIKE '%' || p.proname || '(%';

-- xdrec.help(): the functions and views; one function's forms and an example
SELECT split_part(xdrec.help(), E'\n', 1) AS first_line,
       xdrec.help() ~ 'rank +The top k items' AS lists_rank,
       xdrec.help() ~ 'xdrec.versions +Every stored version' AS lists_versions;
SELECT xdrec.help('rank') ~ 'exclude_seen: true leaves out the user''s training items, false keeps them' AS explains_exclude_seen,
       xdrec.help('rank') ~ 'k integer DEFAULT 10' AS shows_default_k,
       xdrec.help('xdrec.rank') = xdrec.help('rank') AS schema_prefix_ok,
       xdrec.help('rank') ~ 'Example:' AS has_example;
SELECT xdrec.help('evaluate') ~ 'full-ranking MRR can exceed it' AS explains_protocols;
SELECT split_part(xdrec.help('options'), E'\n', 1) AS options;
SELECT split_part(xdrec.help('jobs'), E'\n', 2) AS first_column;
SELECT xdrec.help('rnk');
SELECT xdrec.help('nothing like it');

-- errors come without the PL/pgSQL frames they passed through (CONTEXT lines)
SELECT xdrec.generate('hgen', '{"seed": 5, "domains": 2, "sizes": {"source": {"users": 80, "items": 40, "interactions": 2000}, "target": {"users": 30, "items": 20, "interactions": 300}}}') AS rows;
SELECT xdrec.create_model('h', 'hgen', 'user_key', 'item_key', 'domain', options => '{"epoch": 3}');
SELECT xdrec.create_model('h', 'hgen', 'user_key', 'item_key', 'domain', options => '{"lr": 7}');
SELECT xdrec.create_model('h', 'hgen', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "kind": "interactional", "type": "numeric", "colum": "hour"}]');
SELECT xdrec.rollback('nope');

-- a feature whose column has its name needs no "column"
SELECT xdrec.create_model('h', 'hgen', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "kind": "interactional", "type": "numeric"},
	              {"name": "weekday", "kind": "interactional", "type": "categorical"},
	              {"name": "h2", "expression": "hour * 2", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 2}') > 0 AS created;
SELECT feature, kind, type, scope, "column", expression, vocabulary IS NULL AND min IS NULL AS not_trained_yet
FROM xdrec.features WHERE model = 'h' ORDER BY position;

-- a domain with no rows: the nearest one
SELECT xdrec.train('h', 'D0');
SELECT xdrec.train('h', 'd0') ? 'version' AS trained;

-- what training learned of each feature
SELECT feature, vocabulary, min < max AS has_range, source_version IS NOT NULL AS from_source
FROM xdrec.features WHERE model = 'h' ORDER BY position;

-- k defaults to 10, in every ranking form
SELECT min(user_key) AS u FROM hgen WHERE domain = 'd0' \gset
SELECT count(*) AS k FROM xdrec.rank('h', :u, '{"hour": 12}');
SELECT count(*) AS k FROM xdrec.rank('h', :'u', '{"hour": 12}');
SELECT count(*) AS k FROM xdrec.rank_many('h', ARRAY[:u], '{"hour": 12}');
SET xdrec.default_model = 'h';
SELECT count(*) AS k FROM xdrec_rank(:u, '{"hour": 12}');
RESET xdrec.default_model;

-- a feature name or a categorical value mistyped
SELECT count(*) FROM xdrec.rank('h', :u, '{"hours": 12}');
SELECT count(*) AS ranked_as_other FROM xdrec.rank('h', :u, '{"weekday": "Fri"}');
SELECT count(*) AS ranked_as_other FROM xdrec.rank('h', :u, '{"weekday": "someday"}');
SET xdrec.unknown_category = 'error';
SELECT count(*) FROM xdrec.rank('h', :u, '{"weekday": "Fri"}');
SET xdrec.unknown_category = 'ignore';
SELECT count(*) AS silent FROM xdrec.rank('h', :u, '{"weekday": "Fri"}');
RESET xdrec.unknown_category;
SELECT count(*) AS known FROM xdrec.rank('h', :u, '{"weekday": "fri"}');

-- a domain mistyped where a served one is expected
SELECT count(*) FROM xdrec.rank('h', :u, '{}', domain => 'D0');

SELECT xdrec.drop_model('h');
DROP TABLE hgen;
DROP EXTENSION xdrec;
