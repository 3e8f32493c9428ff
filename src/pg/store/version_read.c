/*
 * version_read.c - a stored version read back for ranking, evaluation and
 * adaptation, validated as it is read (DESIGN section 9: stored data is
 * untrusted input). A superuser, a restored dump or a disk fault can put
 * anything in the catalog's rows, so everything serving, evaluate and adapt
 * use is checked once, when the version is loaded, in this order:
 *
 *   the row        its domain is the one asked for, its method known, a
 *                  pinned version is a source version of the same model;
 *   the encoder    its JSON complete and typed: the config, the sizes, the
 *                  features with their vocabularies, and the layout they
 *                  give (m, each feature's offset and width);
 *   the inventory  every tensor the table (stored_tensors.c) expects, its
 *                  chunks numbered 0..n-1 and holding exactly the bytes of
 *                  its shape; key maps and seen items as long as the sizes;
 *   the budget     those sizes, now bounded by the rows present, within
 *                  xdrec.cache_memory (xdrec.train_memory for adapt), all
 *                  before anything of their size is allocated;
 *   the tensors    blob headers and checksums (blob.c), shapes, values
 *                  finite (NaN only where it means missing), profile codes
 *                  within their vocabularies;
 *   the key maps   one key per id, strictly ascending, nulls only where a
 *                  user was forgotten, chunks of the writer's size;
 *   seen items     counts non-negative and adding up per chunk, items in range;
 *   a blend        (method "blend", adapt_run.c) its link in the encoder, the
 *                  DRR version it names read in full as above, and the pair
 *                  checked: same model, domain, pinned source, keys, width.
 *
 * Anything else is ERRCODE_DATA_CORRUPTED naming the model, the domain and
 * the version; never a crash, and never a model answering from weights it
 * does not have.
 */
#include "postgres.h"

#include <float.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "xdrec/blob.h"
#include "xdrec/biao.h"
#include "xdrec/cold.h"
#include "xdrec/fewshot.h"
#include "xdrec/serve.h"
#include "store/store.h"

/* the bound create_model puts on a feature's bins (sql/src/46_lifecycle.sql) */
#define XDPG_MAX_BINS 1000

/* one version being read: what its errors name and what was learnt so far */
typedef struct VersionRead
{
	const XdVersionRef *ref;
	XdVersion  *v;
	xd_config	cfg;
	int32		n_users;
	int32		n_items;
	double		rating_mean;
	bool		explicit_model; /* the model's own rows, beside the version's */
	bool		user_int;
	bool		item_int;
	bool		borrow;			/* M1, M3, M4 from the pinned source version */
	XdStoredTensor *tensors;	/* what the table says it holds */
	int			n_tensors;
	bool		has_encoders;	/* wanted and stored */
	bool		has_cold;		/* the cold-start module is stored */
	bool		has_cold_film;	/* ... with its FiLM heads */
	bool		has_cold_prior; /* ... with its context prior */
	bool		has_cold_cooc;	/* ... with its co-occurrence prior */
	bool		has_fewshot;	/* the few-shot meta-learner: wanted and stored */
	bool		has_biao;		/* BIAO's perceptron is stored */
	bool		has_item_bias;	/* a few-shot market's item bias is stored */
	int32	   *code_values[2]; /* users, items: n_values of each profile code */
	int64		n_seen_items;
	int64		key_bytes;		/* the key maps' stored size */
	int64		blend_second;	/* a blend version: the DRR version it blends */
	double		blend_a;		/* ... with this weight (read_blend_link) */
	double		repeat_pop;		/* the lift's popularity in context (0: none) */
	double		pop_all;		/* popularity in context on every item (0: none) */
} VersionRead;

static void version_corrupt(const VersionRead *r, const char *fmt,...)
			pg_attribute_printf(2, 3) pg_attribute_noreturn();

static void
version_corrupt(const VersionRead *r, const char *fmt,...)
{
	StringInfoData what;

	initStringInfo(&what);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&what, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&what, needed);
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) is corrupt: %s",
					r->ref->version_id, r->ref->model, r->ref->domain, what.data),
			 errhint("Its rows in the xdrec catalog were changed outside xdrec or damaged. "
					 "Serve another version (xdrec.rollback) or train the domain again.")));
}

/* ------------------------------------------------------------ encoder JSON */

typedef enum JsonKind
{
	JSON_NULL,
	JSON_STRING,
	JSON_NUMBER,
	JSON_BOOL,
	JSON_ARRAY,
	JSON_OBJECT
} JsonKind;

static const char *const json_kind_names[] = {"null", "a string", "a number", "a boolean",
"an array", "an object"};

static JsonKind
json_kind(const JsonbValue *jv)
{
	switch (jv->type)
	{
		case jbvString:
			return JSON_STRING;
		case jbvNumeric:
			return JSON_NUMBER;
		case jbvBool:
			return JSON_BOOL;
		case jbvBinary:
			return JsonContainerIsArray(jv->val.binary.data) ? JSON_ARRAY : JSON_OBJECT;
		default:
			return JSON_NULL;
	}
}

/* "config.d", "schema.features[2].vocab" */
static char *
json_path(const char *path, const char *key)
{
	return path[0] ? psprintf("%s.%s", path, key) : pstrdup(key);
}

static void
json_expect(const VersionRead *r, const JsonbValue *jv, const char *where, JsonKind want)
{
	JsonKind	got = json_kind(jv);

	if (got != want)
		version_corrupt(r, "its encoder's \"%s\" is %s, not %s", where,
						json_kind_names[got], json_kind_names[want]);
}

/* obj's key, which must be there, of kind want */
static JsonbValue
json_key(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key,
		 JsonKind want)
{
	JsonbValue	jv;

	if (!getKeyJsonValueFromContainer(obj, key, strlen(key), &jv))
		version_corrupt(r, "its encoder has no \"%s\"", json_path(path, key));
	json_expect(r, &jv, json_path(path, key), want);
	return jv;
}

/* obj's key when it is there (a version older than the key has none), of kind want */
static bool
json_opt_key(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key,
			 JsonKind want, JsonbValue *jv)
{
	if (!getKeyJsonValueFromContainer(obj, key, strlen(key), jv))
		return false;
	json_expect(r, jv, json_path(path, key), want);
	return true;
}

static JsonbContainer *
json_container(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key,
			   JsonKind want)
{
	return json_key(r, obj, path, key, want).val.binary.data;
}

static char *
json_string(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key)
{
	JsonbValue	jv = json_key(r, obj, path, key, JSON_STRING);

	return pnstrdup(jv.val.string.val, jv.val.string.len);
}

/* the index of obj's string key in choices (NULL-terminated) */
static int
json_choice(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key,
			const char *const *choices)
{
	char	   *s = json_string(r, obj, path, key);

	for (int i = 0; choices[i]; i++)
		if (strcmp(s, choices[i]) == 0)
			return i;
	version_corrupt(r, "its encoder's \"%s\" is \"%s\", which xdrec does not know",
					json_path(path, key), s);
}

/* a number as its error message shows it: digits, or 1.0e+400 when long */
static char *
json_number_text(Numeric n)
{
	char	   *text = numeric_normalize(n);

	return strlen(text) <= 24 ? text : numeric_out_sci(n, 6);
}

/* an integral number in lo..hi */
static int64
json_int(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key,
		 int64 lo, int64 hi)
{
	JsonbValue	jv = json_key(r, obj, path, key, JSON_NUMBER);
	char	   *text = numeric_normalize(jv.val.numeric);
	char	   *end;
	long long	x;

	errno = 0;
	x = strtoll(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || x < lo || x > hi)
		version_corrupt(r, "its encoder's \"%s\" is %s, not an integer in " INT64_FORMAT ".." INT64_FORMAT,
						json_path(path, key), json_number_text(jv.val.numeric), lo, hi);
	return (int64) x;
}

static double
json_float(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key)
{
	JsonbValue	jv = json_key(r, obj, path, key, JSON_NUMBER);
	char	   *text = numeric_normalize(jv.val.numeric);
	double		x = strtod(text, NULL);

	if (!isfinite(x))
		version_corrupt(r, "its encoder's \"%s\" is %s, not a finite number",
						json_path(path, key), json_number_text(jv.val.numeric));
	return x;
}

static bool
json_bool(const VersionRead *r, JsonbContainer *obj, const char *path, const char *key)
{
	return json_key(r, obj, path, key, JSON_BOOL).val.boolean;
}

