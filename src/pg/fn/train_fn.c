/*
 * train_fn.c - xdrec.train(name, source_domain, background, deploy): the
 * source domain trained in the caller's transaction through the three phases
 * of run/train_run.c, or, with background => true, submitted as a job
 * (jobs/jobs.c) once its domain and deploy policy are checked as the call
 * would check them.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"

#include "jobs/jobs.h"
#include "run/run.h"

PG_FUNCTION_INFO_V1(xdrec_train);
Datum
xdrec_train(PG_FUNCTION_ARGS)
{
	char	   *name,
			   *domain,
			   *deploy;
	XdTrainRun *run;
	MemoryContext callcxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model name must not be null")));
	xdpg_check_writable("xdrec.train");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	domain = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	deploy = PG_NARGS() > 3 && !PG_ARGISNULL(3) ? text_to_cstring(PG_GETARG_TEXT_PP(3)) : NULL;
	if (!PG_ARGISNULL(2) && PG_GETARG_BOOL(2))
	{
		XdModelDef *md;

		/* the job names its domain now, checked as the call would */
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "xdrec: SPI_connect failed");
		md = xdpg_model_load(name, "train");
		domain = MemoryContextStrdup(callcxt, xdpg_train_source_domain(md, domain));
		(void) xdpg_deploy_policy(md, deploy);
		SPI_finish();
		PG_RETURN_JSONB_P(xdpg_job_submit(name, "train", domain, NULL, deploy));
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "xdrec: SPI_connect failed");
	run = xdpg_train_load(name, domain, deploy, callcxt);
	xdpg_train_fit(run, NULL);
	PG_RETURN_DATUM(xdpg_fit_result(xdpg_train_store(run)));
}
