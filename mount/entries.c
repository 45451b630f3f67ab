/* SPDX-License-Identifier: MIT */
/*
 * The user manifest at a commit. Unlike pack, the mount saw what happened to each file: a
 * resource that was unlinked loses its manifest entry, and one that was renamed takes its entry
 * (mode, id, depends_on and unknown fields) to its new path, and the depends_on of the other
 * entries follow it. The entries are then checked all at once against the files of the tree
 * (mode, id, depends_on, an entry without a file), so that one commit reports every problem
 * instead of the library's first (spec §10.4, §15). The library checks everything again when
 * the package is written.
 *
 * For the writer, the plan may also leave out the entries that say nothing the writer does not
 * derive from the file (path, type, name, size and digest of a resource being committed, mode
 * "create", no depends_on): the writer builds the same entry without them, and checks the same.
 *
 * The manifest is never one Jansson tree: a manifest of 100,000 entries would take some 200 MB
 * and a second and a half. Its top level is parsed with the resources array cut out, and the
 * array is walked entry by entry: an entry that holds only derived fields, in plain strings
 * and digits, is read straight from its bytes (the common one: a manifest as a package stores
 * it); any other entry is parsed on its own by Jansson. Between them every byte of the
 * manifest goes through a parser, so a manifest that is not JSON is still left to the writer,
 * which says why. The new manifest is the user's text with the resources array written again:
 * the entries kept as they were, byte for byte, and those a rename changed dumped again.
 */
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "mount.h"

struct resource {
	const char *path; /* resources/<type>/<name>.json: the member the file comes from, or
			   * in struct plan's names (at, NULL until the names stop moving) */
	size_t len, at;
	const struct node *node;
};

/* A span of the user's text, or a string Jansson holds. */
struct span {
	const char *p;
	size_t len;
};

/* One element of the user's resources array. */
struct entry {
	struct span text; /* its bytes in the user's manifest */
	struct span path; /* its "path", when it is an object with a string path; else p NULL */
	json_t *json;     /* parsed, when it is not a plain entry */
	int plain;        /* holds only fields the writer derives, read from its bytes */
};

/* A path the user's entries list: the map pack makes of them (the last entry wins). */
struct listed {
	struct span path;
	size_t first, last; /* the entries listing it */
	const char *moved;  /* renamed in the mount to this path */
	int used;
};

/* An entry of the new resources array. */
struct out {
	struct entry *e;
	json_t *json; /* changed by the plan (renamed, depends_on followed): dumped again */
	int file;     /* taken by a resource file of the tree (not a leftover) */
};

struct plan {
	struct resource *v; /* the resource files of the tree, sorted by path */
	size_t n, cap;
	char *names;        /* their paths, one after the other */
	size_t names_len, names_cap;
	struct entry *e;    /* the user's entries, in order */
	size_t ne, ecap;
	struct listed *map; /* by path */
	size_t nmap;
	struct out *o;
	size_t no;
	manifest_problem_fn report;
	void *ctx;
	int changed;
	int slim; /* leave out the entries the writer derives */
};

static void *grow(void *v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 64;
	void *p;

	while (c < need)
		c *= 2;
	if (c == *cap)
		return v;
	if (!(p = realloc(v, c * size)))
		return NULL;
	*cap = c;
	return p;
}

/* The file n at path (len bytes). A file that is still the member of its path (nearly every
 * one) names it with the reader's string, which lives as long as the commit: no copy. */
static int push(struct plan *p, const char *path, size_t len, const struct node *n)
{
	struct resource *r;
	void *v;

	if (!(v = grow(p->v, &p->cap, p->n + 1, sizeof(*p->v))))
		return -1;
	p->v = v;
	r = &p->v[p->n++];
	*r = (struct resource){.len = len, .node = n};
	if (n->member && !strcmp(n->member, path)) {
		r->path = n->member;
		return 0;
	}
	if (!(v = grow(p->names, &p->names_cap, p->names_len + len + 1, 1)))
		return -1;
	p->names = v;
	memcpy(p->names + p->names_len, path, len + 1);
	r->at = p->names_len;
	p->names_len += len + 1;
	return 0;
}

