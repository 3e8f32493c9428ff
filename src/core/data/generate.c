/*
 * generate.c - seeded synthetic cross-domain data with a contextual
 * invariant shared across domains (or not, in control mode), and its oracle.
 * The process is specified in docs/generator.md; the constants below are the
 * ones it lists.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "xdrec/generate.h"
#include "xdrec/rng.h"

#define XD_PI 3.14159265358979323846

void
xd_gen_config_default(xd_gen_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 42;
	cfg->n_domains = 4;
	cfg->src_users = 2000;
	cfg->src_items = 1000;
	cfg->src_interactions = 100000;
	cfg->tgt_users = 300;
	cfg->tgt_items = 200;
	cfg->tgt_interactions = 3000;
	cfg->n_user_types = 8;
	cfg->n_item_types = 12;
	cfg->explicit_feedback = 0;
	cfg->control = 0;
	cfg->temperature = 0.25f;
	cfg->context_strength = 1.0f;
	cfg->rating_noise = 0.5f;
	cfg->domain_shift = 1.0f;
	cfg->missing_rate = 0.0f;
	cfg->n_extra = 0;
	cfg->extra_vocab = 8;
	cfg->split_seed = 42;
}

void
xd_gen_config_bench(xd_gen_config *cfg)
{
	xd_gen_config_default(cfg);
	/* 25 + 7 = 32 */
	cfg->n_extra = 1;
	cfg->extra_vocab = 7;
}

/* Independent streams: one per purpose and index, all from the seed. */
static void
stream(xd_rng *r, uint64_t seed, uint64_t purpose, uint64_t index)
{
	uint64_t	x = seed ^ (purpose * 0x9e3779b97f4a7c15ULL) ^ (index * 0xc2b2ae3d27d4eb4fULL);

	xd_rng_seed(r, xd_splitmix64(&x));
}

static inline float
uniform_in(xd_rng *r, float lo, float hi)
{
	return lo + (hi - lo) * xd_rng_uniform(r);
}

static inline float
clampf(float x, float lo, float hi)
{
	return x < lo ? lo : (x > hi ? hi : x);
}

static void
rule_free(xd_gen_rule *rule)
{
	free(rule->affinity);
	free(rule->time_peak);
	free(rule->time_amp);
	free(rule->weekday);
	free(rule->rain);
	memset(rule, 0, sizeof(*rule));
}

/* docs/generator.md, "The rule". */
static xd_status
rule_draw(xd_gen_rule *rule, const xd_gen_config *cfg, int index)
{
	int			tu = cfg->n_user_types,
				tv = cfg->n_item_types;
	/* the source's rule is of the shared family; control targets' of form 1 */
	int			form = cfg->control && index > 0 ? 1 : 0;
	int			nt = form == 1 ? tu : tv;	/* the types the context acts on */
	xd_rng		r;

	memset(rule, 0, sizeof(*rule));
	rule->form = form;
	rule->n_user_types = tu;
	rule->n_item_types = tv;
	rule->affinity = malloc(sizeof(float) * (size_t) (tu * tv));
	rule->time_peak = malloc(sizeof(float) * (size_t) nt);
	rule->time_amp = malloc(sizeof(float) * (size_t) nt);
	rule->weekday = malloc(sizeof(float) * (size_t) (nt * 7));
	rule->rain = malloc(sizeof(float) * (size_t) nt);
	if (!rule->affinity || !rule->time_peak || !rule->time_amp || !rule->weekday || !rule->rain)
	{
		rule_free(rule);
		return XD_ENOMEM;
	}
	stream(&r, cfg->seed, 1, (uint64_t) index);
	for (int i = 0; i < tu * tv; i++)
		rule->affinity[i] = xd_rng_normal(&r);
	for (int j = 0; j < nt; j++)
	{
		rule->time_peak[j] = xd_rng_uniform(&r);
		rule->time_amp[j] = uniform_in(&r, 0.5f, 1.5f);
		rule->rain[j] = 0.7f * xd_rng_normal(&r);
		for (int d = 0; d < 7; d++)
			rule->weekday[j * 7 + d] = 0.5f * xd_rng_normal(&r);
	}
	/* form 0: users buy at their level; form 1: the richer, the pricier */
	rule->spend_price = uniform_in(&r, 2.0f, 4.0f);
	return XD_OK;
}