/* element i of an array, of kind want */
static JsonbValue *
json_element(const VersionRead *r, JsonbContainer *arr, const char *path, uint32 i,
			 JsonKind want)
{
	JsonbValue *jv = getIthJsonbValueFromContainer(arr, i);

	json_expect(r, jv, psprintf("%s[%u]", path, i), want);
	return jv;
}

/* a recorded option's integer, within the bounds create_model puts on it */
static int
config_int(const VersionRead *r, JsonbContainer *c, const char *name)
{
	const XdOption *o = xdpg_option(name);

	return (int) json_int(r, c, "config", name, o->min, o->max);
}

/*
 * The repeat term (config "repeat": a boolean, or "lift") and rank's exclude_seen default (config
 * "exclude_seen", "repeat_share"), which versions before them lack: no
 * term, and seen items left out, as those versions were served.
 */
static void
read_repeat(VersionRead *r, JsonbContainer *root, JsonbContainer *c)
{
	JsonbValue	jv;
	const char *mode = "always";
	double		share = 0.0;

	/* true, false, or "lift": the term as a lift only (core.h) */
	if (getKeyJsonValueFromContainer(c, "repeat", strlen("repeat"), &jv) && jv.type == jbvString)
	{
		/* a fit records what "auto" resolved to (xd_config_repeat_from_data) */
		if (strcmp(json_string(r, c, "config", "repeat"), xdpg_option("repeat")->words[0]) != 0)
			version_corrupt(r, "its config's \"repeat\" is neither a boolean nor \"%s\"",
							xdpg_option("repeat")->words[0]);
		r->cfg.repeat = r->cfg.repeat_lift = true;
	}
	else
		r->cfg.repeat = json_opt_key(r, c, "config", "repeat", JSON_BOOL, &jv) && jv.val.boolean;
	if (json_opt_key(r, c, "config", "exclude_seen", JSON_STRING, &jv))
		mode = xdpg_option("exclude_seen")->choices[json_choice(r, c, "config", "exclude_seen",
																 xdpg_option("exclude_seen")->choices)];
	if (json_opt_key(r, root, "", "repeat_share", JSON_NUMBER, &jv))
	{
		share = json_float(r, root, "", "repeat_share");
		if (!(share >= 0.0 && share <= 1.0))
			version_corrupt(r, "its encoder's \"repeat_share\" is %g, not a share", share);
	}
	r->v->exclude_seen = strcmp(mode, "never") != 0 &&
		(strcmp(mode, "always") == 0 || share < XD_REPEAT_AUTO_SHARE);
}

/*
 * A popularity weight of the encoder (key: "repeat_pop" or
 * "context_popularity"), 0 when absent; at most XD_REPEAT_POP_MAX, the
 * ladder's top: a larger one could make a score infinite (core.h)
 */
static double
read_pop_weight(const VersionRead *r, JsonbContainer *root, const char *key)
{
	JsonbValue	jv;
	double		w;

	if (!json_opt_key(r, root, "", key, JSON_NUMBER, &jv))
		return 0.0;
	w = json_float(r, root, "", key);
	if (!(w >= 0.0 && w <= XD_REPEAT_POP_MAX))
		version_corrupt(r, "its encoder's \"%s\" is %g, not a weight from 0 to %g",
						key, w, (double) XD_REPEAT_POP_MAX);
	return w;
}

/*
 * The model's config and sizes ("config", "n_users", "n_items",
 * "rating_mean"), within the bounds create_model puts on the options.
 */
static void
read_config(VersionRead *r, JsonbContainer *root)
{
	JsonbContainer *c = json_container(r, root, "", "config", JSON_OBJECT);
	xd_config  *cfg = &r->cfg;

	xd_config_defaults(cfg);
	cfg->dropout = 0.0f;		/* scoring only */
	cfg->d = config_int(r, c, "d");
	cfg->n_ctx_layers = config_int(r, c, "context_layers");
	cfg->n_tower_layers = config_int(r, c, "tower_layers");
	/* the choices' order is the core's enum's (options.c) */
	cfg->variant = (xd_variant) json_choice(r, c, "config", "variant", xdpg_option("variant")->choices);
	cfg->mm_residual = json_bool(r, c, "config", "mm_residual");
	cfg->feedback = (xd_feedback) json_choice(r, c, "config", "feedback", xdpg_option("feedback")->choices);
	cfg->batch_size = config_int(r, c, "batch_size");
	cfg->m = (int) json_int(r, c, "config", "m", 1, PG_INT32_MAX);
	r->v->explicit_fb = cfg->feedback == XD_EXPLICIT;
	read_repeat(r, root, c);
	if (r->v->explicit_fb != r->explicit_model)
		version_corrupt(r, "it learnt %s feedback, but its model has %s",
						xdpg_option("feedback")->choices[cfg->feedback], r->explicit_model ? "ratings" : "no ratings");
	r->n_users = (int32) json_int(r, root, "", "n_users", 1, PG_INT32_MAX - 1);
	r->n_items = (int32) json_int(r, root, "", "n_items", 1, PG_INT32_MAX - 1);
	r->rating_mean = json_float(r, root, "", "rating_mean");
	if (fabs(r->rating_mean) > FLT_MAX)
		version_corrupt(r, "its encoder's \"rating_mean\" is %g, beyond a float", r->rating_mean);
	/*
	 * option cold_min's choice (cold_fit.c): trained users with fewer rows
	 * served by the cold path; absent (0) before it, or when validation
	 * kept the warm path
	 */
	{
		JsonbValue	jv;

		r->v->cold_min = json_opt_key(r, root, "", "cold_min", JSON_NUMBER, &jv)
			? (int) json_int(r, root, "", "cold_min", 1, xdpg_option("cold_min")->max) : 0;
		/*
		 * the weight of popularity in context among the user's own lifted
		 * items (fit_common.c, xdpg_fit_repeat_pop); absent (0) before it,
		 * or when validation kept the lift alone
		 */
		r->repeat_pop = read_pop_weight(r, root, "repeat_pop");
		/*
		 * the weight of popularity in context on every item (fit_common.c,
		 * xdpg_fit_context_popularity); absent (0) before it, on explicit
		 * feedback, or with option context_popularity 0
		 */
		r->pop_all = read_pop_weight(r, root, "context_popularity");
	}
}

static const char *const feature_types[] = {"numeric", "categorical", "boolean", NULL};
static const char *const feature_kinds[] = {"interactional", "historical", "attributional", NULL};
static const char *const feature_scopes[] = {"interaction", "user", "item", NULL};

/* A categorical feature's frozen vocabulary: distinct strings. */
static void
read_vocabulary(VersionRead *r, JsonbContainer *feature, const char *path, XdFeatureDef *f)
{
	JsonbContainer *vocab = json_container(r, feature, path, "vocab", JSON_ARRAY);
	char	   *vpath = json_path(path, "vocab");

	f->n_vocab = (int) JsonContainerSize(vocab);
	if (f->n_vocab > xdpg_option("vocab_cap")->max)
		version_corrupt(r, "its encoder's \"%s\" has %d values, more than %d", vpath,
						f->n_vocab, (int) xdpg_option("vocab_cap")->max);
	f->vocab = MemoryContextAlloc(r->v->cxt, sizeof(char *) * Max(f->n_vocab, 1));
	for (int k = 0; k < f->n_vocab; k++)
	{
		JsonbValue *jv = json_element(r, vocab, vpath, k, JSON_STRING);

		f->vocab[k] = MemoryContextAlloc(r->v->cxt, jv->val.string.len + 1);
		memcpy(f->vocab[k], jv->val.string.val, jv->val.string.len);
		f->vocab[k][jv->val.string.len] = '\0';
		pfree(jv);
	}
	/* codes are positions: two equal values would make one of them unreachable */
	xdpg_vocab_index(f, MemoryContextAlloc(r->v->cxt, sizeof(XdVocabEntry) * Max(f->n_vocab, 1)));
	for (int k = 1; k < f->n_vocab; k++)
		if (strcmp(f->sorted[k - 1].value, f->sorted[k].value) == 0)
			version_corrupt(r, "its encoder's \"%s\" lists \"%s\" twice", vpath, f->sorted[k].value);
}