/* Every file of the tree that the commit writes as a resource; path has room for PATH_MAX. */
static int collect(struct plan *p, const struct node *dir, char *path, size_t len)
{
	for (size_t i = 0; i < dir->nkids; i++) {
		const struct node *n = dir->kids[i];
		size_t l = strlen(n->name);
		if (len + l + 2 > PATH_MAX)
			continue;
		memcpy(path + len, n->name, l + 1);
		if (S_ISDIR(n->mode)) {
			memcpy(path + len + l, "/", 2);
			if (collect(p, n, path, len + l + 1))
				return -1;
		} else if (appkg_path_classify(path, 0) == APPKG_PATH_RESOURCE &&
			   push(p, path, len + l, n)) {
			return -1;
		}
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct resource *)a)->path, ((const struct resource *)b)->path);
}

/* Sorted already? The tree's walk and a manifest as packages store it mostly are: a check
 * costs a tenth of the sort. */
static int in_order(const void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	for (size_t i = 1; i < n; i++)
		if (cmp((const char *)v + (i - 1) * size, (const char *)v + i * size) >= 0)
			return 0;
	return 1;
}

static int collect_tree(struct plan *p)
{
	char path[PATH_MAX] = "";
	size_t members = appkg_reader_member_count(fs.reader);

	/* room for the package's members at once, rather than growing by copies */
	if (members && !(p->v = grow(NULL, &p->cap, members, sizeof(*p->v))))
		return -1;
	if (collect(p, fs.root, path, 0))
		return -1;
	for (size_t i = 0; i < p->n; i++)
		if (!p->v[i].path)
			p->v[i].path = p->names + p->v[i].at;
	if (!in_order(p->v, p->n, sizeof(*p->v), by_path))
		qsort(p->v, p->n, sizeof(*p->v), by_path);
	return 0;
}

static int spans_cmp(struct span a, struct span b)
{
	int c = memcmp(a.p, b.p, a.len < b.len ? a.len : b.len);

	return c ? c : (a.len > b.len) - (a.len < b.len);
}

static const struct resource *find_span(const struct plan *p, struct span path)
{
	size_t lo = 0, hi = p->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = spans_cmp(path, (struct span){p->v[mid].path, p->v[mid].len});
		if (c == 0)
			return &p->v[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct resource *find(const struct plan *p, const char *path)
{
	return find_span(p, (struct span){path, strlen(path)});
}

__attribute__((format(printf, 4, 5))) static void say(struct plan *p, int len, const char *path,
						      const char *fmt, ...)
{
	char what[512], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "manifest.json: %.*s: %s", len, path, what);
	p->report(p->ctx, line);
}

/* ---- reading the user's text ---- */

static size_t skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r'))
		i++;
	return i;
}

/* Past the string at s[i] (a quote), escapes and all; 0 when it does not end. */
static size_t skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n && s[i] != '"'; i++)
		if (s[i] == '\\')
			i++;
	return i < n ? i + 1 : 0;
}

/* Past the value at s[i], as far as brackets and strings tell (what is between is left to
 * the parser that reads the span); 0 when it does not end. */
static size_t skip_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	do {
		if (i >= n)
			return 0;
		if (s[i] == '"') {
			if (!(i = skip_string(s, n, i)))
				return 0;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++, i++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (depth == 0)
				return 0;
			depth--, i++;
		} else if (depth == 0) { /* a number, true, false or null */
			while (i < n && s[i] && !strchr(",]} \t\r\n", s[i]))
				i++;
			return i;
		} else {
			i++;
		}
	} while (depth > 0);
	return i;
}

#ifdef __SSE2__
/* The bytes of the sixteen at p that end plain string content: '"', '\\', a control character
 * or DEL, and every byte >= 0x80 (negative in a signed compare with 0x20). Bit k stands for
 * byte k. SSE2 is part of x86-64: no runtime check. */
