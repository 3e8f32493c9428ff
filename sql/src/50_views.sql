-- ---------------------------------------------------------------------------
-- Views. security_invoker, so the caller's row-level security applies.

CREATE OR REPLACE VIEW xdrec.models WITH (security_invoker = true) AS
SELECT m.name,
	   m.relation,
	   m.user_col,
	   m.item_col,
	   m.domain_col,
	   m.rating_col,
	   xdrec_internal.resolved_options(m.options) ->> 'feedback' AS feedback,
	   xdrec_internal.resolved_options(m.options) ->> 'variant' AS variant,
	   (SELECT count(*) FROM xdrec.feature f WHERE f.model_id = m.id) AS features,
	   m.source_domain,
	   m.owner,
	   CASE WHEN xdrec_internal.is_member(m.owner) THEN 'own'
			WHEN xdrec_internal.model_access(m.id, 'train') THEN 'train'
			ELSE 'use' END AS access,
	   m.created_at,
	   m.options,
	   m.id,
	   -- a stored option outside its rule (the row was changed outside
	   -- xdrec): every function that loads the model refuses it (XX001),
	   -- but the listing still shows it, and every other model
	   xdrec_internal.options_fault(m.options) AS options_fault
FROM xdrec.model m;

GRANT SELECT ON xdrec.models TO PUBLIC;

-- A target is stale when the shared (source) version it pins is no longer the
-- one the source serves: it keeps serving on its pinned modules until it is
-- adapted again (DESIGN section 1).
CREATE OR REPLACE VIEW xdrec.domains WITH (security_invoker = true) AS
SELECT m.name AS model,
	   d.domain,
	   d.role,
	   v.method,
	   d.served_version,
	   v.pins_shared_version,
	   (d.role = 'target' AND v.pins_shared_version IS DISTINCT FROM s.served_version) AS stale,
	   (v.metrics ->> 'rows')::bigint AS rows,
	   (v.metrics ->> 'users')::bigint AS users,
	   (v.metrics ->> 'items')::bigint AS items,
	   v.metrics -> 'test' AS metrics,
	   v.created_at AS trained_at
FROM xdrec.domain d
JOIN xdrec.model m ON m.id = d.model_id
LEFT JOIN xdrec.version v ON v.id = d.served_version
LEFT JOIN xdrec.domain s ON s.model_id = d.model_id AND s.domain = m.source_domain;

GRANT SELECT ON xdrec.domains TO PUBLIC;

-- Every job the caller may see, with its latest progress row.
CREATE OR REPLACE VIEW xdrec.jobs WITH (security_invoker = true) AS
SELECT j.id AS job,
	   m.name AS model,
	   j.kind,
	   j.domain,
	   j.options ->> 'method' AS method,
	   s.state,
	   p.epoch,
	   p.loss,
	   p.metric,
	   p.rows_per_sec,
	   p.eta,
	   CASE WHEN s.state = 'failed' AND j.state IN ('running', 'cancelling')
			THEN 'the job''s worker ended without recording an outcome (server crash, restart or terminated backend)'
			ELSE j.error END AS error,
	   j.sqlstate,
	   j.submitted_by,
	   j.login_role,
	   j.submitted_at,
	   j.started_at,
	   j.finished_at,
	   j.pid,
	   j.result,
	   e.epochs_max,
	   -- time-based: the run so far against it plus the ETA to epochs_max
	   -- (early stopping ends sooner, so this is a lower bound)
	   CASE WHEN s.state = 'finished' THEN 100
			WHEN p.eta IS NOT NULL AND p.at > j.started_at
			THEN floor(100 * extract(epoch FROM p.at - j.started_at)
					   / (extract(epoch FROM p.at - j.started_at) + extract(epoch FROM p.eta)))::int
	   END AS percent,
	   CASE WHEN s.state IN ('running', 'cancelling') AND p.epoch IS NOT NULL
			THEN format('epoch %s of at most %s', p.epoch, e.epochs_max) END AS progress
FROM xdrec.job j
JOIN xdrec.model m ON m.id = j.model_id
CROSS JOIN LATERAL (SELECT xdrec_internal.job_state(j.id, j.state) AS state) s
LEFT JOIN LATERAL (SELECT x.epoch, x.loss, x.metric, x.rows_per_sec, x.eta, x.at
				   FROM xdrec.job_progress x WHERE x.job_id = j.id
				   ORDER BY x.epoch DESC LIMIT 1) p ON true
-- the most epochs the run may take: training's "epochs" for each rate of
-- the learning-rate search, then 5 epochs of each of DRR's three encoders
-- (XD_ENC_EPOCHS, include/xdrec/encoder.h); an adaptation pretrains first,
-- and auto (and DRR's lambda_kl search) fit three times
CROSS JOIN LATERAL (SELECT xdrec_internal.resolved_options(m.options) AS r) ro
CROSS JOIN LATERAL (SELECT (ro.r ->> 'epochs')::int * (ro.r ->> 'lr_search')::int AS fit,
						   (ro.r ->> 'pretrain_epochs')::int AS pre) o
CROSS JOIN LATERAL (SELECT CASE WHEN j.kind = 'train' THEN o.fit + 3 * 5
								WHEN j.options ->> 'method' = 'direct' THEN o.pre
								WHEN j.options ->> 'method' = 'auto'
									 OR (coalesce(j.options ->> 'method', 'drr') = 'drr'
										 AND m.options ->> 'lambda_kl' = 'search')
								THEN o.pre + 3 * o.fit
								ELSE o.pre + o.fit END AS epochs_max) e;

GRANT SELECT ON xdrec.jobs TO PUBLIC;

CREATE OR REPLACE VIEW xdrec.cache_stats WITH (security_invoker = true) AS
	SELECT * FROM xdrec.cache_stats();
GRANT SELECT ON xdrec.cache_stats TO PUBLIC;

