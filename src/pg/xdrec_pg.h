/*
 * xdrec_pg.h - the PostgreSQL layer's shared declarations: a model's
 * definition as read from the catalog, its features and frozen vocabularies
 * (features.c), one domain loaded into the core's arrays (load.c), key maps,
 * versions in the catalog (catalog.c writes them, version_read.c reads them
 * back) and the per-backend cache (cache.c).
 *
 * One interaction travels forward through these files (DESIGN section 11):
 * load.c -> features.c -> the core (train.c ...) -> catalog.c; a query goes
 * rank_fn.c -> cache.c -> version_read.c (once per version) -> features.c ->
 * the core's forward pass -> rows.
 */
#ifndef XDREC_PG_H
#define XDREC_PG_H

#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/jsonb.h"

#include "xdrec/baseline.h"
#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/encoder.h"
#include "xdrec/serve.h"
#include "xdrec/status.h"
#include "xdrec/train.h"
#include "xdrec/transfer.h"

/* GUCs (xdrec.c) */
extern char *xdrec_default_model;
extern int	xdrec_train_memory;
extern int	xdrec_cache_memory;
extern int	xdrec_item_cache_memory;
extern int	xdrec_unknown_category;

/* xdrec.unknown_category: a categorical value outside the vocabulary */
typedef enum XdUnknownCategory
{
	XDPG_UNKNOWN_NOTICE,
	XDPG_UNKNOWN_ERROR,
	XDPG_UNKNOWN_IGNORE
} XdUnknownCategory;

/* suggest.c */
extern const char *xdpg_did_you_mean(const char *word, const char *const *cands, int n);

extern void xdpg_check_catalog_version(void);
extern void xdpg_check_writable(const char *what);

/* model_fn.c */
extern void xdpg_write_features(int64 model_id, Datum features);

/* help_fn.c */
extern int	xdpg_spi_user_facing(const char *sql, int nargs, Oid *types, Datum *vals,
								 const char *nulls, bool read_only, long count);

/* declared SQL type of a feature (xdrec.feature.type) */
typedef enum XdSqlType
{
	XDPG_NUMERIC = 0,
	XDPG_CATEGORICAL = 1,
	XDPG_BOOLEAN = 2
} XdSqlType;

/* one (value, code) of a categorical vocabulary, sorted by value for bsearch */
typedef struct XdVocabEntry
{
	const char *value;
	int32		code;
} XdVocabEntry;

typedef struct XdFeatureDef
{
	char	   *name;
	char	   *column;			/* column name, or NULL */
	char	   *expression;		/* SQL expression, or NULL */
	xd_feature_kind kind;
	XdSqlType	type;
	xd_feature_scope scope;
	int			bins;			/* numeric: quantile bins (0 = min-max) */
	int			vocab_cap;		/* categorical: most frequent values kept */
	/* categorical: the frozen vocabulary; code i = vocab[i], "other" = n_vocab */
	int			n_vocab;
	char	  **vocab;
	XdVocabEntry *sorted;		/* [n_vocab] by value ("C" order) */
} XdFeatureDef;

/* A model row with its options resolved to the defaults of DESIGN section 3. */
typedef struct XdModelDef
{
	int64		id;
	char	   *name;
	char	   *relation;		/* "schema"."table", quoted; NULL once dropped */
	char	   *alias;			/* the relation's own name, as create_model checks */
	char	   *user_col;
	char	   *item_col;
	char	   *domain_col;
	char	   *rating_col;		/* NULL for implicit feedback */
	char	   *user_type;
	char	   *item_type;
	char	   *domain_type;
	bool		user_int;		/* key column is an integer type */
	bool		item_int;
	bool		explicit_fb;
	char	   *source_domain;	/* NULL before training */
	xd_config	cfg;			/* m and its split are set with the schema */
	int			epochs;
	int			patience;
	int64		val_sample;
	bool		dedup;
	int			pretrain_epochs;	/* transfer (DESIGN section 4): 2 */
	float		lambda_kl;		/* DRR's eq. 22 weight: 0.1 */
	bool		lambda_search;	/* lambda_kl = 'search' */
	double		auto_margin;	/* auto's margin in standard errors: 2 */
	int			lr_search;		/* rates every fit tries (xd_train_search): 3 */
	char	   *time_col;		/* option "time_col": the split is by time; else NULL */
	char	   *held_out;		/* evaluate(test => ...): rows held out, quoted; else NULL */
	char	   *held_out_alias;	/* its own name, the alias expressions read */
	char	   *deploy;			/* "if_better" (default), "always", "never" */
	int			keep_versions;	/* versions kept per domain; 0 = all (deploy.c) */
	int			n_features;
	XdFeatureDef *features;
} XdModelDef;

/*
 * dense id <-> key: keys sorted, integers or text. Ids are the keys'
 * positions, except in a stored version some users were forgotten from
 * (forget_fn.c): their keys are gone and ids gives each remaining key's id.
 */
