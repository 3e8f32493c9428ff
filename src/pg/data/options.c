/*
 * options.c - the model options, one row each (options[] below): name, type,
 * range, default, where the value goes in XdModelDef, whether a version
 * records it, and a line of help. The table drives
 *   - create_model's and alter_model's validation (xdpg_options_check, the
 *     C behind xdrec_internal.check_options), with its messages;
 *   - the options a run uses (xdpg_options_read): the core's defaults first
 *     (xd_config_defaults, xd_train_opts_default, xd_transfer_opts_default:
 *     the only defaults of the options the core has), then the row's default
 *     for an option the core does not have, then the stored values;
 *   - the configuration a version records (xdpg_config_json), whose bounds
 *     store/version_read.c checks on reading it back (xdpg_option);
 *   - xdrec.help('options') and the did-you-mean hint, and through
 *     xdrec_internal.options() the test that docs/sql-reference.md's table
 *     agrees (test/integration/options_docs.sh).
 * Adding an option is one row (docs/CONTRIBUTING.md, "Adding an option").
 */
#include "postgres.h"

#include <math.h>

#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "xdrec/biao.h"
#include "xdrec/fewshot.h"
#include "xdrec/train.h"
#include "data/data.h"

static const char *const variants[] = {"mmt", "fmt", NULL};	/* xd_variant */
static const char *const feedbacks[] = {"implicit", "explicit", NULL};	/* xd_feedback */
static const char *const weightings[] = {"none", "biao", NULL};	/* XdSourceWeighting */
static const char *const biao_uppers[] = {"implicit", "zeroth_order", NULL};	/* xd_biao_upper */
static const char *const deploys[] = {"if_better", "always", "never", NULL};
static const char *const seen_choices[] = {"auto", "always", "never", NULL};

#define FIELD(f) offsetof(XdModelDef, f)

/*
 * The options in the order the did-you-mean hint lists them. A row without
 * a default takes the core's (xdpg_options_read); "shown" is the default as
 * help and the reference show it when it is not a value.
 */
