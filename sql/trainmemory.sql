-- xdrec.train_memory (DESIGN section 10): an oversized domain is refused
-- with a clear error before the memory is allocated (the backend's peak RSS
-- stays far below what the run would need), leaving the catalog unchanged;
-- with enough memory the same domain trains.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

-- 4000 users and 300 items; text keys for the key-map case
CREATE TABLE wide AS
SELECT 'd0'::text AS domain, i % 4000 AS user_key, (i * 7) % 300 AS item_key, (i % 24)::real AS hour
FROM generate_series(1, 16000) i;
CREATE TABLE many_rows AS
SELECT 'd0'::text AS domain, i % 100 AS user_key, i % 50 AS item_key, (i % 24)::real AS hour
FROM generate_series(1, 100000) i;
CREATE TABLE many_keys AS
SELECT 'd0'::text AS domain, 'user-' || lpad(i::text, 20, '0') AS u, 'item-' || (i % 50) AS i, (i % 24)::real AS hour
FROM generate_series(1, 60000) i;
SELECT xdrec.create_model('wide', 'wide', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 256, "epochs": 1, "context_layers": 1, "tower_layers": 1}') > 0 AS wide;
SELECT xdrec.create_model('many_rows', 'many_rows', 'user_key', 'item_key', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1}') > 0 AS many_rows;
SELECT xdrec.create_model('many_keys', 'many_keys', 'u', 'i', 'domain',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]',
	options => '{"d": 8, "epochs": 1}') > 0 AS many_keys;

CREATE FUNCTION pg_temp.digest() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(format('%s %s', t, n), ', ' ORDER BY t)
	FROM (SELECT 'version' t, count(*) n FROM xdrec.version UNION ALL
		  SELECT 'weight', count(*) FROM xdrec.weight UNION ALL
		  SELECT 'key_map', count(*) FROM xdrec.key_map UNION ALL
		  SELECT 'seen', count(*) FROM xdrec.seen UNION ALL
		  SELECT 'domain', count(*) FROM xdrec.domain) x
$$;
-- this backend's peak resident memory in kB
CREATE FUNCTION pg_temp.peak_kb() RETURNS bigint LANGUAGE sql AS $$
	SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), 'VmHWM:\s+(\d+)'))[1]::bigint
$$;
CREATE TEMP TABLE before AS SELECT pg_temp.digest() AS d, pg_temp.peak_kb() AS kb;

\set VERBOSITY default
\set SHOW_CONTEXT never
-- the data fit, the model (5 x 4300 rows x 257 floats, 22 MB) does not
SET xdrec.train_memory = '16MB';
SELECT xdrec.train('wide', 'd0');
-- 100000 rows of 100 users do not fit: refused while reading the rows
SET xdrec.train_memory = '1MB';
SELECT xdrec.train('many_rows', 'd0');
-- 60000 long text keys do not fit: refused while reading the keys
SELECT xdrec.train('many_keys', 'd0');
\set SHOW_CONTEXT errors
SELECT pg_temp.digest() = d AS catalog_unchanged,
	   pg_temp.peak_kb() - kb < 8 * 1024 AS peak_grew_less_than_8mb
FROM before;

-- with enough memory the same model trains
SET xdrec.train_memory = '128MB';
SELECT (xdrec.train('wide', 'd0')->>'users')::int AS users;

-- a target as wide: auto holds its three fits at once (66 MB), Direct one
INSERT INTO wide SELECT 'd1', user_key, item_key, hour FROM wide;
SET xdrec.train_memory = '48MB';
\set SHOW_CONTEXT never
SELECT xdrec.adapt('wide', 'd1', 'auto');
\set SHOW_CONTEXT errors
SELECT xdrec.adapt('wide', 'd1', 'direct')->>'method' AS adapted;
RESET xdrec.train_memory;

SELECT xdrec.drop_model(name) FROM xdrec.models ORDER BY name;
DROP TABLE wide, many_rows, many_keys;
DROP EXTENSION xdrec;
