-- Ownership, grants and row-level security with three roles: an owner, a
-- grantee and a stranger (DESIGN section 9, docs/security.md).
CREATE EXTENSION xdrec;

CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE q;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;

CREATE ROLE regress_xdrec_owner;
CREATE ROLE regress_xdrec_grantee;
CREATE ROLE regress_xdrec_stranger;

CREATE TABLE rt_interactions (user_id bigint, item_id bigint, city text, hour int);
INSERT INTO rt_interactions SELECT i % 5, i % 7, 'c' || (i % 2), i % 24 FROM generate_series(1, 20) i;
GRANT SELECT ON rt_interactions TO regress_xdrec_owner, regress_xdrec_grantee;
CREATE TABLE rt_open (user_id bigint, item_id bigint, city text);
GRANT SELECT ON rt_open TO PUBLIC;

-- the owner creates a model
SET ROLE regress_xdrec_owner;
SELECT xdrec.create_model('shared', 'rt_interactions', 'user_id', 'item_id', 'city',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]') > 0 AS created;
SELECT name, owner, access, features FROM xdrec.models;
RESET ROLE;
SELECT id AS model_id FROM xdrec.model WHERE name = 'shared' \gset

-- the stranger sees nothing and can do nothing
SET ROLE regress_xdrec_stranger;
SELECT count(*) AS models FROM xdrec.models;
SELECT count(*) AS rows FROM xdrec.model;
SELECT count(*) AS features FROM xdrec.feature;
SELECT pg_temp.try($$SELECT xdrec.drop_model('shared')$$);
SELECT pg_temp.try($$SELECT xdrec.grant('shared', 'regress_xdrec_stranger')$$);
SELECT pg_temp.try($$SELECT xdrec.revoke('shared', 'regress_xdrec_grantee')$$);
-- it cannot read the interactions, so it cannot model them
SELECT pg_temp.try($$SELECT xdrec.create_model('mine', 'rt_interactions', 'user_id', 'item_id', 'city')$$);
-- model names are unique per database, even across owners
SELECT pg_temp.try($$SELECT xdrec.create_model('shared', 'rt_open', 'user_id', 'item_id', 'city')$$);
-- going around the functions is refused: roles only read the catalog
SELECT pg_temp.try($$DELETE FROM xdrec.model$$);
SELECT pg_temp.try($$UPDATE xdrec.model SET source_domain = 'c0'$$);
SELECT pg_temp.try(format($$INSERT INTO xdrec.model_grant (model_id, grantee, privilege, owner) VALUES (%s, 'regress_xdrec_stranger', 'train', 'regress_xdrec_owner')$$, :model_id));
SELECT pg_temp.try(format($$INSERT INTO xdrec.model_grant (model_id, grantee, privilege, owner) VALUES (%s, 'regress_xdrec_stranger', 'train', 'regress_xdrec_stranger')$$, :model_id));
SELECT pg_temp.try(format($$INSERT INTO xdrec.feature (model_id, position, name, column_name, kind, type) VALUES (%s, 9, 'x', 'city', 'attributional', 'categorical')$$, :model_id));
SELECT pg_temp.try($$INSERT INTO xdrec.model (name, relation, user_col, item_col, domain_col, user_type, item_type, domain_type, owner) VALUES ('forged', 'rt_open', 'user_id', 'item_id', 'city', 'bigint', 'bigint', 'text', 'regress_xdrec_owner')$$);
-- the stranger's own model is its own
SELECT xdrec.create_model('strangers', 'rt_open', 'user_id', 'item_id', 'city') > 0 AS created;
SELECT name, owner, access FROM xdrec.models ORDER BY name;
RESET ROLE;

-- column privileges count: a role that may read only the key columns
-- cannot use a feature column or expression over the others
CREATE ROLE regress_xdrec_partial;
GRANT SELECT (user_id, item_id, city) ON rt_interactions TO regress_xdrec_partial;
SET ROLE regress_xdrec_partial;
SELECT pg_temp.try($$SELECT xdrec.create_model('partial', 'rt_interactions', 'user_id', 'item_id', 'city',
	features => '[{"name": "hour", "column": "hour", "kind": "interactional", "type": "numeric"}]')$$);
SELECT pg_temp.try($$SELECT xdrec.create_model('partial', 'rt_interactions', 'user_id', 'item_id', 'city',
	features => '[{"name": "h2", "expression": "hour * 2", "kind": "interactional", "type": "numeric"}]')$$);
SELECT xdrec.create_model('partial', 'rt_interactions', 'user_id', 'item_id', 'city') > 0 AS created;
SELECT xdrec.drop_model('partial');
RESET ROLE;
REVOKE ALL ON rt_interactions FROM regress_xdrec_partial;
DROP ROLE regress_xdrec_partial;

