-- ---------------------------------------------------------------------------
-- Forgetting a user (src/pg/store/forget.c; docs/security.md, "Forgetting a
-- user"): their embedding and profile leave every stored version of the
-- domain, and later training and adaptation leave their rows out.

-- Both forms return how many stored versions held the user (0 when none
-- did, e.g. when the user was forgotten already: a notice says so).
CREATE OR REPLACE FUNCTION xdrec.forget_user(name text, domain text, user_key text)
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_forget_user_text';

CREATE OR REPLACE FUNCTION xdrec.forget_user(name text, domain text, user_key bigint)
RETURNS integer
LANGUAGE c VOLATILE SECURITY INVOKER
AS 'MODULE_PATHNAME', 'xdrec_forget_user_int8';