static const XdOption options[] = {
	{"d", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cfg.d), .min = 1, .max = 1024,
	.recorded = true, .help = "embedding width"},
	{"context_layers", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cfg.n_ctx_layers), .min = 0, .max = 16,
	.recorded = true, .help = "layers of the context module M1"},
	{"tower_layers", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cfg.n_tower_layers), .min = 0, .max = 16,
	.recorded = true, .help = "layers of the user and item towers"},
	{"variant", XDPG_OPT_CHOICE, XDPG_FIELD_CHOICE, FIELD(cfg.variant), .choices = variants,
	.recorded = true, .help = "mmt (MMT-Net) or fmt (FMT-Net)"},
	{"mm_residual", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(cfg.mm_residual),
	.recorded = true, .help = "the multimodal residual of eq. 4-5"},
	{"feedback", XDPG_OPT_CHOICE, XDPG_FIELD_CHOICE, FIELD(cfg.feedback), .choices = feedbacks,
	.recorded = true, .help = "implicit, or explicit with rating_col"},
	{"dropout", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(cfg.dropout), .lo = 0, .hi = 1, .hi_open = true,
	.recorded = true, .help = "dropout on the towers' hidden layers"},
	{"beta", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(cfg.beta), .lo = 0, .hi = 100,
	.recorded = true, .help = "weight of the novelty curriculum (eq. 11)"},
	{"lr", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(cfg.lr), .lo = 0, .hi = 1, .lo_open = true,
	.recorded = true, .help = "learning rate"},
	{"batch_size", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cfg.batch_size), .min = 1, .max = 1048576,
	.recorded = true, .help = "positives per batch"},
	{"epochs", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(epochs), .min = 1, .max = 100000,
	.recorded = true, .help = "most training epochs; early stopping on validation"},
	{"patience", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(patience), .min = 1, .max = 100000,
	.recorded = true, .help = "epochs without a better validation before stopping"},
	{"seed", XDPG_OPT_INT, XDPG_FIELD_INT64, FIELD(cfg.seed), .min = 0, .max = PG_INT64_MAX,
	.recorded = true, .help = "seed of the split, initialisation, shuffles and negatives"},
	/*
	 * the core's default is no term (xd_config_defaults); the product's is
	 * "auto", which a fit resolves from its domain's rows
	 * (xd_config_repeat_from_data): a version records "lift" or false
	 */
	{"repeat", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(cfg.repeat),
	.words = {"lift", "auto"}, .word_fields = {FIELD(cfg.repeat_lift), FIELD(cfg.repeat_auto)},
	.deflt = "\"auto\"", .recorded = true,
	.help = "a learned repeat term for the user's own items, in context (implicit); \"lift\": a lift of them chosen after the fit; \"auto\": \"lift\" where a quarter of the domain's training rows repeat, below only where validation shows it pays"},
	{"exclude_seen", XDPG_OPT_CHOICE, XDPG_FIELD_STRING, FIELD(exclude_seen), .choices = seen_choices,
	.deflt = "\"auto\"", .recorded = true,
	.help = "rank's default for exclude_seen; auto: leave seen items out unless a quarter of the training rows repeat"},
	{"context_popularity", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(context_popularity), .lo = 0, .hi = XD_REPEAT_POP_MAX,
	.deflt = "1", .help = "the weight of an item's popularity in the request's context (log(1 + its training rows there)) added to every item's score when an implicit fit is served; 0: off"},
	{"vocab_cap", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(vocab_cap), .min = 1, .max = 1000000,
	.deflt = "100", .help = "values a categorical feature keeps (the most frequent)"},
	{"lambda_kl", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(lambda_kl), .lo = 0, .hi = 1000,
	.words = {"search"}, .word_fields = {FIELD(lambda_search)},
	.help = "DRR's weight of eq. 22; \"search\" fits 0.01, 0.1 and 1"},
	{"pretrain_epochs", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(pretrain_epochs), .min = 0, .max = 1000,
	.help = "epochs an adaptation pretrains the target"},
	{"val_sample", XDPG_OPT_INT, XDPG_FIELD_INT64, FIELD(val_sample), .min = 1, .max = 100000000,
	.help = "validation positives sampled per epoch"},
	{"dedup", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(dedup),
	.deflt = "false", .help = "read SELECT DISTINCT rows"},
	{"auto_margin", XDPG_OPT_NUMBER, XDPG_FIELD_DOUBLE, FIELD(auto_margin), .lo = 0, .hi = 100,
	.help = "standard errors a transfer must gain for auto to keep it"},
	{"auto_small_rows", XDPG_OPT_INT, XDPG_FIELD_INT64, FIELD(auto_small_rows), .min = 0, .max = 1000000000,
	.help = "auto keeps the best on validation (margin 0), no blend, on an implicit target with fewer training rows; 0: never"},
	{"auto_small_rows_explicit", XDPG_OPT_INT, XDPG_FIELD_INT64, FIELD(auto_small_rows_explicit), .min = 0, .max = 1000000000,
	.help = "auto_small_rows on an explicit target; 0 (the default): never"},
	{"auto_blend", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(auto_blend),
	.deflt = "true", .help = "auto serves the 0.5 blend of target-only and DRR where it keeps target-only on a target of auto_small_rows (explicit: auto_small_rows_explicit) training rows or more"},
	{"shared_users", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(shared_users),
	.deflt = "false", .help = "declares that a user key means the same person in every domain: adapt starts a target user who is a user of the source from the source's embedding"},
	{"lr_search", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(lr_search), .min = 1, .max = 5,
	.help = "learning rates every fit tries"},
	{"deploy", XDPG_OPT_CHOICE, XDPG_FIELD_STRING, FIELD(deploy), .choices = deploys,
	.deflt = "\"if_better\"", .help = "whether a new version is served"},
	{"keep_versions", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(keep_versions), .min = 1, .max = 1000000,
	.deflt = "0", .shown = "all", .help = "versions kept per domain (never a served or pinned one)"},
	{"time_col", XDPG_OPT_COLUMN, XDPG_FIELD_STRING, FIELD(time_col),
	.shown = "the seeded hash split", .help = "a time column: the split follows it (the latest 10% test), and a cold user's latest rows"},
	{"cold", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(cold),
	.deflt = "true", .help = "meta-train the cold-start module with the source, and each target's in adapt (users without an embedding)"},
	{"cold_support", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cold_support), .min = 1, .max = 1000,
	.deflt = "20", .help = "a cold user's most recent rows the cold-start module reads"},
	{"cold_min", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(cold_min), .min = 0, .max = 1000000,
	.deflt = "10", .help = "a trained user with fewer distinct training items is ranked by the cold-start module from their rows, when validation prefers it; 0: never"},
	{"fewshot", XDPG_OPT_BOOL, XDPG_FIELD_BOOL, FIELD(fewshot),
	.deflt = "false", .help = "meta-train the few-shot meta-learner with the source (adapt's method 'fewshot')"},
	{"fewshot_episodes", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(fewshot_episodes), .min = 1, .max = 100000,
	.help = "meta-training episodes of the few-shot meta-learner"},
	{"fewshot_rows", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(fewshot_rows), .min = 20, .max = 100000000,
	.deflt = "20", .help = "auto adapts a domain of fewer training rows with fewshot (a source trained with it)"},
	{"cold_holdout", XDPG_OPT_NUMBER, XDPG_FIELD_FLOAT, FIELD(cold_holdout), .lo = 0, .hi = 0.5,
	.deflt = "0", .help = "the seeded share of each domain's users left out of training, for evaluate's protocol 'cold'"},
	{"source_weighting", XDPG_OPT_CHOICE, XDPG_FIELD_CHOICE, FIELD(source_weighting), .choices = weightings,
	.deflt = "\"none\"", .help = "none, or biao: train the source on interactions weighted by what they teach the targets"},
	{"biao_interval", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(biao_interval), .min = 1, .max = 1000000,
	.help = "source_weighting biao: training steps between the perceptron's updates"},
	{"biao_warmup", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(biao_warmup), .min = 0, .max = 1000,
	.help = "source_weighting biao: training epochs before the perceptron's first update"},
	{"biao_upper", XDPG_OPT_CHOICE, XDPG_FIELD_CHOICE, FIELD(biao_upper), .choices = biao_uppers,
	.help = "source_weighting biao: how the perceptron's update is estimated; zeroth_order: 4 updates from biao_warmup (25 measured), each comparing two 5-epoch trainings on the targets' adapted loss"},
	{"biao_keep", XDPG_OPT_INT, XDPG_FIELD_INT, FIELD(biao_keep), .min = 0, .max = 1000,
	.deflt = "20", .help = "source_weighting biao: the highest and the lowest weighted source interactions a version keeps (xdrec.source_weights)"},
};