/*
 * The context term of type k (an item type in form 0, a user type in form 1):
 * what the rule adds for (t, weekday, rain).
 */
static inline float
context_term(const xd_gen_rule *rule, int k, float t, int weekday, float rain)
{
	/* a von Mises bump around the type's peak phase, width about 0.06 */
	float		ctx = 3.0f * rule->time_amp[k] *
		expf(8.0f * (cosf((float) (2.0 * XD_PI) * (t - rule->time_peak[k])) - 1.0f));

	if (weekday >= 0 && weekday < 7)
		ctx += rule->weekday[k * 7 + weekday];
	return ctx + rule->rain[k] * rain;
}

/*
 * Form 1: everything but the affinity and the popularity is a * (2 p_v - 1),
 * a = k ctx_tu(c) + gamma (2 z_u - 1): the price level the user wants now.
 */
static inline float
price_pull(const xd_generated *g, const xd_gen_rule *rule, int tu, float spend,
		   float t, int weekday, float rain)
{
	return g->cfg.context_strength * context_term(rule, tu, t, weekday, rain) +
		rule->spend_price * (2.0f * spend - 1.0f);
}

float
xd_gen_true_score(const xd_generated *g, const xd_gen_rule *rule, int domain,
				  int32_t user, int32_t item, float t, int weekday, float rain)
{
	const xd_gen_domain *d = &g->domains[domain];
	int			tu = d->user_type[user],
				tv = d->item_type[item];
	float		ctx,
				gap = d->user_spend[user] - d->item_price[item];

	if (rule->form == 1)
		return rule->affinity[tu * rule->n_item_types + tv] +
			price_pull(g, rule, tu, d->user_spend[user], t, weekday, rain) *
			(2.0f * d->item_price[item] - 1.0f) +
			d->item_bias[item];
	ctx = context_term(rule, tv, t, weekday, rain);
	return rule->affinity[tu * rule->n_item_types + tv] +
		g->cfg.context_strength * ctx -
		rule->spend_price * gap * gap +
		d->item_bias[item];
}

static void
domain_free(xd_gen_domain *d)
{
	xd_dataset_free(d->ds);
	free(d->user_type);
	free(d->user_spend);
	free(d->user_activity);
	free(d->item_type);
	free(d->item_price);
	free(d->item_bias);
	free(d->item_cuisine);
	free(d->phase_w);
	free(d->weekday_p);
	memset(d, 0, sizeof(*d));
}

void
xd_generated_free(xd_generated *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_domains && g->domains; i++)
		domain_free(&g->domains[i]);
	free(g->domains);
	for (int i = 0; i < g->n_rules && g->rules; i++)
		rule_free(&g->rules[i]);
	free(g->rules);
	xd_schema_free(&g->schema);
	free(g);
}

