/* SPDX-License-Identifier: MIT */
/*
 * The value comparison behind appkg_diff_compare (spec §19.2): two JSON values are walked
 * together and every difference becomes a change at its RFC 6901 pointer ("~" written "~0",
 * "/" written "~1"). Objects are compared key by key (A's keys in A's order, then keys only B
 * has). Arrays are aligned: the common head and tail are skipped, and what remains is matched
 * by a longest common subsequence on element equality when it has at most
 * APPKG_MAX_DIFF_CELLS cells, else index by index; within each unmatched stretch, removed and
 * inserted elements are paired in order as changed elements and the rest are removed or
 * added, so that one inserted element is one change.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Push "/token" (escaped) on the pointer; returns the length to cut back to, or -1. */
static long push_token(struct diff_ctx *c, const char *token)
{
	size_t mark = c->pointer.len;
	int rc = buf_append(&c->pointer, "/", 1);

	for (const char *p = token; !rc && *p; p++)
		rc = *p == '~'	 ? buf_append(&c->pointer, "~0", 2)
		     : *p == '/' ? buf_append(&c->pointer, "~1", 2)
				 : buf_append(&c->pointer, p, 1);
	if (!rc)
		rc = buf_reserve(&c->pointer, 1);
	if (rc)
		return -1;
	c->pointer.data[c->pointer.len] = '\0';
	return (long)mark;
}

static long push_index(struct diff_ctx *c, size_t i)
{
	char token[32];

	snprintf(token, sizeof(token), "%zu", i);
	return push_token(c, token);
}

static void pop(struct diff_ctx *c, long mark)
{
	c->pointer.len = (size_t)mark;
	c->pointer.data[mark] = '\0';
}

static const char *pointer(struct diff_ctx *c)
{
	return c->pointer.len ? (const char *)c->pointer.data : "";
}

static int change(struct diff_ctx *c, int kind, json_t *a, json_t *b)
{
	return diff_add(c->d, kind, c->subject, c->type, c->name, pointer(c), a, b);
}

/* One element or member under its token: compared when both are there, else added/removed. */
static int at_index(struct diff_ctx *c, size_t i, json_t *a, json_t *b)
{
	long mark = push_index(c, i);
	int rc;

	if (mark < 0)
		return APPKG_ERR_NO_MEMORY;
	rc = a && b ? diff_values(c, a, b)
	     : a    ? change(c, APPKG_CHANGE_REMOVED, a, NULL)
		    : change(c, APPKG_CHANGE_ADDED, NULL, b);
	pop(c, mark);
	return rc;
}

static int diff_objects(struct diff_ctx *c, json_t *a, json_t *b)
{
	const char *key;
	json_t *va, *vb;
	long mark;
	int rc = 0;

	json_object_foreach(a, key, va) {
		if ((mark = push_token(c, key)) < 0)
			return APPKG_ERR_NO_MEMORY;
		vb = json_object_get(b, key);
		rc = vb ? diff_values(c, va, vb) : change(c, APPKG_CHANGE_REMOVED, va, NULL);
		pop(c, mark);
		if (rc)
			return rc;
	}
	json_object_foreach(b, key, vb) {
		if (json_object_get(a, key))
			continue;
		if ((mark = push_token(c, key)) < 0)
			return APPKG_ERR_NO_MEMORY;
		rc = change(c, APPKG_CHANGE_ADDED, NULL, vb);
		pop(c, mark);
		if (rc)
			return rc;
	}
	return 0;
}

/* An unmatched stretch: A's elements [ia, ia+na) against B's [ib, ib+nb). */
static int diff_stretch(struct diff_ctx *c, json_t *a, size_t ia, size_t na, json_t *b, size_t ib,
			size_t nb)
{
	size_t pairs = na < nb ? na : nb;
	int rc = 0;

	for (size_t k = 0; !rc && k < pairs; k++)
		rc = at_index(c, ib + k, json_array_get(a, ia + k), json_array_get(b, ib + k));
	for (size_t k = pairs; !rc && k < na; k++)
		rc = at_index(c, ia + k, json_array_get(a, ia + k), NULL);
	for (size_t k = pairs; !rc && k < nb; k++)
		rc = at_index(c, ib + k, NULL, json_array_get(b, ib + k));
	return rc;
}

/* Longest common subsequence of a[lo, lo+n) and b[lo, lo+m): table[i][j] is the length for
 * the suffixes from i and j. Walked from the front, each run of unmatched elements between
 * two matches is one stretch. */
static int diff_lcs(struct diff_ctx *c, json_t *a, json_t *b, size_t lo, size_t n, size_t m)
{
	uint32_t *t = calloc((n + 1) * (m + 1), sizeof(*t));
	size_t i = 0, j = 0, si = 0, sj = 0;
	int rc = 0;

	if (!t)
		return APPKG_ERR_NO_MEMORY;
#define T(x, y) t[(x) * (m + 1) + (y)]
	for (size_t x = n; x-- > 0;)
		for (size_t y = m; y-- > 0;)
			T(x, y) = json_equal(json_array_get(a, lo + x), json_array_get(b, lo + y))
					  ? T(x + 1, y + 1) + 1
				  : T(x + 1, y) >= T(x, y + 1) ? T(x + 1, y)
							       : T(x, y + 1);
	while (!rc && (i < n || j < m)) {
		if (i < n && j < m &&
		    json_equal(json_array_get(a, lo + i), json_array_get(b, lo + j))) {
			rc = diff_stretch(c, a, lo + si, i - si, b, lo + sj, j - sj);
			si = ++i;
			sj = ++j;
		} else if (j == m || (i < n && T(i + 1, j) >= T(i, j + 1))) {
			i++;
		} else {
			j++;
		}
	}
#undef T
	if (!rc)
		rc = diff_stretch(c, a, lo + si, n - si, b, lo + sj, m - sj);
	free(t);
	return rc;
}

static int diff_arrays(struct diff_ctx *c, json_t *a, json_t *b)
{
	size_t na = json_array_size(a), nb = json_array_size(b), head = 0, tail = 0;

	while (head < na && head < nb && json_equal(json_array_get(a, head), json_array_get(b, head)))
		head++;
	while (tail < na - head && tail < nb - head &&
	       json_equal(json_array_get(a, na - 1 - tail), json_array_get(b, nb - 1 - tail)))
		tail++;
	na -= head + tail;
	nb -= head + tail;
	if (na && nb && na <= APPKG_MAX_DIFF_CELLS / nb)
		return diff_lcs(c, a, b, head, na, nb);
	return diff_stretch(c, a, head, na, b, head, nb);
}

int diff_values(struct diff_ctx *c, json_t *a, json_t *b)
{
	if (json_equal(a, b))
		return 0;
	if (json_is_object(a) && json_is_object(b))
		return diff_objects(c, a, b);
	if (json_is_array(a) && json_is_array(b))
		return diff_arrays(c, a, b);
	return change(c, APPKG_CHANGE_CHANGED, a, b);
}

/* Compact JSON text of v, at most max bytes: a longer text is cut at a UTF-8 character
 * boundary and ends in "...". malloc'd, or NULL. */
char *diff_value_text(json_t *v, size_t max)
{
	char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	size_t len, cut;

	if (!s || (len = strlen(s)) <= max)
		return s;
	cut = max - 3;
	while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
		cut--;
	memcpy(s + cut, "...", 4);
	return s;
}
