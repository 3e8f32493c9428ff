/*
 * fewshot_lift.c - the repeat lift of a few-shot adaptation (fewshot.h,
 * xd_fewshot_score): a new market's support is exactly its history, so a
 * user's support items may be lifted above the items they never chose, by
 * an amount the support itself calibrates.
 *
 * The history is the support's training rows (what the SQL path's repeat
 * term lifts and what the protocol leaves out of a user's candidates): only
 * their items are lifted. After the updates, up to XD_FS_LIFT_ROWS support
 * rows (training and validation) of users with another history row are
 * ranked in their own context, each left out of its user's history: the
 * positive is own when the user has it in another history row; the items
 * the user never chose are all ranked when few, else a seeded
 * XD_FS_LIFT_NEW stand for them (each counting for its share); the user's
 * other history items are ranked too only when a quarter of the history
 * repeats a pair of it (as exclude_seen "auto" keeps seen items then;
 * otherwise they are left out, as the protocol's full ranking and rank
 * without seen items do, and a lift can only raise a repeat positive).
 * Every lift of the ladder (0 = the model alone, the last = the user's
 * history items first, as the heuristic) shifts only the own items, so the
 * rows' candidates are scored once, in as few batches as hold them, and
 * each lift's rank follows. The lift with the best mean reciprocal rank is
 * kept, 0 without a row; on a tie the smaller when the history is ranked,
 * else the larger (no row can lose by it, and the rows ranked were fitted,
 * so the model alone already puts them first where a new row of the same
 * pair, in its own context, need not be). With the history left out no
 * lift ranks a row lower than a smaller one, so the top always wins and the
 * rows are only counted, not scored.
 * The model was fitted on the row it ranks, which flatters the positive
 * against items the user never chose more than against the user's other
 * items (fitted too): the leave-one-out leans, if anywhere, to a smaller lift.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "meta/fewshot_int.h"
#include "xdrec/features.h"

/* the lifts tried, ascending; the last puts every own item first */
static const float lift_ladder[] = {0.0f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f, 8.0f, 1000.0f};

#define N_LIFTS ((int) (sizeof(lift_ladder) / sizeof(lift_ladder[0])))

uint64_t
xd_fs_pair_key(int32_t u, int32_t v)
{
	return ((uint64_t) (uint32_t) u << 32) | (uint32_t) v;
}

int
xd_fs_pair_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *) a,
				y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

