/*
 * deploy.c - what happens to a version once a run has written it: the
 * deploy policy decides whether it is served (DESIGN section 1, "lifecycle
 * 0.2.0"), and the model's keep_versions prunes the domain's old versions.
 *
 *   'always'     serve it
 *   'never'      keep it stored; xdrec.deploy(name, domain, version) serves it
 *   'if_better'  (the default) serve it unless its validation metric is worse
 *                than the served version's beyond noise: by more than
 *                XDPG_DEPLOY_MARGIN_SE standard errors of the difference
 *
 * Both versions' metrics are means over their validation positives, so the
 * difference's standard error is sqrt(se_new^2 + se_served^2) (two
 * independent means; a retrained version of unchanged data validates on the
 * same positives, which makes this conservative). A served version written
 * before standard errors were stored is given the new one's.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"

#include "run/run.h"

/* as auto's rule (XD_AUTO_MARGIN_SE, docs/transfer.md): 2 standard errors */
#define XDPG_DEPLOY_MARGIN_SE 2.0

/* The policy of a call: its deploy argument, else the model's option. */
const char *
xdpg_deploy_policy(const XdModelDef *md, const char *requested)
{
	const char *p = requested ? requested : md->deploy;

	if (strcmp(p, "if_better") != 0 && strcmp(p, "always") != 0 && strcmp(p, "never") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("deploy must be 'if_better', 'always' or 'never', not '%s'", p),
				 errhint("'if_better' serves the new version unless it validates worse than the served one beyond noise.")));
	return p;
}

/*
 * Column col of the served version's row below: a finite number its
 * metrics recorded (text, as stored), or NaN when it recorded none. Catalog
 * contents are input: anything else is XX001 naming the version.
 */
static double
served_metric(const XdModelDef *md, const char *domain, int64 served, int col, const char *what)
{
	char	   *t = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col);
	char	   *end;
	double		x;

	if (t == NULL)
		return NAN;
	x = strtod(t, &end);
	if (end == t || *end != '\0' || !isfinite(x))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) is corrupt: its metrics record the validation %s \"%s\", not a finite number",
						served, md->name, domain, what, t),
				 errhint("Its rows in the xdrec catalog were changed outside xdrec or damaged. "
						 "Serve another version (xdrec.rollback) or train the domain again.")));
	return x;
}

/*
 * Whether the version just written for (md, domain) in role should be
 * served under policy, given its validation (valid). *reason says why, in
 * words for the summary and the notice.
 */
bool
xdpg_deploy_decide(const XdModelDef *md, const char *domain, const char *role,
				   const char *policy, const XdValidation *valid, char **reason)
{
	Oid			types[2] = {INT8OID, TEXTOID};
	Datum		vals[2] = {Int64GetDatum(md->id), CStringGetTextDatum(domain)};
	const char *key = md->explicit_fb ? "rmse" : "mrr";
	int64		served;
	char	   *served_kind;
	bool		isnull;
	double		old_metric,
				old_se,
				margin;
	bool		worse;

	if (strcmp(policy, "always") == 0)
	{
		*reason = "deploy => 'always'";
		return true;
	}
	if (strcmp(policy, "never") == 0)
	{
		*reason = "deploy => 'never'";
		return false;
	}
	/* operators qualified: the caller's search_path does not choose them */
	if (SPI_execute_with_args("SELECT d.served_version, v.kind, "
							  " v.metrics OPERATOR(pg_catalog.->) 'valid' OPERATOR(pg_catalog.->>) 'mrr', "
							  " v.metrics OPERATOR(pg_catalog.->) 'valid' OPERATOR(pg_catalog.->>) 'rmse', "
							  " v.metrics OPERATOR(pg_catalog.->) 'valid' OPERATOR(pg_catalog.->>) 'se' "
							  "FROM xdrec.domain d LEFT JOIN xdrec.version v "
							  " ON v.id OPERATOR(pg_catalog.=) d.served_version "
							  "WHERE d.model_id OPERATOR(pg_catalog.=) $1 AND d.domain OPERATOR(pg_catalog.=) $2",
							  2, types, vals, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "xdrec: reading the served version of domain %s failed", domain);
	if (SPI_processed == 0 ||
		(served = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)),
		 isnull))
	{
		*reason = psprintf("domain %s serves no version yet", domain);
		return true;
	}
	served_kind = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	if (served_kind == NULL || strcmp(served_kind, role) != 0)
	{
		*reason = psprintf("domain %s becomes a %s domain", domain, role);
		return true;
	}
	old_metric = served_metric(md, domain, served, md->explicit_fb ? 4 : 3, key);
	if (isnan(old_metric) || isnan(valid->metric))
	{
		*reason = psprintf("no validation %s to compare with version " INT64_FORMAT, key, served);
		return true;
	}
	old_se = served_metric(md, domain, served, 5, "se");
	if (isnan(old_se))
		old_se = valid->se;
	margin = XDPG_DEPLOY_MARGIN_SE * sqrt(valid->se * valid->se + old_se * old_se);
	worse = md->explicit_fb ? valid->metric > old_metric + margin
		: valid->metric < old_metric - margin;
	*reason = psprintf("validation %s %.4f against %.4f of the served version " INT64_FORMAT
					   " (noise margin %.4f: %.0f standard errors)",
					   key, valid->metric, old_metric, served, margin, XDPG_DEPLOY_MARGIN_SE);
	return !worse;
}