static unsigned string_stops16(const char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f))),
				 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The string at s[*i] without escapes, in printable ASCII: its bytes (between the quotes),
 * *i past it; p NULL when it is not one. The first byte that is not printable ASCII other
 * than a backslash must be the closing quote. The manifest of 100,000 resources has over a
 * million such strings, most of them keys: sixteen bytes are looked at a time, and inline. */
static inline __attribute__((always_inline)) struct span plain_string(const char *s, size_t n,
								      size_t *i)
{
	size_t start = *i + 1, j = start;
	unsigned char c;

	if (*i >= n || s[*i] != '"')
		return (struct span){0};
#ifdef __SSE2__
	for (unsigned m; j + 16 <= n; j += 16)
		if ((m = string_stops16(s + j))) {
			j += (size_t)__builtin_ctz(m);
			goto stop;
		}
#endif
	while (j < n && (c = (unsigned char)s[j]) >= 0x20 && c < 0x7f && c != '"' && c != '\\')
		j++;
stop:
	if (j >= n || s[j] != '"')
		return (struct span){0};
	*i = j + 1;
	return (struct span){s + start, j - start};
}

/* Which of the keys of a plain entry key is (path, type, name, digest, size, mode,
 * depends_on: 0 to 6), 7 for any other: by its length, then compares of a fixed size, which
 * the compiler makes inline. */
static size_t plain_key(struct span key)
{
	const char *k = key.p;

	switch (key.len) {
	case 4:
		return !memcmp(k, "path", 4) ? 0 : !memcmp(k, "type", 4) ? 1
		       : !memcmp(k, "name", 4) ? 2 : !memcmp(k, "size", 4) ? 4
		       : !memcmp(k, "mode", 4) ? 5 : 7;
	case 6:
		return !memcmp(k, "digest", 6) ? 3 : 7;
	case 10:
		return !memcmp(k, "depends_on", 10) ? 6 : 7;
	default:
		return 7;
	}
}

/* One member of a plain entry, its key read: 0 when the entry is not plain. */
static int plain_member(const char *s, size_t n, size_t *i, struct span key, struct entry *e,
			unsigned *seen)
{
	size_t k = plain_key(key), start = *i;
	struct span v;

	if (k == 7 || (*seen & (1u << k)))
		return 0; /* not derived, or given twice (Jansson says which) */
	*seen |= 1u << k;
	if (k == 4) { /* size: digits Jansson holds as an integer, without a leading zero */
		while (*i < n && s[*i] >= '0' && s[*i] <= '9')
			(*i)++;
		return *i > start && *i - start <= 18 && (s[start] != '0' || *i - start == 1);
	}
	if (k == 6) { /* depends_on: [] */
		if (*i >= n || s[*i] != '[')
			return 0;
		*i = skip_ws(s, n, *i + 1);
		return *i < n && s[(*i)++] == ']';
	}
	v = plain_string(s, n, i);
	if (k == 0)
		e->path = v;
	return v.p && (k != 5 || (v.len == 6 && !memcmp(v.p, "create", 6)));
}

/* The entry at s[*i] read as a plain one, *i past it; 0 when it is not one. */
static int plain_entry(const char *s, size_t n, size_t *i, struct entry *e)
{
	unsigned seen = 0;
	struct span key;

	*i = skip_ws(s, n, *i);
	if (*i >= n || s[(*i)++] != '{')
		return 0;
	for (;;) {
		*i = skip_ws(s, n, *i);
		key = plain_string(s, n, i);
		*i = skip_ws(s, n, *i);
		if (!key.p || *i >= n || s[(*i)++] != ':')
			return 0;
		*i = skip_ws(s, n, *i);
		if (!plain_member(s, n, i, key, e, &seen))
			return 0;
		*i = skip_ws(s, n, *i);
		if (*i < n && s[*i] == ',') {
			(*i)++;
			continue;
		}
		if (*i < n && s[(*i)++] == '}')
			break;
		return 0;
	}
	e->plain = 1;
	return e->path.p != NULL;
}

