/*
 * suggest.c - "did you mean ...?" for a name given where one of a known set
 * was expected: options, features, categorical values, domains (help inside
 * psql, docs/sql-reference.md). SQL reaches it as xdrec_internal.did_you_mean.
 */
#include "postgres.h"

#include "utils/varlena.h"

#include "data/data.h"

/*
 * The candidate word most likely meant: one equal to it but for case, else
 * the nearest by edit distance within a third of its length (at least 1, at
 * most 3 edits); NULL when none is that near. Ties go to the first.
 */
const char *
xdpg_did_you_mean(const char *word, const char *const *cands, int n)
{
	int			len = (int) strlen(word);
	int			limit = Min(3, Max(1, len / 3));
	const char *best = NULL;
	int			best_d = limit + 1;

	for (int i = 0; i < n; i++)
		if (cands[i] && strcmp(cands[i], word) != 0 && pg_strcasecmp(cands[i], word) == 0)
			return cands[i];
	for (int i = 0; i < n; i++)
	{
		int			clen;
		int			d;

		if (cands[i] == NULL || strcmp(cands[i], word) == 0)
			continue;
		clen = (int) strlen(cands[i]);
		if (abs(clen - len) > limit)
			continue;
		d = varstr_levenshtein_less_equal(word, len, cands[i], clen, 1, 1, 1, limit, true);
		if (d < best_d)
		{
			best = cands[i];
			best_d = d;
		}
	}
	return best;
}
