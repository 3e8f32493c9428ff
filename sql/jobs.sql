-- Background jobs without running one (docs/jobs.md): the cap and who sets
-- it, submitting under SET ROLE, cancelling a job before its transaction
-- commits (its worker then finds nothing to run), who may cancel, and the
-- errors of cancel and wait. Jobs that run are tested by
-- test/integration/jobs_*.sh.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/err.sql

CREATE ROLE regress_xdrec_jobs_team NOLOGIN;
CREATE ROLE regress_xdrec_jobs_user NOLOGIN;
SELECT xdrec.generate('jgen', '{"seed": 4, "domains": 2, "sizes": {"source": {"users": 50, "items": 30, "interactions": 500}, "target": {"users": 20, "items": 10, "interactions": 100}}}') AS rows;
GRANT SELECT ON jgen TO regress_xdrec_jobs_team;

-- the cap: default 2, set by the extension's owner only, within max_worker_processes
SELECT xdrec.max_workers();
-- (the server's max_worker_processes masked)
SELECT regexp_replace(pg_temp.err($$SELECT xdrec.set_max_workers(0)$$), '\(\d+\)', '(N)');
SELECT regexp_replace(pg_temp.err($$SELECT xdrec.set_max_workers(NULL)$$), '\(\d+\)', '(N)');
SELECT regexp_replace(pg_temp.err($$SELECT xdrec.set_max_workers(1000000)$$), '\(\d+\)', '(N)');
SELECT xdrec.set_max_workers(3);
SELECT xdrec.max_workers();
SET ROLE regress_xdrec_jobs_team;
SELECT pg_temp.err($$SELECT xdrec.set_max_workers(4)$$);
SELECT pg_temp.err($$INSERT INTO xdrec.setting VALUES ('max_workers', 4)$$);
RESET ROLE;
DELETE FROM xdrec.setting;
SELECT xdrec.max_workers();

-- a job submitted under SET ROLE and cancelled before its transaction commits
SET ROLE regress_xdrec_jobs_team;
SELECT xdrec.create_model('jm', 'jgen', 'user_key', 'item_key', 'domain',
	features => xdrec.generated_features(), options => '{"d": 4, "epochs": 1}') > 0 AS created;
BEGIN;
SELECT xdrec.train('jm', 'd0', background => true) - 'job' AS submitted;
SELECT kind, domain, state, submitted_by, login_role = session_user AS login_is_session_user
FROM xdrec.jobs WHERE model = 'jm';
SELECT xdrec.cancel(job) FROM xdrec.jobs WHERE model = 'jm';
COMMIT;
SELECT xdrec.wait(job, '10 s'), state, error, epoch, started_at IS NULL AS never_started
FROM xdrec.jobs WHERE model = 'jm';
SELECT xdrec.cancel(job) AS cancel_again FROM xdrec.jobs WHERE model = 'jm';
-- a rolled-back submission leaves no job
BEGIN;
SELECT xdrec.train('jm', 'd0', background => true) IS NOT NULL AS submitted;
ROLLBACK;
SELECT count(*) AS jobs FROM xdrec.jobs WHERE model = 'jm';
SELECT pg_temp.err($$SELECT xdrec.adapt('jm', 'd1', background => true)$$);
SELECT xdrec.grant('jm', 'regress_xdrec_jobs_user', 'use');
RESET ROLE;

-- who may cancel: not a role with the use privilege only
SET ROLE regress_xdrec_jobs_user;
SELECT count(*) AS visible_jobs FROM xdrec.jobs WHERE model = 'jm';
SELECT pg_temp.err(format('SELECT xdrec.cancel(%s)', max(job))) FROM xdrec.jobs WHERE model = 'jm';
SELECT pg_temp.err($$SELECT xdrec.train('jm', 'd0', background => true)$$);
RESET ROLE;

-- errors of cancel and wait
SELECT pg_temp.err($$SELECT xdrec.cancel(NULL)$$);
SELECT pg_temp.err($$SELECT xdrec.cancel(-1)$$);
SELECT pg_temp.err($$SELECT xdrec.wait(-1)$$);
SELECT pg_temp.err($$SELECT xdrec.wait(NULL)$$);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.err($$SELECT xdrec.wait(1)$$);
ROLLBACK;
SELECT xdrec.run_pending() >= 0 AS swept;

-- jobs whose login role cannot log in fail with 28000, every one of them (a
-- second such job once crashed the dispatching backend); a kind nothing
-- submits is refused
INSERT INTO xdrec.job (model_id, domain, kind, submitted_by, login_role)
SELECT m.id, d, 'train', 'regress_xdrec_jobs_team', 'regress_xdrec_jobs_team'
FROM xdrec.model m, (VALUES ('d0'), ('d1')) v(d)
WHERE m.name = 'jm';
SELECT xdrec.run_pending() >= 0 AS swept;
SELECT domain, state, sqlstate, error FROM xdrec.jobs
WHERE model = 'jm' AND login_role = 'regress_xdrec_jobs_team' ORDER BY job;
SELECT pg_temp.err($$INSERT INTO xdrec.job (model_id, domain, kind, submitted_by, login_role)
	SELECT id, 'd0', 'evaluate', current_user, current_user FROM xdrec.model WHERE name = 'jm'$$);
-- a role writes no job row itself: it cannot name another login role for a
-- job's worker to connect as
SET ROLE regress_xdrec_jobs_team;
SELECT pg_temp.err($$INSERT INTO xdrec.job (model_id, domain, kind, login_role)
	SELECT id, 'd0', 'train', 'regress_xdrec_jobs_user' FROM xdrec.model WHERE name = 'jm'$$);
SELECT pg_temp.err($$UPDATE xdrec.job SET login_role = 'regress_xdrec_jobs_user'
	WHERE submitted_by = current_user$$);
RESET ROLE;

-- drop_model cancels the model's jobs and drops them with it
SET ROLE regress_xdrec_jobs_team;
SELECT xdrec.drop_model('jm');
RESET ROLE;
SELECT count(*) AS jobs_left FROM xdrec.job;
DROP TABLE jgen;
DROP ROLE regress_xdrec_jobs_team, regress_xdrec_jobs_user;
-- a worker this test started may not have ended yet (on a loaded machine it
-- may even start now): it takes the extension's lock before the job tables,
-- as DROP EXTENSION does, so the drop waits for its transaction or it finds
-- the extension gone and exits (test/integration/jobs_drop_extension.sh)
DROP EXTENSION xdrec;
