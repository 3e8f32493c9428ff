/*
 * store.h - the store layer (src/pg/store/): who writes the catalog and as
 * which role (owner.c), how a version's rows are cut (version_write.c writes
 * them, version_read.c reads them back, forget.c rewrites them in place), the
 * table of stored tensors (stored_tensors.c: which tensors a version holds,
 * of what shape, with what values), a version deserialised (XdVersion), which
 * version a domain serves (served.c) and forgetting a user (forget.c).
 */
#ifndef XDREC_PG_STORE_H
#define XDREC_PG_STORE_H

#include "executor/spi.h"

#include "data/data.h"

/* weight chunks stay far below the 1 GB datum limit */
#define XDPG_CHUNK_BYTES (64 * 1024 * 1024)
#define XDPG_KEYS_PER_CHUNK 100000
#define XDPG_SEEN_USERS_PER_CHUNK 65536

/* a dimension of a stored tensor, resolved from the version's layout */
typedef enum XdDim
{
	XDPG_DIM_NONE,				/* the tensor is 1-D: no second dimension */
	XDPG_DIM_ONE,
	XDPG_DIM_M,					/* the encoded context width */
	XDPG_DIM_D,					/* the embedding width */
	XDPG_DIM_USERS,
	XDPG_DIM_ITEMS,
	XDPG_DIM_NUM,				/* raw floats per row */
	XDPG_DIM_EDGES,				/* bin edges of all binned features */
	XDPG_DIM_USER_NUM,			/* user profile floats, codes */
	XDPG_DIM_USER_CODES,
	XDPG_DIM_ITEM_NUM,			/* item profile floats, codes */
	XDPG_DIM_ITEM_CODES,
	XDPG_DIM_ENC_HIDDEN,		/* the distributional encoders' widths */
	XDPG_DIM_ENC_LATENT,
	XDPG_DIM_COLD_HIDDEN,		/* the cold-start encoder's width (cold.h) */
	XDPG_DIM_COLD_IN,			/* its input [e_v ; c* ; y]: d + m + 1 */
	XDPG_DIM_COLD_PRIOR,		/* its prior's weights: (interaction features + 1)
								 * x XD_COLD_PRIOR_BANDS */
	XDPG_DIM_COLD_PRIOR_ROWS,	/* its prior's rows of counts (xd_cold_prior_rows) */
	XDPG_DIM_COLD_COOC_WIDTH,	/* its co-occurrence prior's neighbours per item
								 * (xd_cold_cooc_width) */
	XDPG_DIM_FS_GATES,			/* the few-shot LSTMs' 4H gates (fewshot.h) */
	XDPG_DIM_FS_HIDDEN,			/* ... their H */
	XDPG_DIM_FS_UPD_IN,			/* the update LSTM's input, */
	XDPG_DIM_FS_UPD_OUT,		/* its outputs alpha, beta */
	XDPG_DIM_FS_STOP_IN,		/* the stop LSTM's input */
	XDPG_DIM_BIAO_PHI			/* BIAO's perceptron: (d + m)(d + m + 2) + 2 (biao.h) */
} XdDim;

/* which versions store a tensor */
typedef enum XdTensorNeed
{
	XDPG_NEED_ALWAYS,
	XDPG_NEED_MM_RESIDUAL,		/* eq. 4-5 is on (xd_config_has_mm_residual) */
	XDPG_NEED_EXPLICIT,			/* explicit feedback: the biases of eq. 15 */
	XDPG_NEED_REPEAT,			/* the repeat term (core.h): option repeat, implicit */
	XDPG_NEED_DRR,				/* a DRR target: the residuals of eq. 19 */
	XDPG_NEED_DRR_CTX,			/* ... on x^1, when L_C >= 1 */
	XDPG_NEED_ENCODERS,			/* a source's E_U, E_V (DESIGN section 4) */
	XDPG_NEED_ENCODERS_CTX,		/* ... and E_C, when L_C >= 1 */
	XDPG_NEED_COLD,				/* the cold-start module (CMML, cold.h) */
	XDPG_NEED_COLD_EXPLICIT,	/* ... its user bias head, explicit feedback */
	XDPG_NEED_COLD_REPEAT,		/* ... its repeat weight head, with the repeat term */
	XDPG_NEED_COLD_IMPLICIT,	/* ... its co-occurrence prior, implicit feedback */
	XDPG_NEED_FEWSHOT,			/* the few-shot meta-learner (s2Meta, fewshot.h) */
	XDPG_NEED_FEWSHOT_CTX,		/* ... its slots of res.C, when L_C >= 1 */
	XDPG_NEED_FEWSHOT_EXPLICIT,	/* ... its slots of the biases, explicit feedback */
	XDPG_NEED_FEWSHOT_POP,		/* a few-shot market's popularity term, implicit */
	XDPG_NEED_BIAO				/* a source's BIAO perceptron (option source_weighting) */
} XdTensorNeed;

