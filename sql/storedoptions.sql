-- A model's stored options row (xdrec.model.options) changed outside xdrec
-- (docs/reliability.md, docs/security.md "Attacks tested"): every function
-- that loads the model refuses it (XX001 naming the model and the option),
-- while the views that list models still list every one, the damaged one
-- marked in xdrec.models.options_fault, for every role that sees them. No
-- case changes the catalog: each runs in a transaction rolled back.
SET client_min_messages = warning;
CREATE EXTENSION xdrec;
RESET client_min_messages;

\i sql/include/try.sql
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

CREATE ROLE regress_xdrec_opt_owner;
CREATE ROLE regress_xdrec_opt_user;
SELECT xdrec.generate('ogen', '{"seed": 4, "domains": 2, "sizes": {"source": {"users": 30, "items": 20, "interactions": 300}, "target": {"users": 10, "items": 10, "interactions": 60}}}') AS rows;
GRANT SELECT ON ogen TO regress_xdrec_opt_owner;
SET ROLE regress_xdrec_opt_owner;
SELECT xdrec.create_model('ok1', 'ogen', 'user_key', 'item_key', 'domain', options => '{"d": 4, "epochs": 1}') > 0 AS ok1;
SELECT xdrec.create_model('bad', 'ogen', 'user_key', 'item_key', 'domain', options => '{"d": 4, "epochs": 1, "variant": "fmt"}') > 0 AS bad;
SELECT xdrec.create_model('ok2', 'ogen', 'user_key', 'item_key', 'domain', options => '{"d": 4, "epochs": 1}') > 0 AS ok2;
SELECT xdrec.grant(m, 'regress_xdrec_opt_user', 'use') FROM unnest(ARRAY['ok1', 'bad', 'ok2']) m;
RESET ROLE;

CREATE TEMP TABLE before AS SELECT name, options FROM xdrec.model;
-- the listing as the owner and as a grantee, and the jobs view, whose
-- epochs bound reads the options: a job of the damaged model is submitted
-- first (in the transaction, so no worker starts it)
CREATE FUNCTION pg_temp.listing() RETURNS TABLE (name text, feedback text, variant text,
	access text, options_fault text) LANGUAGE sql AS $$
	SELECT name, feedback, variant, access, options_fault FROM xdrec.models ORDER BY name $$;
CREATE FUNCTION pg_temp.jobs() RETURNS TABLE (model text, kind text, epochs_max int) LANGUAGE sql AS $$
	SELECT model, kind, epochs_max FROM xdrec.jobs ORDER BY job $$;
GRANT EXECUTE ON FUNCTION pg_temp.listing(), pg_temp.jobs() TO PUBLIC;

-- intact: no fault
SELECT * FROM pg_temp.listing();

-- one option out of its range, another of another type, and a third an
-- unknown choice: the model is listed, the broken options shown null in
-- the resolved options and named in options_fault; the others intact
BEGIN;
SET ROLE regress_xdrec_opt_owner;
SELECT xdrec.train('bad', 'd0', background => true) ? 'job' AS submitted;
RESET ROLE;
UPDATE xdrec.model SET options = options || '{"cold_support": 1000000000, "epochs": "3", "variant": "mlp"}' WHERE name = 'bad';
SELECT * FROM pg_temp.listing();
SELECT (xdrec_internal.resolved_options(options) -> 'cold_support') AS cold_support,
	   (xdrec_internal.resolved_options(options) -> 'epochs') AS epochs,
	   (xdrec_internal.resolved_options(options) -> 'd') AS d
FROM xdrec.model WHERE name = 'bad';
SET ROLE regress_xdrec_opt_owner;
SELECT * FROM pg_temp.listing();
SELECT * FROM pg_temp.jobs();
SELECT model, count(*) FROM xdrec.domains GROUP BY model;
-- every function that loads it refuses it, naming it and the first option
SELECT pg_temp.try($$SELECT xdrec.train('bad', 'd0')$$) AS train;
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('bad', 1, '{}', 3)$$) AS rank;
SET ROLE regress_xdrec_opt_user;
SELECT * FROM pg_temp.listing();
SELECT * FROM pg_temp.jobs();
RESET ROLE;
-- alter_model checks the options it leaves: setting one again while
-- another stays broken is refused (22023), naming it; setting all three
-- repairs the row
SET ROLE regress_xdrec_opt_owner;
SELECT pg_temp.try($$SELECT xdrec.alter_model('bad', options => '{"cold_support": null, "epochs": 1}')$$) AS one;
SELECT xdrec.alter_model('bad', options => '{"cold_support": null, "epochs": 1, "variant": "fmt"}') ? 'cold_support' AS still_set;
SELECT name, variant, options_fault FROM xdrec.models WHERE name = 'bad';
-- (no longer XX001: the model is merely untrained)
SELECT pg_temp.try($$SELECT * FROM xdrec.rank('bad', 1, '{}', 3)$$) AS rank;
RESET ROLE;
ROLLBACK;

-- a fault in an option a view reads (feedback): null there, the rest listed
BEGIN;
UPDATE xdrec.model SET options = options || '{"feedback": 1}' WHERE name = 'ok2';
SET ROLE regress_xdrec_opt_user;
SELECT * FROM pg_temp.listing();
RESET ROLE;
ROLLBACK;

-- the catalog is as it was
SELECT count(*) AS changed FROM xdrec.model m FULL JOIN before b USING (name)
WHERE m.options IS DISTINCT FROM b.options;

SET ROLE regress_xdrec_opt_owner;
SELECT xdrec.drop_model(m) FROM unnest(ARRAY['ok1', 'bad', 'ok2']) m;
RESET ROLE;
DROP TABLE ogen;
DROP ROLE regress_xdrec_opt_owner, regress_xdrec_opt_user;
DROP EXTENSION xdrec CASCADE;
