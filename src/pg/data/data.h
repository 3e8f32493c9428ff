/*
 * data.h - the data layer (src/pg/data/): a model's definition as read from
 * the catalog (model_def.c), its options (options.c), its features and
 * frozen vocabularies (features.c), the SQL over its relation (relation.c),
 * one domain loaded into the core's arrays (load.c), key maps (keymap.c),
 * ranking contexts encoded (context.c), the guard that frees the core's
 * objects on error (guard.c) and the core's status as an ereport (status.c).
 *
 * A training run reads forward: model_def.c -> relation.c -> load.c
 * (keymap.c, features.c) -> the core. A query encodes its context with
 * context.c and finds its user with keymap.c.
 */
#ifndef XDREC_PG_DATA_H
#define XDREC_PG_DATA_H

#include "xdrec.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/jsonb.h"

#include "xdrec/baseline.h"
#include "xdrec/core.h"
#include "xdrec/dataset.h"
#include "xdrec/dist_encoder.h"
#include "xdrec/status.h"
#include "xdrec/transfer.h"

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

/* option "source_weighting", in the order of its choices (options.c) */
typedef enum XdSourceWeighting
{
	XDPG_WEIGH_NONE,			/* every source interaction alike */
	XDPG_WEIGH_BIAO				/* BIAO's perceptron (xdrec/biao.h, train_run.c) */
} XdSourceWeighting;

/* A model row with its options resolved (options.c) to the core's defaults. */
typedef struct XdModelDef
{
	int64		id;
	char	   *name;
	char	   *relation;		/* "schema"."table", quoted; NULL once dropped */
	Oid			relid;			/* the relation the model follows (its name: relation) */
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
	char	   *owner;			/* the role that created it (wrote its expressions) */
	xd_config	cfg;			/* m and its split are set with the schema */
	int			epochs;
	int			patience;
	int64		val_sample;
	bool		dedup;
	int			pretrain_epochs;	/* transfer (DESIGN section 4): 2 */
	float		lambda_kl;		/* DRR's eq. 22 weight: 0.1 */
	bool		lambda_search;	/* lambda_kl = 'search' */
	double		auto_margin;	/* auto's margin in standard errors: 2 */
	int64		auto_small_rows;	/* ... 0 below this many training rows
									 * (implicit): 1000 */
	int64		auto_small_rows_explicit;	/* the same, explicit: 0 */
	bool		auto_blend;		/* ... the blend where it keeps target-only on a
								 * large target (transfer.h): true */
	bool		shared_users;	/* option "shared_users": a user key is the same
								 * person in every domain (adapt_run.c) */
	int			lr_search;		/* rates every fit tries (xd_train_search): 3 */
	int			vocab_cap;		/* a categorical feature's, unless it has its own */
	char	   *time_col;		/* option "time_col": the split is by time; else NULL */
	bool		all_train;		/* load: every row trains (a domain served by popularity) */
	char	   *held_out;		/* evaluate(test => ...): rows held out, quoted; else NULL */
	char	   *held_out_alias;	/* its own name, the alias expressions read */
	bool		caller_reads;	/* load: read for a caller who may use, not train
								 * (evaluate): xdpg_refuse_foreign_sql first */
	char	   *deploy;			/* "if_better" (default), "always", "never" */
	int			keep_versions;	/* versions kept per domain; 0 = all (deploy.c) */
	bool		cold;			/* option "cold": meta-train the cold-start module */
	int			cold_support;	/* option "cold_support": a cold user's rows read */
	int			cold_min;		/* option "cold_min": fewer training rows may be
								 * served cold (0: off) */
	bool		fewshot;		/* option "fewshot": meta-train the s2Meta learner */
	int			fewshot_episodes;	/* its meta-training episodes: 400 */
	int			fewshot_rows;	/* auto: fewshot below these training rows */
	int			source_weighting;	/* option "source_weighting": XDPG_WEIGH_* */
	int			biao_interval;	/* BIAO's lower steps per upper step (biao.h) */
	int			biao_warmup;	/* its epochs before the first upper step */
	int			biao_upper;		/* option "biao_upper": xd_biao_upper */
	int			biao_keep;		/* positives kept at each end for source_weights */
	float		cold_holdout;	/* option "cold_holdout": the share of each domain's
								 * users left out of training (protocol 'cold') */
	char	   *exclude_seen;	/* option "exclude_seen": "auto", "always", "never" */
	float		context_popularity; /* option "context_popularity": the weight of
									 * popularity in context on every item
									 * when an implicit fit is served: 1 */
	int			n_features;
	XdFeatureDef *features;
} XdModelDef;

/*
 * dense id <-> key: keys sorted, integers or text. Ids are the keys'
 * positions, except in a stored version some users were forgotten from
 * (store/forget.c): their keys are gone and ids gives each remaining key's id.
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
	xd_dist_encoders *encoders;		/* the source's E_C, E_U, E_V (train) */
	xd_transfer_result *transfer;	/* a target's adaptation (adapt) */
	xd_popularity *popularity;	/* the popularity baseline (evaluate) */
} XdGuard;

/* options.c: one row per model option */
typedef enum XdOptionType
{
	XDPG_OPT_INT,				/* an integer in min..max */
	XDPG_OPT_NUMBER,			/* a number from lo to hi, either end open */
	XDPG_OPT_CHOICE,			/* one of choices */
	XDPG_OPT_BOOL,
	XDPG_OPT_COLUMN				/* a column name of the relation */
} XdOptionType;

