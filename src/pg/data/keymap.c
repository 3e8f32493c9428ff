/*
 * keymap.c - a user or item key to its dense id and back (XdKeyMap): keys
 * sorted, integers numerically and text in "C" order, found by binary
 * search; a key given as text (a driver's string, a uuid in any of its
 * spellings) first put in the form the map holds. Loading a map is load.c's;
 * ranking finds its user and items here.
 */
#include "postgres.h"

#include <ctype.h>

#include "data/data.h"

static int
cmp_text_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
cmp_int_key(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The dense id of the key at position pos (-1: none). */
static int32
key_id(const XdKeyMap *km, ptrdiff_t pos)
{
	if (pos < 0)
		return -1;
	return km->ids ? km->ids[pos] : (int32) pos;
}

/* The dense id of an integer key, or -1. */
int32
xdpg_key_find_int(const XdKeyMap *km, int64 key)
{
	int64	   *hit;

	if (!km->is_int || km->n_keys == 0)
		return -1;
	hit = bsearch(&key, km->ints, km->n_keys, sizeof(int64), cmp_int_key);
	return key_id(km, hit ? hit - km->ints : -1);
}

/* The dense id of a key in its text form, or -1 (ids are sorted positions). */
int32
xdpg_key_find(const XdKeyMap *km, const char *key)
{
	if (km->n_keys == 0)
		return -1;
	if (km->is_int)
	{
		char	   *end;
		long long	v;

		errno = 0;
		while (*key == ' ')
			key++;
		v = strtoll(key, &end, 10);
		while (*end == ' ')
			end++;
		if (errno != 0 || end == key || *end != '\0')
			return -1;
		return xdpg_key_find_int(km, (int64) v);
	}
	else
	{
		char	  **hit = bsearch(&key, km->texts, km->n_keys, sizeof(char *), cmp_text_key);

		return key_id(km, hit ? hit - km->texts : -1);
	}
}

/*
 * A key given as text, in the form the key map holds: uuid keys in their
 * canonical lowercase form (so 'A0EE...' and '{a0ee...}' find 'a0ee-...');
 * anything else, or a malformed uuid, unchanged.
 */
const char *
xdpg_key_normalise(const char *type, const char *key)
{
	char		hex[33];
	int			n = 0;

	if (strcmp(type, "uuid") != 0)
		return key;
	for (const char *p = key; *p; p++)
	{
		if (*p == '-' || *p == '{' || *p == '}')
			continue;
		if (!isxdigit((unsigned char) *p) || n == 32)
			return key;
		hex[n++] = (char) tolower((unsigned char) *p);
	}
	if (n != 32)
		return key;
	hex[32] = '\0';
	return psprintf("%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

/* The text form of dense id, in a map nothing was forgotten from. */
char *
xdpg_key_text(const XdKeyMap *km, int32 id)
{
	Assert(km->ids == NULL);
	if (km->is_int)
		return psprintf(INT64_FORMAT, km->ints[id]);
	return pstrdup(km->texts[id]);
}

/* The memory a key map holds, for the budget of xdrec.train_memory. */
size_t
xdpg_keymap_bytes(const XdKeyMap *km)
{
	size_t		b = km->is_int ? sizeof(int64) * (size_t) km->n_keys : sizeof(char *) * (size_t) km->n_keys;

	if (km->ids)
		b += sizeof(int32) * (size_t) km->n_keys;
	if (!km->is_int)
		for (int32 i = 0; i < km->n_keys; i++)
			b += strlen(km->texts[i]) + 1;
	return b;
}
