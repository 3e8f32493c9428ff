-- ---------------------------------------------------------------------------
-- Views of a model's lifecycle (sql/src/46_lifecycle.sql). security_invoker,
-- so the caller's row-level security applies.

-- Every stored version: what trained it and how, how it validated and
-- tested, whether it is served, and its validation curve.
CREATE OR REPLACE VIEW xdrec.versions WITH (security_invoker = true) AS
SELECT m.name AS model,
	   v.domain,
	   v.id AS version,
	   v.kind AS role,
	   v.method,
	   v.state,
	   (d.served_version IS NOT NULL) AS served,
	   v.pins_shared_version,
	   v.encoder -> 'config' AS options,
	   v.metrics -> 'valid' AS valid,
	   v.metrics -> 'test' AS test,
	   xdrec.sparkline(ARRAY(SELECT (e ->> 'valid')::float8
							 FROM jsonb_array_elements(v.metrics -> 'curve') e)) AS valid_curve,
	   (v.metrics ->> 'rows')::bigint AS rows,
	   v.created_at AS trained_at,
	   v.trained_by,
	   v.deployed_at
FROM xdrec.version v
JOIN xdrec.model m ON m.id = v.model_id
LEFT JOIN xdrec.domain d ON d.model_id = v.model_id AND d.served_version = v.id;

GRANT SELECT ON xdrec.versions TO PUBLIC;

-- Each feature as declared, with what the source version learned of it: the
-- frozen vocabulary of a categorical feature, the training range of a
-- numeric one in the source domain (each domain scales by its own range).
CREATE OR REPLACE VIEW xdrec.features WITH (security_invoker = true) AS
SELECT m.name AS model,
	   f.position,
	   f.name AS feature,
	   f.kind,
	   f.type,
	   f.scope,
	   f.column_name AS "column",
	   f.expression,
	   f.options,
	   CASE WHEN x.sf ? 'vocab' THEN ARRAY(SELECT jsonb_array_elements_text(x.sf -> 'vocab')) END AS vocabulary,
	   (x.sf ->> 'min')::float8 AS min,
	   (x.sf ->> 'max')::float8 AS max,
	   s.served_version AS source_version
FROM xdrec.feature f
JOIN xdrec.model m ON m.id = f.model_id
LEFT JOIN xdrec.domain s ON s.model_id = m.id AND s.domain = m.source_domain
LEFT JOIN xdrec.version v ON v.id = s.served_version
LEFT JOIN LATERAL (SELECT e FROM jsonb_array_elements(v.encoder -> 'schema' -> 'features') e
				   WHERE e ->> 'name' = f.name) x(sf) ON true;

GRANT SELECT ON xdrec.features TO PUBLIC;

-- The DBA's health view: per model and domain (trained or only in the
-- relation), what serves, how it compares with popularity in context on its
-- test split, the data it was trained on against the data now (a scan of
-- each model's relation), and the last job. health sums it up.
CREATE OR REPLACE VIEW xdrec.overview WITH (security_invoker = true) AS
WITH now_rows AS (
	SELECT m.id AS model_id, r.domain, r.n
	FROM xdrec.model m CROSS JOIN LATERAL xdrec_internal.domain_rows(m) r
), pairs AS (
	SELECT d.model_id, d.domain FROM xdrec.domain d
	UNION
	SELECT model_id, domain FROM now_rows
)
SELECT m.name AS model,
	   p.domain,
	   coalesce(d.role, CASE WHEN p.domain = m.source_domain THEN 'source'
							 WHEN m.source_domain IS NOT NULL THEN 'target' END) AS role,
	   d.served_version,
	   v.method,
	   dv.stale,
	   (v.metrics -> 'test' ->> coalesce(k.key, 'mrr'))::float8 AS test_metric,
	   (v.metrics -> 'test' -> coalesce(k.base, 'popularity') ->> coalesce(k.key, 'mrr'))::float8 AS baseline_metric,
	   (v.metrics ->> 'rows')::bigint AS rows_trained,
	   nr.n AS rows_now,
	   v.created_at AS trained_at,
	   j.job AS last_job,
	   j.state AS last_job_state,
	   j.error AS last_job_error,
	   CASE WHEN j.state = 'failed' THEN 'last job failed'
			WHEN d.served_version IS NULL AND (p.domain = m.source_domain OR m.source_domain IS NULL) THEN 'not trained'
			WHEN d.served_version IS NULL THEN 'not adapted'
			WHEN dv.stale THEN 'stale: adapt again'
			WHEN nr.n IS NOT NULL AND abs(nr.n - (v.metrics ->> 'rows')::bigint) > 0.1 * (v.metrics ->> 'rows')::bigint
			THEN CASE WHEN d.role = 'source' THEN 'data changed: train again' ELSE 'data changed: adapt again' END
			WHEN k.key = 'rmse' AND (v.metrics -> 'test' ->> 'rmse')::float8 > (v.metrics -> 'test' -> 'mean' ->> 'rmse')::float8
			THEN 'worse than the mean rating'
			WHEN coalesce(k.key, 'mrr') = 'mrr'
				 AND (v.metrics -> 'test' ->> 'mrr')::float8 < (v.metrics -> 'test' -> 'popularity' ->> 'mrr')::float8
			THEN 'below popularity'
			ELSE 'ok' END AS health
FROM pairs p
JOIN xdrec.model m ON m.id = p.model_id
LEFT JOIN xdrec.domain d ON d.model_id = p.model_id AND d.domain = p.domain
LEFT JOIN xdrec.version v ON v.id = d.served_version
LEFT JOIN xdrec.domains dv ON dv.model = m.name AND dv.domain = p.domain
LEFT JOIN now_rows nr ON nr.model_id = p.model_id AND nr.domain = p.domain
LEFT JOIN LATERAL (SELECT CASE WHEN v.metrics -> 'test' ? 'rmse' THEN 'rmse' END AS key,
						  CASE WHEN v.metrics -> 'test' ? 'rmse' THEN 'mean' END AS base) k ON true
LEFT JOIN LATERAL (SELECT x.job, x.state, x.error FROM xdrec.jobs x
				   WHERE x.model = m.name AND x.domain = p.domain
				   ORDER BY x.job DESC LIMIT 1) j ON true;

GRANT SELECT ON xdrec.overview TO PUBLIC;