/* Feature i of "schema.features": name, type, kind, scope, bins, vocabulary. */
static void
read_feature(VersionRead *r, JsonbContainer *features, int i, XdFeatureDef *f)
{
	char	   *path = psprintf("schema.features[%d]", i);
	JsonbContainer *obj = json_element(r, features, "schema.features", i, JSON_OBJECT)->val.binary.data;

	f->name = MemoryContextStrdup(r->v->cxt, json_string(r, obj, path, "name"));
	if (f->name[0] == '\0')
		version_corrupt(r, "its encoder's \"%s.name\" is empty", path);
	f->type = (XdSqlType) json_choice(r, obj, path, "type", feature_types);
	f->kind = (xd_feature_kind) json_choice(r, obj, path, "kind", feature_kinds);
	f->scope = (xd_feature_scope) json_choice(r, obj, path, "scope", feature_scopes);
	/* numeric: 0 (min-max) or quantile bins; others none */
	f->bins = (int) json_int(r, obj, path, "bins", 0, f->type == XDPG_NUMERIC ? XDPG_MAX_BINS : 0);
	if (f->bins == 1)
		version_corrupt(r, "its encoder's \"%s.bins\" is 1, not 0 or 2..%d", path, XDPG_MAX_BINS);
	if (f->type == XDPG_CATEGORICAL)
		read_vocabulary(r, obj, path, f);
	if (f->scope == XD_SCOPE_ITEM)
		r->v->has_item_scope = true;
}

/*
 * The layout the features give (xd_schema_init) must be the one stored: m
 * and its split, and each feature's offset and width; config.m too.
 */
static void
check_layout(VersionRead *r, JsonbContainer *schema_obj, JsonbContainer *features,
			 const xd_schema *s)
{
	if (json_int(r, schema_obj, "schema", "m", 0, PG_INT32_MAX) != s->m ||
		json_int(r, schema_obj, "schema", "m_I", 0, PG_INT32_MAX) != s->m_I ||
		json_int(r, schema_obj, "schema", "m_H", 0, PG_INT32_MAX) != s->m_H ||
		json_int(r, schema_obj, "schema", "m_A", 0, PG_INT32_MAX) != s->m_A ||
		r->cfg.m != s->m)
		version_corrupt(r, "its encoder's context width does not match its features, which encode %d values",
						s->m);
	for (int i = 0; i < s->n_features; i++)
	{
		char	   *path = psprintf("schema.features[%d]", i);
		JsonbContainer *obj = json_element(r, features, "schema.features", i, JSON_OBJECT)->val.binary.data;

		if (json_int(r, obj, path, "offset", 0, PG_INT32_MAX) != s->features[i].offset ||
			json_int(r, obj, path, "width", 0, PG_INT32_MAX) != s->features[i].width)
			version_corrupt(r, "its encoder's \"%s\" is not where its vocabulary and bins put it (offset %d, width %d)",
							path, s->features[i].offset, s->features[i].width);
	}
	r->cfg.m_I = s->m_I;
	r->cfg.m_H = s->m_H;
	r->cfg.m_A = s->m_A;
}

/* n_values of each user (which = 0) or item (1) profile code column */
static int32 *
profile_code_values(const xd_schema *s, int which)
{
	xd_feature_scope scope = which == 0 ? XD_SCOPE_USER : XD_SCOPE_ITEM;
	int32	   *n = palloc0(sizeof(int32) * Max(which == 0 ? s->n_user_codes : s->n_item_codes, 1));

	for (int i = 0; i < s->n_features; i++)
		if (s->features[i].scope == scope && s->features[i].type == XD_TYPE_CATEGORICAL)
			n[s->features[i].profile] = s->features[i].n_values;
	return n;
}

/*
 * The features ("schema"), into v->features (in v->cxt), and the encoder's
 * schema into schema (the caller frees it).
 */
static void
read_features(VersionRead *r, JsonbContainer *root, xd_schema *schema)
{
	JsonbContainer *schema_obj = json_container(r, root, "", "schema", JSON_OBJECT);
	JsonbContainer *features = json_container(r, schema_obj, "schema", "features", JSON_ARRAY);
	XdVersion  *v = r->v;

	v->n_features = (int) JsonContainerSize(features);
	v->features = MemoryContextAllocZero(v->cxt, sizeof(XdFeatureDef) * Max(v->n_features, 1));
	for (int i = 0; i < v->n_features; i++)
	{
		read_feature(r, features, i, &v->features[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(v->features[j].name, v->features[i].name) == 0)
				version_corrupt(r, "its encoder declares feature \"%s\" twice", v->features[i].name);
	}
	xdpg_schema(v->features, v->n_features, schema);
	check_layout(r, schema_obj, features, schema);
	if (xd_config_check(&r->cfg) != XD_OK)
		version_corrupt(r, "its config is invalid");
	r->code_values[0] = profile_code_values(schema, 0);
	r->code_values[1] = profile_code_values(schema, 1);
}

/* ------------------------------------------------------------- the row */

static const char *const methods[] = {
	"train", "drr", "anneal", "direct", "target_only", "fewshot", "popularity", "blend", NULL
};

/*
 * A target whose own rows hold DRR's residual layers (eq. 19) over the
 * modules of the source it pins: DRR's, and fewshot's (fewshot.h: theta is
 * the residuals and the domain's tables, the source's modules frozen).
 */
static bool
method_has_residuals(const char *method)
{
	return strcmp(method, "drr") == 0 || strcmp(method, "fewshot") == 0;
}

/*
 * The version's row, its model's key types and feedback, and its pinned
 * version; returns its encoder JSON. SPI connected.
 */
static Jsonb *
read_row(VersionRead *r)
{
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2] = {Int64GetDatum(r->ref->version_id), Int64GetDatum(r->ref->model_id)};
	XdVersion  *v = r->v;
	HeapTuple	tup;
	TupleDesc	td;
	bool		isnull;
	Datum		d;
	char	   *method;
	bool		pin_ok;

	if (SPI_execute_with_args("SELECT v.domain, v.method, v.pins_shared_version, v.encoder, "
							  " m.user_type IN ('bigint', 'integer', 'smallint'), "
							  " m.item_type IN ('bigint', 'integer', 'smallint'), "
							  " m.rating_col IS NOT NULL, "
							  " (SELECT p.kind = 'source' AND p.model_id = v.model_id "
							  "  FROM xdrec.version p WHERE p.id = v.pins_shared_version) "
							  "FROM xdrec.version v JOIN xdrec.model m ON m.id = v.model_id "
							  "WHERE v.id = $1 AND v.model_id = $2",
							  2, types, vals, NULL, true, 0) != SPI_OK_SELECT || SPI_processed != 1)
		version_corrupt(r, "it has no row in xdrec.version");
	tup = SPI_tuptable->vals[0];
	td = SPI_tuptable->tupdesc;
	if (!SPI_getvalue(tup, td, 1) || !SPI_getvalue(tup, td, 2))
		version_corrupt(r, "its row has no domain or no method");
	v->domain = MemoryContextStrdup(v->cxt, SPI_getvalue(tup, td, 1));
	if (strcmp(v->domain, r->ref->domain) != 0)
		version_corrupt(r, "it was trained on domain %s", v->domain);
	method = SPI_getvalue(tup, td, 2);
	for (int i = 0;; i++)
		if (!methods[i])
			version_corrupt(r, "its method \"%s\" is unknown", method);
		else if (strcmp(methods[i], method) == 0)
			break;
	v->method = MemoryContextStrdup(v->cxt, method);
	d = SPI_getbinval(tup, td, 3, &isnull);
	v->pins_shared_version = isnull ? 0 : DatumGetInt64(d);
	r->user_int = DatumGetBool(SPI_getbinval(tup, td, 5, &isnull));
	r->item_int = DatumGetBool(SPI_getbinval(tup, td, 6, &isnull));
	r->explicit_model = DatumGetBool(SPI_getbinval(tup, td, 7, &isnull));
	pin_ok = DatumGetBool(SPI_getbinval(tup, td, 8, &isnull)) && !isnull;

	/*
	 * a Direct, DRR or fewshot target serves the modules of the source it
	 * pins; so does one served by popularity (its tables unused, adapt_run.c)
	 */
	r->borrow = method_has_residuals(v->method) || strcmp(v->method, "direct") == 0 ||
		strcmp(v->method, "popularity") == 0;
	if (r->borrow && (v->pins_shared_version <= 0 || !pin_ok))
		version_corrupt(r, "it is a %s target, but it does not pin a source version of its model",
						v->method);
	d = SPI_getbinval(tup, td, 4, &isnull);
	if (isnull)
		version_corrupt(r, "it has no encoder");
	return DatumGetJsonbPCopy(d);
}

/* ------------------------------------------------------- the inventory */

