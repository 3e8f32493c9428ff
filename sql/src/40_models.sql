-- ---------------------------------------------------------------------------
-- Models: declare, drop, grant and revoke (DESIGN sections 1, 6, 9). In C
-- (src/pg/fn/model_fn.c): each checks the caller, then writes the catalog as
-- its owner (roles write none of it themselves).

-- Validated by xdrec_internal.check_model, as the caller.
CREATE OR REPLACE FUNCTION xdrec.create_model(
	name text,
	relation regclass,
	user_col text,
	item_col text,
	domain_col text,
	rating_col text DEFAULT NULL,
	features jsonb DEFAULT '[]',
	options jsonb DEFAULT '{}')
RETURNS bigint
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_create_model';

-- Its jobs are cancelled first (docs/jobs.md): a worker deploys nothing to a
-- dropped model.
CREATE OR REPLACE FUNCTION xdrec.drop_model(name text)
RETURNS void
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_drop_model';

CREATE OR REPLACE FUNCTION xdrec.grant(name text, role text, privilege text DEFAULT 'use')
RETURNS void
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_grant';

CREATE OR REPLACE FUNCTION xdrec.revoke(name text, role text)
RETURNS void
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_revoke';
