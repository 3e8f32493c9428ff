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
-- than 60 MB (it grew 257 MB, some 8.5 kB per user, before each user got a
-- memory context of its own), and as little when every read fails (a
-- column of the model renamed: each user served warm after a failed read
-- in a subtransaction, 80 MB before)
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

DROP TABLE hgen;
DROP EXTENSION xdrec CASCADE;
