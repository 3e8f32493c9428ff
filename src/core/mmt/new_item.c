/*
 * new_item.c - items that arrived after training (issue 19, serve.h): the
 * ridge map from item-scoped features to an item embedding, and the score
 * of such an item for a trained user, through the frozen model.
 */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model_int.h"
#include "xdrec/serve.h"

void
xd_item_map_free(xd_item_map *map)
{
	free(map->slot);
	free(map->A);
	memset(map, 0, sizeof(*map));
}

/* In place: G (p x p, symmetric positive definite) = L L^T, L lower. */
static bool
xd_cholesky(double *G, int p)
{
	for (int j = 0; j < p; j++)
	{
		double		s = G[(size_t) j * p + j];

		for (int k = 0; k < j; k++)
			s -= G[(size_t) j * p + k] * G[(size_t) j * p + k];
		if (!(s > 0.0))
			return false;
		G[(size_t) j * p + j] = sqrt(s);
		for (int i = j + 1; i < p; i++)
		{
			double		t = G[(size_t) i * p + j];

			for (int k = 0; k < j; k++)
				t -= G[(size_t) i * p + k] * G[(size_t) j * p + k];
			G[(size_t) i * p + j] = t / G[(size_t) j * p + j];
		}
	}
	return true;
}

xd_status
xd_item_map_fit(const xd_model *model, const xd_feature_encoder *enc, double lambda,
				xd_item_map *map)
{
	const xd_schema *s = &enc->schema;
	int			n = model->domain->n_items;
	int			d = model->cfg.d;
	int			m = s->m;
	const float *E = model->domain->E_v->w;
	int			q = 0,
				p;
	double	   *G = NULL,
			   *R = NULL,
			   *x = NULL;
	int		   *nzi = NULL;
	int			nz;
	float	   *c = NULL;
	xd_status	st = XD_OK;

	memset(map, 0, sizeof(*map));
	for (int f = 0; f < s->n_features; f++)
		if (s->features[f].scope == XD_SCOPE_ITEM)
			q += s->features[f].width;
	if (q == 0 || n < 1 || !(lambda > 0.0) || m != model->cfg.m || enc->n_items != n)
		return XD_EINVAL;
	p = q + 1;
	map->q = q;
	map->d = d;
	map->slot = malloc(sizeof(int32_t) * (size_t) q);
	map->A = malloc(sizeof(float) * (size_t) p * d);
	G = calloc((size_t) p * p, sizeof(double));
	R = calloc((size_t) p * d, sizeof(double));
	x = malloc(sizeof(double) * (size_t) p);
	c = malloc(sizeof(float) * (size_t) m);
	nzi = malloc(sizeof(int) * (size_t) p);
	if (!map->slot || !map->A || !G || !R || !x || !c || !nzi)
	{
		st = XD_ENOMEM;
		goto done;
	}
	q = 0;
	for (int f = 0; f < s->n_features; f++)
		if (s->features[f].scope == XD_SCOPE_ITEM)
			for (int k = 0; k < s->features[f].width; k++)
				map->slot[q++] = s->features[f].offset + k;

	/* the normal equations: G = X^T X + lambda I, R = X^T E */
	for (int i = 0; i < n; i++)
	{
		const float *e = E + (size_t) i * d;

		memset(c, 0, sizeof(float) * (size_t) m);
		xd_encode_item(enc, i, c);
		for (int k = 0; k < q; k++)
			x[k] = c[map->slot[k]];
		x[q] = 1.0;
		/* over the nonzero entries only: one-hot blocks are mostly 0 */
		nz = 0;
		for (int a = 0; a < p; a++)
			if (x[a] != 0.0)
				nzi[nz++] = a;
		for (int ia = 0; ia < nz; ia++)
		{
			int			a = nzi[ia];

			for (int ib = 0; ib <= ia; ib++)
				G[(size_t) a * p + nzi[ib]] += x[a] * x[nzi[ib]];
			for (int k = 0; k < d; k++)
				R[(size_t) a * d + k] += x[a] * e[k];
		}
	}
	for (int a = 0; a < p; a++)
	{
		G[(size_t) a * p + a] += lambda;
		for (int b = 0; b < a; b++)
			G[(size_t) b * p + a] = G[(size_t) a * p + b];
	}
	if (!xd_cholesky(G, p))
	{
		st = XD_EINVAL;
		goto done;
	}
	/* A = G^-1 R, column by column: L y = r, then L^T a = y */
	for (int k = 0; k < d; k++)
	{
		for (int i = 0; i < p; i++)
		{
			double		t = R[(size_t) i * d + k];

			for (int j = 0; j < i; j++)
				t -= G[(size_t) i * p + j] * x[j];
			x[i] = t / G[(size_t) i * p + i];
		}
		for (int i = p - 1; i >= 0; i--)
		{
			double		t = x[i];

			for (int j = i + 1; j < p; j++)
				t -= G[(size_t) j * p + i] * x[j];
			x[i] = t / G[(size_t) i * p + i];
		}
		for (int i = 0; i < p; i++)
			map->A[(size_t) i * d + k] = (float) x[i];
	}
done:
	free(G);
	free(R);
	free(x);
	free(c);
	free(nzi);
	if (st != XD_OK)
		xd_item_map_free(map);
	return st;
}

