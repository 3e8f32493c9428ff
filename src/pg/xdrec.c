/*
 * xdrec.c - module entry: the load-time BLAS check, the GUCs, the check that
 * the database's catalog is the library's version, and the BLAS self-check
 * function (DESIGN sections 8 and 11).
 */
#include "postgres.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "access/genam.h"
#include "access/xlog.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/guc.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include <cblas.h>

#include "xdrec/activation.h"
#include "xdrec.h"

PG_MODULE_MAGIC;

/* GUCs */
char	   *xdrec_default_model = NULL;
int			xdrec_train_memory = 1024 * 1024;	/* kB: 1 GB */
int			xdrec_cache_memory = 256 * 1024;	/* kB: 256 MB */
int			xdrec_item_cache_memory = 128 * 1024;	/* kB: 128 MB */
int			xdrec_unknown_category = XDPG_UNKNOWN_NOTICE;

/*
 * xdrec.served_as: how this backend's last rank or rank_many served its
 * users (issue 19; docs/serving.md). Shown from a buffer by its show hook,
 * never assigned through the GUC machinery, which refuses assignments in
 * parallel mode (rank is PARALLEL SAFE); users cannot SET it.
 */
static char *served_as_guc = NULL;
static char served_as[128] = "";

void
xdpg_set_served_as(const char *how)
{
	strlcpy(served_as, how, sizeof(served_as));
}

static const char *
show_served_as(void)
{
	return served_as;
}

static const struct config_enum_entry unknown_category_options[] = {
	{"notice", XDPG_UNKNOWN_NOTICE, false},
	{"error", XDPG_UNKNOWN_ERROR, false},
	{"ignore", XDPG_UNKNOWN_IGNORE, false},
	{NULL, 0, false}
};
static int	xdrec_simd_lanes = 0;	/* 0: the widest the CPU runs */

void		_PG_init(void);

/*
 * OpenBLAS must be the serial build: the pthread build starts threads as soon
 * as it loads and can hang a forked backend (DESIGN section 8). The library is
 * linked by path (openblas-serial), but a system alternative could still
 * resolve to the pthread one, so check what actually got loaded.
 */
static void
check_blas_is_serial(void)
{
	int			parallel = openblas_get_parallel();

	if (parallel != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("xdrec needs the single-threaded OpenBLAS, but the loaded one is parallel (openblas_get_parallel() = %d)",
						parallel),
				 errdetail("OpenBLAS configuration: %s", openblas_get_config()),
				 errhint("Install libopenblas0-serial (apt-get install libopenblas-serial-dev), and make sure nothing loads a threaded libopenblas.so.0 first (LD_LIBRARY_PATH, LD_PRELOAD, another extension).")));
}

/*
 * Refuses a call that writes the catalog on a hot standby, in words a DBA
 * can act on, before it does any work (a training would otherwise run for
 * minutes, then fail at its first INSERT with "cannot execute INSERT in a
 * read-only transaction").
 */
void
xdpg_check_writable(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("%s writes xdrec's catalog, and this server is a hot standby", what),
				 errhint("Run it on the primary; rank, rank_many, predict and evaluate work here.")));
}

/*
 * The library serves one version of the SQL objects and catalog tables, the
 * one it was built with. After a package upgrade, new sessions load the new
 * library while the database keeps the old objects until a DBA runs ALTER
 * EXTENSION xdrec UPDATE; every call that reads a model checks first and
 * names the fix, as Citus does, instead of misreading the old tables. The
 * version is read each time (one index probe of pg_extension): an UPDATE in
 * another session must be seen at once.
 */