/* docs/generator.md, "Domains": latents and context distributions. */
static xd_status
domain_draw(xd_generated *g, int di)
{
	const xd_gen_config *cfg = &g->cfg;
	xd_gen_domain *d = &g->domains[di];
	float		sh = cfg->domain_shift;
	float		wsum = 0;
	xd_rng		r;

	d->n_users = di == 0 ? cfg->src_users : cfg->tgt_users;
	d->n_items = di == 0 ? cfg->src_items : cfg->tgt_items;
	d->rule = &g->rules[cfg->control ? di : 0];
	d->user_type = malloc(sizeof(int32_t) * (size_t) d->n_users);
	d->user_spend = malloc(sizeof(float) * (size_t) d->n_users);
	d->user_activity = malloc(sizeof(float) * (size_t) d->n_users);
	d->item_type = malloc(sizeof(int32_t) * (size_t) d->n_items);
	d->item_price = malloc(sizeof(float) * (size_t) d->n_items);
	d->item_bias = malloc(sizeof(float) * (size_t) d->n_items);
	d->item_cuisine = malloc(sizeof(int32_t) * (size_t) d->n_items);
	d->phase_w = malloc(sizeof(float) * (size_t) cfg->n_user_types);
	d->weekday_p = malloc(sizeof(float) * (size_t) cfg->n_user_types * 7);
	if (!d->user_type || !d->user_spend || !d->user_activity || !d->item_type ||
		!d->item_price || !d->item_bias || !d->item_cuisine || !d->phase_w || !d->weekday_p)
		return XD_ENOMEM;

	stream(&r, cfg->seed, 2, (uint64_t) di);
	d->hour_lo = 6.0f + sh * uniform_in(&r, -2.0f, 2.0f);
	d->hour_hi = 23.0f + sh * uniform_in(&r, -2.0f, 1.0f);
	d->phase_mu[0] = clampf(0.30f + sh * 0.07f * xd_rng_normal(&r), 0.05f, 0.95f);
	d->phase_mu[1] = clampf(0.75f + sh * 0.07f * xd_rng_normal(&r), 0.05f, 0.95f);
	{
		float		base_w = 0.5f + sh * uniform_in(&r, -0.2f, 0.2f);
		float		base_p[7];

		for (int k = 0; k < 7; k++)
			base_p[k] = expf(sh * 0.5f * xd_rng_normal(&r));
		/* each user type's habits: lunch or dinner, and favourite days */
		for (int ut = 0; ut < cfg->n_user_types; ut++)
		{
			d->phase_w[ut] = clampf(base_w + uniform_in(&r, -0.4f, 0.4f), 0.05f, 0.95f);
			wsum = 0;
			for (int k = 0; k < 7; k++)
			{
				d->weekday_p[ut * 7 + k] = base_p[k] * expf(0.7f * xd_rng_normal(&r));
				wsum += d->weekday_p[ut * 7 + k];
			}
			for (int k = 0; k < 7; k++)
				d->weekday_p[ut * 7 + k] /= wsum;
		}
	}
	d->rain_p = 0.3f + sh * uniform_in(&r, -0.2f, 0.2f);
	d->spend_scale = 20.0f * expf(sh * 0.5f * xd_rng_normal(&r));
	d->price_scale = 5.0f * expf(sh * 0.5f * xd_rng_normal(&r));

	stream(&r, cfg->seed, 3, (uint64_t) di);
	for (int32_t u = 0; u < d->n_users; u++)
	{
		d->user_type[u] = (int32_t) xd_rng_below(&r, (uint32_t) cfg->n_user_types);
		d->user_spend[u] = xd_rng_uniform(&r);
		d->user_activity[u] = expf(0.5f * xd_rng_normal(&r));
	}
	for (int32_t v = 0; v < d->n_items; v++)
	{
		d->item_type[v] = (int32_t) xd_rng_below(&r, (uint32_t) cfg->n_item_types);
		d->item_price[v] = xd_rng_uniform(&r);
		d->item_bias[v] = 0.5f * xd_rng_normal(&r);
		/* the observed cuisine is the type 85% of the time */
		d->item_cuisine[v] = xd_rng_uniform(&r) < 0.85f ? d->item_type[v] :
			(int32_t) xd_rng_below(&r, (uint32_t) cfg->n_item_types);
	}
	return XD_OK;
}