#define N_OPTIONS lengthof(options)

int
xdpg_options(const XdOption **rows)
{
	*rows = options;
	return N_OPTIONS;
}

/* The row of option name, or NULL. */
const XdOption *
xdpg_option(const char *name)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (strcmp(options[i].name, name) == 0)
			return &options[i];
	return NULL;
}

/* "d, context_layers, ...": the hint's list */
static char *
option_names(void)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < N_OPTIONS; i++)
		appendStringInfo(&b, "%s%s", i ? ", " : "", options[i].name);
	return b.data;
}

/* a value as jsonb shows it ("abc" quoted, 1.50 as written) */
static char *
value_text(JsonbValue *v)
{
	return JsonbToCString(NULL, &JsonbValueToJsonb(v)->root, 0);
}

/* "option \"d\"": what the messages call it */
static char *
what(const XdOption *o)
{
	return psprintf("option \"%s\"", o->name);
}

/* the index of a string value among choices, or -1 */
static int
choice_of(const XdOption *o, JsonbValue *v)
{
	if (v->type != jbvString)
		return -1;
	for (int i = 0; o->choices[i]; i++)
		if ((int) strlen(o->choices[i]) == v->val.string.len &&
			memcmp(o->choices[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	return -1;
}

/* which of o's words v is, or -1 */
static int
word_of(const XdOption *o, JsonbValue *v)
{
	for (int i = 0; i < XDPG_OPT_WORDS && o->words[i]; i++)
		if (v->type == jbvString && (int) strlen(o->words[i]) == v->val.string.len &&
			memcmp(o->words[i], v->val.string.val, v->val.string.len) == 0)
			return i;
	return -1;
}

static bool
is_word(const XdOption *o, JsonbValue *v)
{
	return word_of(o, v) >= 0;
}

/*
 * o's words after its values, as a message and the reference list them:
 * ' or "search"', ', "lift" or "auto"'
 */
static char *
word_list(const XdOption *o)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; i < XDPG_OPT_WORDS && o->words[i]; i++)
		appendStringInfo(&b, "%s\"%s\"", i + 1 < XDPG_OPT_WORDS && o->words[i + 1] ? ", " : " or ",
						 o->words[i]);
	return b.data;
}

/* "mmt, fmt" (the message's list) */
static char *
choice_list(const XdOption *o)
{
	StringInfoData b;

	initStringInfo(&b);
	for (int i = 0; o->choices[i]; i++)
		appendStringInfo(&b, "%s%s", i ? ", " : "", o->choices[i]);
	return b.data;
}

/* a number as the range shows it (as SQL prints a numeric: 0, 1, 100) */
static char *
bound_text(double x)
{
	return psprintf("%.15g", x);
}

/*
 * The error of value v of o, which is not rule ("an integer between 1 and
 * 1000"): 22023 as create_model and alter_model give it (stored_in NULL);
 * for a value read back from a catalog row (stored_in: "model \"m\"", or
 * "a model" where the row is not named), XX001: the row was written past
 * them, and a catalog value is validated when it is read.
 */
static void
value_error(const XdOption *o, JsonbValue *v, const char *stored_in, const char *model,
			const char *rule)
{
	if (stored_in)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored option \"%s\" of %s is out of range", o->name, stored_in),
				 errdetail("It must be %s, not %s.", rule, value_text(v)),
				 model ?
				 errhint("Set it again, or reset it to its default: SELECT xdrec.alter_model('%s', options => '{\"%s\": null}').",
						 model, o->name) : 0));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s must be %s, not %s", what(o), rule, value_text(v))));
}