/* The expected tensor stored under name (0.1.0's names included), or NULL. */
static XdStoredTensor *
expected_tensor(VersionRead *r, const char *name)
{
	name = xdpg_stored_tensor_current_name(name);
	for (int i = 0; i < r->n_tensors; i++)
		if (strcmp(r->tensors[i].name, name) == 0)
			return &r->tensors[i];
	return NULL;
}

/*
 * Checks the stored chunks of one expected tensor: numbered 0..n-1 and
 * holding exactly the blob bytes its shape needs (blob.h), before any of it
 * is read.
 */
static void
check_tensor_chunks(VersionRead *r, XdStoredTensor *t, int64 n_chunks, int32 first, int32 last,
					int64 bytes)
{
	size_t		need;

	if (t->found)
		version_corrupt(r, "it stores tensor \"%s\" twice, under its 0.1.0 name too", t->name);
	if (first != 0 || last != n_chunks - 1)
		version_corrupt(r, "tensor \"%s\" has chunks %d..%d, not 0..%d", t->name, first, last,
						(int) n_chunks - 1);
	if (xd_blob_size(t->ndim, (const uint64_t *) t->shape, &need) != XD_OK ||
		bytes != (int64) need)
		version_corrupt(r, "tensor \"%s\" holds " INT64_FORMAT " bytes, not the %zu of its shape "
						UINT64_FORMAT " x " UINT64_FORMAT,
						t->name, bytes, need, t->shape[0], t->ndim == 2 ? t->shape[1] : 1);
	t->found = true;
}

/*
 * A version's weight rows: its own ($1), and for a Direct or DRR target the
 * modules M1, M3, M4 of the source version it pins ($2; DESIGN section 1),
 * whatever the source serves now.
 */
#define XDPG_VERSION_WEIGHTS \
	"(SELECT tensor, chunk, data FROM xdrec.weight WHERE version_id = $1 " \
	" UNION ALL " \
	" SELECT tensor, chunk, data FROM xdrec.weight WHERE version_id = $2 " \
	" AND (tensor LIKE 'ctx.%' OR tensor LIKE 'clu.%' OR tensor LIKE 'rank.%')) w "

static Oid	version_weights_types[2] = {INT8OID, INT8OID};

static void
version_weights_args(const VersionRead *r, Datum *vals)
{
	vals[0] = Int64GetDatum(r->ref->version_id);
	vals[1] = Int64GetDatum(r->borrow ? r->v->pins_shared_version : 0);
}

/*
 * A tensor stored as a whole group or not at all: the encoders, the cold
 * module, the few-shot meta-learner.
 */
static bool
optional_home(XdTensorHome home)
{
	return home == XDPG_HOME_ENCODERS || home == XDPG_HOME_COLD || home == XDPG_HOME_COLD_FILM ||
		home == XDPG_HOME_COLD_PRIOR || home == XDPG_HOME_COLD_COOC ||
		home == XDPG_HOME_FEWSHOT || home == XDPG_HOME_BIAO ||
		home == XDPG_HOME_FEWSHOT_POP;
}

/* Is home read for this call: the encoders and the meta-learner only when asked for. */
static bool
home_wanted(const VersionRead *r, XdTensorHome home)
{
	return home == XDPG_HOME_ENCODERS ? r->ref->want_encoders :
		home == XDPG_HOME_FEWSHOT ? r->ref->want_fewshot : true;
}

/* How many of home's expected tensors the inventory found, of how many. */
static int
home_found(const VersionRead *r, XdTensorHome home, int *of)
{
	int			n = 0;

	*of = 0;
	for (int i = 0; i < r->n_tensors; i++)
		if (r->tensors[i].home == home)
		{
			(*of)++;
			n += r->tensors[i].found;
		}
	return n;
}

/* Is this optional tensor read: its group stored (and, for encoders, wanted)? */
static bool
optional_read(const VersionRead *r, XdTensorHome home)
{
	return home == XDPG_HOME_ENCODERS ? r->has_encoders :
		home == XDPG_HOME_COLD ? r->has_cold :
		home == XDPG_HOME_COLD_FILM ? r->has_cold_film :
		home == XDPG_HOME_COLD_PRIOR ? r->has_cold_prior :
		home == XDPG_HOME_COLD_COOC ? r->has_cold_cooc :
		home == XDPG_HOME_FEWSHOT ? r->has_fewshot :
		home == XDPG_HOME_BIAO ? r->has_biao :
		home == XDPG_HOME_FEWSHOT_POP ? r->has_item_bias : true;
}

/* The tensors' chunks, counted in the catalog without reading them. */
static void
take_tensor_inventory(VersionRead *r)
{
	Datum		vals[2];
	int			n_encoders = 0,
				n_present = 0,
				n_cold = 0,
				n_film = 0,
				n_prior = 0,
				n_cooc = 0,
				n_fewshot = 0,
				n_biao = 0,
				n_item_bias = 0;

	version_weights_args(r, vals);
	if (SPI_execute_with_args("SELECT tensor, count(*), min(chunk), max(chunk), sum(octet_length(data)) "
							  "FROM " XDPG_VERSION_WEIGHTS "GROUP BY tensor",
							  2, version_weights_types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its tensors cannot be listed");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		char	   *name = SPI_getvalue(tup, td, 1);
		XdStoredTensor *t = expected_tensor(r, name);
		const XdTensorRule *rule;
		bool		isnull;

		if (!t)
		{
			/*
			 * A tensor of the table this config has no place for (its layers,
			 * residual or feedback were changed: a FiLM head of a third tower
			 * layer, the cold module's bias on implicit feedback), unlike the
			 * encoders and the meta-learner when not wanted and a later
			 * release's tensors, which are left unread.
			 */
			rule = xdpg_stored_tensor_rule(name);
			if (rule && home_wanted(r, rule->home))
				version_corrupt(r, "it stores tensor \"%s\", which its config has no place for", name);
			continue;
		}
		check_tensor_chunks(r, t,
							DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull)),
							DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull)),
							DatumGetInt32(SPI_getbinval(tup, td, 4, &isnull)),
							DatumGetInt64(SPI_getbinval(tup, td, 5, &isnull)));
	}
	n_present = home_found(r, XDPG_HOME_ENCODERS, &n_encoders);
	/* a source version has all of its encoders, or none (stored without) */
	r->has_encoders = n_present > 0;
	if (n_present > 0 && n_present < n_encoders)
		version_corrupt(r, "it stores %d of the %d tensors of its distributional encoders",
						n_present, n_encoders);

	/*
	 * The cold-start module likewise (trained with option cold, cold_fit.c):
	 * all of it or none, and its FiLM heads, all or none, only beside it.
	 */
	n_present = home_found(r, XDPG_HOME_COLD, &n_cold);
	r->has_cold = n_present > 0;
	if (n_present > 0 && n_present < n_cold)
		version_corrupt(r, "it stores %d of the %d tensors of its cold-start module",
						n_present, n_cold);
	n_present = home_found(r, XDPG_HOME_COLD_FILM, &n_film);
	r->has_cold_film = n_present > 0;
	if (n_present > 0 && (n_present < n_film || !r->has_cold))
		version_corrupt(r, "it stores %d of the %d FiLM tensors of its cold-start module%s",
						n_present, n_film, r->has_cold ? "" : ", but not the module");
	/* its context prior likewise (a module stored before it has none) */
	n_present = home_found(r, XDPG_HOME_COLD_PRIOR, &n_prior);
	r->has_cold_prior = n_present > 0;
	if (n_present > 0 && (n_present < n_prior || !r->has_cold))
		version_corrupt(r, "it stores %d of the %d context prior tensors of its cold-start module%s",
						n_present, n_prior, r->has_cold ? "" : ", but not the module");
	/* its co-occurrence prior likewise (a module stored before it has none) */
	n_present = home_found(r, XDPG_HOME_COLD_COOC, &n_cooc);
	r->has_cold_cooc = n_present > 0;
	if (n_present > 0 && (n_present < n_cooc || !r->has_cold))
		version_corrupt(r, "it stores %d of the %d co-occurrence prior tensors of its cold-start module%s",
						n_present, n_cooc, r->has_cold ? "" : ", but not the module");

	/*
	 * The few-shot meta-learner (option fewshot, fewshot_fit.c), when wanted:
	 * all of it or none
	 */
	n_present = home_found(r, XDPG_HOME_FEWSHOT, &n_fewshot);
	r->has_fewshot = n_present > 0;
	if (n_present > 0 && n_present < n_fewshot)
		version_corrupt(r, "it stores %d of the %d tensors of its few-shot meta-learner",
						n_present, n_fewshot);
	/* BIAO's perceptron (option source_weighting, biao_fit.c): one tensor */
	r->has_biao = home_found(r, XDPG_HOME_BIAO, &n_biao) > 0;
	/* a few-shot market's item bias (its popularity term): the model then has one */
	r->has_item_bias = home_found(r, XDPG_HOME_FEWSHOT_POP, &n_item_bias) > 0;
	r->cfg.item_bias = r->has_item_bias;
	for (int i = 0; i < r->n_tensors; i++)
		if (!r->tensors[i].found && !optional_home(r->tensors[i].home))
			version_corrupt(r, "tensor \"%s\" is missing%s", r->tensors[i].name,
							r->tensors[i].home == XDPG_HOME_MODULE && r->borrow ?
							psprintf(" from the source version " INT64_FORMAT " it pins",
									 r->v->pins_shared_version) : "");
}