typedef struct XdKeyMap
{
	int32		n;				/* dense ids 0..n-1 */
	bool		is_int;
	int32		n_keys;			/* keys held: n, less the forgotten */
	int32	   *ids;			/* [n_keys] each key's id; NULL = positions */
	int64	   *ints;			/* [n_keys] when is_int, ascending */
	char	  **texts;			/* [n_keys] otherwise, ascending in "C" order */
} XdKeyMap;

/* what loading a domain did (the training summary's counts) */
typedef struct XdLoadCounts
{
	int64		rows_read;
	int64		rows_used;
	int64		null_user;
	int64		null_item;
	int64		null_rating;
	int64		non_finite;
	int64		unknown_key;	/* fixed key maps: a key the version does not know */
	int64		null_domain;	/* rows of the relation without a domain */
} XdLoadCounts;

/* the core objects a call owns; freed by a memory context reset callback */
typedef struct XdGuard
{
	xd_dataset *ds;
	xd_model   *model;
	xd_schema	schema;
	bool		has_schema;
	void	   *gen;			/* xd_generated */
	xd_encoders *encoders;		/* the source's E_C, E_U, E_V (train) */
	xd_transfer_result *transfer;	/* a target's adaptation (adapt) */
	xd_popularity *popularity;	/* the popularity baseline (evaluate) */
} XdGuard;

/* what kind of version xdpg_write_version writes */
typedef struct XdVersionInfo
{
	const char *kind;			/* "source" or "target" */
	const char *method;			/* "train", "drr", "anneal", "direct", "target_only" */
	int64		pins_shared_version;	/* target: the source version; 0 = none */
	bool		skip_shared;	/* the modules live in the pinned version */
	const xd_encoders *encoders;	/* source: E_C, E_U, E_V; NULL = none */
} XdVersionInfo;

/* cache.c: one served version, deserialised */
typedef struct XdVersion
{
	int64		version_id;
	int64		model_id;
	char	   *domain;
	bool		explicit_fb;
	int			n_features;
	XdFeatureDef *features;
	xd_encoder	enc;			/* schema, normalisation, profiles */
	bool		has_item_scope;
	xd_model   *model;
	char	   *method;			/* "train", "drr", ... */
	int64		pins_shared_version;	/* 0 = none (a source version) */
	xd_adapt   *adapt;			/* DRR's residuals, attached to model */
	xd_encoders *encoders;		/* read when wanted and stored, else NULL */
	XdKeyMap	users;
	XdKeyMap	items;
	int64	   *seen_off;		/* [n_users + 1] */
	int32	   *seen_items;
	Size		core_bytes;		/* tensors and workspace, malloc'ed by the core */
	int32		revision;		/* its forgotten_users when cached (cache.c) */
	Size		bytes;
	uint64		last_used;
	MemoryContext cxt;
	/* serve_cache.c: its item-output entries and their statistics */
	int			ctx_entries;
	Size		ctx_bytes;
	int64		ctx_hits;
	int64		ctx_misses;
} XdVersion;

/* which version xdpg_read_version reads, and for whom */
typedef struct XdVersionRef
{
	const char *model;			/* the model's name, for errors */
	int64		model_id;
	const char *domain;			/* the domain it is served (or read) for */
	int64		version_id;
	bool		want_encoders;	/* read E_C, E_U, E_V too (adapt) */
	const char *budget_setting; /* the memory setting it must fit in, */
	int			budget_kb;		/* and its value */
} XdVersionRef;

/*
 * owner.c: who runs xdrec's SQL. A span switches role and pins search_path
 * = pg_catalog, pg_temp until xdpg_span_end (or the error's abort).
 */
typedef struct XdSpan
{
	Oid			save_user;
	int			save_sec;
	int			guc_level;
} XdSpan;

extern Oid	xdpg_extension_owner(void);
extern void xdpg_owner_begin(XdSpan *span);
extern void xdpg_user_begin(XdSpan *span);
extern void xdpg_role_begin(XdSpan *span, Oid role);
extern void xdpg_span_end(XdSpan *span);
extern uint64 xdpg_owner_execute(const char *sql, int nargs, Oid *types, Datum *vals,
								 const char *nulls, int expect);
extern Datum xdpg_current_role_name(void);
extern void xdpg_model_check_write(int64 model_id, const char *name, const char *privilege);

/* features.c */
extern XdModelDef *xdpg_model_load(const char *name, const char *privilege);
extern void xdpg_check_features_unchanged(const XdModelDef *md, int64 version_id);
extern void xdpg_build_vocabulary(XdModelDef *md, const char *domain);
extern char *xdpg_feature_sql(const XdFeatureDef *f);
extern void xdpg_check_model_memory(const char *domain, const xd_dataset *ds, const XdKeyMap *users,
									const XdKeyMap *items, int d, int n_models);
extern char *xdpg_usable_rows_sql(const XdModelDef *md);
extern void xdpg_vocab_index(XdFeatureDef *f);
extern int32 xdpg_code_of(const XdFeatureDef *f, const char *value);
extern void xdpg_schema(const XdFeatureDef *features, int n, xd_schema *s);
extern char *xdpg_features_json(const XdModelDef *md, const xd_encoder *enc);
extern void xdpg_ctx_from_jsonb(const char *model, const XdFeatureDef *features,
								const xd_schema *s, Jsonb *ctx, float *num,
								int32 *codes);
