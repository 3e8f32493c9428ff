-- xdrec install script, built by the Makefile from the parts in sql/src/, in
-- name order (docs/CONTRIBUTING.md, "The install script"). Parts named
-- NN_name.install.sql run only on CREATE EXTENSION (the schema and the
-- tables); the others hold functions and views, are re-runnable (CREATE OR
-- REPLACE), and also end every upgrade script (sql/upgrade/).

\echo Use "CREATE EXTENSION xdrec" to load this file. \quit

-- Everything lives in the fixed schema xdrec; only the short form xdrec_rank
-- goes to @extschema@, the schema CREATE EXTENSION chose. The helpers of
-- xdrec's functions, views and policies live in xdrec_internal, apart from
-- what users call (docs/security.md): each is safe to call directly, giving
-- a role nothing the functions of xdrec would not.
CREATE SCHEMA xdrec;
GRANT USAGE ON SCHEMA xdrec TO PUBLIC;
COMMENT ON SCHEMA xdrec IS 'xdrec: catalog, functions and views of the recommender';
CREATE SCHEMA xdrec_internal;
GRANT USAGE ON SCHEMA xdrec_internal TO PUBLIC;
COMMENT ON SCHEMA xdrec_internal IS 'xdrec: helpers of its functions, views and policies (not an interface)';

-- ---------------------------------------------------------------------------
-- Catalog. Table names are singular; the plural names (xdrec.models, ...) are
-- the views users read. Relations are regclass, roles are names: no raw OIDs,
-- so pg_dump/pg_restore carries everything (DESIGN section 7).

CREATE SEQUENCE xdrec.model_id_seq;
CREATE SEQUENCE xdrec.version_id_seq;
CREATE SEQUENCE xdrec.job_id_seq;