void
xd_item_map_embed(const xd_item_map *map, const float *c, float *e)
{
	int			d = map->d;

	memcpy(e, map->A + (size_t) map->q * d, sizeof(float) * (size_t) d);
	for (int k = 0; k < map->q; k++)
	{
		float		xk = c[map->slot[k]];

		if (xk != 0.0f)
			cblas_saxpy(d, xk, map->A + (size_t) k * d, 1, e, 1);
	}
}

xd_status
xd_score_embedded_items(xd_model *model, int32_t user, const float *c, const float *E,
						int n, float *scores)
{
	xd_workspace *ws = model->ws;
	xd_domain  *dom = model->domain;
	int			d = model->cfg.d;
	int			m = model->cfg.m;
	int			L = model->cfg.n_tower_layers;
	int32_t    *users,
			   *items;
	xd_status	st = XD_OK;

	if (n < 0 || user < 0 || user >= dom->n_users || dom->n_items < 1)
		return XD_EINVAL;
	users = malloc(sizeof(int32_t) * (size_t) (ws->cap > 0 ? ws->cap : 1));
	items = calloc((size_t) (ws->cap > 0 ? ws->cap : 1), sizeof(int32_t));
	if (!users || !items)
	{
		free(users);
		free(items);
		return XD_ENOMEM;
	}
	for (int r = 0; r < ws->cap; r++)
		users[r] = user;
	for (int start = 0; start < n && st == XD_OK; start += ws->cap)
	{
		int			k = n - start < ws->cap ? n - start : ws->cap;

		/*
		 * M1, the user tower, s_c and the item gates of each row, with item
		 * 0 standing in (its embedding is not read below); then the item
		 * tower from the given embeddings (eq. 7, 9) and eq. 12 / 15
		 */
		st = xd_model_forward(model, users, items, c + (size_t) start * m, NULL, k, false, NULL);
		if (st != XD_OK)
			break;
		xd_cluster_embedded_forward(model, E + (size_t) start * d, k, ws->g_v, d);
		for (int r = 0; r < k; r++)
		{
			float		sc = cblas_sdot(d, ws->h_u[L] + (size_t) r * d, 1,
										ws->h_v[L] + (size_t) r * d, 1) + ws->s_c[r];

			if (model->cfg.feedback == XD_EXPLICIT)
				sc += dom->s_u->w[user] + dom->s->w[0];
			scores[start + r] = sc;
		}
	}
	free(users);
	free(items);
	return st;
}