void
xdpg_check_catalog_version(void)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	char	   *installed = NULL;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("xdrec"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion,
									 RelationGetDescr(rel), &isnull);

		if (!isnull)
			installed = text_to_cstring(DatumGetTextPP(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (installed == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension xdrec is not installed in this database")));
	if (strcmp(installed, XDREC_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension xdrec is version %s in this database, but its library is version %s",
						installed, XDREC_VERSION),
				 errhint("A superuser runs ALTER EXTENSION xdrec UPDATE after upgrading the package.")));
	pfree(installed);
}

/*
 * xdrec.simd_lanes: 0 (the widest), or 4, 8, 16 where the CPU runs them. The
 * values are the same at every width (activation.h); a DBA may still want a
 * narrower one, e.g. where AVX-512 lowers a core's clock.
 */
static bool
check_simd_lanes(int *newval, void **extra, GucSource source)
{
	int			widest = xd_activation_max_lanes();

	if (*newval == 0 || *newval == 4 || ((*newval == 8 || *newval == 16) && *newval <= widest))
		return true;
	GUC_check_errcode(ERRCODE_INVALID_PARAMETER_VALUE);
	GUC_check_errdetail("Valid values are 0 (the widest this CPU runs), 4, and 8 or 16 where the CPU runs that width (8: AVX2, 16: AVX-512F).");
	return false;
}

static void
assign_simd_lanes(int newval, void *extra)
{
	xd_activation_set_lanes(newval);
}

void
_PG_init(void)
{
	check_blas_is_serial();

	DefineCustomStringVariable("xdrec.default_model",
							   "Model used by the short form xdrec_rank().",
							   NULL,
							   &xdrec_default_model,
							   NULL,
							   PGC_USERSET,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("xdrec.train_memory",
							"Memory a training or adaptation run may use for its data and model.",
							NULL,
							&xdrec_train_memory,
							1024 * 1024,
							1024,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("xdrec.cache_memory",
							"Memory each backend may use to cache model weights for ranking.",
							NULL,
							&xdrec_cache_memory,
							256 * 1024,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("xdrec.item_cache_memory",
							"Memory each backend may use to cache item-tower outputs per ranking context.",
							"0 turns the cache off: every ranking call computes the item tower.",
							&xdrec_item_cache_memory,
							128 * 1024,
							0,
							INT_MAX,
							PGC_USERSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("xdrec.simd_lanes",
							"Vector width of the model's activations (sigmoid, tanh).",
							"0 picks the widest this CPU runs: 16 (AVX-512F), 8 (AVX2) or 4. Every width gives the same values.",
							&xdrec_simd_lanes,
							0,
							0,
							16,
							PGC_USERSET,
							0,
							check_simd_lanes, assign_simd_lanes, NULL);

	DefineCustomEnumVariable("xdrec.unknown_category",
							 "What ranking does with a categorical context value outside the feature's vocabulary.",
							 "It ranks as \"other\" in every case; 'notice' says so, 'error' refuses the call, 'ignore' is silent.",
							 &xdrec_unknown_category,
							 XDPG_UNKNOWN_NOTICE,
							 unknown_category_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("xdrec.served_as",
							   "How the last xdrec.rank or xdrec.rank_many of this session served its users (read-only).",
							   "rank: warm, cold, history, popular or skipped; rank_many: the count of each.",
							   &served_as_guc,
							   "",
							   PGC_INTERNAL,
							   GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE | GUC_NO_RESET_ALL,
							   NULL, NULL, show_served_as);

	MarkGUCPrefixReserved("xdrec");
}

/* The "Threads:" line of /proc/self/status, or -1 when unreadable. */
static int
backend_thread_count(void)
{
	FILE	   *f = fopen("/proc/self/status", "r");
	char		line[256];
	int			threads = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
	{
		if (strncmp(line, "Threads:", 8) == 0)
		{
			threads = atoi(line + 8);
			break;
		}
	}
	fclose(f);
	return threads;
}

/*
 * xdrec.blas_selfcheck() returns jsonb: runs a real sgemm (a 64x64 product
 * whose result is known exactly), then reports whether it was right, the
 * backend's thread count, openblas_get_parallel(), the activations' vector
 * width in use and the widest this CPU runs, and the config string.
 */
PG_FUNCTION_INFO_V1(xdrec_blas_selfcheck);
Datum
xdrec_blas_selfcheck(PG_FUNCTION_ARGS)
{
	enum
	{
		N = 64
	};
	float	   *a = palloc(sizeof(float) * N * N);
	float	   *b = palloc(sizeof(float) * N * N);
	float	   *c = palloc0(sizeof(float) * N * N);
	bool		sgemm_ok = true;
	StringInfoData json;
	char	   *config;

	/* a = all ones, b = identity times 2: every entry of c is 2 */
	for (int i = 0; i < N * N; i++)
	{
		a[i] = 1.0f;
		b[i] = (i / N == i % N) ? 2.0f : 0.0f;
	}
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N,
				1.0f, a, N, b, N, 0.0f, c, N);
	for (int i = 0; i < N * N; i++)
		if (c[i] != 2.0f)
			sgemm_ok = false;

	config = openblas_get_config();
	initStringInfo(&json);
	appendStringInfo(&json, "{\"sgemm_ok\": %s, \"threads\": %d, \"parallel\": %d, \"simd_lanes\": %d, \"simd_lanes_max\": %d, \"config\": ",
					 sgemm_ok ? "true" : "false", backend_thread_count(),
					 openblas_get_parallel(), xd_activation_lanes(),
					 xd_activation_max_lanes());
	escape_json(&json, config ? config : "");
	appendStringInfoChar(&json, '}');

	pfree(a);
	pfree(b);
	pfree(c);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(json.data)));
}
