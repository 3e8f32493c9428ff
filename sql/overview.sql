-- xdrec.overview, the DBA's health view (docs/sql-reference.md): per model
-- and domain, trained or not, what serves, its test metric beside the
-- popularity baseline's, the rows trained on against the rows now, the last
-- job, and health. Metrics are compared, never printed (BLAS kernels differ).
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

SELECT xdrec.generate('ogen', '{"seed": 9, "domains": 3, "sizes": {"source": {"users": 100, "items": 50, "interactions": 3000}, "target": {"users": 30, "items": 20, "interactions": 300}}}') AS rows;
SELECT xdrec.create_model('ov', 'ogen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 8, "epochs": 3}') > 0 AS created;

CREATE FUNCTION pg_temp.overview() RETURNS TABLE(domain text, role text, served boolean, rows_trained bigint, rows_now bigint, health text)
LANGUAGE sql AS $$
	SELECT domain, role, served_version IS NOT NULL, rows_trained, rows_now,
		   CASE WHEN health = 'below popularity' THEN 'ok or below popularity'
				WHEN health = 'ok' THEN 'ok or below popularity' ELSE health END
	FROM xdrec.overview WHERE model = 'ov' ORDER BY domain
$$;

-- nothing trained: every domain of the relation, with its rows
SELECT * FROM pg_temp.overview();

SELECT xdrec.train('ov', 'd0') ? 'version' AS trained;
SELECT xdrec.adapt('ov', 'd1', 'direct') ? 'version' AS adapted;
SELECT * FROM pg_temp.overview();
-- the test metric and the baseline's, on the same positives
SELECT domain, test_metric BETWEEN 0 AND 1 AS metric_ok, baseline_metric BETWEEN 0 AND 1 AS baseline_ok
FROM xdrec.overview WHERE model = 'ov' AND served_version IS NOT NULL ORDER BY domain;

-- new interactions: the data changed since training
INSERT INTO ogen SELECT * FROM ogen WHERE domain = 'd1';
SELECT * FROM pg_temp.overview();
-- a retrained source leaves the target stale
SELECT xdrec.train('ov', deploy => 'always') ? 'version' AS retrained;
SELECT * FROM pg_temp.overview();

-- a role that may not read the relation sees no rows_now, and no error
CREATE ROLE regress_xdrec_overview;
SELECT xdrec.grant('ov', 'regress_xdrec_overview');
SET ROLE regress_xdrec_overview;
SELECT domain, served_version IS NOT NULL AS served, rows_now FROM xdrec.overview ORDER BY domain;
RESET ROLE;
DROP ROLE regress_xdrec_overview;

SELECT xdrec.drop_model('ov');
DROP TABLE ogen;
DROP EXTENSION xdrec;