/*
 * The rule value v of o breaks ("an integer between 1 and 1000"), or NULL
 * when v is one of o's values; *x gets it as a double (an integer, a number,
 * a choice's index, a boolean's 0 or 1; NaN for a string or the number's
 * word). Raises nothing: create_model's check and the stored options' read
 * (check_value) and the views' lenient read (xdpg_options_json) share it.
 */
static char *
value_fault(const XdOption *o, JsonbValue *v, double *x)
{
	*x = NAN;
	switch (o->type)
	{
		case XDPG_OPT_INT:
			{
				char	   *text = v->type == jbvNumeric ? numeric_normalize(v->val.numeric) : "";
				char	   *end;
				long long	i;

				errno = 0;
				i = strtoll(text, &end, 10);
				if (v->type != jbvNumeric || errno != 0 || end == text || *end != '\0' ||
					i < o->min || i > o->max)
					return psprintf("an integer between " INT64_FORMAT " and " INT64_FORMAT,
									o->min, o->max);
				*x = (double) i;
				return NULL;
			}
		case XDPG_OPT_NUMBER:
			{
				double		n = NAN;

				if (is_word(o, v))
					return NULL;
				if (v->type == jbvNumeric)
					n = strtod(numeric_normalize(v->val.numeric), NULL);
				if (isnan(n) || n < o->lo || n > o->hi || (o->lo_open && n == o->lo) ||
					(o->hi_open && n == o->hi))
					return psprintf("a number in %s%s, %s%s",
									o->lo_open ? "(" : "[", bound_text(o->lo), bound_text(o->hi),
									o->hi_open ? ")" : "]");
				*x = n;
				return NULL;
			}
		case XDPG_OPT_CHOICE:
			{
				int			i = choice_of(o, v);

				if (i < 0)
					return psprintf("one of %s", choice_list(o));
				*x = (double) i;
				return NULL;
			}
		case XDPG_OPT_BOOL:
			if (is_word(o, v))
				return NULL;
			if (v->type != jbvBool)
				return o->words[0] ? psprintf("true, false%s", word_list(o)) : "true or false";
			*x = v->val.boolean ? 1.0 : 0.0;
			return NULL;
		case XDPG_OPT_COLUMN:
			/* a column of the relation: xdrec_internal.check_time_col checks it */
			if (v->type != jbvString || v->val.string.len == 0)
				return "a column name";
			return NULL;
	}
	return NULL;
}

/*
 * Checks one value of o, its type and its range, and returns it as
 * value_fault does. Errors as create_model gives them (22023), or, for a
 * stored value (stored_in and model as value_error takes them), XX001: read
 * back by the same rules, so a row rewritten past create_model cannot run a
 * model out of range (docs/security.md).
 */
static double
check_value(const XdOption *o, JsonbValue *v, bool has_rating, const char *stored_in,
			const char *model)
{
	double		x;
	char	   *rule = value_fault(o, v, &x);

	if (rule)
		value_error(o, v, stored_in, model, rule);
	/* explicit feedback learns ratings: it needs their column */
	if (o->type == XDPG_OPT_CHOICE && o->offset == FIELD(cfg.feedback) && (int) x == XD_EXPLICIT &&
		!has_rating)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"feedback\" is \"explicit\" but no rating column was given"),
				 errhint("Pass rating_col => the column holding the ratings.")));
	return x;
}