/* docs/generator.md, "Interactions". */
static xd_status
domain_rows(xd_generated *g, int di)
{
	const xd_gen_config *cfg = &g->cfg;
	const xd_schema *s = &g->schema;
	xd_gen_domain *d = &g->domains[di];
	int64_t		n_rows = di == 0 ? cfg->src_interactions : cfg->tgt_interactions;
	double	   *cum_user = NULL;
	float	   *sc = NULL;
	float	   *num = NULL;
	int32_t    *codes = NULL;
	xd_rng		r;
	xd_status	st;

	st = xd_dataset_create(s, d->n_users, d->n_items, cfg->explicit_feedback, 0, &d->ds);
	if (st != XD_OK)
		return st;
	cum_user = malloc(sizeof(double) * (size_t) d->n_users);
	sc = malloc(sizeof(float) * (size_t) d->n_items);
	num = malloc(sizeof(float) * (size_t) (s->n_num > 0 ? s->n_num : 1));
	codes = malloc(sizeof(int32_t) * (size_t) (s->n_codes > 0 ? s->n_codes : 1));
	st = XD_ENOMEM;
	if (!cum_user || !sc || !num || !codes)
		goto done;
	{
		double		acc = 0;

		for (int32_t u = 0; u < d->n_users; u++)
			cum_user[u] = (acc += d->user_activity[u]);
	}

	stream(&r, cfg->seed, 4, (uint64_t) di);
	for (int64_t i = 0; i < n_rows; i++)
	{
		int32_t		u,
					v;
		float		t,
					rain,
					rating = 0;
		int			wd;

		if ((i & 1023) == 0 && xd_hooks_stopped(&cfg->hooks))
		{
			st = XD_ECANCELLED;
			goto done;
		}

		/* the user, by activity */
		{
			double		x = xd_rng_uniform(&r) * cum_user[d->n_users - 1];
			int32_t		lo = 0,
						hi = d->n_users - 1;

			while (lo < hi)
			{
				int32_t		mid = (lo + hi) / 2;

				if (cum_user[mid] > x)
					hi = mid;
				else
					lo = mid + 1;
			}
			u = lo;
		}

		/* the context, from the domain's distributions */
		{
			int			ut = d->user_type[u];
			int			k = xd_rng_uniform(&r) < d->phase_w[ut] ? 0 : 1;
			float		x = xd_rng_uniform(&r),
						acc = 0;

			t = clampf(d->phase_mu[k] + 0.08f * xd_rng_normal(&r), 0.0f, 1.0f);
			wd = 6;
			for (int j = 0; j < 7; j++)
			{
				acc += d->weekday_p[ut * 7 + j];
				if (x < acc)
				{
					wd = j;
					break;
				}
			}
			rain = xd_rng_uniform(&r) < d->rain_p ? 1.0f : 0.0f;
			if (cfg->missing_rate > 0 && xd_rng_uniform(&r) < cfg->missing_rate)
				wd = -1;
		}

		/* the item (implicit: a choice; explicit: any item, then a rating) */
		if (!cfg->explicit_feedback)
		{
			float		mx = -INFINITY;
			double		total = 0,
						x;

			for (int32_t w = 0; w < d->n_items; w++)
			{
				sc[w] = xd_gen_true_score(g, d->rule, di, u, w, t, wd, rain) / cfg->temperature;
				if (sc[w] > mx)
					mx = sc[w];
			}
			for (int32_t w = 0; w < d->n_items; w++)
			{
				sc[w] = expf(sc[w] - mx);
				total += sc[w];
			}
			x = xd_rng_uniform(&r) * total;
			v = d->n_items - 1;
			for (int32_t w = 0; w < d->n_items; w++)
			{
				x -= sc[w];
				if (x < 0)
				{
					v = w;
					break;
				}
			}
		}
		else
		{
			v = (int32_t) xd_rng_below(&r, (uint32_t) d->n_items);
			rating = clampf(3.0f + xd_gen_true_score(g, d->rule, di, u, v, t, wd, rain) +
							cfg->rating_noise * xd_rng_normal(&r), 1.0f, 5.0f);
		}

		/* raw values, as a table would hold them */
		num[s->features[g->f_hour].raw] = d->hour_lo + t * (d->hour_hi - d->hour_lo);
		codes[s->features[g->f_weekday].raw] = wd;
		num[s->features[g->f_rain].raw] = rain;
		for (int e = 0; e < cfg->n_extra; e++)
			codes[s->features[g->f_weekday + 2 + e].raw] = cfg->extra_vocab > 1 ?
				(int32_t) xd_rng_below(&r, (uint32_t) (cfg->extra_vocab - 1)) : 0;
		num[s->features[g->f_spend].raw] = d->spend_scale * (0.5f + d->user_spend[u]) *
			expf(0.1f * xd_rng_normal(&r));
		num[s->features[g->f_price].raw] = d->price_scale * (1.0f + 3.0f * d->item_price[v]);
		codes[s->features[g->f_cuisine].raw] = d->item_cuisine[v];
		st = xd_dataset_append(d->ds, u, v, rating, num, codes);
		if (st != XD_OK)
			goto done;
	}
	d->ds->stop = cfg->hooks.stop;
	d->ds->stop_arg = cfg->hooks.stop_arg;
	st = xd_dataset_finalize(d->ds, cfg->split_seed);
done:
	free(cum_user);
	free(sc);
	free(num);
	free(codes);
	return st;
}