/* one tensor per version, or one per layer with its number in the name */
typedef enum XdTensorRepeat
{
	XDPG_ONCE,
	XDPG_PER_CTX_LAYER,			/* l = 1..L_C */
	XDPG_PER_TOWER_LAYER		/* l = 1..L_U */
} XdTensorRepeat;

/* where a version's tensor is stored */
typedef enum XdTensorHome
{
	XDPG_HOME_OWN,				/* the version's own rows */
	XDPG_HOME_MODULE,			/* M1, M3, M4: its own, or for Direct and DRR its
								 * pinned source version's (DESIGN section 1) */
	XDPG_HOME_ENCODERS,			/* a source's encoders: all of them or none */
	XDPG_HOME_COLD,				/* the cold-start module: all of it or none */
	XDPG_HOME_COLD_FILM,		/* its FiLM heads: all or none, with the module */
	XDPG_HOME_COLD_COOC,		/* its co-occurrence prior: all or none, with the
								 * module (versions before it have none) */
	XDPG_HOME_COLD_PRIOR,		/* its context prior (and own items first): all
								 * or none, with the module (none before 0.2.0's
								 * issue 19 follow-up) */
	XDPG_HOME_FEWSHOT,			/* the few-shot meta-learner: all of it or none */
	XDPG_HOME_BIAO,				/* BIAO's perceptron: stored or not */
	XDPG_HOME_FEWSHOT_POP		/* a few-shot market's item bias: stored or
								 * not (not before issue 20's popularity term) */
} XdTensorHome;

/* what its values may be */
typedef enum XdValueRule
{
	XDPG_FINITE,
	XDPG_FINITE_OR_MISSING,		/* NaN means missing (dataset.h), never +-Inf */
	XDPG_USER_CODES,			/* categorical codes: -1 (missing) up to the */
	XDPG_ITEM_CODES				/* column's feature's "other" slot */
} XdValueRule;

/* a row of the table */
typedef struct XdTensorRule
{
	const char *name;			/* with "%d" for the layer when repeated */
	XdTensorNeed need;
	XdTensorRepeat repeat;
	XdDim		rows;
	XdDim		cols;			/* XDPG_DIM_NONE: 1-D */
	XdTensorHome home;
	XdValueRule values;
} XdTensorRule;

/* what decides a version's tensors: its config, feature layout and sizes */
typedef struct XdVersionLayout
{
	const xd_config *cfg;
	const xd_schema *schema;
	int32		n_users;
	int32		n_items;
	bool		drr;			/* a DRR target */
	bool		encoders;		/* the distributional encoders are wanted */
	bool		cold;			/* the cold-start module may be stored */
	bool		fewshot;		/* the few-shot meta-learner is wanted */
	bool		biao;			/* BIAO's perceptron may be stored */
	bool		fewshot_market; /* adapted by method fewshot */
} XdVersionLayout;

/* one tensor a version must hold, by the table */
typedef struct XdStoredTensor
{
	char		name[XD_PARAM_NAME_LEN];
	int			ndim;
	uint64		shape[2];
	XdTensorHome home;
	XdValueRule values;
	bool		found;			/* for the reader */
} XdStoredTensor;

extern int	xdpg_stored_tensors(const XdVersionLayout *layout, XdStoredTensor **tensors);
extern const XdTensorRule *xdpg_stored_tensor_rule(const char *name);
extern const char *xdpg_stored_tensor_current_name(const char *name);
extern uint64 xdpg_stored_tensor_count(const XdStoredTensor *t);

/* what kind of version xdpg_write_version writes */
typedef struct XdVersionInfo
{
	const char *kind;			/* "source" or "target" */
	const char *method;			/* "train", "drr", "anneal", "direct", "target_only",
								 * "fewshot", "popularity", "blend" */
	int64		pins_shared_version;	/* target: the source version; 0 = none */
	bool		skip_shared;	/* the modules live in the pinned version */
	const xd_dist_encoders *encoders;	/* source: E_C, E_U, E_V; NULL = none */
	const struct xd_cold *cold; /* the cold-start module (cold.h); NULL = none */
	const struct xd_fewshot *fewshot;	/* the meta-learner (fewshot.h); NULL = none */
	struct xd_biao *biao;		/* BIAO's perceptron (biao.h); NULL = none */
} XdVersionInfo;

