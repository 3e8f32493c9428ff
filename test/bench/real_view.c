/*
 * real_view.c - reading a prepared real view (real_view.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "real_view.h"
#include "report_common.h"

/* XD_REAL_SPLIT_SEED's value if set, else fallback (real_view.h) */
uint64_t
real_split_seed_or(uint64_t fallback)
{
	const char *e = getenv("XD_REAL_SPLIT_SEED");

	return e && *e ? strtoull(e, NULL, 10) : fallback;
}

/* string -> dense id, open addressing; ids in first-seen order */
typedef struct str_ids
{
	int			cap,
				n;
	char	  **keys;
	int		   *ids;
} str_ids;

static uint64_t
hash_str(const char *s)
{
	uint64_t	h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char) *s) * 1099511628211ULL;
	return h;
}

static int
str_id(str_ids *t, const char *s)
{
	uint64_t	h;

	if (2 * (t->n + 1) > t->cap)
	{
		str_ids		bigger = {t->cap ? 2 * t->cap : 1024, 0, NULL, NULL};

		bigger.keys = calloc(bigger.cap, sizeof(char *));
		bigger.ids = calloc(bigger.cap, sizeof(int));
		if (!bigger.keys || !bigger.ids)
			exit(1);
		for (int i = 0; i < t->cap; i++)
			if (t->keys[i])
			{
				h = hash_str(t->keys[i]) & (uint64_t) (bigger.cap - 1);
				while (bigger.keys[h])
					h = (h + 1) & (uint64_t) (bigger.cap - 1);
				bigger.keys[h] = t->keys[i];
				bigger.ids[h] = t->ids[i];
			}
		bigger.n = t->n;
		free(t->keys);
		free(t->ids);
		*t = bigger;
	}
	h = hash_str(s) & (uint64_t) (t->cap - 1);
	while (t->keys[h])
	{
		if (strcmp(t->keys[h], s) == 0)
			return t->ids[h];
		h = (h + 1) & (uint64_t) (t->cap - 1);
	}
	if (!(t->keys[h] = strdup(s)))
		exit(1);
	t->ids[h] = t->n++;
	return t->ids[h];
}

/* the id of s, or -1 when t does not hold it */
static int
str_find(const str_ids *t, const char *s)
{
	uint64_t	h;

	if (t->cap == 0)
		return -1;
	h = hash_str(s) & (uint64_t) (t->cap - 1);
	while (t->keys[h])
	{
		if (strcmp(t->keys[h], s) == 0)
			return t->ids[h];
		h = (h + 1) & (uint64_t) (t->cap - 1);
	}
	return -1;
}

static void
str_ids_free(str_ids *t)
{
	for (int i = 0; i < t->cap; i++)
		free(t->keys[i]);
	free(t->keys);
	free(t->ids);
	memset(t, 0, sizeof(*t));
}

typedef struct raw_row
{
	int			domain;
	char		user[64];
	char		item[64];
	float		rating;
	int32_t		codes[REAL_MAX_FEATURES];
} raw_row;

/* Reads a prepared view (test/real/prepare.py's format): real_view.h. */
void
real_view_load(const char *path, real_view *v)
{
	real_view_load_split(path, v, real_split_seed_or(42));
}

