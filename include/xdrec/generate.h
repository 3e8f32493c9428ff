/*
 * generate.h - seeded synthetic cross-domain data with a known contextual
 * invariant, and its oracle scorer. The generative process is written down
 * in docs/generator.md; read that first.
 *
 * Domain 0 is the dense source, domains 1..n_domains-1 the sparse targets;
 * each domain has its own users and items (no overlap, DESIGN section 1).
 * Every domain's rows go through xd_dataset_create/append/finalize exactly as
 * the PostgreSQL loader's do, so the datasets hold the raw values a SQL
 * function can write to a table (ds->users, ds->items, ds->ratings, ds->num,
 * ds->codes, in generation order).
 */
#ifndef XDREC_GENERATE_H
#define XDREC_GENERATE_H

#include <stdint.h>

#include "xdrec/batch.h"
#include "xdrec/dataset.h"
#include "xdrec/hooks.h"
#include "xdrec/status.h"

typedef struct xd_gen_config
{
	uint64_t	seed;			/* everything follows from it */
	int			n_domains;		/* 1 source + (n_domains - 1) targets */
	int32_t		src_users;
	int32_t		src_items;
	int64_t		src_interactions;
	int32_t		tgt_users;		/* every target has these sizes */
	int32_t		tgt_items;
	int64_t		tgt_interactions;
	int			n_user_types;	/* latent user types */
	int			n_item_types;	/* latent item types (= cuisines) */
	int			explicit_feedback;	/* ratings instead of implicit choices */
	int			control;		/* each target has its own rule of another
								 * form (docs/generator.md): transfer of
								 * the source's invariant cannot help */
	float		temperature;	/* implicit: v ~ exp(score / temperature) */
	float		context_strength;	/* weight of the context terms */
	float		rating_noise;	/* explicit: sd of the rating noise */
	float		domain_shift;	/* 0 = every domain's contexts alike; 1 =
								 * the default shifts */
	float		missing_rate;	/* fraction of weekday values left missing */
	int			n_extra;		/* extra interaction-scoped categorical
								 * features with no effect (width knobs) */
	int			extra_vocab;	/* their vocabulary, "other" included */
	uint64_t	split_seed;		/* the seed datasets are finalized with */
	xd_hooks	hooks;			/* stop polled every 1,024 rows */
} xd_gen_config;

/*
 * Defaults: 4 domains; source 2000 users x 1000 items x 100,000
 * interactions; targets 300 users x 200 items x 3,000; 8 user types, 12 item
 * types; implicit; temperature 0.25; context strength 1; noise 0.5; shift 1;
 * no missing values; no extra features (m = 25); seeds 42.
 */
void		xd_gen_config_default(xd_gen_config *cfg);

/* The benchmark schema: the defaults with one extra feature of 7 slots, m = 32. */
void		xd_gen_config_bench(xd_gen_config *cfg);

/*
 * The scoring rule (docs/generator.md). Form 0, the family of the shared
 * world: affinity of user type and item type, item type x time of day, item
 * type x weekday, item type x rain, and the spend-price distance. Form 1,
 * the control targets': the same affinity, but the context acts through the
 * item's price level with the user type's own time, weekday and rain habits,
 * and spend and price attract bilinearly. Shared by all domains, or one per
 * domain in control mode (the source form 0, the targets form 1).
 */
typedef struct xd_gen_rule
{
	int			form;			/* 0: the shared family; 1: the control form */
	int			n_user_types;
	int			n_item_types;
	float	   *affinity;		/* [n_user_types * n_item_types] */
	/* indexed by item type (form 0) or user type (form 1) */
	float	   *time_peak;		/* phase of day in [0,1) */
	float	   *time_amp;
	float	   *weekday;		/* [type * 7 + weekday] */
	float	   *rain;
	float		spend_price;	/* gamma: - gamma (z_u - p_v)^2 (form 0), or
								 * + gamma (2 z_u - 1)(2 p_v - 1) (form 1) */
} xd_gen_rule;

typedef struct xd_gen_domain
{
	xd_dataset *ds;				/* finalized with cfg.split_seed */
	int32_t		n_users;
	int32_t		n_items;
	const xd_gen_rule *rule;	/* the rule its data follow */

	/* latents */
	int32_t    *user_type;		/* [n_users] */
	float	   *user_spend;		/* [n_users] z_u in [0,1] */
	float	   *user_activity;	/* [n_users] relative activity weight */
	int32_t    *item_type;		/* [n_items] */
	float	   *item_price;		/* [n_items] p_v in [0,1] */
	float	   *item_bias;		/* [n_items] popularity, domain-specific */
	int32_t    *item_cuisine;	/* [n_items] observed type (noisy) */

	/* the domain's context distributions (its shift) */
	float		hour_lo;		/* raw hour = hour_lo + t (hour_hi - hour_lo) */
	float		hour_hi;
	float		phase_mu[2];	/* t ~ mixture of N(phase_mu[k], 0.08^2) */
	float	   *phase_w;		/* [n_user_types] weight of the first peak:
								 * each user type's habit */
	float	   *weekday_p;		/* [n_user_types * 7] */
	float		rain_p;
	float		spend_scale;	/* raw spend = spend_scale (0.5 + z_u) e^N(0, .1^2) */
	float		price_scale;	/* raw price = price_scale (1 + 3 p_v) */
} xd_gen_domain;

typedef struct xd_generated
{
	xd_gen_config cfg;
	xd_schema	schema;
	int			n_domains;
	xd_gen_domain *domains;		/* [n_domains], 0 = source */
	int			n_rules;		/* 1, or n_domains in control mode */
	xd_gen_rule *rules;

	/* feature indexes in schema.features */
	int			f_hour;
	int			f_weekday;
	int			f_rain;
	int			f_spend;
	int			f_price;
	int			f_cuisine;
} xd_generated;

xd_status	xd_generate(const xd_gen_config *cfg, xd_generated **out);
void		xd_generated_free(xd_generated *g);

/*
 * The oracle of one domain: the true score of (u, v, c) from the latent types
 * and levels of u and v (their ids) and the interaction context decoded from
 * c with the domain's normalisation stats. Implicit data: the log-ratio
 * log p(v, c | u) - log p(c) = log p(v | u, c) + log p(c | u) - log p(c),
 * the Bayes-optimal score against both kinds of negatives
 * (docs/generator.md, "The oracle"); explicit data: the expected rating
 * clip(3 + s, 1, 5).
 * rule_domain selects whose rule scores (-1 = the domain's own); scoring a
 * target with the source's rule shows what perfect transfer of the source's
 * rule would get (in control mode: little).
 */
typedef struct xd_gen_oracle
{
	const xd_generated *g;
	int			domain;
	const xd_gen_rule *rule;
	double	   *user_type_mass;	/* [n_users * n_item_types] sum over the
								 * type's items of exp((b_v - gamma gap^2) / T) */
	double	   *type_share;		/* [n_user_types] activity share per user type */
} xd_gen_oracle;

xd_status	xd_gen_oracle_init(xd_gen_oracle *o, const xd_generated *g,
							   int domain, int rule_domain);
void		xd_gen_oracle_free(xd_gen_oracle *o);

/* An xd_score_fn; arg is an initialised xd_gen_oracle. */
xd_status	xd_gen_oracle_score(void *arg, const xd_batch *b, float *scores);

/* The score of raw latent context values (t = phase of day, weekday < 0 = missing). */
float		xd_gen_true_score(const xd_generated *g, const xd_gen_rule *rule,
							  int domain, int32_t user, int32_t item,
							  float t, int weekday, float rain);

#endif