/* The entry at s[i..], plain or parsed alone; the index past it, 0 when it is not JSON. */
static size_t read_entry(const char *s, size_t n, size_t i, struct entry *e)
{
	size_t end = i;
	const char *path;

	*e = (struct entry){0};
	if (plain_entry(s, n, &end, e)) {
		e->text = (struct span){s + i, end - i};
		return end;
	}
	*e = (struct entry){0};
	if (!(end = skip_value(s, n, i)))
		return 0;
	e->text = (struct span){s + i, end - i};
	if (!(e->json = json_loadb(s + i, end - i, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL)))
		return 0;
	path = json_string_value(json_object_get(e->json, "path"));
	if (path && json_is_object(e->json))
		e->path = (struct span){path, json_string_length(json_object_get(e->json, "path"))};
	return end;
}

/* The elements of the resources array at s[i] (a '['); the index past it, 0 when it is not
 * JSON. */
static size_t read_entries(struct plan *p, const char *s, size_t n, size_t i)
{
	size_t members = appkg_reader_member_count(fs.reader);
	void *v;

	i = skip_ws(s, n, i + 1);
	if (i < n && s[i] == ']')
		return i + 1;
	/* room for an entry per member of the package at once, rather than growing by copies */
	if (members && !(p->e = grow(NULL, &p->ecap, members, sizeof(*p->e))))
		return 0;
	for (;;) {
		if (!(v = grow(p->e, &p->ecap, p->ne + 1, sizeof(*p->e))))
			return 0;
		p->e = v;
		i = read_entry(s, n, i, &p->e[p->ne]);
		if (p->e[p->ne].json || p->e[p->ne].plain)
			p->ne++;
		if (!i)
			return 0;
		i = skip_ws(s, n, i);
		if (i < n && s[i] == ',') {
			i = skip_ws(s, n, i + 1);
			continue;
		}
		return i < n && s[i] == ']' ? i + 1 : 0;
	}
}

/* The key at s[i..j) is "resources"? A key with an escape is decoded by Jansson. */
static int resources_key(const char *s, size_t i, size_t j)
{
	json_t *k;
	int yes;

	if (!memchr(s + i, '\\', j - i))
		return j - i == 11 && !memcmp(s + i, "\"resources\"", 11);
	k = json_loadb(s + i, j - i, JSON_DECODE_ANY, NULL);
	yes = json_is_string(k) && !strcmp(json_string_value(k), "resources") &&
	      json_string_length(k) == 9;
	json_decref(k);
	return yes;
}

/* Where the value of the top-level "resources" starts; 0 when there is none (or the text
 * ends before it: the parse of the rest says why). */
static size_t resources_at(const char *s, size_t n)
{
	size_t i = skip_ws(s, n, 0), j;
	int found;

	if (i >= n || s[i++] != '{')
		return 0;
	for (;;) {
		i = skip_ws(s, n, i);
		if (i >= n || s[i] != '"' || !(j = skip_string(s, n, i)))
			return 0;
		found = resources_key(s, i, j);
		i = skip_ws(s, n, j);
		if (i >= n || s[i++] != ':')
			return 0;
		i = skip_ws(s, n, i);
		if (found)
			return i;
		if (!(j = skip_value(s, n, i)))
			return 0;
		i = skip_ws(s, n, j);
		if (i >= n || s[i++] != ',')
			return 0;
	}
}

/* The top level with the resources array read apart: its entries into p, the rest parsed by
 * Jansson with an empty array in its place, which was [*start, *end). NULL when the manifest
 * is not a JSON object. */
static json_t *read_manifest(struct plan *p, const char *s, size_t n, size_t *start, size_t *end)
{
	char *top;
	json_t *root;

	*start = *end = 0;
	if (!(*start = resources_at(s, n)) || *start >= n || s[*start] != '[') {
		*start = 0; /* no array to walk */
		return json_loadb(s, n, JSON_REJECT_DUPLICATES, NULL);
	}
	if (!(*end = read_entries(p, s, n, *start)) || !(top = malloc(n - (*end - *start) + 2)))
		return NULL;
	memcpy(top, s, *start);
	memcpy(top + *start, "[]", 2);
	memcpy(top + *start + 2, s + *end, n - *end);
	root = json_loadb(top, n - (*end - *start) + 2, JSON_REJECT_DUPLICATES, NULL);
	free(top);
	return root;
}