/* Stores a checked value of o into md, in the current memory context. */
static void
store_value(const XdOption *o, JsonbValue *v, double x, XdModelDef *md)
{
	char	   *p = (char *) md + o->offset;

	/* a word sets its bool; a value clears them (a default's word included) */
	for (int i = 0; i < XDPG_OPT_WORDS && o->words[i]; i++)
		*(bool *) ((char *) md + o->word_fields[i]) = word_of(o, v) == i;
	if (is_word(o, v))
		return;
	switch (o->field)
	{
		case XDPG_FIELD_INT:
		case XDPG_FIELD_CHOICE:
			*(int *) p = (int) x;
			break;
		case XDPG_FIELD_INT64:
			*(int64 *) p = (int64) x;
			break;
		case XDPG_FIELD_FLOAT:
			*(float *) p = (float) x;
			break;
		case XDPG_FIELD_DOUBLE:
			*(double *) p = x;
			break;
		case XDPG_FIELD_BOOL:
			*(bool *) p = x != 0.0;
			break;
		case XDPG_FIELD_STRING:
			*(char **) p = pnstrdup(v->val.string.val, v->val.string.len);
			break;
	}
}

/* an int64 value in full: a double holds integers up to 2^53 only */
static void
store_int64(const XdOption *o, JsonbValue *v, XdModelDef *md)
{
	*(int64 *) ((char *) md + o->offset) =
		DatumGetInt64(DirectFunctionCall1(numeric_int8, NumericGetDatum(v->val.numeric)));
}

/*
 * Options as create_model and alter_model take them: a JSON object of known
 * options, each value of its type and in its range (DESIGN sections 3, 4).
 */
void
xdpg_options_check(Jsonb *opts, bool has_rating)
{
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;

	if (opts == NULL || !JB_ROOT_IS_OBJECT(opts))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("options must be a json object, not %s",
						opts ? JsonbToCString(NULL, &opts->root, VARSIZE(opts)) : "null")));
	it = JsonbIteratorInit(&opts->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		const XdOption *o;
		char	   *key;

		if (tok != WJB_KEY)
			continue;
		key = pnstrdup(k.val.string.val, k.val.string.len);
		o = xdpg_option(key);
		if (o == NULL)
		{
			const char *names[lengthof(options)];
			const char *near;

			for (int i = 0; i < N_OPTIONS; i++)
				names[i] = options[i].name;
			near = xdpg_did_you_mean(key, names, N_OPTIONS);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown option \"%s\"", key),
					 errhint("%sKnown options: %s.",
							 near ? psprintf("Did you mean \"%s\"? ", near) : "", option_names())));
		}
		tok = JsonbIteratorNext(&it, &v, true);
		Assert(tok == WJB_VALUE);
		(void) check_value(o, &v, has_rating, NULL, NULL);
	}
}

/*
 * Applies one stored option's value (JSON) of model (NULL: a row not named)
 * to md, checked as create_model checks it: XX001 if it breaks its rule, or,
 * with faults (the views' read), md keeps the default, the rule broken is
 * appended to faults and the result is false.
 */
static bool
apply(const XdOption *o, JsonbValue *v, const char *model, XdModelDef *md, StringInfo faults)
{
	double		x;

	if (faults)
	{
		char	   *rule = value_fault(o, v, &x);

		if (rule)
		{
			appendStringInfo(faults, "%soption \"%s\" must be %s, not %s",
							 faults->len ? "; " : "", o->name, rule, value_text(v));
			return false;
		}
	}
	else
		x = check_value(o, v, true, model ? psprintf("model \"%s\"", model) : "a model", model);
	if (o->field == XDPG_FIELD_INT64 && v->type == jbvNumeric)
		store_int64(o, v, md);
	else
		store_value(o, v, x, md);
	return true;
}

/*
 * md's options: the core's defaults, each row's own default where the core
 * has none, then the stored options (opts; NULL = none) of model md->name
 * (NULL: not named), each checked again for its type and range as
 * create_model checks it. Without faults, a catalog value is validated when
 * it is read (XX001); with faults, a stored value that breaks its rule sets
 * broken[] at its row (N_OPTIONS entries), leaves the default in md and is
 * said in faults. Strings are allocated in the current memory context.
 */