extern void xdpg_ctx_vector(const char *model, const xd_schema *s, ArrayType *arr,
							float *c);
extern const char *xdpg_kind_name(xd_feature_kind k);
extern const char *xdpg_scope_name(xd_feature_scope s);
extern const char *xdpg_type_name(XdSqlType t);

/* load.c */
extern XdGuard *xdpg_guard(void);
extern int	xdpg_stop(void *arg);
extern void xdpg_check_status(xd_status st, const char *what);
extern uint64 xdpg_split_seed(uint64 seed, const char *domain);
extern char *xdpg_where_domain(XdModelDef *md);
extern void xdpg_load_keys(XdModelDef *md, const char *domain, bool user, XdKeyMap *km);
extern int32 xdpg_key_find(const XdKeyMap *km, const char *key);
extern int32 xdpg_key_find_int(const XdKeyMap *km, int64 key);
extern char *xdpg_key_text(const XdKeyMap *km, int32 id);
extern const char *xdpg_key_normalise(const char *type, const char *key);
extern xd_dataset *xdpg_load_domain(XdModelDef *md, const char *domain,
									const XdKeyMap *users, const XdKeyMap *items,
									XdGuard *guard, XdLoadCounts *counts);

/* catalog.c */
extern int64 xdpg_write_version(XdModelDef *md, const char *domain, xd_model *model,
								const xd_dataset *ds, const XdKeyMap *users,
								const XdKeyMap *items, const char *metrics_json,
								const char *encoder_json, const XdVersionInfo *info);
extern void xdpg_deploy(XdModelDef *md, const char *domain, const char *role,
						int64 version_id, const char *stats_json);
extern Oid	xdpg_domain_relid(void);
extern bool xdpg_forget_in_version(int64 model_id, int64 version_id, const char *user_key);

/* version_read.c */
extern void xdpg_read_version(XdVersion *v, const XdVersionRef *ref);
extern void xdpg_check_version_features(const XdModelDef *md, const XdVersion *v);

/* forget_fn.c */
extern void xdpg_forget_pending(XdModelDef *md, const char *domain, int64 version_id);

/*
 * A run in phases (train_fn.c, adapt_fn.c): load (SPI connected, as the
 * current role), fit (the core alone), store (SPI connected: the version
 * written and served; returns the summary). The calling session runs them in
 * one transaction; a background job (worker.c) commits between them.
 */
typedef struct XdRunHooks
{
	xd_stop_fn	stop;
	xd_progress_fn progress;
	void	   *arg;			/* of both */
} XdRunHooks;

typedef struct XdTrainRun XdTrainRun;
extern XdTrainRun *xdpg_train_load(const char *name, const char *domain, const char *deploy,
								   MemoryContext cxt);
extern void xdpg_train_fit(XdTrainRun *run, const XdRunHooks *hooks);
extern char *xdpg_train_store(XdTrainRun *run);

typedef struct XdAdaptRun XdAdaptRun;
extern XdAdaptRun *xdpg_adapt_load(const char *name, const char *domain,
								   const char *method, const char *deploy,
								   MemoryContext cxt);
extern void xdpg_adapt_fit(XdAdaptRun *run, const XdRunHooks *hooks);
extern char *xdpg_adapt_store(XdAdaptRun *run);

/* jobs.c: background jobs (DESIGN section 8, docs/jobs.md) */
extern Jsonb *xdpg_job_submit(const char *name, const char *kind, const char *domain,
							  const char *method, const char *deploy);
extern int	xdpg_jobs_dispatch(void);

/* fit_common.c: the summary's JSON (more in fit_common.h) */
extern void xdpg_json_num(StringInfo b, const char *key, double x, bool comma);
extern void xdpg_json_int(StringInfo b, const char *key, int64 x, bool comma);
extern char *xdpg_config_json(const XdModelDef *md, const xd_config *cfg);

/* cache.c */
typedef struct XdServed XdServed;
extern XdServed *xdpg_served(const char *name);
extern int64 xdpg_served_model_id(XdServed *s);
extern bool xdpg_served_explicit(XdServed *s);
extern bool xdpg_served_int_keys(XdServed *s);
extern const char *xdpg_served_key_type(XdServed *s, bool user);
extern XdVersion *xdpg_find_user(XdServed *s, const char *model, const char *domain,
								 const char *user_text, int64 user_int, bool is_int,
								 int32 *user_id);
extern XdVersion *xdpg_version_for_domain(XdServed *s, const char *model,
										  const char *domain);
extern int	xdpg_served_domains(XdServed *s, char ***domains);
extern int	xdpg_cached_versions(XdVersion ***versions);

/* serve_cache.c */
extern const xd_item_outputs *xdpg_item_outputs(XdVersion *v, const float *c);
extern void xdpg_item_outputs_drop_version(XdVersion *v);

#endif