/* ---- the plan ---- */

static int by_listed(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int c = spans_cmp(x->path, y->path);

	return c ? c : (x->first > y->first) - (x->first < y->first);
}

/* The user's entries that are objects with a string "path", into the map in their order. */
static size_t fill_map(struct plan *p)
{
	size_t k = 0;

	for (size_t i = 0; i < p->ne; i++)
		if (p->e[i].path.p)
			p->map[k++] = (struct listed){.path = p->e[i].path, .first = i, .last = i};
	return k;
}

/* The k paths of the map made one each, the last entry listing a path winning; -1, the map
 * left half done, when they are not in order. One compare of each with the one before both
 * checks the order and finds the paths listed twice. */
static int merge_map(struct plan *p, size_t k)
{
	p->nmap = 0;
	for (size_t i = 0; i < k; i++) {
		int c = p->nmap ? spans_cmp(p->map[p->nmap - 1].path, p->map[i].path) : -1;
		if (c > 0)
			return -1;
		if (c == 0)
			p->map[p->nmap - 1].last = p->map[i].first;
		else
			p->map[p->nmap++] = p->map[i];
	}
	return 0;
}

/* path -> the user's entry, as pack matches them (objects with a string "path" only; the
 * last of the entries listing a path wins). A manifest as packages store it is in order
 * already; any other is sorted. */
static int user_map(struct plan *p)
{
	size_t k;

	if (!(p->map = malloc((p->ne ? p->ne : 1) * sizeof(*p->map))))
		return -1;
	if (merge_map(p, fill_map(p))) {
		k = fill_map(p);
		qsort(p->map, k, sizeof(*p->map), by_listed);
		merge_map(p, k);
	}
	return 0;
}