/* Key maps and seen items: as many entries as the sizes say, chunks 0..n-1. */
static void
take_key_inventory(VersionRead *r)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(r->ref->version_id)};
	int64		keys[2] = {0, 0};
	bool		isnull;

	if (SPI_execute_with_args("SELECT kind = 'user', count(*), min(chunk), max(chunk), "
							  " sum(cardinality(keys)), sum(pg_column_size(keys)) "
							  "FROM xdrec.key_map WHERE version_id = $1 GROUP BY kind",
							  1, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its key maps cannot be listed");
	r->key_bytes = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		user = DatumGetBool(SPI_getbinval(tup, td, 1, &isnull));
		int64		n = DatumGetInt64(SPI_getbinval(tup, td, 2, &isnull));

		if (DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull)) != 0 ||
			DatumGetInt32(SPI_getbinval(tup, td, 4, &isnull)) != n - 1)
			version_corrupt(r, "its %s key map has chunks missing or misnumbered", user ? "user" : "item");
		keys[user ? 0 : 1] = DatumGetInt64(SPI_getbinval(tup, td, 5, &isnull));
		r->key_bytes += DatumGetInt64(SPI_getbinval(tup, td, 6, &isnull));
	}
	if (keys[0] != r->n_users || keys[1] != r->n_items)
		version_corrupt(r, "its key maps hold " INT64_FORMAT " users and " INT64_FORMAT
						" items, but its encoder says %d and %d",
						keys[0], keys[1], r->n_users, r->n_items);

	if (SPI_execute_with_args("SELECT count(*), coalesce(min(chunk), 0), coalesce(max(chunk), -1), "
							  " coalesce(sum(cardinality(counts)), 0), coalesce(sum(cardinality(items)), 0) "
							  "FROM xdrec.seen WHERE version_id = $1",
							  1, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its seen items cannot be listed");
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	td = SPI_tuptable->tupdesc;
		int64		n = DatumGetInt64(SPI_getbinval(tup, td, 1, &isnull));
		int64		users = DatumGetInt64(SPI_getbinval(tup, td, 4, &isnull));

		if (DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull)) != 0 ||
			DatumGetInt32(SPI_getbinval(tup, td, 3, &isnull)) != n - 1)
			version_corrupt(r, "its seen items have chunks missing or misnumbered");
		if (users != r->n_users)
			version_corrupt(r, "its seen items list " INT64_FORMAT " users, but it has %d",
							users, r->n_users);
		r->n_seen_items = DatumGetInt64(SPI_getbinval(tup, td, 5, &isnull));
	}
}

/*
 * Refuses a version whose parts, as the inventory found them, would not fit
 * in the budget: the tensors and the model's workspace (malloc'ed by the
 * core), the key maps and the seen items.
 */
static void
check_budget(VersionRead *r, const xd_schema *schema)
{
	const XdVersionRef *ref = r->ref;
	Size		budget = (Size) ref->budget_kb * 1024;
	Size		tensors = 0,
				data;

	for (int i = 0; i < r->n_tensors; i++)
		if (r->tensors[i].found)
			tensors += (Size) xdpg_stored_tensor_count(&r->tensors[i]) * sizeof(float);
	r->v->core_bytes = tensors + xd_model_workspace_bytes(&r->cfg, method_has_residuals(r->v->method));
	/* the rows of the cold module's prior its pass keeps (xd_cold_prior_keep) */
	if (r->has_cold_prior)
		r->v->core_bytes += xd_cold_prior_keep_bytes(schema, r->n_items);
	data = ((Size) r->n_users + (Size) r->n_items) * (sizeof(int64) + sizeof(char *)) +
		(Size) r->key_bytes + ((Size) r->n_users + 1) * sizeof(int64) +
		(Size) r->n_seen_items * sizeof(int32);
	if (r->v->core_bytes + data + ref->budget_used > budget)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) does not fit in %s (%s)",
						ref->version_id, ref->model, ref->domain, ref->budget_setting,
						GetConfigOptionByName(ref->budget_setting, NULL, false)),
				 ref->budget_used == 0 ?
				 errdetail("Its %d users and %d items need %zu bytes of weights and workspace and %zu bytes of keys and seen items.",
						   r->n_users, r->n_items, r->v->core_bytes, data) :
				 errdetail("Its %d users and %d items need %zu bytes of weights and workspace and %zu bytes of keys and seen items, beside the %zu bytes of the blend version it is served with.",
						   r->n_users, r->n_items, r->v->core_bytes, data, ref->budget_used),
				 errhint("Raise %s, e.g. SET %s = '1GB'.", ref->budget_setting, ref->budget_setting)));
}

/* ------------------------------------------------------------ allocation */

static void
version_reset(void *arg)
{
	XdVersion  *v = (XdVersion *) arg;

	if (v->model)
		xd_model_free(v->model);
	v->model = NULL;
	xd_adapt_free(v->adapt);	/* after the model, which borrows it */
	v->adapt = NULL;
	xd_dist_encoders_free(v->encoders);
	v->encoders = NULL;
	xd_cold_free(v->cold);
	v->cold = NULL;
	xd_fewshot_free(v->fewshot);
	v->fewshot = NULL;
	free(v->biao_phi.w);
	v->biao_phi.w = NULL;
	if (v->item_map)
		xd_item_map_free(v->item_map);	/* its arrays; the struct is in v->cxt */
	v->item_map = NULL;
	xd_feature_encoder_free(&v->enc);
}

/* A tensor the core allocated must have its row in the table, of its shape. */
static void
check_table_covers(VersionRead *r, const xd_param *p)
{
	XdStoredTensor *t = expected_tensor(r, p->name);

	if (!t || t->ndim != 2 || t->shape[0] != (uint64) p->rows || t->shape[1] != (uint64) p->cols)
		elog(ERROR, "xdrec: the table of stored tensors has no row for tensor \"%s\" (%d x %d)",
			 p->name, p->rows, p->cols);
}

/* The core's objects, sized by what the inventory found. */
static void
allocate_version(VersionRead *r, const xd_schema *schema)
{
	XdVersion  *v = r->v;
	xd_param  **params;
	int			n_params;
	xd_rng		rng;

	xdpg_check_status(xd_feature_encoder_init(&v->enc, schema, r->n_users, r->n_items), "reading the encoder");
	xd_rng_seed(&rng, 1);
	xdpg_check_status(xd_model_create(&r->cfg, r->n_users, r->n_items, (float) r->rating_mean,
									  &rng, &v->model), "reading the model");
	/* a DRR or fewshot target: its residuals join the model before the tensors land */
	if (method_has_residuals(v->method))
	{
		xdpg_check_status(xd_adapt_new(&r->cfg, &v->adapt), "reading the residuals");
		xdpg_check_status(xd_model_set_adapt(v->model, v->adapt), "reading the residuals");
	}
	xd_model_params(v->model, &params, &n_params);
	for (int i = 0; i < n_params; i++)
		check_table_covers(r, params[i]);
	if (r->has_encoders)
	{
		xdpg_check_status(xd_dist_encoders_new(&r->cfg, XD_ENC_HIDDEN, XD_ENC_LATENT, &v->encoders),
						  "reading the encoders");
		for (int k = 0; k < XD_N_ENC; k++)
			for (int j = 0; v->encoders->e[k] && j < v->encoders->e[k]->n_params; j++)
				check_table_covers(r, &v->encoders->e[k]->params[j]);
	}
	/* a prior beyond its bound was never trained (cold.h): not allocated */
	if (r->has_cold_prior && !xd_cold_prior_fits(schema, r->n_items))
		version_corrupt(r, "its cold-start module's context prior is larger than %zu bytes",
						XD_COLD_PRIOR_MAX_BYTES);
	if (r->has_cold)
	{
		/* its scratch holds a pass of the model's rows, as the model's does */
		xdpg_check_status(xd_cold_new(&r->cfg, r->has_cold_prior ? schema : NULL, r->n_items,
									  r->has_cold_film, XD_COLD_HIDDEN,
									  xd_model_max_rows(v->model), &v->cold),
						  "reading the cold-start module");
		if (r->has_cold_cooc)
			xdpg_check_status(xd_cold_cooc_new(v->cold, r->n_items),
							  "reading the cold-start module's co-occurrence prior");
		for (int j = 0; j < v->cold->n_params; j++)
			check_table_covers(r, &v->cold->params[j]);
	}
	if (r->has_fewshot)
	{
		xdpg_check_status(xd_fewshot_new(&r->cfg, 1, &v->fewshot), "reading the few-shot meta-learner");
		for (int j = 0; j < v->fewshot->n_params; j++)
			check_table_covers(r, &v->fewshot->params[j]);
	}
	if (r->has_biao)
	{
		xd_param   *p = &v->biao_phi;

		strlcpy(p->name, "biao.phi", sizeof(p->name));
		p->rows = 1;
		p->cols = (int) xd_biao_phi_size(r->cfg.d, r->cfg.m);
		p->w = malloc(sizeof(float) * p->cols);
		if (!p->w)
			xdpg_check_status(XD_ENOMEM, "reading the source weighting's perceptron");
		check_table_covers(r, p);
	}
}

