-- The bad-input matrix (issue 8, DESIGN section 9): every SQL function called
-- with NULL in each argument (generated from a valid call), non-finite and
-- wrongly typed context values, empty, huge and wrongly shaped arrays,
-- unknown names, bad k, and a relation renamed, retyped or dropped after the
-- model was made. Each case prints its SQLSTATE and message; a case that
-- succeeds prints "ok" and is rolled back. All xdrec tables are digested
-- before and after: bad input changes nothing.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
DROP ROLE IF EXISTS xd_bad_role;
RESET client_min_messages;
CREATE ROLE xd_bad_role;

SELECT xdrec.generate('bi', '{"seed": 7, "domains": 2, "sizes": {"source": {"users": 60, "items": 30, "interactions": 1500}, "target": {"users": 30, "items": 15, "interactions": 400}}}') AS rows;
SELECT xdrec.create_model('g', 'bi', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1}') > 0 AS g;
SELECT xdrec.train('g', 'd0') ? 'version' AS trained, xdrec.train('g', 'd0') ? 'version' AS retrained;
SELECT xdrec.adapt('g', 'd1', 'direct') ? 'version' AS adapted, xdrec.adapt('g', 'd1', 'direct') ? 'version' AS readapted;
SELECT xdrec.generate('bx', '{"seed": 8, "domains": 1, "explicit": true, "sizes": {"source": {"users": 40, "items": 20, "interactions": 800}}}') AS rows;
SELECT xdrec.create_model('x', 'bx', 'user_key', 'item_key', 'domain', rating_col => 'rating',
	features => xdrec.generated_features(), options => '{"feedback": "explicit", "d": 8, "epochs": 2}') > 0 AS x;
SELECT xdrec.train('x', 'd0') ? 'version' AS trained;
-- a model whose relation is altered and dropped below; cold_min 0: its
-- warm users are ranked from the catalog alone (a user with few rows served
-- by the cold path, option cold_min, is ranked from their rows in it)
CREATE TABLE bh AS SELECT * FROM bi;
SELECT xdrec.create_model('h', 'bh', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 2, "seed": 1, "cold_min": 0}') > 0 AS h;
SELECT xdrec.train('h', 'd0') ? 'version' AS trained;
SET xdrec.default_model = 'g';

-- every row of every xdrec table (relations by oid: a dropped table's
-- regclass would print differently without any row changing)
CREATE FUNCTION pg_temp.digest() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t regclass;
	cols text;
	part text;
	acc text := '';