static void
options_read(XdModelDef *md, Jsonb *opts, bool *broken, StringInfo faults)
{
	xd_train_opts train;
	xd_transfer_opts transfer;
	xd_fewshot_opts fewshot;
	xd_biao_opts biao;

	xd_config_defaults(&md->cfg);
	xd_train_opts_default(&train, &md->cfg);
	md->epochs = train.max_epochs;
	md->patience = train.patience;
	md->val_sample = train.valid_max;
	xd_transfer_opts_default(&transfer);
	md->pretrain_epochs = transfer.pretrain_epochs;
	md->lambda_kl = transfer.lambda_kl;
	md->lambda_search = transfer.lambda_search;
	md->auto_margin = transfer.auto_margin_se;
	md->auto_small_rows = transfer.auto_small_rows;
	md->auto_small_rows_explicit = transfer.auto_small_rows_explicit;
	md->lr_search = transfer.lr_search;
	xd_fewshot_opts_default(&fewshot);
	md->fewshot_episodes = fewshot.episodes;
	xd_biao_opts_default(&biao);
	md->biao_interval = biao.interval;
	md->biao_warmup = biao.warmup_epochs;
	md->biao_upper = biao.upper;
	for (int i = 0; i < N_OPTIONS; i++)
		if (options[i].deflt)
		{
			Jsonb	   *d = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(options[i].deflt)));
			JsonbValue	v;

			if (!JsonbExtractScalar(&d->root, &v))
				elog(ERROR, "xdrec: the default of option \"%s\" is not a scalar", options[i].name);
			/* a choice's default is its name: stored as its index */
			store_value(&options[i], &v, v.type == jbvNumeric ?
						strtod(numeric_normalize(v.val.numeric), NULL) :
						v.type == jbvBool ? (double) v.val.boolean :
						options[i].field == XDPG_FIELD_CHOICE ? (double) choice_of(&options[i], &v) : NAN, md);
		}

	if (opts && JB_ROOT_IS_OBJECT(opts))
	{
		JsonbIterator *it = JsonbIteratorInit(&opts->root);
		JsonbValue	k,
					v;
		JsonbIteratorToken tok;

		const char *model = md->name;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			const XdOption *o;

			if (tok != WJB_KEY)
				continue;
			o = xdpg_option(pnstrdup(k.val.string.val, k.val.string.len));
			tok = JsonbIteratorNext(&it, &v, true);
			if (o && !(v.type == jbvNull) && !apply(o, &v, model, md, faults))
				broken[o - options] = true;
		}
	}
	md->explicit_fb = md->cfg.feedback == XD_EXPLICIT;
	/* repeat "lift" is the repeat term, calibrated as a lift only (core.h) */
	if (md->cfg.repeat_lift)
		md->cfg.repeat = true;
}

void
xdpg_options_read(XdModelDef *md, Jsonb *opts)
{
	options_read(md, opts, NULL, NULL);
}

/* The field at offset in md, or in cfg for a field of md->cfg. */
static const char *
field_of(const XdModelDef *md, const xd_config *cfg, size_t offset)
{
	if (offset >= FIELD(cfg) && offset < FIELD(cfg) + sizeof(xd_config))
		return (const char *) cfg + (offset - FIELD(cfg));
	return (const char *) md + offset;
}

/* Appends o's value in md (or cfg, for its fields) as JSON. */
static void
append_value(StringInfo b, const XdOption *o, const XdModelDef *md, const xd_config *cfg)
{
	const char *p = field_of(md, cfg, o->offset);
	for (int i = 0; i < XDPG_OPT_WORDS && o->words[i]; i++)
		if (*(const bool *) field_of(md, cfg, o->word_fields[i]))
		{
			escape_json(b, o->words[i]);
			return;
		}
	switch (o->field)
	{
		case XDPG_FIELD_INT:
			appendStringInfo(b, "%d", *(const int *) p);
			break;
		case XDPG_FIELD_CHOICE:
			escape_json(b, o->choices[*(const int *) p]);
			break;
		case XDPG_FIELD_INT64:
			appendStringInfo(b, INT64_FORMAT, *(const int64 *) p);
			break;
		case XDPG_FIELD_FLOAT:
			appendStringInfo(b, "%.6g", *(const float *) p);
			break;
		case XDPG_FIELD_DOUBLE:
			appendStringInfo(b, "%.6g", *(const double *) p);
			break;
		case XDPG_FIELD_BOOL:
			appendStringInfoString(b, *(const bool *) p ? "true" : "false");
			break;
		case XDPG_FIELD_STRING:
			if (*(char *const *) p)
				escape_json(b, *(char *const *) p);
			else
				appendStringInfoString(b, "null");
			break;
	}
}