/*
 * Deletes the domain's versions beyond the model's keep_versions most
 * recent, except one that is served, that any version pins (the foreign
 * key would refuse it anyway) or that a kept blend version blends with
 * (adapt_run.c: kept, being recent enough or served; a pruned blend's DRR
 * version goes with it). Their tensors, keys and seen items go with
 * them. Returns how many went.
 */
int64
xdpg_prune_versions(const XdModelDef *md, const char *domain)
{
	Oid			types[3] = {INT8OID, TEXTOID, INT4OID};
	Datum		vals[3];

	if (md->keep_versions <= 0)
		return 0;
	vals[0] = Int64GetDatum(md->id);
	vals[1] = CStringGetTextDatum(domain);
	vals[2] = Int32GetDatum(md->keep_versions);
	/* as the catalog's owner, as every write (owner.c) */
	return (int64) xdpg_owner_execute("DELETE FROM xdrec.version v "
									  "WHERE v.model_id OPERATOR(pg_catalog.=) $1 AND v.domain OPERATOR(pg_catalog.=) $2 "
									  "AND v.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT x.id FROM xdrec.version x "
									  "  WHERE x.model_id OPERATOR(pg_catalog.=) $1 AND x.domain OPERATOR(pg_catalog.=) $2 "
									  "  ORDER BY x.id DESC OFFSET $3)) "
									  "AND NOT EXISTS (SELECT 1 FROM xdrec.domain d "
									  "  WHERE d.model_id OPERATOR(pg_catalog.=) v.model_id "
									  "  AND d.served_version OPERATOR(pg_catalog.=) v.id) "
									  "AND NOT EXISTS (SELECT 1 FROM xdrec.version p "
									  "  WHERE p.pins_shared_version OPERATOR(pg_catalog.=) v.id) "
									  "AND NOT EXISTS (SELECT 1 FROM xdrec.version b "
									  "  WHERE b.model_id OPERATOR(pg_catalog.=) v.model_id "
									  "  AND b.method OPERATOR(pg_catalog.=) 'blend' "
									  "  AND b.encoder OPERATOR(pg_catalog.->) 'blend' OPERATOR(pg_catalog.->) 'second' "
									  "      OPERATOR(pg_catalog.=) pg_catalog.to_jsonb(v.id) "
									  "  AND (b.id OPERATOR(pg_catalog.<>) ALL (ARRAY(SELECT x.id FROM xdrec.version x "
									  "       WHERE x.model_id OPERATOR(pg_catalog.=) $1 AND x.domain OPERATOR(pg_catalog.=) $2 "
									  "       ORDER BY x.id DESC OFFSET $3)) "
									  "    OR EXISTS (SELECT 1 FROM xdrec.domain d "
									  "       WHERE d.model_id OPERATOR(pg_catalog.=) b.model_id "
									  "       AND d.served_version OPERATOR(pg_catalog.=) b.id)))",
									  3, types, vals, NULL, SPI_OK_DELETE);
}

/*
 * After a run has written version_id: serve it if the policy says so (and
 * say so in the summary b), prune, and tell the caller when it is kept
 * without being served.
 */
void
xdpg_deploy_after_run(XdModelDef *md, const char *domain, const char *role,
					  const char *policy, const XdValidation *valid, int64 version_id,
					  const char *stats_json, StringInfo b)
{
	char	   *reason;
	bool		serve = xdpg_deploy_decide(md, domain, role, policy, valid, &reason);
	int64		pruned;

	if (serve)
		xdpg_deploy(md, domain, role, version_id, stats_json);
	else
		ereport(NOTICE,
				(errmsg("version " INT64_FORMAT " of domain %s is stored but not served", version_id, domain),
				 errdetail("%s.", reason),
				 errhint("SELECT xdrec.deploy('%s', '%s', " INT64_FORMAT ") serves it.",
						 md->name, domain, version_id)));
	pruned = xdpg_prune_versions(md, domain);
	appendStringInfoString(b, ", \"deployed\": ");
	appendStringInfoString(b, serve ? "true" : "false");
	appendStringInfoString(b, ", \"deploy\": {\"policy\": ");
	escape_json(b, policy);
	appendStringInfoString(b, ", \"reason\": ");
	escape_json(b, reason);
	xdpg_json_int(b, "pruned", pruned, true);
	appendStringInfoString(b, "}");
}
