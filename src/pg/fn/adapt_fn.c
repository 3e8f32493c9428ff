/*
 * adapt_fn.c - xdrec.adapt(name, domain, method, background, deploy): one
 * target domain adapted in the caller's transaction through the three phases
 * of run/adapt_run.c, or, with background => true, submitted as a job
 * (jobs/jobs.c) once its method is checked. xdrec.adapt_all is plpgsql
 * (sql/src/).
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jobs/jobs.h"
#include "run/run.h"

PG_FUNCTION_INFO_V1(xdrec_adapt);
Datum
xdrec_adapt(PG_FUNCTION_ARGS)
{
	char	   *name,
			   *domain,
			   *method_name,
			   *deploy;
	MemoryContext callcxt = CurrentMemoryContext;
	XdAdaptRun *run;
	bool		fewshot;

	xdpg_check_writable("xdrec.adapt");
	xdpg_fit_args(fcinfo, "domain", &name, &domain);
	deploy = PG_NARGS() > 4 && !PG_ARGISNULL(4) ? text_to_cstring(PG_GETARG_TEXT_PP(4)) : NULL;
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("method must not be null"),
				 errhint("Use 'drr', 'anneal', 'direct', 'auto', 'target_only' or 'fewshot'.")));
	method_name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	(void) xdpg_adapt_method(method_name, &fewshot);
	if (!PG_ARGISNULL(3) && PG_GETARG_BOOL(3))
		PG_RETURN_JSONB_P(xdpg_job_submit(name, "adapt", domain, method_name, deploy));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	run = xdpg_adapt_load(name, domain, method_name, deploy, callcxt);
	xdpg_adapt_fit(run, NULL);
	PG_RETURN_DATUM(xdpg_fit_result(xdpg_adapt_store(run)));
}