void
real_view_load_split(const char *path, real_view *v, uint64_t split_seed)
{
	FILE	   *f = fopen(path, "r");
	char		line[4096],
				source[64] = "";
	xd_feature	feats[REAL_MAX_FEATURES];
	int			n_feat = 0,
				n_dom = 0;
	xd_schema	schema;
	raw_row    *rows = NULL;
	int64_t		n_rows = 0,
				cap = 0;
	char		dnames[REAL_MAX_DOMAINS][32];
	int			order[REAL_MAX_DOMAINS];
	str_ids		src_users = {0};	/* the source's user keys */
	int64_t		dcount[REAL_MAX_DOMAINS] = {0};

	memset(v, 0, sizeof(*v));

	if (!f)
	{
		perror(path);
		exit(1);
	}
	if (!fgets(line, sizeof(line), f) || strncmp(line, "#xdrec-real ", 12) != 0)
	{
		fprintf(stderr, "%s: not a prepared view\n", path);
		exit(1);
	}
	{
		char	   *p;

		if ((p = strstr(line, "name=")))
			sscanf(p + 5, "%63s", v->name);
		v->explicit_fb = strstr(line, "feedback=explicit") != NULL;
		if ((p = strstr(line, "source=")))
			sscanf(p + 7, "%63s", source);
	}
	/* the header: domain user item rating name:scope:kind:n_values... */
	if (!fgets(line, sizeof(line), f))
		exit(1);
	{
		char	   *save = NULL;
		char	   *tok = strtok_r(line, "\t\n", &save);

		for (int col = 0; tok; col++, tok = strtok_r(NULL, "\t\n", &save))
		{
			char		name[64],
						scope[16],
						kind;
			int			nv;

			if (col < 4)
				continue;
			if (n_feat == REAL_MAX_FEATURES ||
				sscanf(tok, "%63[^:]:%15[^:]:%c:%d", name, scope, &kind, &nv) != 4)
			{
				fprintf(stderr, "%s: bad feature column %s\n", path, tok);
				exit(1);
			}
			snprintf(v->feature[n_feat], sizeof(v->feature[n_feat]), "%s", name);
			feats[n_feat++] = (xd_feature) XD_FEATURE(
				kind == 'I' ? XD_KIND_INTERACTIONAL : (kind == 'H' ? XD_KIND_HISTORICAL : XD_KIND_ATTRIBUTIONAL),
				XD_TYPE_CATEGORICAL,
				strcmp(scope, "user") == 0 ? XD_SCOPE_USER :
				(strcmp(scope, "item") == 0 ? XD_SCOPE_ITEM : XD_SCOPE_INTERACTION), nv);
		}
	}
	CHECK(xd_schema_init(&schema, feats, n_feat));
	while (fgets(line, sizeof(line), f))
	{
		char	   *save = NULL;
		char	   *tok;
		raw_row    *r;
		int			d;

		if (n_rows == cap)
		{
			cap = cap ? 2 * cap : 16384;
			if (!(rows = realloc(rows, sizeof(raw_row) * cap)))
				exit(1);
		}
		r = &rows[n_rows];
		tok = strtok_r(line, "\t\n", &save);
		for (d = 0; d < n_dom && strcmp(dnames[d], tok) != 0; d++)
			;
		if (d == n_dom)
		{
			if (n_dom == REAL_MAX_DOMAINS)
				exit(1);
			snprintf(dnames[n_dom++], 32, "%s", tok);
		}
		r->domain = d;
		dcount[d]++;
		snprintf(r->user, sizeof(r->user), "%s", strtok_r(NULL, "\t\n", &save));
		snprintf(r->item, sizeof(r->item), "%s", strtok_r(NULL, "\t\n", &save));
		r->rating = strtof(strtok_r(NULL, "\t\n", &save), NULL);
		for (int i = 0; i < n_feat; i++)
			r->codes[schema.features[i].raw] = (int32_t) strtol(strtok_r(NULL, "\t\n", &save), NULL, 10);
		n_rows++;
	}
	fclose(f);

	/* the source first, then the targets by decreasing size */
	for (int d = 0; d < n_dom; d++)
		order[d] = d;
	for (int a = 0; a < n_dom; a++)
		for (int b = a + 1; b < n_dom; b++)
		{
			bool		b_first = strcmp(dnames[order[b]], source) == 0 ||
				(strcmp(dnames[order[a]], source) != 0 && dcount[order[b]] > dcount[order[a]]);

			if (b_first)
			{
				int			t = order[a];

				order[a] = order[b];
				order[b] = t;
			}
		}
	for (int k = 0; k < n_dom; k++)
	{
		int			d = order[k];
		str_ids		u = {0},
					it = {0};

		for (int64_t i = 0; i < n_rows; i++)
			if (rows[i].domain == d)
			{
				str_id(&u, rows[i].user);
				str_id(&it, rows[i].item);
			}
		CHECK(xd_dataset_create(&schema, u.n, it.n, v->explicit_fb, 0, &v->ds[k]));
		for (int64_t i = 0; i < n_rows; i++)
			if (rows[i].domain == d)
				CHECK(xd_dataset_append(v->ds[k], str_id(&u, rows[i].user), str_id(&it, rows[i].item),
										rows[i].rating, NULL, rows[i].codes));
		CHECK(xd_dataset_finalize(v->ds[k], split_seed));
		snprintf(v->domain[k], sizeof(v->domain[k]), "%s", dnames[d]);
		/* the target's users the source knows: their source ids, else -1 */
		if (!(v->user_src[k] = malloc(sizeof(int32_t) * (u.n ? u.n : 1))))
			exit(1);
		for (int i = 0; i < u.cap; i++)
			if (u.keys[i])
			{
				v->user_src[k][u.ids[i]] = k > 0 ? str_find(&src_users, u.keys[i]) : u.ids[i];
				v->shared_users[k] += v->user_src[k][u.ids[i]] >= 0;
			}
		if (k == 0)
		{
			src_users = u;
			u = (str_ids) {0};
		}
		str_ids_free(&u);
		str_ids_free(&it);
	}
	str_ids_free(&src_users);
	xd_schema_free(&schema);
	free(rows);
	v->n_domains = n_dom;
}