xd_status
xd_generate(const xd_gen_config *cfg, xd_generated **out)
{
	xd_generated *g;
	xd_feature *f;
	int			nf,
				k = 0;
	xd_status	st;

	*out = NULL;
	if (cfg->n_domains < 1 || cfg->src_users < 1 || cfg->src_items < 2 ||
		cfg->src_interactions < 1 ||
		(cfg->n_domains > 1 && (cfg->tgt_users < 1 || cfg->tgt_items < 2 || cfg->tgt_interactions < 1)) ||
		cfg->n_user_types < 1 || cfg->n_item_types < 1 || !(cfg->temperature > 0) ||
		cfg->n_extra < 0 || cfg->extra_vocab < 1 || cfg->missing_rate < 0 || cfg->missing_rate > 1)
		return XD_EINVAL;
	g = calloc(1, sizeof(xd_generated));
	if (!g)
		return XD_ENOMEM;
	g->cfg = *cfg;

	/* the schema of docs/generator.md, "Features" */
	nf = 6 + cfg->n_extra;
	f = calloc((size_t) nf, sizeof(xd_feature));
	if (!f)
	{
		free(g);
		return XD_ENOMEM;
	}
	g->f_hour = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_INTERACTION, 0);
	g->f_weekday = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_INTERACTION, 8);
	g->f_rain = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_BOOLEAN, XD_SCOPE_INTERACTION, 0);
	for (int e = 0; e < cfg->n_extra; e++)
		f[k++] = (xd_feature) XD_FEATURE(XD_KIND_INTERACTIONAL, XD_TYPE_CATEGORICAL,
										 XD_SCOPE_INTERACTION, cfg->extra_vocab);
	g->f_spend = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_HISTORICAL, XD_TYPE_NUMERIC, XD_SCOPE_USER, 0);
	g->f_price = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_NUMERIC, XD_SCOPE_ITEM, 0);
	g->f_cuisine = k;
	f[k++] = (xd_feature) XD_FEATURE(XD_KIND_ATTRIBUTIONAL, XD_TYPE_CATEGORICAL, XD_SCOPE_ITEM,
									 cfg->n_item_types + 1);
	st = xd_schema_init(&g->schema, f, nf);
	free(f);
	if (st != XD_OK)
	{
		free(g);
		return st;
	}

	g->n_rules = cfg->control ? cfg->n_domains : 1;
	g->rules = calloc((size_t) g->n_rules, sizeof(xd_gen_rule));
	g->domains = calloc((size_t) cfg->n_domains, sizeof(xd_gen_domain));
	if (!g->rules || !g->domains)
	{
		xd_generated_free(g);
		return XD_ENOMEM;
	}
	g->n_domains = cfg->n_domains;
	for (int i = 0; i < g->n_rules; i++)
		if ((st = rule_draw(&g->rules[i], cfg, i)) != XD_OK)
		{
			xd_generated_free(g);
			return st;
		}
	for (int i = 0; i < g->n_domains; i++)
		if ((st = domain_draw(g, i)) != XD_OK || (st = domain_rows(g, i)) != XD_OK)
		{
			xd_generated_free(g);
			return st;
		}
	*out = g;
	return XD_OK;
}

/*
 * The density of (phase t, weekday) for a user of type ut, up to factors
 * that do not depend on the user (rain; the clamp of t at 0 and 1, ignored).
 */
static double
context_density(const xd_gen_domain *d, int ut, float t, int wd)
{
	double		z0 = (t - d->phase_mu[0]) / 0.08,
				z1 = (t - d->phase_mu[1]) / 0.08;
	double		p = d->phase_w[ut] * exp(-0.5 * z0 * z0) + (1.0 - d->phase_w[ut]) * exp(-0.5 * z1 * z1);

	if (wd >= 0 && wd < 7)
		p *= d->weekday_p[ut * 7 + wd];
	return p + 1e-300;
}

static double
marginal_density(const xd_gen_domain *d, const double *share, int n_types, float t, int wd)
{
	double		p = 0;

	for (int k = 0; k < n_types; k++)
		p += share[k] * context_density(d, k, t, wd);
	return p;
}

