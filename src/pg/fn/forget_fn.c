/*
 * forget_fn.c - xdrec.forget_user(name, domain, user_key), for text and
 * bigint keys: the arguments checked, then store/forget.c forgets the user
 * (docs/security.md, "Forgetting a user").
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "store/store.h"

static void
check_args(FunctionCallInfo fcinfo)
{
	static const char *const what[3] = {"model name", "domain", "user_key"};

	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s must not be null", what[i])));
}

PG_FUNCTION_INFO_V1(xdrec_forget_user_text);
Datum
xdrec_forget_user_text(PG_FUNCTION_ARGS)
{
	xdpg_check_writable("xdrec.forget_user");
	check_args(fcinfo);
	PG_RETURN_INT32(xdpg_forget_user(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								text_to_cstring(PG_GETARG_TEXT_PP(1)),
								text_to_cstring(PG_GETARG_TEXT_PP(2))));
}

PG_FUNCTION_INFO_V1(xdrec_forget_user_int8);
Datum
xdrec_forget_user_int8(PG_FUNCTION_ARGS)
{
	xdpg_check_writable("xdrec.forget_user");
	check_args(fcinfo);
	PG_RETURN_INT32(xdpg_forget_user(text_to_cstring(PG_GETARG_TEXT_PP(0)),
								text_to_cstring(PG_GETARG_TEXT_PP(1)),
								psprintf(INT64_FORMAT, PG_GETARG_INT64(2))));
}