/* the type of its field in XdModelDef */
typedef enum XdOptionField
{
	XDPG_FIELD_INT,
	XDPG_FIELD_INT64,
	XDPG_FIELD_FLOAT,
	XDPG_FIELD_DOUBLE,
	XDPG_FIELD_BOOL,
	XDPG_FIELD_CHOICE,			/* an int-sized enum: the choice's index */
	XDPG_FIELD_STRING			/* a char *; NULL when unset */
} XdOptionField;

#define XDPG_OPT_WORDS 2

typedef struct XdOption
{
	const char *name;			/* its key in options, and in a version's config */
	XdOptionType type;
	XdOptionField field;
	size_t		offset;			/* of its field in XdModelDef */
	int64		min,
				max;			/* XDPG_OPT_INT */
	double		lo,
				hi;				/* XDPG_OPT_NUMBER */
	bool		lo_open,
				hi_open;
	const char *const *choices; /* XDPG_OPT_CHOICE, NULL-terminated */
	/*
	 * XDPG_OPT_NUMBER, _BOOL: strings it also takes (NULL after the last),
	 * each setting its bool of XdModelDef (word_fields[i]; a value clears
	 * them)
	 */
	const char *words[XDPG_OPT_WORDS];
	size_t		word_fields[XDPG_OPT_WORDS];
	const char *deflt;			/* JSON; NULL: the core's default (or none) */
	const char *shown;			/* the default in words, when not a value */
	bool		recorded;		/* in the config a version records */
	const char *help;
} XdOption;

extern int	xdpg_options(const XdOption **rows);
extern const XdOption *xdpg_option(const char *name);
extern void xdpg_options_check(Jsonb *opts, bool has_rating);
extern void xdpg_options_read(XdModelDef *md, Jsonb *opts);
extern char *xdpg_config_json(const XdModelDef *md, const xd_config *cfg);
extern char *xdpg_options_json(Jsonb *opts, char **faults);
extern char *xdpg_option_values(const XdOption *o);
extern char *xdpg_option_default(const XdOption *o);

/* suggest.c */
extern const char *xdpg_did_you_mean(const char *word, const char *const *cands, int n);

/* model_def.c */
extern char *xdpg_spi_text(int row, int col);
extern XdModelDef *xdpg_model_load(const char *name, const char *privilege);
extern void xdpg_model_follow_relation(XdModelDef *md);
extern void xdpg_check_features_unchanged(const XdModelDef *md, int64 version_id);
extern const char *xdpg_kind_name(xd_feature_kind k);
extern const char *xdpg_scope_name(xd_feature_scope s);
extern const char *xdpg_type_name(XdSqlType t);

/* relation.c */
extern void xdpg_check_relation(XdModelDef *md);
extern void xdpg_refuse_foreign_sql(const XdModelDef *md, const char *sql, int nargs,
									Oid *types, const char *reading);
extern char *xdpg_where_domain(XdModelDef *md);
extern char *xdpg_feature_sql(const XdFeatureDef *f);
extern char *xdpg_usable_rows_sql(const XdModelDef *md);
extern char *xdpg_holdout_sql(const XdModelDef *md, double share, int64 seed);

/* features.c */
extern void xdpg_vocab_index(XdFeatureDef *f, XdVocabEntry *sorted);
extern int32 xdpg_code_of(const XdFeatureDef *f, const char *value);
extern void xdpg_schema(const XdFeatureDef *features, int n, xd_schema *s);
extern char *xdpg_features_json(const XdModelDef *md, const xd_feature_encoder *enc);

/* status.c */
extern int	xdpg_stop(void *arg);
extern void xdpg_check_status(xd_status st, const char *what);

/* guard.c */
extern XdGuard *xdpg_guard(void);

/* keymap.c */
extern int32 xdpg_key_find(const XdKeyMap *km, const char *key);
extern int32 xdpg_key_find_int(const XdKeyMap *km, int64 key);
extern char *xdpg_key_text(const XdKeyMap *km, int32 id);
extern const char *xdpg_key_normalise(const char *type, const char *key);
extern size_t xdpg_keymap_bytes(const XdKeyMap *km);

/* load.c */
extern uint64 xdpg_split_seed(uint64 seed, const char *domain);
extern void xdpg_load_keys(XdModelDef *md, const char *domain, bool user, XdKeyMap *km);
extern void xdpg_build_vocabulary(XdModelDef *md, const char *domain);
extern void xdpg_check_model_memory(const char *domain, const xd_dataset *ds, const XdKeyMap *users,
									const XdKeyMap *items, int d, int n_models, size_t caches);
extern bool xdpg_row_values(const XdFeatureDef *features, int n_features, const xd_schema *s,
							HeapTuple tup, TupleDesc td, int first, float *num, int32 *codes);
extern xd_dataset *xdpg_load_domain(XdModelDef *md, const char *domain,
									const XdKeyMap *users, const XdKeyMap *items,
									XdGuard *guard, XdLoadCounts *counts);

/* context.c */
extern void xdpg_ctx_from_jsonb(const char *model, const XdFeatureDef *features,
								const xd_schema *s, Jsonb *ctx, float *num,
								int32 *codes);
extern void xdpg_ctx_vector(const char *model, const xd_schema *s, ArrayType *arr,
							float *c);

#endif