/* ------------------------------------------------------------ the tensors */

static xd_param *
find_encoder_param(xd_dist_encoders *enc, const char *name)
{
	for (int k = 0; k < XD_N_ENC; k++)
		if (enc->e[k])
			for (int j = 0; j < enc->e[k]->n_params; j++)
				if (strcmp(enc->e[k]->params[j].name, name) == 0)
					return &enc->e[k]->params[j];
	return NULL;
}

/* Checks a decoded tensor's values by its rule. */
static void
check_values(VersionRead *r, const XdStoredTensor *t, const float *x)
{
	uint64		n = xdpg_stored_tensor_count(t);

	for (uint64 i = 0; i < n; i++)
	{
		float		y = x[i];
		int32		n_values;

		switch (t->values)
		{
			case XDPG_FINITE:
				if (!isfinite(y))
					version_corrupt(r, "tensor \"%s\" holds %g at " UINT64_FORMAT, t->name, y, i);
				break;
			case XDPG_FINITE_OR_MISSING:
				if (isinf(y))
					version_corrupt(r, "tensor \"%s\" holds %g at " UINT64_FORMAT, t->name, y, i);
				break;
			case XDPG_USER_CODES:
			case XDPG_ITEM_CODES:
				/* -1 missing, else a slot of the column's one-hot ("other" last) */
				n_values = r->code_values[t->values == XDPG_USER_CODES ? 0 : 1][i % t->shape[1]];
				if (!(y >= -1.0f && y < (float) n_values && y == floorf(y)))
					version_corrupt(r, "tensor \"%s\" holds %g at " UINT64_FORMAT ", not a code in -1..%d",
									t->name, y, i, n_values - 1);
				break;
		}
	}
}

/* Where a tensor's values go: a float array, or the int32 codes of a profile. */
static void
tensor_destination(VersionRead *r, const XdStoredTensor *t, float **f, int32 **codes)
{
	xd_feature_encoder *e = &r->v->enc;
	xd_param   *p;

	*f = NULL;
	*codes = NULL;
	if (strcmp(t->name, "feat.num_min") == 0)
		*f = e->num_min;
	else if (strcmp(t->name, "feat.num_max") == 0)
		*f = e->num_max;
	else if (strcmp(t->name, "feat.bin_edges") == 0)
		*f = e->bin_edges;
	else if (strcmp(t->name, "feat.user_num") == 0)
		*f = e->user_num;
	else if (strcmp(t->name, "feat.item_num") == 0)
		*f = e->item_num;
	else if (strcmp(t->name, "feat.user_codes") == 0)
		*codes = e->user_codes;
	else if (strcmp(t->name, "feat.item_codes") == 0)
		*codes = e->item_codes;
	else if ((p = t->home == XDPG_HOME_ENCODERS ? find_encoder_param(r->v->encoders, t->name)
			  : t->home == XDPG_HOME_COLD || t->home == XDPG_HOME_COLD_FILM ||
			  t->home == XDPG_HOME_COLD_PRIOR || t->home == XDPG_HOME_COLD_COOC ?
			  xd_cold_find_param(r->v->cold, t->name)
			  : t->home == XDPG_HOME_FEWSHOT ? xd_fewshot_find_param(r->v->fewshot, t->name)
			  : t->home == XDPG_HOME_BIAO ? &r->v->biao_phi
			  : xd_model_find_param(r->v->model, t->name)) != NULL)
		*f = p->w;
	else
		elog(ERROR, "xdrec: stored tensor \"%s\" has no place in the model", t->name);
}

/* Decodes one tensor from its chunks, checks it and copies it into place. */
static void
read_tensor(VersionRead *r, XdStoredTensor *t, List *chunks)
{
	int			n = list_length(chunks);
	const uint8_t **ptrs = palloc(sizeof(uint8_t *) * Max(n, 1));
	size_t	   *lens = palloc(sizeof(size_t) * Max(n, 1));
	uint8_t    *blob = NULL;
	size_t		len = 0;
	xd_tensor	tensor;
	xd_status	st;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, chunks)
	{
		bytea	   *b = (bytea *) lfirst(lc);

		ptrs[i] = (const uint8_t *) VARDATA_ANY(b);
		lens[i++] = VARSIZE_ANY_EXHDR(b);
	}
	st = xd_blob_reassemble(ptrs, lens, n, XDPG_CHUNK_BYTES, &blob, &len);
	if (st == XD_OK)
		st = xd_blob_read(blob, len, &tensor);
	free(blob);
	if (st != XD_OK)
		version_corrupt(r, "tensor \"%s\": %s", t->name, xd_status_message(st));
	PG_TRY();
	{
		float	   *f;
		int32	   *codes;
		uint64		count = xdpg_stored_tensor_count(t);

		if (tensor.ndim != t->ndim || tensor.shape[0] != t->shape[0] ||
			(t->ndim == 2 && tensor.shape[1] != t->shape[1]))
			version_corrupt(r, "tensor \"%s\" is not of the shape " UINT64_FORMAT " x " UINT64_FORMAT " its config gives",
							t->name, t->shape[0], t->ndim == 2 ? t->shape[1] : 1);
		check_values(r, t, tensor.data);
		tensor_destination(r, t, &f, &codes);
		if (f)
			memcpy(f, tensor.data, sizeof(float) * count);
		else
			for (uint64 k = 0; k < count; k++)
				codes[k] = (int32) tensor.data[k];
	}
	PG_FINALLY();
	{
		xd_tensor_free(&tensor);
	}
	PG_END_TRY();
	t->found = true;
}

/* Every expected tensor, chunk by chunk; others are skipped unread. */
static void
read_tensors(VersionRead *r)
{
	Datum		vals[2];
	Portal		portal;
	XdStoredTensor *cur = NULL;
	List	   *chunks = NIL;

	for (int i = 0; i < r->n_tensors; i++)
		r->tensors[i].found = false;
	version_weights_args(r, vals);
	portal = SPI_cursor_open_with_args(NULL,
									   "SELECT tensor, data FROM " XDPG_VERSION_WEIGHTS "ORDER BY tensor, chunk",
									   2, version_weights_types, vals, NULL, true, 0);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 8);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	td = SPI_tuptable->tupdesc;
			char	   *name = SPI_getvalue(tup, td, 1);
			XdStoredTensor *t = expected_tensor(r, name);
			bool		isnull;

			if (cur && cur != t)
			{
				read_tensor(r, cur, chunks);
				list_free_deep(chunks);
				chunks = NIL;
			}
			cur = t;
			if (t && optional_read(r, t->home))
				chunks = lappend(chunks, PG_DETOAST_DATUM_COPY(SPI_getbinval(tup, td, 2, &isnull)));
			else
				cur = NULL;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	if (cur)
		read_tensor(r, cur, chunks);
	SPI_cursor_close(portal);
	for (int i = 0; i < r->n_tensors; i++)
		if (!r->tensors[i].found && optional_read(r, r->tensors[i].home))
			version_corrupt(r, "tensor \"%s\" is missing", r->tensors[i].name);
	/* the prior's counts are counts, own items first 0 or 1 (cold.h) */
	if (r->has_cold && xd_cold_prior_ready(r->v->cold) != XD_OK)
		version_corrupt(r, "its cold-start module's context prior holds values that are not counts, or its own-items-first flag is neither 0 nor 1");
	/* served from now on, N unchanged: its pass keeps the rows it reads */
	if (r->has_cold)
		xdpg_check_status(xd_cold_prior_keep(r->v->cold), "keeping the cold-start module's context prior");
	/* neighbours are items, shares in [0, 1], lambda >= 0 (cold.h) */
	if (r->has_cold && xd_cold_cooc_ready(r->v->cold) != XD_OK)
		version_corrupt(r, "its cold-start module's co-occurrence prior holds a neighbour that is not an item, a share outside [0, 1] or a negative lambda");
}

