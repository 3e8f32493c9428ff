/*
 * options_fn.c - the SQL face of the model options' table (data/options.c):
 * xdrec_internal.check_options, which create_model and alter_model call,
 * xdrec_internal.resolved_options, a model's options with their defaults,
 * and xdrec_internal.options_fault, what breaks their rules, which the views
 * read, and xdrec_internal.options(), one row per option,
 * from which xdrec.help('options') and the reference's test read.
 */
#include "postgres.h"

#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/tuplestore.h"

#include "data/data.h"

/* xdrec_internal.check_options(options jsonb, has_rating boolean): options, or an error */
PG_FUNCTION_INFO_V1(xdrec_check_options);
Datum
xdrec_check_options(PG_FUNCTION_ARGS)
{
	Jsonb	   *opts = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);

	xdpg_options_check(opts, !PG_ARGISNULL(1) && PG_GETARG_BOOL(1));
	PG_RETURN_JSONB_P(opts);
}

/*
 * xdrec_internal.resolved_options(options jsonb): every option, defaults
 * resolved; null for a stored value that breaks its rule
 */
PG_FUNCTION_INFO_V1(xdrec_resolved_options);
Datum
xdrec_resolved_options(PG_FUNCTION_ARGS)
{
	Jsonb	   *opts = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	char	   *faults;

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(xdpg_options_json(opts, &faults))));
}

/*
 * xdrec_internal.options_fault(options jsonb): NULL, or the stored options
 * that break their rules, each as 'option "x" must be RULE, not VALUE'
 */
PG_FUNCTION_INFO_V1(xdrec_options_fault);
Datum
xdrec_options_fault(PG_FUNCTION_ARGS)
{
	Jsonb	   *opts = PG_ARGISNULL(0) ? NULL : PG_GETARG_JSONB_P(0);
	char	   *faults;

	(void) xdpg_options_json(opts, &faults);
	if (faults == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(faults));
}

/* xdrec_internal.options(): name, values, default, recorded, help */
PG_FUNCTION_INFO_V1(xdrec_options);
Datum
xdrec_options(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const XdOption *rows;
	int			n = xdpg_options(&rows);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = CStringGetTextDatum(rows[i].name);
		values[1] = CStringGetTextDatum(xdpg_option_values(&rows[i]));
		values[2] = CStringGetTextDatum(xdpg_option_default(&rows[i]));
		values[3] = BoolGetDatum(rows[i].recorded);
		values[4] = CStringGetTextDatum(rows[i].help);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