/*
 * "key": value, for every option (or every recorded one); null for an
 * option whose row is set in broken (NULL: none)
 */
static void
append_options(StringInfo b, const XdModelDef *md, const xd_config *cfg, bool recorded_only,
			   const bool *broken)
{
	for (int i = 0; i < N_OPTIONS; i++)
		if (options[i].recorded || !recorded_only)
		{
			escape_json(b, options[i].name);
			appendStringInfoString(b, ": ");
			if (broken && broken[i])
				appendStringInfoString(b, "null");
			else
				append_value(b, &options[i], md, cfg);
			appendStringInfoString(b, ", ");
		}
}

/*
 * The configuration a version records ("config" of xdrec.version.encoder):
 * every recorded option with the value it was trained with (cfg: the core's
 * config as the fit used it; md: the rest), and the encoded width m.
 */
char *
xdpg_config_json(const XdModelDef *md, const xd_config *cfg)
{
	StringInfoData b;

	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	append_options(&b, md, cfg, true, NULL);
	appendStringInfo(&b, "\"m\": %d}", cfg->m);
	return b.data;
}

/*
 * Every option of a model whose stored options are opts, defaults resolved,
 * as a JSON object (xdrec_internal.resolved_options: the views read the
 * defaults from here, never from a copy). Raises nothing for a stored value
 * that breaks its rule: it shows as null, and *faults (NULL when there is
 * none) says which rule, as the error a function loading the model gives
 * does; so one tampered row does not hide every model from a listing
 * (docs/reliability.md).
 */
char *
xdpg_options_json(Jsonb *opts, char **faults)
{
	XdModelDef	md;
	StringInfoData b,
				f;
	bool		broken[N_OPTIONS] = {0};

	memset(&md, 0, sizeof(md));
	initStringInfo(&f);
	options_read(&md, opts, broken, &f);
	*faults = f.len ? f.data : NULL;
	initStringInfo(&b);
	appendStringInfoChar(&b, '{');
	append_options(&b, &md, &md.cfg, false, broken);
	b.len -= 2;					/* the last ", " */
	b.data[b.len] = '\0';
	appendStringInfoChar(&b, '}');
	return b.data;
}

/* What values o takes, as help and the reference say it. */
char *
xdpg_option_values(const XdOption *o)
{
	StringInfoData b;

	initStringInfo(&b);
	switch (o->type)
	{
		case XDPG_OPT_INT:
			if (o->max == PG_INT64_MAX)
				appendStringInfo(&b, "integer " INT64_FORMAT "..2^63-1", o->min);
			else
				appendStringInfo(&b, "integer " INT64_FORMAT ".." INT64_FORMAT, o->min, o->max);
			break;
		case XDPG_OPT_NUMBER:
			appendStringInfo(&b, "number in %s%s, %s%s", o->lo_open ? "(" : "[", bound_text(o->lo),
							 bound_text(o->hi), o->hi_open ? ")" : "]");
			appendStringInfoString(&b, word_list(o));
			break;
		case XDPG_OPT_CHOICE:
			for (int i = 0; o->choices[i]; i++)
				appendStringInfo(&b, "%s\"%s\"", i == 0 ? "" : o->choices[i + 1] ? ", " : " or ",
								 o->choices[i]);
			break;
		case XDPG_OPT_BOOL:
			appendStringInfoString(&b, "boolean");
			appendStringInfoString(&b, word_list(o));
			break;
		case XDPG_OPT_COLUMN:
			appendStringInfoString(&b, "a column of the relation");
			break;
	}
	return b.data;
}

/* o's default as help and the reference show it. */
char *
xdpg_option_default(const XdOption *o)
{
	XdModelDef	md;
	StringInfoData b;

	if (o->shown)
		return pstrdup(o->shown);
	memset(&md, 0, sizeof(md));
	xdpg_options_read(&md, NULL);
	initStringInfo(&b);
	append_value(&b, o, &md, &md.cfg);
	return b.data;
}