static struct listed *listed(const struct plan *p, struct span path)
{
	size_t lo = 0, hi = p->nmap;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = spans_cmp(path, p->map[mid].path);
		if (c == 0)
			return &p->map[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* listed, trying the entry after the one found last (*hint) first: the tree's files and a
 * manifest as packages store it come in the map's order, so this is one compare instead of a
 * binary search (100,000 entries, two passes: some 20 ms), and none when path is the very
 * span the map holds (the user's entries looked up again). */
static struct listed *listed_next(const struct plan *p, struct span path, size_t *hint)
{
	struct listed *l;

	if (*hint < p->nmap && p->map[*hint].path.len == path.len &&
	    (p->map[*hint].path.p == path.p || !memcmp(p->map[*hint].path.p, path.p, path.len)))
		l = &p->map[*hint];
	else if (!(l = listed(p, path)))
		return NULL;
	*hint = (size_t)(l - p->map) + 1;
	return l;
}

/* A copy of an entry to change: its tree, parsed again from its bytes when it was plain. */
static json_t *entry_copy(const struct entry *e)
{
	return e->json ? json_deep_copy(e->json)
		       : json_loadb(e->text.p, e->text.len, JSON_REJECT_DUPLICATES, NULL);
}

/* The entry for each resource file: its own, or the one of the member it was renamed from. */
static int carry(struct plan *p)
{
	size_t hint = 0;

	for (size_t i = 0; i < p->n; i++) {
		const char *path = p->v[i].path, *from = p->v[i].node->member;
		struct listed *l = NULL;
		json_t *copy = NULL;
		if (from && strcmp(from, path) && (l = listed(p, (struct span){from, strlen(from)}))) {
			if (!(copy = entry_copy(&p->e[l->last])) ||
			    json_object_set_new(copy, "path", json_string(path))) {
				json_decref(copy);
				return -1;
			}
			l->moved = path;
			p->changed = 1;
		} else if (!(l = listed_next(p, (struct span){path, p->v[i].len}, &hint))) {
			continue;
		}
		l->used = 1;
		p->o[p->no++] = (struct out){&p->e[l->last], copy, 1};
	}
	return 0;
}

/* User entries not taken by a file: dropped when the package had the member (the file was
 * unlinked, renamed away or replaced), kept and reported when it never existed. */
static void leftovers(struct plan *p)
{
	char path[PATH_MAX];
	struct appkg_member m;
	size_t hint = 0;

	for (size_t i = 0; i < p->ne; i++) {
		struct listed *l = p->e[i].path.p ? listed_next(p, p->e[i].path, &hint) : NULL;
		if (!l || l->first != i || l->used)
			continue;
		if (find_span(p, l->path) ||
		    (l->path.len < sizeof(path) && !memchr(l->path.p, '\0', l->path.len) &&
		     (memcpy(path, l->path.p, l->path.len), path[l->path.len] = '\0',
		      !appkg_reader_find(fs.reader, path, &m)))) {
			p->changed = 1;
			continue;
		}
		say(p, (int)l->path.len, l->path.p, "listed, but there is no such file");
		p->o[p->no++] = (struct out){&p->e[l->last], NULL, 0};
	}
}

/* The path of a resource renamed away, to its new one (NULL when it was not). */
static const char *moved(const struct plan *p, const char *path)
{
	struct listed *l = listed(p, (struct span){path, strlen(path)});

	return l ? l->moved : NULL;
}

/* depends_on "type/name" of a resource renamed away now names its new path. */
static int follow(struct plan *p, json_t *deps)
{
	char path[PATH_MAX];
	size_t i;
	json_t *d;
	int changed = 0;

	json_array_foreach(deps, i, d) {
		const char *to;
		if (!json_is_string(d) ||
		    (size_t)snprintf(path, sizeof(path), "resources/%s.json", json_string_value(d)) >=
			    sizeof(path) ||
		    !(to = moved(p, path)) || find(p, path))
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)(strlen(to) - 15), to + 10);
		json_array_set_new(deps, i, json_string(path));
		changed = p->changed = 1;
	}
	return changed;
}

/* Checks an entry that is not plain (a plain one has nothing to check); 1 when following
 * renames changed it. */
static int check_entry(struct plan *p, json_t *e)
{
	static const char *const modes[] = {"create", "update", "overwrite", "merge", "skip"};
	const char *path = json_string_value(json_object_get(e, "path"));
	json_t *mode = json_object_get(e, "mode"), *id = json_object_get(e, "id");
	json_t *deps = json_object_get(e, "depends_on"), *d;
	char dep[PATH_MAX];
	size_t i, k = 0;
	int changed;

	while (json_is_string(mode) && k < 5 && strcmp(json_string_value(mode), modes[k]))
		k++;
	if (mode && k == 5)
		say(p, INT_MAX, path, "mode must be one of create, update, overwrite, merge, skip");
	if (id && !json_is_string(id))
		say(p, INT_MAX, path, "id must be a string");
	if (deps && !json_is_array(deps))
		say(p, INT_MAX, path, "depends_on must be an array");
	changed = follow(p, deps);
	json_array_foreach(deps, i, d) {
		if (!json_is_string(d))
			say(p, INT_MAX, path, "depends_on holds something that is not a string");
		else if ((size_t)snprintf(dep, sizeof(dep), "resources/%s.json", json_string_value(d)) >=
				 sizeof(dep) ||
			 !find(p, dep))
			say(p, INT_MAX, path, "depends_on \"%s\" names no resource in the package",
			    json_string_value(d));
	}
	return changed;
}

/* Every entry of the new array that is not plain checked, with its depends_on following the
 * renames; one that changes is dumped again. */
static void check_entries(struct plan *p)
{
	for (size_t i = 0; i < p->no; i++) {
		struct out *o = &p->o[i];
		if (o->json)
			check_entry(p, o->json); /* renamed: dumped again anyway */
		else if (o->e->json && check_entry(p, o->e->json))
			o->json = json_incref(o->e->json);
	}
}

static void check_top(struct plan *p, json_t *root)
{
	const char *name = json_string_value(json_object_get(root, "name"));
	static const char *const strings[] = {"description", "version", "created_by", "package_id"};

	if (!name || !*name)
		say(p, INT_MAX, "name", "must be a non-empty string");
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(root, strings[i]);
		if (v && !json_is_string(v))
			say(p, INT_MAX, strings[i], "must be a string");
	}
}

