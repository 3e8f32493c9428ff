/*
 * help_fn.c - the C side of help inside psql (sql/src/47_help.sql): errors
 * raised without the internal PL/pgSQL frames as CONTEXT lines, and "did
 * you mean" for SQL callers.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "data/data.h"

/*
 * xdrec_internal.reraise(sqlstate, message, detail, hint): raises the error a
 * user-facing plpgsql function caught from its own body, as its own. The
 * frames of xdrec's functions it came through (PL/pgSQL's CONTEXT lines)
 * say nothing the caller can act on, so the error context is dropped; the
 * SQLSTATE, message, detail and hint stay.
 */
PG_FUNCTION_INFO_V1(xdrec_raise);
Datum
xdrec_raise(PG_FUNCTION_ARGS)
{
	char	   *state = PG_ARGISNULL(0) ? "XX000" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *message = PG_ARGISNULL(1) ? "unknown error" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *detail = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *hint = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));

	if (strlen(state) != 5)
		state = "XX000";
	/* PG_TRY blocks up the stack restore it as the error unwinds */
	error_context_stack = NULL;
	/* a plpgsql function's first write on a hot standby (25006) */
	if (strcmp(state, "25006") == 0)
		xdpg_check_writable("this call");
	ereport(ERROR,
			(errcode(MAKE_SQLSTATE(state[0], state[1], state[2], state[3], state[4])),
			 errmsg_internal("%s", message),
			 (detail && *detail) ? errdetail_internal("%s", detail) : 0,
			 (hint && *hint) ? errhint("%s", hint) : 0));
	PG_RETURN_VOID();
}

/* xdrec_internal.did_you_mean(word, candidates): 'Did you mean "x"?', or NULL. */
PG_FUNCTION_INFO_V1(xdrec_did_you_mean);
Datum
xdrec_did_you_mean(PG_FUNCTION_ARGS)
{
	char	   *word;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	const char **cands;
	const char *best;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	word = text_to_cstring(PG_GETARG_TEXT_PP(0));
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	cands = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		cands[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	best = xdpg_did_you_mean(word, cands, n);
	if (best == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("Did you mean \"%s\"?", best)));
}
