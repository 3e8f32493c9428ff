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