/* An entry that holds only what the writer derives from a resource being committed. */
static int derived_only(const struct plan *p, json_t *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(e, key, v) {
		if (!strcmp(key, "path")) {
			if (!json_is_string(v) || !find(p, json_string_value(v)))
				return 0;
		} else if (!strcmp(key, "type") || !strcmp(key, "name") || !strcmp(key, "digest")) {
			if (!json_is_string(v))
				return 0;
		} else if (!strcmp(key, "size")) {
			if (!json_is_integer(v))
				return 0;
		} else if (!strcmp(key, "mode")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "create"))
				return 0;
		} else if (strcmp(key, "depends_on") || !json_is_array(v) || json_array_size(v)) {
			return 0;
		}
	}
	return json_is_object(e) && json_object_get(e, "path");
}

static int derived(const struct plan *p, const struct out *o)
{
	if (o->json)
		return derived_only(p, o->json);
	return o->e->plain ? o->file : derived_only(p, o->e->json);
}

/* Leave out the entries the writer derives, when every user entry was an object with its own
 * path (else the writer's messages would count them otherwise, or miss a duplicate). */
static void slim(struct plan *p)
{
	size_t kept = 0;

	if (!p->slim || p->nmap != p->ne)
		return;
	for (size_t i = 0; i < p->no; i++) {
		if (derived(p, &p->o[i])) {
			json_decref(p->o[i].json);
			p->changed = 1;
		} else {
			p->o[kept++] = p->o[i];
		}
	}
	p->no = kept;
}

/* The user's text with the new resources array in place of [start, end). */
static int write_manifest(const struct plan *p, const char *s, size_t n, size_t start,
			  size_t end, char **out, size_t *out_len)
{
	FILE *f = open_memstream(out, out_len);
	int rc = 0;

	if (!f)
		return APPKG_ERR_NO_MEMORY;
	fwrite(s, 1, start, f);
	fputc('[', f);
	for (size_t i = 0; i < p->no && rc == 0; i++) {
		const struct out *o = &p->o[i];
		if (i)
			fputc(',', f);
		if (o->json)
			rc = json_dumpf(o->json, f, JSON_COMPACT | JSON_REAL_PRECISION(17));
		else
			fwrite(o->e->text.p, 1, o->e->text.len, f);
	}
	fputc(']', f);
	fwrite(s + end, 1, n - end, f);
	rc = ferror(f) || rc;
	if (fclose(f) || rc) {
		free(*out);
		*out = NULL;
		*out_len = 0;
		return APPKG_ERR_NO_MEMORY;
	}
	return 0;
}

static void plan_free(struct plan *p, json_t *root)
{
	for (size_t i = 0; i < p->no; i++)
		json_decref(p->o[i].json);
	for (size_t i = 0; i < p->ne; i++)
		json_decref(p->e[i].json);
	free(p->o);
	free(p->map);
	free(p->e);
	free(p->v);
	free(p->names);
	json_decref(root);
}

int manifest_plan(const char *json, size_t len, int slim_out, char **out, size_t *out_len,
		  manifest_problem_fn report, void *ctx)
{
	struct plan p = {.report = report, .ctx = ctx, .slim = slim_out};
	size_t start, end;
	json_t *root = read_manifest(&p, json, len, &start, &end);
	int rc = APPKG_ERR_NO_MEMORY;

	*out = NULL;
	*out_len = 0;
	if (!root || !json_is_object(root)) { /* the library says why */
		plan_free(&p, root);
		return 0;
	}
	if (collect_tree(&p) || user_map(&p) ||
	    !(p.o = malloc((p.n + p.nmap + 1) * sizeof(*p.o))))
		goto out;
	check_top(&p, root);
	if (carry(&p))
		goto out;
	leftovers(&p);
	check_entries(&p);
	if (end > start)
		slim(&p);
	rc = p.changed ? write_manifest(&p, json, len, start, end, out, out_len) : 0;
out:
	plan_free(&p, root);
	return rc;
}