/* first index of own[n] whose key is >= key */
static int64_t
lower_bound(const uint64_t *own, int64_t n, uint64_t key)
{
	int64_t		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64_t		mid = lo + (hi - lo) / 2;

		if (own[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* the support rows of (u, v): 0 when u never chose v */
static int64_t
pair_count(const uint64_t *own, int64_t n, int32_t u, int32_t v)
{
	uint64_t	key = xd_fs_pair_key(u, v);
	int64_t		k = lower_bound(own, n, key),
				c = 0;

	while (k + c < n && own[k + c] == key)
		c++;
	return c;
}

/* the first index of the largest of x[n]: on a tie a ladder's smaller step */
static int
ladder_best(const double *x, int n)
{
	int			best = 0;

	for (int k = 1; k < n; k++)
		if (x[k] > x[best])
			best = k;
	return best;
}

xd_status
xd_fewshot_score(void *arg, const xd_batch *b, float *scores)
{
	const xd_fewshot_result *r = arg;
	xd_status	st = xd_model_score(r->model, b, scores);

	if (st != XD_OK || r->lift == 0.0f)
		return st;
	for (int k = 0; k < b->n; k++)
		if (pair_count(r->own, r->n_own, b->users[k], b->items[k]) > 0)
			scores[k] += r->lift;
	return XD_OK;
}

/* Appends (u, w) in context c to b as a candidate row (the caller checked room). */
static void
add_candidate(xd_batch *b, const xd_dataset *T, const float *c, int32_t u, int32_t w)
{
	int			m = T->enc.schema.m;
	float	   *cw = b->c + (size_t) b->n * m;

	b->users[b->n] = u;
	b->items[b->n] = w;
	b->hist[b->n] = 0.0f;
	memcpy(cw, c, sizeof(float) * (size_t) m);
	xd_encode_item(&T->enc, w, cw);
	b->n++;
}

/* what a row_filler did with row i: added its candidates, skipped it, or found b full */
typedef enum row_fill
{
	ROW_ADDED,
	ROW_SKIPPED,
	ROW_FULL
} row_fill;

typedef row_fill (*row_filler) (void *arg, xd_batch *b, int64_t i, int slot);
typedef void (*slot_ranker) (void *arg, const float *s, int slot);

/*
 * Rows 0..n-1 scored in as few batches as hold their candidates: fill adds
 * row i's candidates to b, remembering them in a slot (0, 1, ... in the
 * order rows are added), and when b is full (or the rows are done) the batch
 * is scored and each of its slots ranked; a row too large for an empty batch
 * is left out. *n_ranked counts the slots ranked. A row's candidates share
 * its user and its context but for item-scoped features, so the batch's
 * context module runs once per distinct context and the user tower once per
 * distinct (user, context) (xd_model_score_shared_ctx: the same scores).
 */
static xd_status
rank_rows_in_batches(xd_model *model, xd_batch *b, float *s, int64_t n,
					 row_filler fill, slot_ranker rank, void *arg, int *n_ranked)
{
	int			in_batch = 0;
	xd_status	st = XD_OK;

	*n_ranked = 0;
	b->n = 0;
	for (int64_t i = 0; st == XD_OK && i <= n; i++)
	{
		row_fill	f = i < n ? fill(arg, b, i, *n_ranked + in_batch) : ROW_FULL;

		if (f == ROW_SKIPPED)
			continue;
		if (f == ROW_ADDED)
		{
			in_batch++;
			continue;
		}
		if (in_batch > 0 && (st = xd_model_score_shared_ctx(model, b, s)) == XD_OK)
			for (int j = 0; j < in_batch; j++)
				rank(arg, s, *n_ranked + j);
		*n_ranked += in_batch;
		if (i < n && in_batch > 0)
			i--;				/* the row again, in an empty batch */
		in_batch = 0;
		b->n = 0;
	}
	return st;
}

/*
 * One left-out row's candidates in the scoring batch: its positive first,
 * then the user's other history items (own; only when kept), then n_new
 * items the user never chose, each standing for new_weight of them.
 */
typedef struct lift_row
{
	int			first;			/* the positive's index in the batch */
	int			n_own;
	int			n_new;
	bool		pos_own;		/* the positive is in the user's history */
	double		new_weight;
} lift_row;

/*
 * The batch rows a left-out row of user u may take: its positive, the
 * user's other history items (bounded by the history from u on), the
 * items the user never chose
 */
static int64_t
row_need(const uint64_t *own, int64_t n_own, int32_t u)
{
	return 1 + XD_FS_LIFT_NEW + n_own - lower_bound(own, n_own, xd_fs_pair_key(u, 0));
}

/*
 * Adds the candidates of (u, v) in context c to b, its user's history own
 * (without the row itself), ranked with the user's other history items:
 * false when b is full
 */
static bool
add_row(xd_batch *b, const xd_dataset *T, const float *c, const uint64_t *own, int64_t n_own,
		int32_t u, int32_t v, bool pos_own, xd_rng *rng, lift_row *l)
{
	int			n_items = T->n_items,
				n_others,
				n_hist = 0;
	int64_t		k = lower_bound(own, n_own, xd_fs_pair_key(u, 0));
	int32_t		last = -1;

	if (b->n + row_need(own, n_own, u) > b->capacity)
		return false;
	l->first = b->n;
	l->n_own = l->n_new = 0;
	l->pos_own = pos_own;
	add_candidate(b, T, c, u, v);
	for (; k < n_own && (int32_t) (own[k] >> 32) == u; k++)
	{
		int32_t		w = (int32_t) (own[k] & 0xffffffffu);

		if (w == v || w == last)
			continue;
		last = w;
		n_hist++;
		add_candidate(b, T, c, u, w);
		l->n_own++;
	}
	/* the items the user never chose: all of them when few, else a seeded sample */
	n_others = n_items - 1 - n_hist;
	if (n_others <= XD_FS_LIFT_NEW)
	{
		for (int32_t w = 0; w < n_items; w++)
			if (w != v && pair_count(own, n_own, u, w) == 0)
			{
				add_candidate(b, T, c, u, w);
				l->n_new++;
			}
	}
	else
		for (int t = 0; t < 4 * XD_FS_LIFT_NEW && l->n_new < XD_FS_LIFT_NEW; t++)
		{
			int32_t		w = (int32_t) xd_rng_below(rng, (uint32_t) n_items);

			if (w != v && pair_count(own, n_own, u, w) == 0)
			{
				add_candidate(b, T, c, u, w);
				l->n_new++;
			}
		}
	l->new_weight = l->n_new > 0 ? (double) n_others / l->n_new : 0.0;
	return true;
}

/* Adds 1 / rank of l's positive under each lift to rr[]: s the batch's scores */
static void
rank_lifts(const float *s, const lift_row *l, double *rr)
{
	const float *own = s + l->first + 1,
			   *new = own + l->n_own;

	for (int k = 0; k < N_LIFTS; k++)
	{
		float		lift = lift_ladder[k],
					pos = s[l->first] + (l->pos_own ? lift : 0.0f);
		double		higher = 0.0,
					tied = 0.0,
					new_higher = 0.0,
					new_tied = 0.0;

		for (int i = 0; i < l->n_own; i++)
		{
			higher += own[i] + lift > pos;
			tied += own[i] + lift == pos;
		}
		for (int i = 0; i < l->n_new; i++)
		{
			new_higher += new[i] > pos;
			new_tied += new[i] == pos;
		}
		higher += l->new_weight * new_higher;
		tied += l->new_weight * new_tied;
		rr[k] += 1.0 / (1.0 + higher + 0.5 * tied);
	}
}

/* the weights of the popularity term tried, ascending; the last lets popularity decide */
static const float pop_ladder[] = {0.0f, 0.125f, 0.25f, 0.5f, 1.0f, 2.0f, 4.0f, 100.0f};

#define N_BETAS ((int) (sizeof(pop_ladder) / sizeof(pop_ladder[0])))

/*
 * The popularity term's weight at the chosen lift, from the last update's
 * batch (no scoring of its own): each positive against its item negative,
 * both as the model scored them, the positive's own row left out of its
 * item's count (log(1 + count - 1)) and the lift on the user's history
 * items; a positive whose item has no other support row is skipped (a new
 * row's item has one: the catalog is the items of the rows, and the
 * protocol ranks only query items the support holds), as is a negative of
 * the user's history unless keep_own (the ranking leaves it out). The
 * weight winning the most pairs (a tie counting half) is kept, 0 without a
 * pair; a tie goes to the smaller (a weight, unlike a lift with the history
 * left out, can cost a row). Written into the domain's item bias s_v.
 */
static xd_status
choose_pop(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows, int64_t n_rows,
		   int64_t n_hist, bool keep_own, const xd_fs_last *last)
{
	int32_t    *count = calloc((size_t) T->n_items + 1, sizeof(int32_t));
	int64_t    *hist = malloc(sizeof(int64_t) * (size_t) (n_hist + 1));
	float	   *pop = malloc(sizeof(float) * ((size_t) T->n_items + 1));
	double		won[N_BETAS] = {0};
	int			n_pairs = 0;

	if (!count || !hist || !pop)
	{
		free(count);
		free(hist);
		free(pop);
		return XD_ENOMEM;
	}
	/* the items' support rows, and log(1 + count); the history's rows, sorted */
	for (int64_t i = 0; i < n_rows; i++)
		count[T->items[rows[i]]]++;
	for (int32_t v = 0; v < T->n_items; v++)
		pop[v] = log1pf((float) count[v]);
	memcpy(hist, rows, sizeof(int64_t) * (size_t) n_hist);
	qsort(hist, (size_t) n_hist, sizeof(int64_t), xd_fs_pair_cmp);

	for (int k = 0; k < last->n_pos; k++)
	{
		int64_t		r = last->rows[k];
		int32_t		u = T->users[r],
					v = T->items[r],
					w = last->neg_items[k];
		bool		in_hist = bsearch(&r, hist, (size_t) n_hist, sizeof(int64_t),
									  xd_fs_pair_cmp) != NULL;
		bool		pos_own = pair_count(res->own, res->n_own, u, v) > (in_hist ? 1 : 0),
					neg_own = pair_count(res->own, res->n_own, u, w) > 0;
		float		pos_pop = logf((float) count[v]);	/* log(1 + count - 1) */

		/*
		 * a positive whose item has no other support row stands for no
		 * new row (an item is in the catalog by its rows, and the protocol
		 * ranks only query items of the support); a negative of the
		 * history is left out as the ranking leaves it
		 */
		if (count[v] < 2 || (neg_own && !keep_own))
			continue;
		for (int j = 0; j < N_BETAS; j++)
		{
			float		pos = last->pos[k] + (pos_own ? res->lift : 0.0f) + pop_ladder[j] * pos_pop,
						neg = last->neg[k] + (neg_own ? res->lift : 0.0f) + pop_ladder[j] * pop[w];

			won[j] += pos > neg ? 1.0 : pos == neg ? 0.5 : 0.0;
		}
		n_pairs++;
	}
	if (n_pairs > 0)
	{
		res->pop_beta = pop_ladder[ladder_best(won, N_BETAS)];
		res->pop_pairs = n_pairs;
	}
	/* served as the domain's item bias (cfg.item_bias: the term alone) */
	for (int32_t v = 0; v < T->n_items; v++)
		res->domain->s_v->w[v] = res->pop_beta * pop[v];
	free(count);
	free(hist);
	free(pop);
	return XD_OK;
}

/*
 * One held-out row's candidates in the scoring batch: its positive first,
 * then n_top of the support's most popular items (weight 1 each), then
 * n_cand - n_top seeded items standing for the rest (new_weight each).
 */
#define POP_TOP 16
#define POP_NEW 16
typedef struct pop_row
{
	int			first;
	int			n_cand;
	int			n_top;
	double		new_weight;
	float		pos_shift;		/* the positive's lift */
	float		pos_pop;		/* log(1 + the positive's other support rows) */
	float		shift[POP_TOP + POP_NEW];	/* a candidate's lift */
	float		pop[POP_TOP + POP_NEW];
} pop_row;

/* what the popularity term's choice on held-out rows reads of the support */
typedef struct pop_support
{
	const xd_dataset *T;
	const xd_fewshot_result *res;
	const int32_t *count;		/* rows per item of the counted rows */
	const float *pop;			/* log(1 + scale * count) */
	const int32_t *by_pop;		/* the counted rows' items, most rows first */
	int			n_by_pop;
	bool		keep_own;
	int			self;			/* 1: a held-out row is among the counted rows */
	float		scale;			/* the whole support's rows per counted row */
	int			n_new;			/* the seeded others per row, up to POP_NEW */
} pop_support;

/* log(1 + the support rows of a held-out row's item other than itself), by the counted rows */
static float
held_pop(const pop_support *ps, int32_t v)
{
	return ps->self ? logf((float) ps->count[v]) :
		log1pf(ps->scale * (float) ps->count[v]);
}

/* w may be ranked against u's positive v: not v, not u's history unless kept */
static bool
pop_candidate(const pop_support *ps, int32_t u, int32_t v, int32_t w)
{
	return w != v && (ps->keep_own || pair_count(ps->res->own, ps->res->n_own, u, w) == 0);
}

/* Adds held-out row r's candidates to b (pop_row above): false when b is full. */
static bool
add_pop_row(xd_batch *b, const pop_support *ps, int64_t r, float *base, xd_rng *rng,
			pop_row *l)
{
	const xd_dataset *T = ps->T;
	const xd_fewshot_result *res = ps->res;
	int			n_others = 0;
	int32_t		u = T->users[r],
				v = T->items[r];
	bool		sampled;

	if (b->n + 1 + POP_TOP + ps->n_new > b->capacity)
		return false;
	xd_dataset_encode(T, r, -1, base);
	l->first = b->n;
	l->n_cand = l->n_top = 0;
	l->pos_shift = pair_count(res->own, res->n_own, u, v) > 0 ? res->lift : 0.0f;
	l->pos_pop = held_pop(ps, v);

#define ADD_CAND(w) do { \
		l->shift[l->n_cand] = pair_count(res->own, res->n_own, u, (w)) > 0 ? res->lift : 0.0f; \
		l->pop[l->n_cand] = ps->pop[w]; \
		l->n_cand++; \
		add_candidate(b, T, base, u, (w)); \
	} while (0)

	add_candidate(b, T, base, u, v);
	for (int k = 0; k < ps->n_by_pop && l->n_top < POP_TOP; k++)
		if (pop_candidate(ps, u, v, ps->by_pop[k]))
		{
			ADD_CAND(ps->by_pop[k]);
			l->n_top++;
		}
	/* the others: every one when few, else a seeded sample standing for them */
	for (int32_t w = 0; w < T->n_items; w++)
		n_others += pop_candidate(ps, u, v, w);
	n_others -= l->n_top;
	sampled = n_others > ps->n_new;
	for (int t = 0; sampled ? t < 4 * ps->n_new : t < T->n_items; t++)
	{
		int32_t		w = sampled ? (int32_t) xd_rng_below(rng, (uint32_t) T->n_items) : t;
		bool		top = false;

		if (l->n_cand - l->n_top >= ps->n_new || !pop_candidate(ps, u, v, w))
			continue;
		for (int k = 0; k < l->n_top; k++)
			top |= b->items[l->first + 1 + k] == w;
		if (!top)
			ADD_CAND(w);
	}
#undef ADD_CAND
	l->new_weight = l->n_cand > l->n_top ? (double) n_others / (l->n_cand - l->n_top) : 0.0;
	return true;
}

/* Adds 1 / rank of l's positive under each weight of pop_ladder to rr[] */
static void
rank_pops(const float *s, const pop_row *l, double *rr)
{
	const float *c = s + l->first + 1;

	for (int k = 0; k < N_BETAS; k++)
	{
		float		beta = pop_ladder[k],
					pos = s[l->first] + l->pos_shift + beta * l->pos_pop;
		double		higher = 0.0,
					tied = 0.0;

		for (int q = 0; q < l->n_cand; q++)
		{
			float		x = c[q] + l->shift[q] + beta * l->pop[q];
			double		wq = q < l->n_top ? 1.0 : l->new_weight;

			higher += wq * (x > pos);
			tied += wq * (x == pos);
		}
		rr[k] += 1.0 / (1.0 + higher + 0.5 * tied);
	}
}

/* rank_pop_rows's pass over its held-out rows (rank_rows_in_batches) */
typedef struct pop_pass
{
	const pop_support *ps;
	const int64_t *rows;		/* the held-out rows */
	float	   *base;
	xd_rng	   *rng;
	pop_row    *pr;				/* per slot */
	double	   *rr;				/* per weight of pop_ladder */
} pop_pass;

static row_fill
fill_pop(void *arg, xd_batch *b, int64_t i, int slot)
{
	pop_pass   *p = arg;
	int64_t		r = p->rows[i];

	if (p->ps->count[p->ps->T->items[r]] - p->ps->self < 1)
		return ROW_SKIPPED;		/* its item stands for no new row */
	return add_pop_row(b, p->ps, r, p->base, p->rng, &p->pr[slot]) ? ROW_ADDED : ROW_FULL;
}

static void
rank_pop(void *arg, const float *s, int slot)
{
	pop_pass   *p = arg;

	rank_pops(s, &p->pr[slot], p->rr);
}

/*
 * The first n_rank (up to XD_FS_LIFT_ROWS) of held-out rows held[n_held] of
 * T ranked under res (its model, lift and history), each in its context
 * against the POP_TOP items most popular among the counted rows
 * count_rows[n_count] (the ones a large weight puts first) and n_new
 * (up to POP_NEW) seeded others standing for the rest, the user's history
 * items left out unless keep_own: 1 / rank of each under every weight of
 * pop_ladder added to rr[], the rows ranked to *n_ranked. Popularity is
 * log(1 + rows) of the counted rows: when the held-out rows are among them
 * (self), a row's own is left out of its item's count; when not
 * (cross-fitting), the counts are scaled to the whole support's,
 * (n_count + n_held) / n_count. A row whose item has no other counted row
 * stands for no new row (an item is in the catalog by its support rows,
 * and the protocol ranks only query items the support holds) and is
 * skipped.
 */
static xd_status
rank_pop_rows(const xd_fewshot_result *res, const xd_dataset *T, const int64_t *count_rows,
			  int64_t n_count, const int64_t *held, int64_t n_held, int64_t n_rank, bool self,
			  bool keep_own, int n_new, xd_rng *rng, double *rr, int *n_ranked)
{
	int			m = T->enc.schema.m,
				n_items = T->n_items;
	int32_t    *count = calloc((size_t) n_items + 1, sizeof(int32_t)),
			   *by_pop = malloc(sizeof(int32_t) * ((size_t) n_items + 1));
	float	   *pop = malloc(sizeof(float) * ((size_t) n_items + 1)),
			   *base = malloc(sizeof(float) * (size_t) (m > 0 ? m : 1)),
			   *s = NULL;
	pop_row    *pr = malloc(sizeof(pop_row) * XD_FS_LIFT_ROWS);
	pop_support ps = {T, res, count, pop, by_pop, 0, keep_own, self ? 1 : 0, 1.0f,
	n_new < POP_NEW ? n_new : POP_NEW};
	xd_batch	b = {0};
	xd_status	st = XD_OK;

	*n_ranked = 0;
	if (!self && n_count > 0)
		ps.scale = (float) (n_count + n_held) / (float) n_count;
	n_held = n_rank < n_held ? n_rank : n_held;
	n_held = n_held < XD_FS_LIFT_ROWS ? n_held : XD_FS_LIFT_ROWS;
	if (!count || !by_pop || !pop || !base || !pr)
		st = XD_ENOMEM;
	if (st == XD_OK)
	{
		for (int64_t i = 0; i < n_count; i++)
			count[T->items[count_rows[i]]]++;
		for (int32_t v = 0; v < n_items; v++)
		{
			pop[v] = log1pf(ps.scale * (float) count[v]);
			if (count[v] > 0)
				by_pop[ps.n_by_pop++] = v;
		}
		/* most rows first, then the lower index (insertion: a market's few items) */
		for (int i = 1; i < ps.n_by_pop; i++)
			for (int j = i; j > 0 && count[by_pop[j]] > count[by_pop[j - 1]]; j--)
			{
				int32_t		t = by_pop[j];

				by_pop[j] = by_pop[j - 1];
				by_pop[j - 1] = t;
			}
		if (n_held > 0)
			st = xd_batch_init(&b, xd_model_max_rows(res->model), m);
	}
	if (st == XD_OK && n_held > 0 && !(s = malloc(sizeof(float) * (size_t) b.capacity)))
		st = XD_ENOMEM;
	if (st == XD_OK && n_held > 0 && b.capacity < 1 + POP_TOP + ps.n_new)
		n_held = 0;
	if (st == XD_OK && n_held > 0)
	{
		pop_pass	pass = {&ps, held, base, rng, pr, rr};

		st = rank_rows_in_batches(res->model, &b, s, n_held, fill_pop, rank_pop, &pass, n_ranked);
	}
	xd_batch_free(&b);
	free(s);
	free(base);
	free(pr);
	free(pop);
	free(by_pop);
	free(count);
	return st;
}

/*
 * The weight of rr[] (summed 1 / rank per weight of pop_ladder over n_ranked
 * held-out rows), a tie to the smaller (a weight, unlike a lift with the
 * history left out, can cost a row), 0 without a row; folded into the
 * domain's item bias s_v as weight * log(1 + the item's rows among
 * support rows[n_rows])
 */
static xd_status
set_pop_weight(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows,
			   int64_t n_rows, const double *rr, int n_ranked)
{
	int32_t    *count = calloc((size_t) T->n_items + 1, sizeof(int32_t));

	if (!count)
		return XD_ENOMEM;
	if (n_ranked > 0)
	{
		res->pop_beta = pop_ladder[ladder_best(rr, N_BETAS)];
		res->pop_held = n_ranked;
	}
	for (int64_t i = 0; i < n_rows; i++)
		count[T->items[rows[i]]]++;
	for (int32_t v = 0; v < T->n_items; v++)
		res->domain->s_v->w[v] = res->pop_beta * log1pf((float) count[v]);
	free(count);
	return XD_OK;
}

/*
 * The popularity term's weight at the chosen lift, on held-out support rows
 * rows[n_hist..n_rows) the updates never saw (rank_pop_rows, their own rows
 * among the counted ones); the best mean reciprocal rank, a tie to the
 * smaller; 0 without a row. Folded into s_v.
 */
static xd_status
choose_pop_held(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows,
				int64_t n_rows, int64_t n_hist, bool keep_own, xd_rng *rng)
{
	double		rr[N_BETAS] = {0};
	int			n_ranked = 0;
	xd_status	st = rank_pop_rows(res, T, rows, n_rows, rows + n_hist, n_rows - n_hist,
								   n_rows - n_hist, true, keep_own, POP_NEW, rng, rr, &n_ranked);

	return st == XD_OK ? set_pop_weight(res, T, rows, n_rows, rr, n_ranked) : st;
}

/* choose_lift's pass over its picked rows (rank_rows_in_batches) */
typedef struct lift_pass
{
	const xd_dataset *T;
	const xd_fewshot_result *res;
	const int64_t *rows;
	const int64_t *pick;		/* indexes into rows */
	int64_t		n_hist;
	float	   *base;
	xd_rng	   *rng;
	lift_row   *lr;				/* per slot */
	double	   *rr;				/* per lift of lift_ladder */
} lift_pass;

static row_fill
fill_lift(void *arg, xd_batch *b, int64_t i, int slot)
{
	lift_pass  *p = arg;
	int64_t		r = p->rows[p->pick[i]];
	int32_t		u = p->T->users[r],
				v = p->T->items[r];

	xd_dataset_encode(p->T, r, -1, p->base);
	return add_row(b, p->T, p->base, p->res->own, p->res->n_own, u, v,
				   pair_count(p->res->own, p->res->n_own, u, v) > (p->pick[i] < p->n_hist),
				   p->rng, &p->lr[slot]) ? ROW_ADDED : ROW_FULL;
}

static void
rank_lift(void *arg, const float *s, int slot)
{
	lift_pass  *p = arg;

	rank_lifts(s, &p->lr[slot], p->rr);
}

/*
 * The lift (xd_fs_choose_lift), *keep_own whether the ranking keeps a
 * user's other history items
 */
static xd_status
choose_lift(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows, int64_t n_rows,
			int64_t n_hist, bool calibrate, xd_rng *rng, bool *keep_own_out)
{
	int			m = T->enc.schema.m,
				n_pick = 0,
				n_ranked = 0;
	int64_t    *pick = NULL,
				n_repeat = 0;
	bool		keep_own;
	float	   *s = NULL,
			   *base = NULL;
	lift_row	lr[XD_FS_LIFT_ROWS];
	double		rr[N_LIFTS] = {0};
	xd_batch	b = {0};
	xd_status	st = XD_OK;

	res->lift = 0.0f;
	res->lift_rows = 0;
	free(res->own);
	res->n_own = 0;
	if (n_hist < 0 || n_hist > n_rows)
		return XD_EINVAL;
	if (!(res->own = malloc(sizeof(uint64_t) * (size_t) (n_hist + 1))))
		return XD_ENOMEM;
	for (int64_t i = 0; i < n_hist; i++)
		res->own[i] = xd_fs_pair_key(T->users[rows[i]], T->items[rows[i]]);
	res->n_own = n_hist;
	qsort(res->own, (size_t) n_hist, sizeof(uint64_t), xd_fs_pair_cmp);

	/*
	 * Ranked as the domain will be: a user's other history items are left
	 * out (the protocol's full ranking, and rank's exclude_seen "auto")
	 * unless a quarter of the history repeats a pair of it ("auto" keeps
	 * them then, and a lift also costs the rows that do not repeat)
	 */
	for (int64_t i = 1; i < n_hist; i++)
		n_repeat += res->own[i] == res->own[i - 1];
	keep_own = 4 * n_repeat >= n_hist && n_hist > 0;
	*keep_own_out = keep_own;
	if (!calibrate)
		return XD_OK;

	/* the rows a lift can move: their user has another history row */
	if (!(pick = malloc(sizeof(int64_t) * (size_t) (n_rows + 1))))
		return XD_ENOMEM;
	for (int64_t i = 0; i < n_rows; i++)
	{
		int32_t		u = T->users[rows[i]];
		int64_t		k = lower_bound(res->own, res->n_own, xd_fs_pair_key(u, 0)),
					need = i < n_hist ? 2 : 1;	/* a history row is its own too */

		if (k + need - 1 < res->n_own && (int32_t) (res->own[k + need - 1] >> 32) == u)
			pick[n_pick++] = i;
	}
	/* a seeded XD_FS_LIFT_ROWS of them */
	for (int i = 0; i < n_pick && i < XD_FS_LIFT_ROWS; i++)
	{
		int			j = i + (int) xd_rng_below(rng, (uint32_t) (n_pick - i));
		int64_t		t = pick[i];

		pick[i] = pick[j];
		pick[j] = t;
	}
	n_pick = n_pick < XD_FS_LIFT_ROWS ? n_pick : XD_FS_LIFT_ROWS;

	/*
	 * With the history left out a lift moves only a repeat positive, and
	 * up: no row's reciprocal rank falls along the ladder, nor does their
	 * sum (the same additions in the same order), so the tie rule below
	 * keeps the ladder's top whenever a row is ranked. The rows that fit
	 * an empty batch are counted, not scored (scoring them was a tenth of
	 * an adaptation at N = 64, for the same lift).
	 */
	if (!keep_own)
	{
		for (int i = 0; i < n_pick; i++)
			n_ranked += row_need(res->own, res->n_own, T->users[rows[pick[i]]]) <=
				xd_model_max_rows(res->model);
		if (n_ranked > 0)
			res->lift = lift_ladder[N_LIFTS - 1];
		res->lift_rows = n_ranked;
		free(pick);
		return XD_OK;
	}
	if (n_pick > 0)
		st = xd_batch_init(&b, xd_model_max_rows(res->model), m);
	base = malloc(sizeof(float) * (size_t) (m > 0 ? m : 1));
	s = malloc(sizeof(float) * (size_t) (b.capacity > 0 ? b.capacity : 1));
	if (st == XD_OK && (!base || !s))
		st = XD_ENOMEM;
	if (st == XD_OK && n_pick > 0)
	{
		lift_pass	pass = {T, res, rows, pick, n_hist, base, rng, lr, rr};

		st = rank_rows_in_batches(res->model, &b, s, n_pick, fill_lift, rank_lift, &pass, &n_ranked);
	}
	if (st == XD_OK && n_ranked > 0)
	{
		/* with the history kept a lift can cost a row: a tie goes to the smaller */
		res->lift = lift_ladder[ladder_best(rr, N_LIFTS)];
		res->lift_rows = n_ranked;
	}
	if (n_pick > 0)
		xd_batch_free(&b);
	free(s);
	free(base);
	free(pick);
	return st;
}

xd_status
xd_fs_choose_lift(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows,
				  int64_t n_rows, int64_t n_hist, int64_t n_fit, bool calibrate,
				  const xd_fs_last *last, xd_rng *rng)
{
	bool		keep_own = false;
	xd_status	st;

	if (n_fit < n_hist || n_fit > n_rows)
		return XD_EINVAL;
	st = choose_lift(res, T, rows, n_rows, n_hist, calibrate, rng, &keep_own);
	res->pop_beta = 0.0f;
	res->pop_pairs = 0;
	res->pop_held = 0;
	if (st != XD_OK || !last || !res->domain->s_v || T->has_ratings)
		return st;
	/* on the rows the updates never saw when there are some, else the last batch's pairs */
	if (n_fit < n_rows)
		return choose_pop_held(res, T, rows, n_rows, n_fit, keep_own, rng);
	if (last->n_pos > 0)
		st = choose_pop(res, T, rows, n_rows, n_hist, keep_own, last);
	return st;
}

_Static_assert(N_BETAS == XD_FS_POP_WEIGHTS, "xd_fs_pop_votes holds a vote per weight");

/* theta's tensors P[] (NULL: not active) set to the copies theta[] */
static void
load_theta(xd_param *const *P, float *const *theta)
{
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		if (P[s] && theta[s])
			memcpy(P[s]->w, theta[s], sizeof(float) * (size_t) P[s]->rows * P[s]->cols);
}

xd_status
xd_fs_crossfit_pop(const xd_fewshot *fs, xd_fewshot_result *res, const xd_dataset *T,
				   const int64_t *rows, int64_t n_rows, uint64_t seed, xd_fs_pop_votes *votes)
{
	const int	k = XD_FS_POP_FOLDS;
	int64_t    *order = malloc(sizeof(int64_t) * (size_t) (n_rows + 1)),
			   *fit = malloc(sizeof(int64_t) * (size_t) (n_rows + 1)),
			   *held = malloc(sizeof(int64_t) * (size_t) (n_rows + 1));
	xd_param   *P[XD_FS_N_SLOTS] = {0};
	float	   *theta0[XD_FS_N_SLOTS] = {0};
	xd_fewshot	fold_fs = *fs;	/* its tensors shared, only read */
	xd_rng		rng;
	xd_status	st = XD_OK;

	memset(votes, 0, sizeof(*votes));
	/* a fold's fit: a fixed few updates, no stop controller (see the header) */
	fold_fs.use_stop = false;
	fold_fs.fixed_steps = XD_FS_POP_FOLD_STEPS;
	if (!order || !fit || !held)
		st = XD_ENOMEM;
	else if (n_rows < 2 * k || !res->domain->s_v || T->has_ratings)
		st = XD_EINVAL;
	/* theta^0, which every fold starts from and the served updates get back */
	for (int s = 0; st == XD_OK && s < XD_FS_N_SLOTS; s++)
		if (fs->active[s] && (P[s] = xd_fs_slot_param(res, s)))
		{
			size_t		len = sizeof(float) * (size_t) P[s]->rows * P[s]->cols;

			if (!(theta0[s] = malloc(len)))
				st = XD_ENOMEM;
			else
				memcpy(theta0[s], P[s]->w, len);
		}
	/* the folds: a seeded shuffle of the support, dealt out in turn */
	if (st == XD_OK)
	{
		memcpy(order, rows, sizeof(int64_t) * (size_t) n_rows);
		xd_rng_seed(&rng, seed ^ 0x706f702d666f6c64ull);	/* "pop-fold" */
		for (int64_t i = n_rows - 1; i > 0; i--)
		{
			int64_t		j = (int64_t) xd_rng_below(&rng, (uint32_t) (i + 1)),
						t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	for (int f = 0; st == XD_OK && f < k; f++)
	{
		int64_t		n_fit = 0,
					n_held = 0;
		int			ranked = 0;
		bool		keep_own = false;

		for (int64_t i = 0; i < n_rows; i++)
		{
			if (i % k == f)
				held[n_held++] = order[i];
			else
				fit[n_fit++] = order[i];
		}
		load_theta(P, theta0);

		/*
		 * the other folds are the fold's whole support: fitted, the history
		 * (its lift as serving chooses it), the popularity counted
		 */
		st = xd_fs_run(&fold_fs, res, T, fit, n_fit, &rng, false, NULL, NULL, NULL);
		if (st == XD_OK)
			st = choose_lift(res, T, fit, n_fit, n_fit, fs->use_lift, &rng, &keep_own);
		if (st == XD_OK)
			st = rank_pop_rows(res, T, fit, n_fit, held, n_held, XD_FS_POP_FOLD_ROWS, false,
							   keep_own, XD_FS_POP_FOLD_NEW, &rng, votes->rr, &ranked);
		votes->n_ranked += ranked;
	}
	load_theta(P, theta0);
	/* the folds' lift and history are not the served ones */
	free(res->own);
	res->own = NULL;
	res->n_own = 0;
	res->lift = 0.0f;
	res->lift_rows = 0;
	res->steps = 0;
	for (int s = 0; s < XD_FS_N_SLOTS; s++)
		free(theta0[s]);
	free(order);
	free(fit);
	free(held);
	return st;
}

xd_status
xd_fs_set_pop_votes(xd_fewshot_result *res, const xd_dataset *T, const int64_t *rows,
					int64_t n_rows, const xd_fs_pop_votes *votes)
{
	res->pop_beta = 0.0f;
	res->pop_pairs = res->pop_held = 0;
	return set_pop_weight(res, T, rows, n_rows, votes->rr, votes->n_ranked);
}