BEGIN
	FOR t, cols IN
		SELECT c.oid, string_agg(quote_ident(a.attname) ||
					  CASE WHEN a.atttypid = 'regclass'::regtype THEN '::oid' ELSE '' END, ', ' ORDER BY a.attnum)
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relnamespace = 'xdrec'::regnamespace AND c.relkind = 'r'
		GROUP BY c.oid, c.relname ORDER BY c.relname LOOP
		EXECUTE format('SELECT %L || '' '' || count(*) || '' '' || coalesce(md5(string_agg(x::text, '','' ORDER BY x::text)), '''') FROM (SELECT %s FROM %s) x',
					   t, cols, t)
			INTO part;
		acc := acc || part || E'\n';
	END LOOP;
	RETURN acc;
END $$;
CREATE TEMP TABLE before AS SELECT pg_temp.digest() AS d;

CREATE TEMP TABLE cases (n serial, grp text, label text, q text);
CREATE TEMP TABLE outcome (n int, grp text, label text, sqlstate text, message text);
-- Runs one group of cases, each in its own subtransaction; a call that
-- succeeds is rolled back by a sentinel error (XDOK0), so it changes nothing.
CREATE FUNCTION pg_temp.run(g text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	c record;
	st text;
	msg text;
BEGIN
	FOR c IN SELECT * FROM cases WHERE grp = g ORDER BY n LOOP
		BEGIN
			EXECUTE c.q;
			RAISE EXCEPTION 'succeeded' USING ERRCODE = 'XDOK0';
		EXCEPTION WHEN OTHERS THEN
			st := SQLSTATE;
			msg := SQLERRM;
		END;
		INSERT INTO outcome VALUES (c.n, g, c.label, CASE st WHEN 'XDOK0' THEN 'ok' ELSE st END,
									CASE st WHEN 'XDOK0' THEN '' ELSE left(msg, 150) END);
	END LOOP;
END $$;

-- NULL in each argument of a valid call of every function
CREATE TEMP TABLE valid_call (fn text, srf boolean, args text[], types text[]);
INSERT INTO valid_call VALUES
	('xdrec.create_model', false,
	 '{"''nm''","''bi''","''user_key''","''item_key''","''domain''","''rating''","xdrec.generated_features()","''{\"d\": 8}''"}',
	 '{text,regclass,text,text,text,text,jsonb,jsonb}'),
	('xdrec.drop_model', false, '{"''g''"}', '{text}'),
	('xdrec.grant', false, '{"''g''","''xd_bad_role''","''use''"}', '{text,text,text}'),
	('xdrec.revoke', false, '{"''g''","''xd_bad_role''"}', '{text,text}'),
	('xdrec.train', false, '{"''g''","''d0''",false}', '{text,text,boolean}'),
	('xdrec.adapt', false, '{"''g''","''d1''","''direct''",false}', '{text,text,text,boolean}'),
	('xdrec.adapt_all', true, '{"''g''","''direct''",false}', '{text,text,boolean}'),
	('xdrec.rollback', false, '{"''g''","''d1''"}', '{text,text}'),
	('xdrec.rank', true, '{"''g''",0,"''{\"hour\": 12}''",5,"''d0''",true,"''{1,2,3}''","NULL"}',
	 '{text,bigint,jsonb,integer,text,boolean,bigint[],real[]}'),
	('xdrec.rank', true, '{"''g''","''0''","''{\"hour\": 12}''",5,"''d0''",true,"''{1,2,3}''","NULL"}',
	 '{text,text,jsonb,integer,text,boolean,text[],real[]}'),
	('xdrec_rank', true, '{0,"''{\"hour\": 12}''",5}', '{bigint,jsonb,integer}'),
	('xdrec_rank', true, '{"''0''","''{\"hour\": 12}''",5}', '{text,jsonb,integer}'),
	('xdrec.predict', false, '{"''x''",0,"(SELECT min(item_key) FROM bx)","''{}''","''d0''","NULL"}',
	 '{text,bigint,bigint,jsonb,text,real[]}'),
	('xdrec.predict', false, '{"''x''","''0''","(SELECT min(item_key)::text FROM bx)","''{}''","''d0''","NULL"}',
	 '{text,text,text,jsonb,text,real[]}'),
	('xdrec.evaluate', true, '{"''g''","''d0''","''sampled''",42,"''bi''"}', '{text,text,text,integer,regclass}'),
	('xdrec.generate', false,
	 '{"''bi_new''","''{\"domains\": 1, \"sizes\": {\"source\": {\"users\": 5, \"items\": 3, \"interactions\": 10}}}''"}',
	 '{text,jsonb}');
INSERT INTO cases (grp, label, q)
SELECT 'null', format('%s(%s) %s', fn, array_to_string(types, ','), CASE WHEN i = 0 THEN 'valid call' ELSE 'null arg ' || i END),
	   CASE WHEN srf THEN 'SELECT * FROM ' ELSE 'SELECT ' END || fn || '(' ||
	   (SELECT string_agg(CASE WHEN j = i THEN 'NULL' ELSE args[j] END || '::' || types[j], ', ' ORDER BY j)
		FROM generate_subscripts(args, 1) j) || ')'
FROM valid_call, LATERAL generate_series(0, cardinality(args)) i
ORDER BY fn, array_to_string(types, ','), i;

-- values: non-finite, wrongly typed, unknown, out of range, wrongly shaped
INSERT INTO cases (grp, label, q) VALUES
	('values', 'rank ctx numeric "NaN"', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": "NaN"}', 5)$$),
	('values', 'rank ctx numeric "Infinity"', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": "Infinity"}', 5)$$),
	('values', 'rank ctx numeric "-Infinity"', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": "-Infinity"}', 5)$$),
	('values', 'rank ctx numeric 1e400 (beyond float8)', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": 1e400}', 5)$$),
	('values', 'rank ctx numeric -1e39 (beyond float4)', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": -1e39}', 5)$$),
	('values', 'rank ctx user-scoped "NaN"', $$SELECT * FROM xdrec.rank('g', 0, '{"spend": "NaN"}', 5)$$),
	('values', 'rank ctx boolean "NaN"', $$SELECT * FROM xdrec.rank('g', 0, '{"rain": "NaN"}', 5)$$),
	('values', 'rank ctx numeric as text "12"', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": "12"}', 5)$$),
	('values', 'rank ctx numeric as object', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": {"v": 1}}', 5)$$),
	('values', 'rank ctx categorical as array', $$SELECT * FROM xdrec.rank('g', 0, '{"weekday": ["fri"]}', 5)$$),
	('values', 'rank ctx item-scoped feature', $$SELECT * FROM xdrec.rank('g', 0, '{"price": 3}', 5)$$),
	('values', 'rank ctx unknown feature', $$SELECT * FROM xdrec.rank('g', 0, '{"minute": 3}', 5)$$),
	('values', 'rank ctx 10000 unknown features', $$SELECT * FROM xdrec.rank('g', 0, (SELECT jsonb_object_agg('f' || i, i) FROM generate_series(1, 10000) i), 5)$$),
	('values', 'rank ctx an array', $$SELECT * FROM xdrec.rank('g', 0, '[1, 2]', 5)$$),
	('values', 'rank ctx a string', $$SELECT * FROM xdrec.rank('g', 0, '"hour"', 5)$$),
	('values', 'rank ctx json null', $$SELECT * FROM xdrec.rank('g', 0, 'null', 5)$$),
	('values', 'rank ctx not json', $$SELECT * FROM xdrec.rank('g', 0, '{hour: 12}', 5)$$),
	('values', 'rank ctx_vector NaN entry', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[24]) || 'NaN'::real)$$),
	('values', 'rank ctx_vector Infinity entry', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[24]) || 'Infinity'::real)$$),
	('values', 'rank ctx_vector -Infinity entry', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => '-Infinity'::real || array_fill(0::real, ARRAY[24]))$$),
	('values', 'rank ctx_vector NULL entry', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[24]) || NULL::real)$$),
	('values', 'rank ctx_vector empty', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => '{}')$$),
	('values', 'rank ctx_vector width m-1', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[24]))$$),
	('values', 'rank ctx_vector width m+1', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[26]))$$),
	('values', 'rank ctx_vector width 10^6', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[1000000]))$$),
	('values', 'rank ctx_vector 5x5 (m entries, two dimensions)', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => array_fill(0::real, ARRAY[5, 5]))$$),
	('values', 'rank ctx_vector with ctx', $$SELECT * FROM xdrec.rank('g', 0, '{"hour": 1}', 5, ctx_vector => array_fill(0::real, ARRAY[25]))$$),
	('values', 'rank ctx_vector text', $$SELECT * FROM xdrec.rank('g', 0, NULL, 5, ctx_vector => '{a,b}')$$),
	('values', 'rank k 0', $$SELECT * FROM xdrec.rank('g', 0, '{}', 0)$$),
	('values', 'rank k -1', $$SELECT * FROM xdrec.rank('g', 0, '{}', -1)$$),
	('values', 'rank k -2^31', $$SELECT * FROM xdrec.rank('g', 0, '{}', -2147483648)$$),
	('values', 'rank k 10001', $$SELECT * FROM xdrec.rank('g', 0, '{}', 10001)$$),
	('values', 'rank k 2^31-1', $$SELECT * FROM xdrec.rank('g', 0, '{}', 2147483647)$$),
	('values', 'rank k 2^31 (not an integer)', $$SELECT * FROM xdrec.rank('g', 0, '{}', 2147483648)$$),
	('values', 'rank k text ''ten''', $$SELECT * FROM xdrec.rank('g', 0, '{}', 'ten')$$),
	('values', 'rank k 10000 (more than the items)', $$SELECT * FROM xdrec.rank('g', 0, '{}', 10000)$$),
	('values', 'xdrec_rank k 2^31-1', $$SELECT * FROM xdrec_rank(0, '{}', 2147483647)$$),
	('values', 'xdrec_rank k 0', $$SELECT * FROM xdrec_rank('0', '{}', 0)$$),
	('values', 'rank candidates empty', $$SELECT * FROM xdrec.rank('g', 0, '{}', 5, candidates => '{}')$$),
	('values', 'rank candidates 10^6 unknown', $$SELECT * FROM xdrec.rank('g', 0, '{}', 5, candidates => (SELECT array_agg(i) FROM generate_series(100000001, 101000000) i))$$),
	('values', 'rank candidates with NULL', $$SELECT * FROM xdrec.rank('g', 0, '{}', 5, candidates => '{1,NULL,2}')$$),
	('values', 'rank candidates two dimensions', $$SELECT * FROM xdrec.rank('g', 0, '{}', 5, candidates => '{{1,2},{3,4}}')$$),
	('values', 'rank text candidates with NULL', $$SELECT * FROM xdrec.rank('g', '0', '{}', 5, candidates => '{1,NULL}'::text[])$$),
	('values', 'rank unknown model', $$SELECT * FROM xdrec.rank('nope', 0, '{}', 5)$$),
	('values', 'rank 10000-character model name', $$SELECT * FROM xdrec.rank(repeat('m', 10000), 0, '{}', 5)$$),
	('values', 'rank unknown domain', $$SELECT * FROM xdrec.rank('g', 0, '{}', 5, domain => 'd9')$$),
	('values', 'rank unknown user', $$SELECT * FROM xdrec.rank('g', 424242, '{}', 5)$$),
	('values', 'rank text user not a number', $$SELECT * FROM xdrec.rank('g', 'abc', '{}', 5)$$),
	('values', 'rank text user empty', $$SELECT * FROM xdrec.rank('g', '', '{}', 5)$$),
	('values', 'rank bigint user on text user', $$SELECT * FROM xdrec.rank('g', 'zz'::bigint, '{}', 5)$$),
	('values', 'xdrec_rank default_model unknown', $$SELECT * FROM (SELECT set_config('xdrec.default_model', 'nope', true)) s, xdrec_rank(0, '{}', 5)$$),
	('values', 'predict NaN ctx', $$SELECT xdrec.predict('x', 0, (SELECT min(item_key) FROM bx), '{"hour": "NaN"}')$$),
	('values', 'predict ctx_vector Infinity', $$SELECT xdrec.predict('x', 0, (SELECT min(item_key) FROM bx), NULL, ctx_vector => array_fill('Infinity'::real, ARRAY[21]))$$),
	('values', 'predict ctx_vector wrong width', $$SELECT xdrec.predict('x', 0, (SELECT min(item_key) FROM bx), NULL, ctx_vector => '{1}')$$),
	('values', 'predict unknown item', $$SELECT xdrec.predict('x', 0, 987654, '{}')$$),
	('values', 'predict unknown text item', $$SELECT xdrec.predict('x', '0', 'i?', '{}')$$),
	('values', 'predict unknown user', $$SELECT xdrec.predict('x', 987654, 1, '{}')$$),
	('values', 'predict on implicit model', $$SELECT xdrec.predict('g', 0, 1, '{}')$$),
	('values', 'evaluate unknown domain', $$SELECT * FROM xdrec.evaluate('g', 'd9')$$),
	('values', 'evaluate unknown protocol', $$SELECT * FROM xdrec.evaluate('g', protocol => 'exact')$$),
	('values', 'evaluate seed text', $$SELECT * FROM xdrec.evaluate('g', seed => 'x')$$),
	('values', 'evaluate untrained model', $$SELECT * FROM xdrec.evaluate('nt')$$),
	('values', 'train unknown domain', $$SELECT xdrec.train('g', 'd9')$$),
	('values', 'train 10000-character domain', $$SELECT xdrec.train('g', repeat('d', 10000))$$),
	('values', 'train background, unknown model', $$SELECT xdrec.train('nope', 'd0', true)$$),
	('values', 'adapt the source domain', $$SELECT xdrec.adapt('g', 'd0')$$),
	('values', 'adapt unknown domain', $$SELECT xdrec.adapt('g', 'd9')$$),
	('values', 'adapt unknown method', $$SELECT xdrec.adapt('g', 'd1', 'bogus')$$),
	('values', 'adapt untrained model', $$SELECT xdrec.adapt('nt', 'd1')$$),
	('values', 'adapt_all unknown method', $$SELECT * FROM xdrec.adapt_all('g', 'bogus')$$),
	('values', 'adapt_all unknown model', $$SELECT * FROM xdrec.adapt_all('nope')$$),
	('values', 'rollback unknown domain', $$SELECT xdrec.rollback('g', 'd9')$$),
	('values', 'rollback untrained model', $$SELECT xdrec.rollback('nt')$$),
	('values', 'rollback explicit model, one version', $$SELECT xdrec.rollback('x')$$),
	('values', 'grant unknown role', $$SELECT xdrec.grant('g', 'no_such_role')$$),
	('values', 'grant unknown privilege', $$SELECT xdrec.grant('g', 'xd_bad_role', 'owner')$$),
	('values', 'grant to the owner', $$SELECT xdrec.grant('g', current_user)$$),
	('values', 'grant unknown model', $$SELECT xdrec.grant('nope', 'xd_bad_role')$$),
	('values', 'revoke unknown model', $$SELECT xdrec.revoke('nope', 'xd_bad_role')$$),
	('values', 'revoke unknown role', $$SELECT xdrec.revoke('g', 'no_such_role')$$),
	('values', 'drop_model unknown model', $$SELECT xdrec.drop_model('nope')$$),
	('values', 'create_model existing name', $$SELECT xdrec.create_model('g', 'bi', 'user_key', 'item_key', 'domain')$$),
	('values', 'create_model empty name', $$SELECT xdrec.create_model('', 'bi', 'user_key', 'item_key', 'domain')$$),
	('values', 'create_model 64-character name', $$SELECT xdrec.create_model(repeat('n', 64), 'bi', 'user_key', 'item_key', 'domain')$$),
	('values', 'create_model unknown relation', $$SELECT xdrec.create_model('nm', 'no_such_table', 'user_key', 'item_key', 'domain')$$),
	('values', 'create_model unknown column', $$SELECT xdrec.create_model('nm', 'bi', 'nope', 'item_key', 'domain')$$),
	('values', 'create_model same column twice', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'user_key', 'domain')$$),
	('values', 'create_model rating column of text', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', rating_col => 'cuisine')$$),
	('values', 'create_model features not an array', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', features => '{}')$$),
	('values', 'create_model feature without kind', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', features => '[{"name": "h", "column": "hour", "type": "numeric"}]')$$),
	('values', 'create_model feature unknown column', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', features => '[{"name": "h", "column": "nope", "kind": "interactional", "type": "numeric"}]')$$),
	('values', 'create_model numeric feature on text', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', features => '[{"name": "c", "column": "cuisine", "kind": "attributional", "type": "numeric"}]')$$),
	('values', 'create_model feature bins "NaN"', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', features => '[{"name": "h", "column": "hour", "kind": "interactional", "type": "numeric", "options": {"bins": "NaN"}}]')$$),
	('values', 'create_model option lr "NaN"', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"lr": "NaN"}')$$),
	('values', 'create_model option lr 1e400', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"lr": 1e400}')$$),
	('values', 'create_model option d 0', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"d": 0}')$$),
	('values', 'create_model option d 2^31', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"d": 2147483648}')$$),
	('values', 'create_model option d 8.5', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"d": 8.5}')$$),
	('values', 'create_model option d text', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"d": "64"}')$$),
	('values', 'create_model option epochs -1', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"epochs": -1}')$$),
	('values', 'create_model unknown option', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"depth": 3}')$$),
	('values', 'create_model option patience 0', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain', options => '{"patience": 0}')$$),
	('values', 'create_model 1001 features', $$SELECT xdrec.create_model('nm', 'bi', 'user_key', 'item_key', 'domain',
		features => (SELECT jsonb_agg(jsonb_build_object('name', 'f' || i, 'column', 'hour', 'kind', 'interactional', 'type', 'numeric'))
					 FROM generate_series(1, 1001) i))$$),
	('values', 'train 16+16 layers, explicit', $$SELECT xdrec.train('wx', 'd0') ? 'version'$$),
	('values', 'adapt 16+16 layers by DRR', $$SELECT xdrec.adapt('wi', 'd1', 'drr') ? 'version'$$),
	('values', 'generate existing table', $$SELECT xdrec.generate('bi')$$),
	('values', 'generate empty name', $$SELECT xdrec.generate('')$$),
	('values', 'generate option seed "NaN"', $$SELECT xdrec.generate('bi_new', '{"seed": "NaN"}')$$),
	('values', 'generate option domains 1e10', $$SELECT xdrec.generate('bi_new', '{"domains": 1e10}')$$),
	('values', 'generate options an array', $$SELECT xdrec.generate('bi_new', '[]')$$),
	('values', 'generated_features with an argument', $$SELECT xdrec.generated_features(1)$$),
	('values', 'generate_rows called directly, beyond generate''s limits', $$SELECT count(*) FROM xdrec_internal.generate_rows('{"domains": 1000}')$$);

-- an untrained model, for the "not trained" cases
SELECT xdrec.create_model('nt', 'bi', 'user_key', 'item_key', 'domain', features => xdrec.generated_features()) > 0 AS nt;
-- the widest models the options allow (16 context and 16 tower layers), to
-- train and adapt
SELECT xdrec.create_model('wx', 'bx', 'user_key', 'item_key', 'domain', rating_col => 'rating', features => xdrec.generated_features(),
	options => '{"feedback": "explicit", "d": 4, "epochs": 1, "context_layers": 16, "tower_layers": 16}') > 0 AS wx,
	xdrec.create_model('wi', 'bi', 'user_key', 'item_key', 'domain', features => xdrec.generated_features(),
	options => '{"d": 4, "epochs": 1, "pretrain_epochs": 1, "context_layers": 16, "tower_layers": 16}') > 0 AS wi;
SELECT xdrec.train('wi', 'd0') ? 'version' AS wi_trained;
UPDATE before SET d = pg_temp.digest();

SELECT pg_temp.run('null');
SELECT pg_temp.run('values');

-- the relation changed after the model was made
INSERT INTO cases (grp, label, q)
SELECT g, g || ': ' || l, q
FROM (VALUES (1, 'renamed'), (2, 'retyped'), (3, 'user text'), (4, 'dropped')) a(o, g),
	 (VALUES (1, 'train', $$SELECT xdrec.train('h', 'd0')$$),
			 (2, 'adapt', $$SELECT xdrec.adapt('h', 'd1', 'direct')$$),
			 (3, 'evaluate', $$SELECT * FROM xdrec.evaluate('h')$$),
			 (4, 'rank (served from the catalog)', $$SELECT * FROM xdrec.rank('h', 0, '{"hour": 3}', 5)$$)) b(i, l, q)
ORDER BY a.o, b.i;
ALTER TABLE bh RENAME COLUMN hour TO hr;
SELECT pg_temp.run('renamed');
ALTER TABLE bh RENAME COLUMN hr TO hour;
ALTER TABLE bh ALTER hour TYPE timestamptz USING now();
SELECT pg_temp.run('retyped');
ALTER TABLE bh ALTER hour TYPE real USING 1;
ALTER TABLE bh ALTER user_key TYPE text USING 'u' || user_key;
SELECT pg_temp.run('user text');
DROP TABLE bh;
SELECT pg_temp.run('dropped');

SELECT grp, label, sqlstate, message FROM outcome ORDER BY n;
SELECT count(*) AS cases, count(*) FILTER (WHERE sqlstate = 'ok') AS succeeded,
	   count(DISTINCT sqlstate) AS sqlstates FROM outcome;
-- no internal errors, every message lowercase
SELECT label, sqlstate, message FROM outcome
WHERE sqlstate LIKE 'XX%' OR sqlstate LIKE '58%' OR message ~ '^[A-Z][a-z]';
SELECT pg_temp.digest() = d AS catalog_unchanged FROM before;

RESET xdrec.default_model;
SELECT xdrec.drop_model(name) FROM xdrec.models ORDER BY name;
DROP TABLE bi, bx;
DROP ROLE xd_bad_role;
DROP EXTENSION xdrec;