-- the grantee sees nothing before the grant
SET ROLE regress_xdrec_grantee;
SELECT count(*) AS models FROM xdrec.models;
RESET ROLE;

-- the owner grants 'use'
SET ROLE regress_xdrec_owner;
SELECT xdrec.grant('shared', 'regress_xdrec_grantee');
SELECT pg_temp.try($$SELECT xdrec.grant('shared', 'regress_xdrec_nobody')$$);
SELECT pg_temp.try($$SELECT xdrec.grant('shared', 'regress_xdrec_grantee', 'admin')$$);
SELECT pg_temp.try($$SELECT xdrec.grant('shared', 'regress_xdrec_owner')$$);
SELECT pg_temp.try($$SELECT xdrec.grant('no_such_model', 'regress_xdrec_grantee')$$);
SELECT pg_temp.try($$SELECT xdrec.revoke('shared', 'regress_xdrec_nobody')$$);
SELECT grantee, privilege FROM xdrec.model_grant ORDER BY grantee;
RESET ROLE;

SET ROLE regress_xdrec_grantee;
SELECT name, owner, access, features FROM xdrec.models;
SELECT name, kind FROM xdrec.feature;
SELECT grantee, privilege FROM xdrec.model_grant;
-- so do the members of a grantee role
RESET ROLE;
CREATE ROLE regress_xdrec_member IN ROLE regress_xdrec_grantee;
SET ROLE regress_xdrec_member;
SELECT name, access FROM xdrec.models;
RESET ROLE;
DROP ROLE regress_xdrec_member;
SET ROLE regress_xdrec_grantee;
-- a grantee cannot drop, grant or revoke
SELECT pg_temp.try($$SELECT xdrec.drop_model('shared')$$);
SELECT pg_temp.try($$SELECT xdrec.grant('shared', 'regress_xdrec_stranger')$$);
SELECT pg_temp.try($$SELECT xdrec.revoke('shared', 'regress_xdrec_grantee')$$);
SELECT pg_temp.try($$DELETE FROM xdrec.model$$);
-- neither 'use' nor 'train' writes training state directly
SELECT pg_temp.try(format($$INSERT INTO xdrec.domain (model_id, domain, role) VALUES (%s, 'c0', 'source')$$, :model_id));
RESET ROLE;

SET ROLE regress_xdrec_owner;
SELECT xdrec.grant('shared', 'regress_xdrec_grantee', privilege => 'train');
RESET ROLE;
SET ROLE regress_xdrec_grantee;
SELECT name, access FROM xdrec.models;
SELECT pg_temp.try(format($$INSERT INTO xdrec.domain (model_id, domain, role) VALUES (%s, 'c0', 'source')$$, :model_id));
SELECT domain, role FROM xdrec.domain;
RESET ROLE;

-- the stranger still sees none of it
SET ROLE regress_xdrec_stranger;
SELECT count(*) AS domains FROM xdrec.domain;
SELECT name FROM xdrec.models;
RESET ROLE;

-- after revoke, the grantee sees nothing again
SET ROLE regress_xdrec_owner;
SELECT xdrec.revoke('shared', 'regress_xdrec_grantee');
SELECT xdrec.revoke('shared', 'regress_xdrec_grantee');
RESET ROLE;
SET ROLE regress_xdrec_grantee;
SELECT count(*) AS models FROM xdrec.models;
SELECT count(*) AS domains FROM xdrec.domain;
RESET ROLE;

-- a grant to a role that is later dropped stops counting and breaks nothing
CREATE ROLE regress_xdrec_temp;
SET ROLE regress_xdrec_owner;
SELECT xdrec.grant('shared', 'regress_xdrec_temp');
RESET ROLE;
DROP ROLE regress_xdrec_temp;
SET ROLE regress_xdrec_owner;
SELECT name, access FROM xdrec.models;
-- only the owner drops
SELECT xdrec.drop_model('shared');
SELECT count(*) AS models FROM xdrec.models;
RESET ROLE;

SELECT count(*) AS grants_left FROM xdrec.model_grant;
SELECT count(*) AS domains_left FROM xdrec.domain;
SELECT name FROM xdrec.models;

SET ROLE regress_xdrec_stranger;
SELECT xdrec.drop_model('strangers');
RESET ROLE;

DROP EXTENSION xdrec;
DROP TABLE rt_interactions, rt_open;
DROP ROLE regress_xdrec_owner, regress_xdrec_grantee, regress_xdrec_stranger;