/* one version, deserialised (version_read.c) for the cache (serve/version_cache.c) */
typedef struct XdVersion
{
	int64		version_id;
	int64		model_id;
	char	   *domain;
	bool		explicit_fb;
	bool		exclude_seen;	/* rank's exclude_seen when the caller passes NULL */
	int			n_features;
	XdFeatureDef *features;
	xd_feature_encoder	enc;			/* schema, normalisation, profiles */
	bool		has_item_scope;
	xd_model   *model;
	char	   *method;			/* "train", "drr", ... */
	int64		pins_shared_version;	/* 0 = none (a source version) */
	xd_adapt   *adapt;			/* DRR's residuals, attached to model */
	struct XdVersion *blend;	/* method "blend": the DRR version blended in
								 * (read with it, in its cxt), else NULL */
	float		blend_a;		/* ... scores (1 - a) s_model + a s_blend */
	xd_dist_encoders *encoders;		/* read when wanted and stored, else NULL */
	struct xd_cold *cold;		/* the cold-start module when stored, else NULL */
	int			cold_min;		/* a trained user with fewer training rows is
								 * served by it (option cold_min; 0: never) */
	struct xd_fewshot *fewshot; /* the meta-learner when wanted and stored */
	xd_param	biao_phi;		/* BIAO's perceptron when stored (w NULL: not) */
	XdKeyMap	users;
	XdKeyMap	items;
	int64	   *seen_off;		/* [n_users + 1] */
	int32	   *seen_items;
	Size		core_bytes;		/* tensors and workspace, malloc'ed by the core */
	int32		revision;		/* its forgotten_users when cached */
	Size		bytes;
	uint64		last_used;
	MemoryContext cxt;
	/* serve/item_cache.c: its item-output entries and their statistics */
	int			ctx_entries;
	Size		ctx_bytes;
	int64		ctx_hits;
	int64		ctx_misses;
	/* how the users it ranked were served (xdrec.cache_stats, issue 19) */
	int64		served_warm;
	int64		served_cold;	/* the cold-start module, from their rows */
	int64		served_history; /* ... from history => */
	int64		served_popular; /* the popularity fallback */
	float	   *popularity;		/* [n_items] its share of users, when used */
	struct xd_item_map *item_map;	/* new items' map (serve/new_items.c), when used */
} XdVersion;

/* which version xdpg_read_version reads, and for whom */
typedef struct XdVersionRef
{
	const char *model;			/* the model's name, for errors */
	int64		model_id;
	const char *domain;			/* the domain it is served (or read) for */
	int64		version_id;
	bool		want_encoders;	/* read E_C, E_U, E_V too (adapt) */
	bool		want_fewshot;	/* read the few-shot meta-learner too (adapt) */
	const char *budget_setting; /* the memory setting it must fit in, */
	int			budget_kb;		/* and its value */
	Size		budget_used;	/* bytes of it already taken: a blend's first fit */
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
extern ErrorData *xdpg_subxact_try(void (*fn) (void *arg), void *arg);
extern uint64 xdpg_owner_execute(const char *sql, int nargs, Oid *types, Datum *vals,
								 const char *nulls, int expect);
extern uint64 xdpg_owner_execute_kept(SPIPlanPtr *plan, const char *sql, int nargs,
									  Oid *types, Datum *vals, const char *nulls, int expect);
extern Datum xdpg_current_role_name(void);
extern void xdpg_model_check_write(int64 model_id, const char *name, const char *privilege);

extern int	xdpg_spi_user_facing(const char *sql, int nargs, Oid *types, Datum *vals,
								 const char *nulls, bool read_only, long count);

/* model_write.c */
extern void xdpg_write_features(int64 model_id, Datum features);

/* version_write.c */
extern int64 xdpg_write_version(XdModelDef *md, const char *domain, xd_model *model,
								const xd_dataset *ds, const XdKeyMap *users,
								const XdKeyMap *items, const char *metrics_json,
								const char *encoder_json, const XdVersionInfo *info);

/* version_read.c */
extern void xdpg_read_version(XdVersion *v, const XdVersionRef *ref);
extern void xdpg_check_version_features(const XdModelDef *md, const XdVersion *v);

/* served.c */
extern Oid	xdpg_domain_relid(void);
extern void xdpg_deploy(XdModelDef *md, const char *domain, const char *role,
						int64 version_id, const char *stats_json);

/* forget.c */
extern void xdpg_forget_pending(XdModelDef *md, const char *domain, int64 version_id);
extern int32 xdpg_forget_user(const char *name, const char *domain, const char *user_key);
extern Datum xdpg_forgotten_of(int64 model_id, const char *domain, const char *user_key);

#endif