/* ------------------------------------------------------------ key maps */

/* A key of an integer-keyed model, exactly as write_keys wrote it. */
static int64
parse_int_key(VersionRead *r, const char *s)
{
	char	   *end;
	long long	x;

	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || isspace((unsigned char) s[0]))
		version_corrupt(r, "its key maps hold \"%s\", not an integer key", s);
	return (int64) x;
}

/* One chunk of a key map: keys appended to km (in v->cxt), ascending across chunks. */
static void
read_key_chunk(VersionRead *r, XdKeyMap *km, bool user, int32 cap, ArrayType *arr)
{
	MemoryContext cxt = r->v->cxt;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (ARR_NDIM(arr) != 1 || ARR_LBOUND(arr)[0] != 1)
		version_corrupt(r, "its %s key map has a chunk that is not a list", user ? "user" : "item");
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	if (km->n + n > cap)
		version_corrupt(r, "its %s key map is longer than its embeddings", user ? "user" : "item");
	for (int k = 0; k < n; k++)
	{
		char	   *s;

		if (nulls[k])
		{
			/* a forgotten user (forget.c): the id stays, the key is gone */
			if (!user)
				version_corrupt(r, "its item key map has a null key");
			if (!km->ids)
			{
				km->ids = MemoryContextAllocHuge(cxt, sizeof(int32) * cap);
				for (int32 i = 0; i < km->n_keys; i++)
					km->ids[i] = i;
			}
			km->n++;
			continue;
		}
		s = TextDatumGetCString(elems[k]);
		/* ids are found by binary search: strictly ascending, no repeats */
		if (km->is_int)
		{
			int64		x = parse_int_key(r, s);

			if (km->n_keys > 0 && x <= km->ints[km->n_keys - 1])
				version_corrupt(r, "its %s keys are not strictly ascending at %s", user ? "user" : "item", s);
			km->ints[km->n_keys] = x;
		}
		else
		{
			if (km->n_keys > 0 && strcmp(s, km->texts[km->n_keys - 1]) <= 0)
				version_corrupt(r, "its %s keys are not strictly ascending at \"%s\"", user ? "user" : "item", s);
			km->texts[km->n_keys] = MemoryContextStrdup(cxt, s);
		}
		if (km->ids)
			km->ids[km->n_keys] = km->n;
		km->n_keys++;
		km->n++;
	}
}

static void
read_key_maps(VersionRead *r)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(r->ref->version_id)};
	XdVersion  *v = r->v;

	if (SPI_execute_with_args("SELECT kind = 'user', chunk, keys FROM xdrec.key_map "
							  "WHERE version_id = $1 ORDER BY kind, chunk",
							  1, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its key maps cannot be read");
	memset(&v->users, 0, sizeof(XdKeyMap));
	memset(&v->items, 0, sizeof(XdKeyMap));
	v->users.is_int = r->user_int;
	v->items.is_int = r->item_int;
	v->users.ints = MemoryContextAllocHuge(v->cxt, sizeof(int64) * r->n_users);
	v->users.texts = MemoryContextAllocHuge(v->cxt, sizeof(char *) * r->n_users);
	v->items.ints = MemoryContextAllocHuge(v->cxt, sizeof(int64) * r->n_items);
	v->items.texts = MemoryContextAllocHuge(v->cxt, sizeof(char *) * r->n_items);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		bool		user = DatumGetBool(SPI_getbinval(tup, td, 1, &isnull));
		XdKeyMap   *km = user ? &v->users : &v->items;
		int32		cap = user ? r->n_users : r->n_items;

		/* every chunk but the last holds XDPG_KEYS_PER_CHUNK keys (forget.c counts on it) */
		if (km->n != DatumGetInt32(SPI_getbinval(tup, td, 2, &isnull)) * XDPG_KEYS_PER_CHUNK)
			version_corrupt(r, "its %s key map has a chunk of the wrong length", user ? "user" : "item");
		read_key_chunk(r, km, user, cap,
					   DatumGetArrayTypeP(SPI_getbinval(tup, td, 3, &isnull)));
	}
	if (v->users.n != r->n_users || v->items.n != r->n_items)
		version_corrupt(r, "its key maps do not match its embeddings");
}

/* ---------------------------------------------------------- seen items */

/* An int4[] of the seen table: a list without nulls (empty when no items). */
static int32 *
int_list(VersionRead *r, ArrayType *arr, int *n)
{
	*n = ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
	if ((*n > 0 && ARR_NDIM(arr) != 1) || ARR_HASNULL(arr) || ARR_ELEMTYPE(arr) != INT4OID)
		version_corrupt(r, "its seen items hold an array that is not a list of integers");
	return (int32 *) ARR_DATA_PTR(arr);
}

/*
 * Each user's training items, for exclude_seen: chunk k holds users
 * k * XDPG_SEEN_USERS_PER_CHUNK onwards (write_seen), counts then items.
 */