xd_status
xd_gen_oracle_init(xd_gen_oracle *o, const xd_generated *g, int domain, int rule_domain)
{
	const xd_gen_domain *d;
	int			tv;
	double		inv_t;

	memset(o, 0, sizeof(*o));
	if (domain < 0 || domain >= g->n_domains || rule_domain >= g->n_domains)
		return XD_EINVAL;
	d = &g->domains[domain];
	o->g = g;
	o->domain = domain;
	o->rule = rule_domain >= 0 ? g->domains[rule_domain].rule : d->rule;
	tv = g->cfg.n_item_types;
	inv_t = 1.0 / g->cfg.temperature;
	o->user_type_mass = calloc((size_t) d->n_users * (size_t) tv, sizeof(double));
	o->type_share = calloc((size_t) g->cfg.n_user_types, sizeof(double));
	if (!o->user_type_mass || !o->type_share)
	{
		xd_gen_oracle_free(o);
		return XD_ENOMEM;
	}
	{
		double		total = 0;

		/* users are drawn by activity, so a type's share of the rows is its activity mass */
		for (int32_t u = 0; u < d->n_users; u++)
		{
			o->type_share[d->user_type[u]] += d->user_activity[u];
			total += d->user_activity[u];
		}
		for (int k = 0; k < g->cfg.n_user_types; k++)
			o->type_share[k] /= total;
	}

	/*
	 * Form 0: Z(u, c) = sum_v exp(s / T) factorises over item types: the
	 * context and the affinity depend on v only through its type, so
	 * Z = sum_t exp((A[tu][t] + k ctx_t(c)) / T) * mass[u][t]. Form 1 sums
	 * over the items per row (xd_gen_oracle_score).
	 */
	for (int32_t u = 0; u < d->n_users && o->rule->form == 0; u++)
		for (int32_t v = 0; v < d->n_items; v++)
		{
			float		gap = d->user_spend[u] - d->item_price[v];

			o->user_type_mass[(size_t) u * tv + d->item_type[v]] +=
				exp(inv_t * (d->item_bias[v] - o->rule->spend_price * gap * gap));
		}
	return XD_OK;
}

void
xd_gen_oracle_free(xd_gen_oracle *o)
{
	free(o->user_type_mass);
	free(o->type_share);
	memset(o, 0, sizeof(*o));
}

xd_status
xd_gen_oracle_score(void *arg, const xd_batch *b, float *scores)
{
	const xd_gen_oracle *o = arg;
	const xd_generated *g = o->g;
	const xd_gen_domain *d;
	const xd_gen_rule *rule = o->rule;
	const xd_schema *s = &g->schema;
	const xd_feature *fh,
			   *fw,
			   *fr;
	float		lo,
				hi;
	int			n_types = g->cfg.n_item_types;
	double		inv_t = 1.0 / g->cfg.temperature;

	if (!o->user_type_mass || b->m != s->m)
		return XD_EINVAL;
	d = &g->domains[o->domain];
	fh = &s->features[g->f_hour];
	fw = &s->features[g->f_weekday];
	fr = &s->features[g->f_rain];
	lo = d->ds->enc.num_min[fh->raw];
	hi = d->ds->enc.num_max[fh->raw];
	for (int i = 0; i < b->n; i++)
	{
		const float *c = b->c + (size_t) i * b->m;
		int32_t		u = b->users[i],
					v = b->items[i];
		float		raw,
					t,
					rain,
					sc;
		int			wd = -1;

		if (u < 0 || u >= d->n_users || v < 0 || v >= d->n_items)
			return XD_EINVAL;
		/* decode the interaction context with the domain's stats */
		raw = lo + c[fh->offset] * (hi - lo);
		t = clampf((raw - d->hour_lo) / (d->hour_hi - d->hour_lo), 0.0f, 1.0f);
		for (int k = 0; k < 7; k++)
			if (c[fw->offset + k] > 0.5f)
				wd = k;
		rain = c[fr->offset];
		sc = xd_gen_true_score(g, rule, o->domain, u, v, t, wd, rain);
		if (g->cfg.explicit_feedback)
			scores[i] = clampf(3.0f + sc, 1.0f, 5.0f);
		else
		{
			double		z = 0;
			int			tu = d->user_type[u];

			if (rule->form == 1)
			{
				float		a = price_pull(g, rule, tu, d->user_spend[u], t, wd, rain);

				for (int32_t w = 0; w < d->n_items; w++)
					z += exp(inv_t * (rule->affinity[tu * n_types + d->item_type[w]] +
									  a * (2.0f * d->item_price[w] - 1.0f) +
									  d->item_bias[w]));
			}
			else
				for (int k = 0; k < n_types; k++)
					z += exp(inv_t * (rule->affinity[tu * n_types + k] +
									  g->cfg.context_strength * context_term(rule, k, t, wd, rain))) *
						o->user_type_mass[(size_t) u * n_types + k];
			/* + log p(c | u) - log p(c): the habits of u's type against the domain's */
			scores[i] = (float) (inv_t * sc - log(z) +
								 log(context_density(d, tu, t, wd)) -
								 log(marginal_density(d, o->type_share, g->cfg.n_user_types, t, wd)));
		}
	}
	return XD_OK;
}