static void
read_seen(VersionRead *r)
{
	Oid			types[1] = {INT8OID};
	Datum		vals[1] = {Int64GetDatum(r->ref->version_id)};
	XdVersion  *v = r->v;
	int32		u = 0;
	int64		pos = 0;

	if (SPI_execute_with_args("SELECT counts, items FROM xdrec.seen WHERE version_id = $1 ORDER BY chunk",
							  1, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its seen items cannot be read");
	v->seen_off = MemoryContextAllocHuge(v->cxt, sizeof(int64) * ((Size) r->n_users + 1));
	v->seen_items = MemoryContextAllocHuge(v->cxt, sizeof(int32) * Max(r->n_seen_items, 1));
	v->seen_off[0] = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int			nc,
					ni;
		const int32 *counts = int_list(r, DatumGetArrayTypeP(SPI_getbinval(tup, td, 1, &isnull)), &nc);
		const int32 *items = int_list(r, DatumGetArrayTypeP(SPI_getbinval(tup, td, 2, &isnull)), &ni);
		int64		chunk_start = pos;

		if (nc != Min(XDPG_SEEN_USERS_PER_CHUNK, r->n_users - u))
			version_corrupt(r, "its seen items have a chunk of %d users, not %d", nc,
							Min(XDPG_SEEN_USERS_PER_CHUNK, r->n_users - u));
		for (int k = 0; k < nc; k++, u++)
		{
			if (counts[k] < 0 || counts[k] > ni - (pos - chunk_start))
				version_corrupt(r, "its seen items count %d for user %d, which its chunk does not hold",
								counts[k], u);
			pos += counts[k];
			v->seen_off[u + 1] = pos;
		}
		if (pos - chunk_start != ni || pos > r->n_seen_items)
			version_corrupt(r, "its seen items count " INT64_FORMAT " items in a chunk of %d",
							pos - chunk_start, ni);
		for (int k = 0; k < ni; k++)
		{
			if (items[k] < 0 || items[k] >= r->n_items)
				version_corrupt(r, "its seen items list item %d of %d", items[k], r->n_items);
			v->seen_items[chunk_start + k] = items[k];
		}
	}
	if (u != r->n_users)
		version_corrupt(r, "its seen items do not cover every user");
}

/* ------------------------------------------------------------ the reader */

/* ------------------------------------------------------------- the blend */

/*
 * A blend version's link (adapt_run.c): its encoder's "blend" object, the
 * DRR version blended in ("second", another version) and its weight "a"
 * in [0, 1].
 */
static void
read_blend_link(VersionRead *r, JsonbContainer *root, int64 *second_id, double *a)
{
	JsonbContainer *b = json_container(r, root, "", "blend", JSON_OBJECT);

	*second_id = json_int(r, b, "blend", "second", 1, PG_INT64_MAX);
	*a = json_float(r, b, "blend", "a");
	if (!(*a >= 0.0 && *a <= 1.0))
		version_corrupt(r, "its encoder's \"blend.a\" is %g, not in [0, 1]", *a);
	if (*second_id == r->ref->version_id)
		version_corrupt(r, "it blends with itself");
}

/* Two key maps hold the same keys under the same ids. */
static bool
same_keys(const XdKeyMap *x, const XdKeyMap *y)
{
	if (x->n != y->n || x->n_keys != y->n_keys || x->is_int != y->is_int ||
		(x->ids == NULL) != (y->ids == NULL))
		return false;
	for (int32 i = 0; i < x->n_keys; i++)
		if ((x->ids && x->ids[i] != y->ids[i]) ||
			(x->is_int ? x->ints[i] != y->ints[i] : strcmp(x->texts[i], y->texts[i]) != 0))
			return false;
	return true;
}

/*
 * The DRR version a blend version blends with, read and validated as any
 * version (it is one: method "drr", over the source version the blend
 * pins), then checked to be the blend's pair: the same domain, the same
 * users and items under the same keys, the same feedback and context
 * width. Anything else is ERRCODE_DATA_CORRUPTED. SPI connected.
 */
static void
read_blend(VersionRead *r, int64 second_id, double a)
{
	XdVersion  *v = r->v;
	XdVersion  *s;
	XdVersionRef ref = *r->ref;
	Oid			types[2] = {INT8OID, INT8OID};
	Datum		vals[2] = {Int64GetDatum(second_id), Int64GetDatum(v->model_id)};
	bool		ok;
	bool		isnull;
	XdSpan		span;

	/* its row first: a blend's pair is a DRR target, never another blend */
	xdpg_user_begin(&span);
	if (SPI_execute_with_args("SELECT v.method = 'drr' AND v.kind = 'target' "
							  "FROM xdrec.version v WHERE v.id = $1 AND v.model_id = $2",
							  2, types, vals, NULL, true, 0) != SPI_OK_SELECT)
		version_corrupt(r, "its blend's version " INT64_FORMAT " cannot be read", second_id);
	ok = SPI_processed == 1 &&
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) &&
		!isnull;
	xdpg_span_end(&span);
	if (!ok)
		version_corrupt(r, "it blends with version " INT64_FORMAT ", which is not a DRR target of its model",
						second_id);

	s = MemoryContextAllocZero(v->cxt, sizeof(XdVersion));
	s->cxt = v->cxt;
	ref.version_id = second_id;
	/* both fits are served together: the pair, not each half, fits the budget */
	ref.budget_used = r->ref->budget_used + v->core_bytes;
	ref.want_encoders = false;
	ref.want_fewshot = false;
	xdpg_read_version(s, &ref);
	if (s->pins_shared_version != v->pins_shared_version)
		version_corrupt(r, "it pins source version " INT64_FORMAT " but its blend's version "
						INT64_FORMAT " pins " INT64_FORMAT,
						v->pins_shared_version, second_id, s->pins_shared_version);
	if (!same_keys(&s->users, &v->users) || !same_keys(&s->items, &v->items))
		version_corrupt(r, "its blend's version " INT64_FORMAT " has %d users and %d items, "
						"not its own %d and %d under the same keys",
						second_id, s->users.n, s->items.n, v->users.n, v->items.n);
	if (s->model->cfg.feedback != v->model->cfg.feedback || s->model->cfg.m != v->model->cfg.m ||
		s->enc.schema.m != v->enc.schema.m || s->has_item_scope != v->has_item_scope)
		version_corrupt(r, "its blend's version " INT64_FORMAT " encodes another feedback or context",
						second_id);
	/* a blend's two fits carry the weight alike (train.h, xd_repeat_pop_calibrate) */
	if (v->model->rep_pop_w > 0.0f &&
		xd_model_set_repeat_pop(s->model, v->model->rep_pop, v->model->rep_pop_w) != XD_OK)
		version_corrupt(r, "its blend's version " INT64_FORMAT " has no lift-only repeat term for its \"repeat_pop\"",
						second_id);
	/* ... and popularity in context on every item (fit_common.c) */
	if (v->model->pop_all_w > 0.0f &&
		xd_model_set_pop_all(s->model, v->model->pop_all, v->model->pop_all_w) != XD_OK)
		version_corrupt(r, "its blend's version " INT64_FORMAT " cannot carry its \"context_popularity\"",
						second_id);
	v->blend = s;
	v->blend_a = (float) a;
	v->core_bytes += s->core_bytes;
}

/*
 * Reads and validates version ref->version_id into v, whose memory context
 * v->cxt must be set; the core's objects are freed when that context goes.
 * SPI connected.
 */
void
xdpg_read_version(XdVersion *v, const XdVersionRef *ref)
{
	VersionRead r = {.ref = ref, .v = v};
	MemoryContextCallback *cb;
	Jsonb	   *encoder;
	xd_schema	schema;
	XdVersionLayout layout;
	XdSpan		span;

	/*
	 * As the caller (row-level security decides what it may read), in a user
	 * span: the queries below read the catalog's own operators (owner.c)
	 */
	xdpg_user_begin(&span);
	v->version_id = ref->version_id;
	v->model_id = ref->model_id;
	cb = MemoryContextAllocZero(v->cxt, sizeof(MemoryContextCallback));
	cb->func = version_reset;
	cb->arg = v;
	MemoryContextRegisterResetCallback(v->cxt, cb);

	encoder = read_row(&r);
	if (!JB_ROOT_IS_OBJECT(encoder))
		version_corrupt(&r, "its encoder is not a JSON object");
	read_config(&r, &encoder->root);
	read_features(&r, &encoder->root, &schema);
	if (strcmp(v->method, "blend") == 0)
		read_blend_link(&r, &encoder->root, &r.blend_second, &r.blend_a);

	layout.cfg = &r.cfg;
	layout.schema = &schema;
	layout.n_users = r.n_users;
	layout.n_items = r.n_items;
	layout.drr = method_has_residuals(v->method);
	layout.encoders = ref->want_encoders;
	layout.cold = true;
	layout.fewshot = ref->want_fewshot;
	layout.biao = true;
	layout.fewshot_market = strcmp(v->method, "fewshot") == 0;
	r.n_tensors = xdpg_stored_tensors(&layout, &r.tensors);
	take_tensor_inventory(&r);
	take_key_inventory(&r);
	check_budget(&r, &schema);

	PG_TRY();
	{
		allocate_version(&r, &schema);
	}
	PG_FINALLY();
	{
		xd_schema_free(&schema);
	}
	PG_END_TRY();
	read_tensors(&r);
	/* the weight reads the cold module's prior table (cold.h) */
	if (r.repeat_pop > 0.0 &&
		(!r.has_cold_prior ||
		 xd_model_set_repeat_pop(v->model, v->cold, (float) r.repeat_pop) != XD_OK))
		version_corrupt(&r, "its encoder's \"repeat_pop\" is %g, but it has no lift-only repeat term and cold-start context prior to apply it with",
						r.repeat_pop);
	if (r.pop_all > 0.0 &&
		(!r.has_cold_prior ||
		 xd_model_set_pop_all(v->model, v->cold, (float) r.pop_all) != XD_OK))
		version_corrupt(&r, "its encoder's \"context_popularity\" is %g, but it is not an implicit model with a cold-start context prior to apply it with",
						r.pop_all);
	read_key_maps(&r);
	read_seen(&r);
	xdpg_span_end(&span);
	if (r.blend_second > 0)
		read_blend(&r, r.blend_second, r.blend_a);
}

/*
 * Refuses a version whose features are not the ones its model declares (name,
 * type, kind, scope, in order): evaluate and adapt encode the model's rows
 * with the version's vocabularies, bins, normalisation and modules.
 */
void
xdpg_check_version_features(const XdModelDef *md, const XdVersion *v)
{
	bool		same = md->n_features == v->n_features;

	for (int i = 0; same && i < md->n_features; i++)
		same = strcmp(md->features[i].name, v->features[i].name) == 0 &&
			md->features[i].type == v->features[i].type &&
			md->features[i].kind == v->features[i].kind &&
			md->features[i].scope == v->features[i].scope;
	if (!same)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("version " INT64_FORMAT " of model \"%s\" (domain %s) is corrupt: its features are not the %d the model declares",
						v->version_id, md->name, v->domain, md->n_features),
				 errhint("Its rows in the xdrec catalog were changed outside xdrec or damaged. "
						 "Serve another version (xdrec.rollback) or train the domain again.")));
}
