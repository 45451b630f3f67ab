/* SPDX-License-Identifier: MIT */
/*
 * manifest.json (spec section "Manifest"): validation of a stored manifest, and the build of a
 * new one from the manifest a user wrote plus the members being packed. Unknown fields, at the
 * top and in resource entries, are kept as they are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const modes[] = {"create", "update", "overwrite", "merge", "skip"};

static int schema(struct appkg_err *e, const char *what, const char *problem)
{
	return appkg_fail(e, APPKG_ERR_MANIFEST_SCHEMA, "manifest.json: %s: %s", what, problem);
}

static int optional_string(json_t *obj, const char *key, struct appkg_err *e)
{
	json_t *v = json_object_get(obj, key);

	return v && !json_is_string(v) ? schema(e, key, "must be a string") : 0;
}

/* A decimal without sign or leading zeros, up to 6 digits; advances *s. -1 if none. */
static long version_part(const char **s)
{
	long v = 0;
	const char *p = *s;

	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return -1;
	while (*p >= '0' && *p <= '9' && p - *s < 6)
		v = v * 10 + (*p++ - '0');
	*s = p;
	return v;
}

static int check_version_major(json_t *root, int *out, struct appkg_err *e)
{
	const char *v = json_string_value(json_object_get(root, "format_version")), *p = v;
	long major = p ? version_part(&p) : -1, minor = -1;

	if (major > 0 && *p == '.') {
		p++;
		minor = version_part(&p);
	}
	if (minor < 0 || *p != '\0')
		return schema(e, "format_version", "must be a string \"MAJOR.MINOR\"");
	if (major > APPKG_FORMAT_MAJOR)
		return appkg_fail(e, APPKG_ERR_NEWER_MAJOR,
				  "manifest.json: written by a newer appkg (format %s); this appkg "
				  "reads format %d.x", v, APPKG_FORMAT_MAJOR);
	*out = (int)major;
	return 0;
}

static int check_version(json_t *root, struct appkg_err *e)
{
	int major;

	return check_version_major(root, &major, e);
}

/* What the checks of a resource entry look at: filled from a Jansson object (view_of_json)
 * or straight from the entry's bytes (view_of_bytes), checked by the same code. */
struct entry_view {
	const char *path, *type, *name, *mode, *match, *digest; /* NULL: absent or not a string */
	int id_bad;      /* id given, not a string */
	int match_given;
	int size_ok;     /* size is a non-negative integer */
	uint64_t size;
	int deps_array;  /* depends_on is an array */
	size_t ndeps;    /* its length; entries (NULL: not a string) kept up to APPKG_MAX_DEPENDS */
	const char **deps;
};

static int check_mode(const struct entry_view *v, const char *where, struct appkg_err *e)
{
	for (size_t i = 0; v->mode && i < sizeof(modes) / sizeof(modes[0]); i++)
		if (!strcmp(v->mode, modes[i]))
			return 0;
	return appkg_fail(e, APPKG_ERR_IMPORT_MODE, "manifest.json: %s: mode must be one of create, "
			  "update, overwrite, merge, skip", where);
}

/* "match" (spec §21.1): how a plan finds the target's resource, "name" (the default) or "id". */
static int check_match(const struct entry_view *v, const char *where, struct appkg_err *e)
{
	if (!v->match_given || (v->match && (!strcmp(v->match, "name") || !strcmp(v->match, "id"))))
		return 0;
	return schema(e, where, "match must be \"name\" or \"id\"");
}

static int get_digest(json_t *obj, unsigned char *out, const char *where, struct appkg_err *e)
{
	const char *hex = json_string_value(json_object_get(obj, "digest"));

	if (!hex || hex_decode(out, APPKG_DIGEST_BYTES, hex))
		return schema(e, where, "digest must be 64 lowercase hex digits");
	return 0;
}

static int get_size(json_t *obj, uint64_t *out, const char *where, struct appkg_err *e)
{
	json_t *v = json_object_get(obj, "size");

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return schema(e, where, "size must be a non-negative integer");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* indexed: the path is that of a resource in the package's index, which member_path_check
 * passed when the index was read */
static int check_entry_indexed(const struct entry_view *v, struct manifest_resource *r,
			       const char *where, int indexed, struct appkg_err *e)
{
	r->path = v->path;
	if (!r->path)
		return schema(e, where, "path must be a string");
	if (!indexed && member_path_check(r->path, strlen(r->path), e) != MEMBER_RESOURCE)
		return e->code ? e->code : schema(e, where, "path is not a resource path");
	if (!v->type || !v->name || !resource_path_is(r->path, v->type, v->name))
		return schema(e, r->path, "type and name do not match the path");
	if (v->id_bad)
		return schema(e, "id", "must be a string");
	if (check_mode(v, r->path, e) || check_match(v, r->path, e))
		return e->code;
	if (!v->size_ok)
		return schema(e, r->path, "size must be a non-negative integer");
	r->size = v->size;
	if (!v->digest || hex_decode(r->digest, APPKG_DIGEST_BYTES, v->digest))
		return schema(e, r->path, "digest must be 64 lowercase hex digits");
	if (!v->deps_array)
		return schema(e, r->path, "depends_on must be an array");
	return 0;
}

static int check_entry(const struct entry_view *v, struct manifest_resource *r, const char *where,
		       struct appkg_err *e)
{
	return check_entry_indexed(v, r, where, 0, e);
}

static void view_of_json(json_t *entry, struct entry_view *v, const char **deps)
{
	json_t *id = json_object_get(entry, "id"), *size = json_object_get(entry, "size");
	json_t *arr = json_object_get(entry, "depends_on");

	*v = (struct entry_view){
		.path = json_string_value(json_object_get(entry, "path")),
		.type = json_string_value(json_object_get(entry, "type")),
		.name = json_string_value(json_object_get(entry, "name")),
		.mode = json_string_value(json_object_get(entry, "mode")),
		.match = json_string_value(json_object_get(entry, "match")),
		.digest = json_string_value(json_object_get(entry, "digest")),
		.id_bad = id && !json_is_string(id),
		.match_given = json_object_get(entry, "match") != NULL,
		.size_ok = json_is_integer(size) && json_integer_value(size) >= 0,
		.size = json_is_integer(size) ? (uint64_t)json_integer_value(size) : 0,
		.deps_array = json_is_array(arr),
		.ndeps = json_array_size(arr),
		.deps = deps,
	};
	for (size_t j = 0; j < v->ndeps && j < APPKG_MAX_DEPENDS; j++)
		deps[j] = json_string_value(json_array_get(arr, j));
}

/* ---- a resource entry read from its bytes, without Jansson ----
 * The manifest passed json_validate (grammar, UTF-8, depth, no duplicate key), so an entry is
 * well-formed. The common entry is read here: keys without escapes, the known members'
 * strings without escapes, size as up to 18 digits, depends_on as an array of such strings,
 * every other number short (Jansson refuses an integer or a real it cannot hold). Anything
 * else returns 0 and the entry goes through Jansson, whose reading this one matches. */

static void skip_ws_at(const char *q, size_t n, size_t *i)
{
	while (*i < n && (q[*i] == ' ' || q[*i] == '\n' || q[*i] == '\t' || q[*i] == '\r'))
		(*i)++;
}

/* The string at q[*i] (a quote): NUL-terminated in place and returned, *i past it; NULL, when
 * it holds an escape, with *escaped set and *i past it all the same. */
static char *plain_string(char *q, size_t n, size_t *i, int *escaped)
{
	size_t start = ++(*i);

	for (; *i < n && q[*i] != '"'; (*i)++)
		if (q[*i] == '\\') {
			*escaped = 1;
			(*i)++;
		}
	if (*escaped || *i >= n)
		return (*i)++, NULL;
	q[(*i)++] = '\0';
	return q + start;
}

/* A number token at q[*i]; 0 when it is longer than 15 bytes or has an exponent. */
static int short_number(const char *q, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && strchr("+-.0123456789eE", q[*i]) && q[*i])
		if (q[(*i)++] == 'e' || q[*i - 1] == 'E')
			return 0;
	return *i - start <= 15;
}

/* Step over any value; 0 when it holds a number that is not short, or when the bytes are not a
 * value (manifest_read runs before the validation is known). */
static int skip_value(char *q, size_t n, size_t *i)
{
	int depth = 0, escaped = 0;

	do {
		skip_ws_at(q, n, i);
		if (*i >= n)
			return 0;
		if (q[*i] == '"') {
			escaped = 0;
			plain_string(q, n, i, &escaped); /* an escape inside is fine here */
		} else if (q[*i] == '{' || q[*i] == '[') {
			depth++, (*i)++;
		} else if (q[*i] == '}' || q[*i] == ']') {
			if (--depth < 0) /* not a value: bytes not validated yet */
				return 0;
			(*i)++;
		} else if (q[*i] == ',' || q[*i] == ':') {
			(*i)++;
		} else if (q[*i] == '-' || (q[*i] >= '0' && q[*i] <= '9')) {
			if (!short_number(q, n, i))
				return 0;
		} else {
			size_t from = *i;
			while (*i < n && q[*i] >= 'a' && q[*i] <= 'z')
				(*i)++; /* true, false, null */
			if (*i == from) /* no token: stepping on would never end */
				return 0;
		}
	} while (depth > 0);
	return 1;
}

/* depends_on: an array of strings without escapes, into v. */
static int plain_deps(char *q, size_t n, size_t *i, struct entry_view *v)
{
	int escaped = 0;

	v->deps_array = 1;
	(*i)++;
	for (skip_ws_at(q, n, i); *i < n && q[*i] != ']'; skip_ws_at(q, n, i)) {
		char *d = q[*i] == '"' ? plain_string(q, n, i, &escaped) : NULL;
		if (!d)
			return 0;
		if (v->ndeps < APPKG_MAX_DEPENDS)
			v->deps[v->ndeps] = d;
		v->ndeps++;
		skip_ws_at(q, n, i);
		if (*i < n && q[*i] == ',')
			(*i)++;
	}
	(*i)++;
	return 1;
}

/* size: up to 18 digits (an integer Jansson holds); 0 for any other number. */
static int plain_size(const char *q, size_t n, size_t *i, struct entry_view *v)
{
	size_t start = *i;
	uint64_t x = 0;

	while (*i < n && q[*i] >= '0' && q[*i] <= '9')
		x = x * 10 + (uint64_t)(q[(*i)++] - '0');
	if (*i == start || *i - start > 18 || (*i < n && strchr(".eE", q[*i]) && q[*i]))
		return 0;
	v->size_ok = 1;
	v->size = x;
	return 1;
}

enum entry_key { KEY_OTHER, KEY_PATH, KEY_TYPE, KEY_NAME, KEY_MODE, KEY_MATCH, KEY_DIGEST,
		 KEY_ID, KEY_SIZE, KEY_DEPENDS_ON };

/* Which member key (len bytes) is: by its length, then one comparison (every key of every
 * entry). A key holding a NUL ("\u0000") comes through Jansson, never here. */
static enum entry_key key_of(const char *key, size_t len)
{
	switch (len) {
	case 2: return !memcmp(key, "id", 2) ? KEY_ID : KEY_OTHER;
	case 4:
		return !memcmp(key, "path", 4) ? KEY_PATH : !memcmp(key, "type", 4) ? KEY_TYPE
		       : !memcmp(key, "name", 4) ? KEY_NAME : !memcmp(key, "mode", 4) ? KEY_MODE
		       : !memcmp(key, "size", 4) ? KEY_SIZE : KEY_OTHER;
	case 5: return !memcmp(key, "match", 5) ? KEY_MATCH : KEY_OTHER;
	case 6: return !memcmp(key, "digest", 6) ? KEY_DIGEST : KEY_OTHER;
	case 10: return !memcmp(key, "depends_on", 10) ? KEY_DEPENDS_ON : KEY_OTHER;
	default: return KEY_OTHER;
	}
}

/* One member's value, its key known: into v, or stepped over. */
static int plain_member(char *q, size_t n, size_t *i, const char *key, size_t klen,
			struct entry_view *v)
{
	const char **field;
	int escaped = 0;

	switch (key_of(key, klen)) {
	case KEY_DEPENDS_ON:
		return q[*i] == '[' ? plain_deps(q, n, i, v) : skip_value(q, n, i);
	case KEY_SIZE:
		return q[*i] >= '0' && q[*i] <= '9' ? plain_size(q, n, i, v)
		       : q[*i] != '-' && skip_value(q, n, i);
	case KEY_ID:
		v->id_bad = q[*i] != '"';
		return skip_value(q, n, i);
	case KEY_PATH: field = &v->path; break;
	case KEY_TYPE: field = &v->type; break;
	case KEY_NAME: field = &v->name; break;
	case KEY_MODE: field = &v->mode; break;
	case KEY_MATCH:
		v->match_given = 1;
		field = &v->match;
		break;
	case KEY_DIGEST: field = &v->digest; break;
	default: return skip_value(q, n, i);
	}
	return q[*i] == '"' ? (*field = plain_string(q, n, i, &escaped)) != NULL
			    : skip_value(q, n, i);
}

/* The entry at the start of q (a copy of its bytes, n long or more, changed in place) into v:
 * the length of the entry (through its closing brace), or 0: go through Jansson. */
static size_t view_end(char *q, size_t n, struct entry_view *v, const char **deps)
{
	size_t i = 0;
	int escaped = 0;

	*v = (struct entry_view){.deps = deps};
	skip_ws_at(q, n, &i);
	if (i >= n || q[i++] != '{')
		return 0;
	for (skip_ws_at(q, n, &i); i < n && q[i] != '}'; skip_ws_at(q, n, &i)) {
		char *key = q[i] == '"' ? plain_string(q, n, &i, &escaped) : NULL;
		size_t klen = key ? (size_t)(q + i - 1 - key) : 0; /* i is past its NUL */
		skip_ws_at(q, n, &i);
		if (!key || i >= n || q[i++] != ':')
			return 0;
		skip_ws_at(q, n, &i);
		if (i >= n || !plain_member(q, n, &i, key, klen, v))
			return 0;
		skip_ws_at(q, n, &i);
		if (i < n && q[i] == ',')
			i++;
	}
	return i < n ? i + 1 : 0;
}

/* The entry in q (a copy of its bytes, n long, changed in place) into v; 0: go through Jansson. */
static int view_of_bytes(char *q, size_t n, struct entry_view *v, const char **deps)
{
	return view_end(q, n, v, deps) != 0;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_resource *)a)->path,
		      ((const struct manifest_resource *)b)->path);
}

/* "type/encoded-name" names a resource of the package? */
static int dependency_resolves(const struct manifest *m, const char *dep)
{
	struct manifest_resource key;
	char path[APPKG_MAX_PATH_BYTES + 32];

	if (strlen(dep) > APPKG_MAX_PATH_BYTES)
		return 0;
	snprintf(path, sizeof(path), "resources/%s.json", dep);
	key.path = path;
	return bsearch(&key, m->res, m->nres, sizeof(key), path_cmp) != NULL;
}

static int check_dependencies(struct manifest *m, struct appkg_err *e)
{
	for (size_t i = 0; i < m->nres; i++) {
		/* the pool may be empty (NULL) when every path is the index's */
		const char *dep = m->ndeps[i] ? (const char *)m->pool.data + m->deps[i] : NULL;
		for (uint32_t j = 0; j < m->ndeps[i]; j++, dep += strlen(dep) + 1)
			if (!dependency_resolves(m, dep))
				return appkg_fail(e, APPKG_ERR_DEPENDENCY, "manifest.json: %s: depends_on "
						  "\"%s\" names no resource in the package", m->res[i].path, dep);
	}
	return 0;
}

/* Loading state: one resource entry at a time, so a large manifest never becomes one tree. */
struct loader {
	struct manifest *m;
	struct appkg_err *e;
	size_t cap;
	size_t *path_off; /* pool offsets (SHARED: path points at an index name); pointers are set
			   * once the pool stops moving */
	struct buf copy;  /* the entry being read, changed in place by view_of_bytes */
	const struct index_entry *ix; /* the package's index, sorted by path, or NULL */
	size_t nix, at;   /* its length; the first entry not before the last path kept */
	const struct index_entry *found; /* the index's entry of the path being read, or NULL */
	size_t found_at;  /* where the walk for it stopped: at, once the entry is kept */
	size_t hint;      /* resources the index holds: the arrays' first size */
	size_t last;      /* the length of the entry before */
	const char *deps[APPKG_MAX_DEPENDS]; /* its depends_on strings */
};

#define SHARED SIZE_MAX

static int grow(struct loader *l)
{
	struct manifest *m = l->m;
	size_t cap = l->cap ? 2 * l->cap : l->hint > 256 ? l->hint : 256;
	void *a, *b, *c, *d;

	if (m->nres >= APPKG_MAX_MEMBERS)
		return appkg_fail(l->e, APPKG_ERR_LIMIT_MEMBERS, "manifest.json: too many resources");
	a = realloc(m->res, cap * sizeof(*m->res));
	if (a)
		m->res = a;
	b = realloc(m->deps, cap * sizeof(*m->deps));
	if (b)
		m->deps = b;
	c = realloc(m->ndeps, cap * sizeof(*m->ndeps));
	if (c)
		m->ndeps = c;
	d = realloc(l->path_off, cap * sizeof(*l->path_off));
	if (d)
		l->path_off = d;
	if (!a || !b || !c || !d)
		return appkg_fail(l->e, APPKG_ERR_NO_MEMORY, "out of memory");
	l->cap = cap;
	return 0;
}

static int pool_add(struct manifest *m, const char *str, struct appkg_err *e)
{
	return buf_append(&m->pool, str, strlen(str) + 1)
		       ? appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory") : 0;
}

/* The path of resource i, kept so far. */
static const char *kept_path(const struct loader *l, size_t i)
{
	return l->path_off[i] == SHARED ? l->m->res[i].path
					: (const char *)l->m->pool.data + l->path_off[i];
}

/* The index's entry of path into l->found (or NULL), before the entry is checked. Paths come
 * in ascending order, so one walk along the index finds them all: a manifest that lists what
 * the package holds keeps no second copy of the paths, and they are not checked again. The
 * walk moves on (l->at) only once the entry is kept: a path out of order, before the last one
 * kept, stops it at once and fails in keep_entry. */
static void index_find(struct loader *l, const char *path)
{
	size_t i = l->at;
	int c = 1;

	while (i < l->nix && (c = strcmp(l->ix[i].path, path)) < 0)
		i++;
	l->found = c == 0 ? &l->ix[i] : NULL;
	l->found_at = i;
}

static int keep_entry(struct loader *l, const struct entry_view *v,
		      const struct manifest_resource *r)
{
	struct manifest *m = l->m;
	size_t i = m->nres;

	if (i > 0 && strcmp(kept_path(l, i - 1), r->path) >= 0)
		return schema(l->e, r->path, "resources must be sorted by path, no duplicates");
	if (v->ndeps > APPKG_MAX_DEPENDS)
		return schema(l->e, r->path, "too many depends_on entries");
	m->res[i] = *r;
	l->at = l->found_at;
	if (l->found) {
		m->res[i].path = l->found->path;
		l->path_off[i] = SHARED;
	} else {
		l->path_off[i] = m->pool.len;
		if (pool_add(m, r->path, l->e))
			return l->e->code;
	}
	m->deps[i] = m->pool.len;
	m->ndeps[i] = (uint32_t)v->ndeps;
	for (size_t j = 0; j < v->ndeps; j++) {
		if (!v->deps[j])
			return schema(l->e, r->path, "depends_on entries must be strings");
		if (pool_add(m, v->deps[j], l->e))
			return l->e->code;
	}
	m->nres++;
	return 0;
}

/* v in decimal into out (24 bytes), without printf: it is done for every entry. */
static void decimal(char *out, uint64_t v)
{
	char digits[24];
	size_t k = 0;

	do
		digits[k++] = (char)('0' + v % 10);
	while ((v /= 10));
	while (k)
		*out++ = digits[--k];
	*out = '\0';
}

/* "resources[i]" into out (48 bytes). */
static void entry_where(char *out, size_t i)
{
	memcpy(out, "resources[", 10);
	decimal(out + 10, i);
	strcat(out + 10, "]");
}

/* Check and keep the entry read into v (from entry, when Jansson read it). */
static int keep_view(struct loader *l, const struct entry_view *v, const char *where)
{
	struct manifest_resource r;

	l->found = NULL;
	l->found_at = l->at;
	if (v->path)
		index_find(l, v->path);
	return check_entry_indexed(v, &r, where, l->found && l->found->kind == MEMBER_RESOURCE,
				   l->e) ||
	       keep_entry(l, v, &r) ? l->e->code : 0;
}

static int load_entry(void *ctx, const unsigned char *el, size_t len)
{
	struct loader *l = ctx;
	struct entry_view v;
	json_t *entry = NULL;
	char where[48];
	int rc;

	if (l->m->nres == l->cap && grow(l))
		return l->e->code;
	entry_where(where, l->m->nres);
	l->copy.len = 0;
	if (buf_append(&l->copy, el, len))
		return appkg_fail(l->e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!view_of_bytes((char *)l->copy.data, len, &v, l->deps)) {
		entry = json_loadb((const char *)el, len, JSON_REJECT_DUPLICATES, NULL);
		if (!entry)
			return schema(l->e, where, "not valid JSON");
		if (!json_is_object(entry)) {
			json_decref(entry);
			return schema(l->e, where, "must be an object");
		}
		view_of_json(entry, &v, l->deps);
	}
	rc = keep_view(l, &v, where);
	json_decref(entry);
	return rc;
}

/* ---- spans in a manifest json_validate accepted ----
 * The document is known to be valid, so strings and brackets are all it takes to find where
 * a value ends: jsoncheck.c's spans check every token again, which for a manifest of 100,000
 * entries cost twice the time of reading them. */

static size_t span_ws(const unsigned char *p, size_t n, size_t i)
{
	while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r'))
		i++;
	return i;
}

/* Past the string whose opening quote is at p[i]. */
static size_t span_string(const unsigned char *p, size_t n, size_t i)
{
	const unsigned char *q;

	for (i++; i < n && (q = memchr(p + i, '"', n - i)); i = (size_t)(q - p) + 1) {
		size_t k = (size_t)(q - p), slashes = 0;
		while (k - slashes > i && p[k - slashes - 1] == '\\')
			slashes++;
		if (slashes % 2 == 0)
			return (size_t)(q - p) + 1;
	}
	return n;
}

/* Past the value that starts at p[i]. */
static size_t span_value(const unsigned char *p, size_t n, size_t i)
{
	size_t depth = 0;

	do {
		if (i >= n)
			return n;
		if (p[i] == '"') {
			i = span_string(p, n, i);
		} else if (p[i] == '{' || p[i] == '[') {
			depth++, i++;
		} else if (p[i] == '}' || p[i] == ']') {
			depth--, i++;
		} else if (depth == 0) { /* a number, true, false or null */
			while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' &&
			       p[i] != '\n' && p[i] != '\t' && p[i] != '\r')
				i++;
			return i;
		} else {
			i++;
		}
	} while (depth > 0);
	return i;
}

/* The value of the top-level member key (matched as written, like json_member_span): where it
 * starts. */
static int member_value(const unsigned char *p, size_t n, const char *key, size_t *start)
{
	size_t klen = strlen(key), i = span_ws(p, n, 0), k;

	if (i >= n || p[i++] != '{')
		return 0;
	for (i = span_ws(p, n, i); i < n && p[i] == '"'; i = span_ws(p, n, i)) {
		k = i + 1;
		i = span_string(p, n, i);
		int found = i - 1 - k == klen && !memcmp(p + k, key, klen);
		i = span_ws(p, n, i) + 1; /* ':' */
		if ((*start = i = span_ws(p, n, i)) >= n)
			return 0; /* not JSON (manifest_read): no value */
		if (found)
			return 1;
		i = span_ws(p, n, span_value(p, n, i));
		if (i < n && p[i] == ',')
			i++;
	}
	return 0;
}

/* The same, and where the value ends. */
static int member_span(const unsigned char *p, size_t n, const char *key, size_t *start,
		       size_t *end)
{
	if (!member_value(p, n, key, start))
		return 0;
	*end = span_value(p, n, *start);
	return 1;
}

/* ---- the resources array, read in one pass ----
 * An entry is read from a copy of its bytes (view_of_bytes writes into them), and where it
 * ends is known only once it is read: the copy takes the length of the entry before and some
 * more, and view_end, which stops at the entry's closing brace, tells its length. An entry not
 * read so (longer than the copy, or not plain) is stepped over by span_value and read again on
 * its own, as every entry was before. */
#define ENTRY_SLACK 128

/* The entry at the start of p (avail bytes to the end of the manifest); its length in *len. */
static int load_next(struct loader *l, const unsigned char *p, size_t avail, size_t *len)
{
	size_t guess = l->last + ENTRY_SLACK < avail ? l->last + ENTRY_SLACK : avail;
	struct entry_view v;
	char where[48];

	l->copy.len = 0;
	if (buf_append(&l->copy, p, guess))
		return appkg_fail(l->e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!(*len = view_end((char *)l->copy.data, guess, &v, l->deps))) {
		l->last = *len = span_value(p, avail, 0);
		return load_entry(l, p, *len);
	}
	l->last = *len;
	if (l->m->nres == l->cap && grow(l))
		return l->e->code;
	entry_where(where, l->m->nres);
	return keep_view(l, &v, where);
}

/* Each entry of the array at p[i] (a '['), walked as array_elements walks it; where the array
 * ends (past its ']') into *end. */
static int load_array(struct loader *l, const unsigned char *p, size_t n, size_t i, size_t *end)
{
	size_t len = 0;
	int rc;

	for (i = span_ws(p, n, i + 1); i < n && p[i] != ']'; i = span_ws(p, n, i)) {
		if ((rc = load_next(l, p + i, n - i, &len)))
			return rc;
		i = span_ws(p, n, i + len);
		if (i < n && p[i] == ',')
			i++;
	}
	*end = i < n ? i + 1 : n;
	return 0;
}

static struct loader *loader_start(struct manifest *m, const struct container *c,
				   struct appkg_err *e)
{
	static __thread struct loader l; /* 8 KiB of depends_on pointers: not on the stack */

	l = (struct loader){.m = m, .e = e, .last = 256};
	if (c) {
		l.ix = c->entries;
		l.nix = c->nentries;
		for (size_t i = 0; i < l.nix; i++)
			l.hint += l.ix[i].kind == MEMBER_RESOURCE;
	}
	return &l;
}

static void loader_end(struct loader *l)
{
	free(l->path_off);
	buf_free(&l->copy);
}

/* After the top level passed: the outcome of the walk (rc, and its failure on walked), then
 * the paths kept in the pool made pointers, and the dependencies. */
static int check_resources(struct loader *l, const unsigned char *data, size_t start, int rc,
			   const struct appkg_err *walked, struct appkg_err *e)
{
	struct manifest *m = l->m;

	if (data[start] != '[')
		return schema(e, "resources", "must be an array");
	if (rc) {
		if (!walked->code)
			return schema(e, "resources", "must be an array");
		*e = *walked;
		return e->code;
	}
	for (size_t i = 0; i < m->nres; i++)
		if (l->path_off[i] != SHARED)
			m->res[i].path = (const char *)m->pool.data + l->path_off[i];
	return check_dependencies(m, e);
}

static int check_secrets(struct manifest *m, struct appkg_err *e)
{
	json_t *s = json_object_get(m->root, "secrets");
	const char *id = json_string_value(json_object_get(m->root, "package_id"));

	if (!s)
		return 0;
	if (!json_is_object(s) || strcmp(json_string_value(json_object_get(s, "path")) ?: "",
					 SECRETS_PATH) != 0)
		return schema(e, "secrets", "must be an object with path \"secrets.enc\"");
	if (!id || !*id || strlen(id) > 128 || strspn(id, "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKL"
						     "MNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~") != strlen(id))
		return schema(e, "package_id", "required when there are secrets: 1 to 128 printable "
			      "ASCII characters, no spaces");
	m->has_secrets = 1;
	return get_size(s, &m->secrets_size, "secrets", e) ||
	       get_digest(s, m->secrets_digest, "secrets", e);
}

/* The manifest without its resources array ("resources": []), for a small tree. */
static json_t *parse_top(const unsigned char *data, size_t len, size_t start, size_t end,
			 struct appkg_err *e)
{
	struct buf top = {0};
	json_t *root;

	if (buf_append(&top, data, start) || buf_append(&top, "[]", 2) ||
	    buf_append(&top, data + end, len - end)) {
		buf_free(&top);
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	root = json_parse_strict(top.data, top.len, e, MANIFEST_PATH);
	buf_free(&top);
	return root;
}

/* ---- inputs (format 2, spec §20.3) ---- */

#define MAX_INPUTS 65536u

/* An input name by the grammar of spec §20.1 (a NUL inside a JSON key makes it shorter). */
static int input_name_ok(const char *name)
{
	return placeholder_name_ok(name, strlen(name));
}

static int input_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_input *)a)->name,
		      ((const struct manifest_input *)b)->name);
}

static long resource_index(const struct manifest *m, const char *path)
{
	struct manifest_resource key = {.path = path};
	const struct manifest_resource *r = bsearch(&key, m->res, m->nres, sizeof(key), path_cmp);

	return r ? r - m->res : -1;
}

/* Where a path is among the resources a check resolves paths against: the manifest's own
 * entries when it is loaded, the members it was made from when a writer checks what it made. */
typedef long (*find_resource_fn)(const void *ctx, const char *path);

static long find_resource(const void *ctx, const char *path)
{
	return resource_index(ctx, path);
}

static int input_schema(struct appkg_err *e, const char *name, const char *problem)
{
	return appkg_fail(e, APPKG_ERR_MANIFEST_SCHEMA, "manifest.json: inputs: %s: %s", name,
			  problem);
}

/* used_by of one input: sorted, unique paths of resources of the package. */
static int load_used_by(struct manifest *m, struct manifest_input *in, json_t *arr,
			find_resource_fn find, const void *ctx, struct appkg_err *e)
{
	json_t *v;
	size_t j;
	long k;

	if (!json_is_array(arr))
		return input_schema(e, in->name, "used_by must be an array");
	if (json_array_size(arr) > m->nres)
		return input_schema(e, in->name, "used_by names more paths than there are resources");
	if (!(in->used_by = calloc(json_array_size(arr) + 1, sizeof(*in->used_by))))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	json_array_foreach(arr, j, v) {
		const char *p = json_string_value(v);
		if (!p)
			return input_schema(e, in->name, "used_by entries must be strings");
		if (j > 0 && strcmp(in->used_by[j - 1], p) >= 0)
			return input_schema(e, in->name, "used_by must be sorted, no duplicates");
		if ((k = find(ctx, p)) < 0)
			return appkg_fail(e, APPKG_ERR_MANIFEST_SCHEMA, "manifest.json: inputs: %s: "
					  "used_by \"%s\" is not a resource of the package", in->name, p);
		in->used_by[in->nused++] = p;
		m->res_inputs[k]++;
	}
	return 0;
}

static int load_input(struct manifest *m, struct manifest_input *in, json_t *v,
		      find_resource_fn find, const void *ctx, struct appkg_err *e)
{
	json_t *req = json_object_get(v, "required"), *def = json_object_get(v, "default");
	json_t *desc = json_object_get(v, "description");

	if (!input_name_ok(in->name))
		return input_schema(e, in->name, "not an input name: a letter, then up to 63 letters, "
				    "digits, '_', '-' or '.' (spec §20.1)");
	if (!json_is_object(v))
		return input_schema(e, in->name, "must be an object");
	if (desc && !json_is_string(desc))
		return input_schema(e, in->name, "description must be a string");
	in->description = json_string_value(desc);
	if (!json_is_boolean(req))
		return input_schema(e, in->name, "required must be true or false");
	if (load_used_by(m, in, json_object_get(v, "used_by"), find, ctx, e))
		return e->code;
	in->required = json_is_true(req);
	if (in->required != (in->nused > 0 && !def))
		return input_schema(e, in->name, "required must be true exactly when a resource uses "
				    "the input and it has no default");
	if (def && !(in->default_json = json_dumps(def, JSON_COMPACT | JSON_ENCODE_ANY)))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

/* Format 2: "inputs" is required, an object; each entry checked (spec §20.3). */
static int check_inputs(struct manifest *m, find_resource_fn find, const void *ctx,
			struct appkg_err *e)
{
	json_t *inputs = json_object_get(m->root, "inputs"), *v;
	const char *name;
	size_t i = 0;

	if (m->major < 2)
		return 0;
	if (!json_is_object(inputs))
		return schema(e, "inputs", "required in format 2, an object");
	if (json_object_size(inputs) > MAX_INPUTS)
		return schema(e, "inputs", "too many inputs");
	m->res_inputs = calloc(m->nres + 1, sizeof(*m->res_inputs));
	m->inputs = calloc(json_object_size(inputs) + 1, sizeof(*m->inputs));
	if (!m->res_inputs || !m->inputs)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	json_object_foreach(inputs, name, v) {
		m->inputs[i].name = name;
		m->ninputs = ++i;
		if (load_input(m, &m->inputs[i - 1], v, find, ctx, e))
			return e->code;
	}
	qsort(m->inputs, m->ninputs, sizeof(*m->inputs), input_cmp);
	return 0;
}

/* What a resource uses, against what "inputs" lists for it. */
struct use_check {
	const struct manifest *m;
	const char *path;
	struct appkg_err *e;
	unsigned char *seen; /* per input */
	size_t distinct;
};

static const struct manifest_input *input_find(const struct manifest *m, const char *name)
{
	struct manifest_input key = {.name = name};

	return bsearch(&key, m->inputs, m->ninputs, sizeof(key), input_cmp);
}

static int string_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int lists(const struct manifest_input *in, const char *path)
{
	return in->nused && bsearch(&path, in->used_by, in->nused, sizeof(*in->used_by),
				    string_ptr_cmp) != NULL;
}

static void use_found(void *ctx, const struct appkg_placeholder *p)
{
	struct use_check *u = ctx;
	const struct manifest_input *in;

	if (p->kind != APPKG_PLACEHOLDER_INPUT || u->e->code)
		return;
	in = input_find(u->m, p->name);
	if (!in || !lists(in, u->path)) {
		appkg_fail(u->e, APPKG_ERR_PLACEHOLDER, "%s: line %u column %u: input '%s' is used, "
			   "but manifest.json inputs does not list it for this resource", u->path,
			   p->line, p->column, p->name);
		u->e->line = p->line;
		u->e->column = p->column;
		return;
	}
	if (!u->seen[in - u->m->inputs]++)
		u->distinct++;
}

/* The input listing path that the resource does not use (there is one: the counts differ). */
static void unused_listing(struct use_check *u)
{
	for (size_t i = 0; i < u->m->ninputs; i++)
		if (!u->seen[i] && lists(&u->m->inputs[i], u->path)) {
			appkg_fail(u->e, APPKG_ERR_PLACEHOLDER, "%s: manifest.json inputs lists input "
				   "'%s' for this resource, which does not use it", u->path,
				   u->m->inputs[i].name);
			return;
		}
}

int manifest_check_placeholders(const struct manifest *m, const char *path, const void *data,
				size_t len, struct appkg_err *e)
{
	struct use_check u = {.m = m, .path = path, .e = e};
	struct appkg_problem p;
	long k;
	int rc;

	if (m->major < 2 || (k = resource_index(m, path)) < 0)
		return 0;
	if (!(u.seen = calloc(m->ninputs + 1, 1)))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = appkg_placeholders_scan(data, len, use_found, &u);
	if (rc == APPKG_ERR_PLACEHOLDER && !e->code) {
		appkg_last_problem(&p);
		appkg_fail(e, rc, "%s: %s", path, p.message ? p.message : "bad placeholder");
		e->line = p.line;
		e->column = p.column;
	} else if (rc < 0 && !e->code) {
		appkg_fail(e, rc, "%s: cannot look for placeholders", path);
	} else if (!e->code && u.distinct != m->res_inputs[k]) {
		unused_listing(&u);
	}
	free(u.seen);
	return e->code;
}

/* The top level, parsed (or not) into m->root. */
static int check_root(struct manifest *m, struct appkg_err *e)
{
	const char *name;

	if (!m->root)
		return e->code == APPKG_ERR_NO_MEMORY ? e->code : (e->code = APPKG_ERR_MANIFEST_JSON);
	if (!json_is_object(m->root))
		return appkg_fail(e, APPKG_ERR_MANIFEST_JSON, "manifest.json: not a JSON object");
	if (strcmp(json_string_value(json_object_get(m->root, "format")) ?: "", "appkg") != 0)
		return schema(e, "format", "must be \"appkg\"");
	if (check_version_major(m->root, &m->major, e))
		return e->code;
	if (strcmp(json_string_value(json_object_get(m->root, "digest_algorithm")) ?: "",
		   "blake2b-256") != 0)
		return appkg_fail(e, APPKG_ERR_DIGEST_ALGORITHM,
				  "manifest.json: digest_algorithm must be \"blake2b-256\"");
	name = json_string_value(json_object_get(m->root, "name"));
	if (!name || !*name)
		return schema(e, "name", "must be a non-empty string");
	if (optional_string(m->root, "description", e) || optional_string(m->root, "version", e) ||
	    optional_string(m->root, "created_by", e) || optional_string(m->root, "package_id", e))
		return e->code;
	return 0;
}

int manifest_load(struct manifest *m, const void *data, size_t len, struct appkg_err *e)
{
	return manifest_load_indexed(m, data, len, NULL, e);
}

int manifest_validate(const void *data, size_t len, struct appkg_err *e)
{
	if (!json_validate(data, len, APPKG_MAX_MANIFEST_SIZE, e, MANIFEST_PATH))
		return 0;
	if (e->code != APPKG_ERR_JSON_DEPTH)
		e->code = APPKG_ERR_MANIFEST_JSON; /* keep the scanner's message */
	return e->code;
}

int manifest_load_indexed(struct manifest *m, const void *data, size_t len,
			  const struct container *c, struct appkg_err *e)
{
	memset(m, 0, sizeof(*m));
	return manifest_validate(data, len, e) ? e->code : manifest_read(m, data, len, c, e);
}

/* The resources array is read before the top level is checked (its end is known once it is
 * read); a failure in it is told only after the top level passed, as when it was read after.
 * Nothing here reads past len or takes more than linear time when data is not valid JSON: the
 * reader runs it while the validation runs on another thread, and throws its outcome away
 * when that fails. */
int manifest_read(struct manifest *m, const void *data, size_t len, const struct container *c,
		  struct appkg_err *e)
{
	const unsigned char *p = data;
	struct appkg_err walked = {0};
	struct loader *l;
	size_t start = 0, end = 0;
	int has_resources, rc = 0;

	memset(m, 0, sizeof(*m));
	l = loader_start(m, c, &walked);
	has_resources = member_value(p, len, "resources", &start);
	if (has_resources && p[start] == '[')
		rc = load_array(l, p, len, start, &end);
	if (has_resources && (p[start] != '[' || rc))
		end = span_value(p, len, start);
	m->root = has_resources ? parse_top(p, len, start, end, e)
				: json_parse_strict(data, len, e, MANIFEST_PATH);
	rc = check_root(m, e) || (!has_resources && schema(e, "resources", "must be an array")) ||
	     check_resources(l, p, start, rc, &walked, e) || check_secrets(m, e) ||
	     check_inputs(m, find_resource, m, e);
	loader_end(l);
	return rc ? e->code : 0;
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->ninputs; i++) {
		free(m->inputs[i].default_json);
		free(m->inputs[i].used_by);
	}
	free(m->inputs);
	free(m->res_inputs);
	json_decref(m->root);
	buf_free(&m->pool);
	free(m->deps);
	free(m->ndeps);
	free(m->res);
	memset(m, 0, sizeof(*m));
}

/* ---- building the manifest a writer stores ---- */

static int set_new(json_t *obj, const char *key, json_t *v, struct appkg_err *e)
{
	if (!v || json_object_set_new(obj, key, v))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

static int set_digest(json_t *obj, const unsigned char *digest, struct appkg_err *e)
{
	char hex[2 * APPKG_DIGEST_BYTES + 1];

	hex_encode(hex, digest, APPKG_DIGEST_BYTES);
	return set_new(obj, "digest", json_string(hex), e);
}

/* Map path -> the user's entry for it, so per-resource attributes survive a re-pack. */
static json_t *user_entries(json_t *user, struct appkg_err *e)
{
	json_t *map = json_object(), *entry, *res = json_object_get(user, "resources");
	size_t i;

	if (!map) {
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	json_array_foreach(res, i, entry) {
		const char *path = json_string_value(json_object_get(entry, "path"));
		if (path && json_is_object(entry))
			json_object_set(map, path, entry);
	}
	return map;
}

/* The entry of a member the user's manifest lists (old), with the writer's fields: a shallow
 * copy of old, whose own values are only shared, never changed (it is made twice, measured
 * then written). */
static json_t *build_entry(json_t *old, const struct writer_member *m, struct appkg_err *e)
{
	json_t *entry = old ? json_copy(old) : json_object();
	char *logical = appkg_name_decode(m->name);

	if (!entry || !logical ||
	    set_new(entry, "type", json_string(m->type), e) ||
	    set_new(entry, "name", json_string(logical), e) ||
	    set_new(entry, "path", json_string(m->path), e) ||
	    set_new(entry, "size", json_integer((json_int_t)m->size), e) ||
	    set_digest(entry, m->digest, e) ||
	    (!json_object_get(entry, "mode") && set_new(entry, "mode", json_string("create"), e)) ||
	    (!json_object_get(entry, "depends_on") && set_new(entry, "depends_on", json_array(), e))) {
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		json_decref(entry);
		entry = NULL;
	}
	free(logical);
	return entry;
}

/* json_dump_callback output, appended to a buffer with every line after the first indented
 * by indent more spaces: an entry dumped alone reads as it does inside the resources array. */
struct indented {
	struct buf *out;
	int indent;
};

static int put_indented(const char *text, size_t size, void *data)
{
	struct indented *d = data;
	static const char spaces[] = "        ";
	const char *nl;

	while (size && (nl = memchr(text, '\n', size))) {
		size_t k = (size_t)(nl - text) + 1;
		if (buf_append(d->out, text, k) || buf_append(d->out, spaces, (size_t)d->indent))
			return -1;
		text += k;
		size -= k;
	}
	return size && buf_append(d->out, text, size) ? -1 : 0;
}

/* Printable ASCII without '"' or '\\': a string Jansson dumps as it is. */
static int plain(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* The entry of a resource the user's manifest does not list, written straight as Jansson
 * would dump build_entry's object inside the array (sorted keys, two-space indent at depth 2):
 * 1 when written, 0 when a string would need escaping (build_entry then does it), -1 when out
 * of memory. Without out, its length is added to *count instead. */
static int put_plain_entry(struct buf *out, size_t *count, const struct writer_member *m)
{
	char hex[2 * APPKG_DIGEST_BYTES + 1], size[24], *decoded = NULL;
	const char *logical = m->name;
	int rc = 1;

	/* a name without an escape is its logical name already (100,000 mallocs less) */
	if (strchr(m->name, '%') && !(logical = decoded = appkg_name_decode(m->name)))
		return -1;
	if (plain(logical) && plain(m->path) && plain(m->type)) {
#define PART(s) {s, sizeof(s) - 1}
		struct { const char *p; size_t len; } parts[] = {
			PART("{\n      \"depends_on\": [],\n      \"digest\": \""),
			{hex, 2 * APPKG_DIGEST_BYTES},
			PART("\",\n      \"mode\": \"create\",\n      \"name\": \""),
			{logical, strlen(logical)},
			PART("\",\n      \"path\": \""), {m->path, strlen(m->path)},
			PART("\",\n      \"size\": "), {size, 0},
			PART(",\n      \"type\": \""), {m->type, strlen(m->type)},
			PART("\"\n    }")};
#undef PART
		if (out) /* counted, it is 64 digits */
			hex_encode(hex, m->digest, APPKG_DIGEST_BYTES);
		decimal(size, m->size);
		parts[7].len = strlen(size);
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && rc > 0; i++)
			if (!out)
				*count += parts[i].len;
			else if (buf_append(out, parts[i].p, parts[i].len))
				rc = -1;
	} else {
		rc = 0;
	}
	free(decoded);
	return rc;
}

static int build_secrets(json_t *root, const void *blob, size_t blob_len, const char *package_id,
			 struct appkg_err *e)
{
	json_t *s;
	unsigned char digest[APPKG_DIGEST_BYTES];
	const char *user_id = json_string_value(json_object_get(root, "package_id"));

	if (!blob) {
		json_object_del(root, "secrets");
		return 0;
	}
	if (user_id && strcmp(user_id, package_id) != 0)
		return appkg_fail(e, APPKG_ERR_SECRETS_BINDING, "secrets.enc belongs to package_id "
				  "\"%s\" but manifest.json says \"%s\"", package_id, user_id);
	s = json_object();
	digest_bytes(digest, blob, blob_len);
	if (set_new(root, "secrets", s, e) || set_new(s, "path", json_string(SECRETS_PATH), e) ||
	    set_new(s, "size", json_integer((json_int_t)blob_len), e) || set_digest(s, digest, e))
		return e->code;
	return set_new(root, "package_id", json_string(package_id), e);
}

/* "inputs" of a new manifest (spec §20.3): the user's declarations (description, default,
 * unknown fields) with used_by and required computed from what the resources use. Returns
 * the format major to write: 2 when a resource holds a placeholder or an input is declared. */
static int build_inputs(json_t *root, const struct writer_member *m, size_t n,
			struct appkg_err *e)
{
	json_t *inputs = json_object_get(root, "inputs"), *decl, *uses;
	const char *name;
	int placeholders = 0;

	if (!json_is_object(inputs) && set_new(root, "inputs", inputs = json_object(), e))
		return -1;
	json_object_foreach(inputs, name, decl) /* used_by and required are the writer's */
		if (!json_is_object(decl) || set_new(decl, "used_by", json_array(), e))
			return e->code ? -1 : (input_schema(e, name, "must be an object"), -1);
	for (size_t i = 0; i < n; i++) {
		placeholders |= m[i].placeholders;
		json_object_foreach(m[i].uses, name, uses) {
			if (!json_object_get(inputs, name) &&
			    (set_new(inputs, name, decl = json_object(), e) ||
			     set_new(decl, "used_by", json_array(), e)))
				return -1;
			decl = json_object_get(inputs, name);
			if (json_array_append_new(json_object_get(decl, "used_by"), json_string(m[i].path)))
				return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory"), -1;
		}
	}
	json_object_foreach(inputs, name, decl)
		if (set_new(decl, "required", json_boolean(json_array_size(json_object_get(decl, "used_by")) &&
							   !json_object_get(decl, "default")), e))
			return -1;
	if (placeholders || json_object_size(inputs))
		return 2;
	json_object_del(root, "inputs");
	return 1;
}

/* ---- checking the manifest a user wrote: every problem in one pass ---- */

struct checking {
	const struct user_check *c;
	struct appkg_err *e;
	json_t *claimed; /* path -> the first entry that lists it */
};

/* Hand one problem on and start the next with a clean slate. */
static void emit(struct checking *k, struct appkg_err *t)
{
	if (!t->code)
		return;
	if (k->c->fn)
		k->c->fn(k->c->ctx, t->code, t->msg);
	if (!k->e->code)
		*k->e = *t;
	memset(t, 0, sizeof(*t));
}

static int member_by_path(const void *key, const void *el)
{
	return strcmp(key, ((const struct writer_member *)el)->path);
}

static int string_by_value(const void *key, const void *el)
{
	return strcmp(key, *(char *const *)el);
}

/* Is there a resource at path, added or rejected? */
static int resource_present(const struct user_check *c, const char *path)
{
	return (c->n && bsearch(path, c->m, c->n, sizeof(*c->m), member_by_path)) ||
	       (c->nrejected && bsearch(path, c->rejected, c->nrejected, sizeof(*c->rejected),
					string_by_value));
}

static int dependency_present(const struct user_check *c, const char *dep)
{
	char path[APPKG_MAX_PATH_BYTES + 32];

	if (strlen(dep) > APPKG_MAX_PATH_BYTES)
		return 0;
	snprintf(path, sizeof(path), "resources/%s.json", dep);
	return resource_present(c, path);
}

/* An added resource no entry lists, with the digest the entry recorded: where it went. */
static const char *moved_to(struct checking *k, json_t *entry)
{
	const char *hex = json_string_value(json_object_get(entry, "digest"));
	unsigned char d[APPKG_DIGEST_BYTES];

	if (!hex || hex_decode(d, sizeof(d), hex))
		return NULL;
	for (size_t i = 0; i < k->c->n; i++)
		if (!memcmp(d, k->c->m[i].digest, sizeof(d)) &&
		    !json_object_get(k->claimed, k->c->m[i].path))
			return k->c->m[i].path;
	return NULL;
}

static void check_user_depends(struct checking *k, json_t *entry, const char *path)
{
	json_t *deps = json_object_get(entry, "depends_on"), *dep;
	struct appkg_err t = {0};
	size_t j;

	if (!deps)
		return;
	if (!json_is_array(deps))
		schema(&t, path, "depends_on must be an array");
	else if (json_array_size(deps) > APPKG_MAX_DEPENDS)
		schema(&t, path, "too many depends_on entries");
	emit(k, &t);
	json_array_foreach(json_array_size(deps) > APPKG_MAX_DEPENDS ? NULL : deps, j, dep) {
		const char *s = json_string_value(dep);
		if (!s)
			schema(&t, path, "depends_on entries must be strings");
		else if (!dependency_present(k->c, s))
			appkg_fail(&t, APPKG_ERR_DEPENDENCY, "manifest.json: %s: depends_on \"%s\" names "
				   "no resource in the package", path, s);
		emit(k, &t);
	}
}

static void check_user_entry(struct checking *k, json_t *entry, size_t i)
{
	const char *path = json_string_value(json_object_get(entry, "path")), *to;
	struct entry_view v = {.mode = json_string_value(json_object_get(entry, "mode")),
			       .match = json_string_value(json_object_get(entry, "match")),
			       .match_given = json_object_get(entry, "match") != NULL};
	struct appkg_err t = {0};
	char where[40];

	snprintf(where, sizeof(where), "resources[%zu]", i);
	if (!json_is_object(entry) || !path) {
		schema(&t, where, json_is_object(entry) ? "path must be a string" : "must be an object");
		emit(k, &t);
		return;
	}
	if (json_object_get(k->claimed, path) != entry) {
		schema(&t, path, "listed twice");
		emit(k, &t);
		return;
	}
	if (!resource_present(k->c, path)) {
		if (k->c->prune)
			return; /* dropped, with its attributes */
		to = moved_to(k, entry);
		appkg_fail(&t, APPKG_ERR_MEMBER_MISSING, "manifest.json: %s: listed, but there is no "
			   "such file%s%s%s", path, to ? "; " : "", to ? to : "",
			   to ? " has the same content (renamed?)" : "");
		emit(k, &t);
	}
	if (json_object_get(entry, "id") && !json_is_string(json_object_get(entry, "id")))
		schema(&t, path, "id must be a string");
	emit(k, &t);
	if (json_object_get(entry, "mode"))
		check_mode(&v, path, &t);
	emit(k, &t);
	check_match(&v, path, &t);
	emit(k, &t);
	check_user_depends(k, entry, path);
}

/* The user's "inputs": an object of declarations (spec §20.3). */
static void check_user_inputs(struct checking *k, json_t *user)
{
	json_t *inputs = json_object_get(user, "inputs"), *v;
	struct appkg_err t = {0};
	const char *name;

	if (inputs && (!json_is_object(inputs) || json_object_size(inputs) > MAX_INPUTS))
		schema(&t, "inputs", json_is_object(inputs) ? "too many inputs" : "must be an object");
	emit(k, &t);
	if (!json_is_object(inputs) || json_object_size(inputs) > MAX_INPUTS)
		return;
	json_object_foreach(inputs, name, v) {
		if (!input_name_ok(name))
			input_schema(&t, name, "not an input name: a letter, then up to 63 letters, "
				     "digits, '_', '-' or '.' (spec §20.1)");
		else if (!json_is_object(v))
			input_schema(&t, name, "must be an object");
		else if (json_object_get(v, "description") &&
			 !json_is_string(json_object_get(v, "description")))
			input_schema(&t, name, "description must be a string");
		emit(k, &t);
	}
}

static void check_user_top(struct checking *k, json_t *user)
{
	static const char *const strings[] = {"description", "version", "created_by", "package_id"};
	const char *name = json_string_value(json_object_get(user, "name"));
	json_t *res = json_object_get(user, "resources");
	struct appkg_err t = {0};

	if (!name || !*name)
		schema(&t, "name", "must be a non-empty string");
	emit(k, &t);
	if (json_object_get(user, "format_version"))
		check_version(user, &t);
	emit(k, &t);
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		optional_string(user, strings[i], &t);
		emit(k, &t);
	}
	if (res && !json_is_array(res))
		schema(&t, "resources", "must be an array");
	emit(k, &t);
	check_user_inputs(k, user);
}

int manifest_check_user(json_t *user, const struct user_check *c, struct appkg_err *e)
{
	struct checking k = {.c = c, .e = e, .claimed = json_object()};
	json_t *res = json_object_get(user, "resources"), *entry;
	size_t i;

	if (!k.claimed)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	check_user_top(&k, user);
	json_array_foreach(res, i, entry) {
		const char *path = json_string_value(json_object_get(entry, "path"));
		if (path && json_is_object(entry) && !json_object_get(k.claimed, path) &&
		    json_object_set(k.claimed, path, entry))
			appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	json_array_foreach(res, i, entry)
		check_user_entry(&k, entry, i);
	json_decref(k.claimed);
	return e->code;
}

/* ---- the text of a new manifest, piece by piece ----
 * A writer never holds the text whole: it measures it (the tar header and the frame need its
 * size first), then makes it again while it compresses it. The top level is built as a tree
 * and dumped with "resources": []; the entries are made one at a time in the place of that [].
 * With check set, each piece is checked as it is made, by the code manifest_load runs on a
 * stored manifest, before the writer gets it (struct made_check, below). */

struct made_check {
	struct manifest m; /* the top level, parsed; nres the members' count, no res */
	const struct writer_member *members;
	size_t n, count;   /* entries checked */
	struct buf copy;   /* the entry being checked, inside {"r":[ ... ]} */
	const char *deps[APPKG_MAX_DEPENDS];
};

static int made_top(struct manifest_text *t, struct appkg_err *e);
static int made_entry(struct made_check *c, const char *el, size_t len, struct appkg_err *e);
static int made_end(struct made_check *c, struct appkg_err *e);

/* The top level of the new manifest, dumped with an empty resources array at [start, end). */
static int make_top(struct manifest_text *t, json_t *user, size_t n, const void *secrets_blob,
		    size_t blob_len, const char *package_id, struct appkg_err *e)
{
	json_t *root = json_deep_copy(user);
	const char *name = json_string_value(json_object_get(user, "name"));
	int major = 1;

	if (!root)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!name || !*name)
		schema(e, "name", "must be a non-empty string");
	else if (json_object_get(user, "format_version"))
		check_version(user, e);
	if (!e->code && !json_object_get(root, "created_by"))
		set_new(root, "created_by", json_string("appkg " APPKG_VERSION), e);
	if (!e->code && (major = build_inputs(root, t->m, n, e)) < 0 && !e->code)
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (e->code || set_new(root, "format", json_string("appkg"), e) ||
	    set_new(root, "format_version", json_sprintf("%d.%d", major, APPKG_FORMAT_MINOR), e) ||
	    set_new(root, "digest_algorithm", json_string("blake2b-256"), e) ||
	    set_new(root, "resources", json_array(), e) ||
	    build_secrets(root, secrets_blob, blob_len, package_id, e)) {
		json_decref(root);
		return e->code;
	}
	if (!(t->top = json_canonical(root, &t->top_len)))
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	else if (!json_member_span((const unsigned char *)t->top, t->top_len, "resources",
				   &t->start, &t->end))
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "manifest.json: cannot place resources");
	json_decref(root);
	return e->code;
}

int manifest_text_start(struct manifest_text *t, json_t *user, const struct writer_member *m,
			size_t n, const void *secrets_blob, size_t blob_len, const char *package_id,
			int check, struct appkg_err *e)
{
	memset(t, 0, sizeof(*t));
	t->m = m;
	t->n = n;
	if (make_top(t, user, n, secrets_blob, blob_len, package_id, e) ||
	    !(t->map = user_entries(user, e)))
		return e->code;
	if (check && !(t->check = calloc(1, sizeof(*t->check))))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	return check ? made_top(t, e) : 0;
}

/* The user's entry of path, or NULL. Most manifests a commit or a pack gets list no
 * resources (the writer derives their entries), and an empty object is not looked into: a
 * lookup hashes the path all the same. */
static json_t *user_entry(const struct manifest_text *t, const char *path)
{
	return json_object_size(t->map) ? json_object_get(t->map, path) : NULL;
}

/* Entry i of the resources array, as json_canonical writes it at depth 2 of the manifest
 * (JSON_INDENT(2), JSON_SORT_KEYS), appended to out. */
static int put_entry_text(struct manifest_text *t, size_t i, struct buf *out, struct appkg_err *e)
{
	json_t *old = user_entry(t, t->m[i].path), *entry = NULL;
	struct indented d = {out, 4};
	int direct = old ? 0 : put_plain_entry(out, NULL, &t->m[i]), rc = 0;

	if (!direct && !(entry = build_entry(old, &t->m[i], e)))
		rc = e->code;
	else if (direct < 0 || (!direct && json_dump_callback(entry, put_indented, &d,
							      JSON_INDENT(2) | JSON_SORT_KEYS)))
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	json_decref(entry);
	return rc;
}

/* Entries from t->i on, each followed by what separates it from the next or ends the array,
 * until the piece holds some 64 KiB. */
static int put_entries(struct manifest_text *t, struct appkg_err *e)
{
	struct buf *out = &t->piece;

	if (t->i == 0 && buf_append(out, t->n ? "[\n    " : "[]", t->n ? 6 : 2))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	for (; t->i < t->n && out->len < (64u << 10); t->i++) {
		size_t at = out->len;
		int last = t->i + 1 == t->n;
		if (put_entry_text(t, t->i, out, e) ||
		    (t->check && made_entry(t->check, (const char *)out->data + at, out->len - at, e)))
			return e->code;
		if (buf_append(out, last ? "\n  ]" : ",\n    ", last ? 4 : 6))
			return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	return 0;
}

int manifest_text_next(struct manifest_text *t, const void **piece, size_t *len,
		       struct appkg_err *e)
{
	switch (t->stage) {
	case 0: /* the top level up to the array */
		*piece = t->top;
		*len = t->start;
		t->stage = 1;
		return 1;
	case 1:
		t->piece.len = 0;
		if (put_entries(t, e))
			return e->code;
		t->stage = t->i == t->n ? 2 : 1;
		*piece = t->piece.data;
		*len = t->piece.len;
		return 1;
	case 2: /* the rest of the top level */
		if (t->check && made_end(t->check, e))
			return e->code;
		*piece = t->top + t->end;
		*len = t->top_len - t->end;
		t->stage = 3;
		return 1;
	default:
		return 0;
	}
}

int manifest_text_length(struct manifest_text *t, size_t *len, struct appkg_err *e)
{
	size_t n = t->n;

	*len = t->start + (n ? 6 : 2) + (t->top_len - t->end);
	for (; t->i < n; t->i++) {
		int direct = user_entry(t, t->m[t->i].path) ? 0
			     : put_plain_entry(NULL, len, &t->m[t->i]);
		if (direct < 0)
			return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		t->piece.len = 0;
		if (!direct && put_entry_text(t, t->i, &t->piece, e))
			return e->code;
		*len += t->piece.len + (t->i + 1 < n ? 6 : 4);
	}
	t->stage = 3;
	return 0;
}

void manifest_text_free(struct manifest_text *t)
{
	if (t->check) {
		manifest_free(&t->check->m);
		buf_free(&t->check->copy);
		free(t->check);
	}
	free(t->top);
	json_decref(t->map);
	buf_free(&t->piece);
	memset(t, 0, sizeof(*t));
}

/* ---- the writer's check of what it makes ----
 * What manifest_load checks in a stored manifest, checked piece by piece: the top level as
 * manifest_load parses it (the text outside the resources array, with [] in its place), and
 * each entry as one element of that array. The text is those pieces with whitespace and
 * commas between them, so that together they are the checks of the whole: json_validate of the
 * top level and of each entry inside {"r":[ ]} (the depth it has in the manifest) is
 * json_validate of the text. The entries are checked against the members the writer made
 * them from: entry i must be member i's path, so that the members stand for the entries where
 * depends_on and used_by are resolved (manifest_load resolves them against the entries). */

static int validate_made(const void *text, size_t len, struct appkg_err *e)
{
	if (!json_validate(text, len, APPKG_MAX_MANIFEST_SIZE, e, MANIFEST_PATH))
		return 0;
	if (e->code != APPKG_ERR_JSON_DEPTH)
		e->code = APPKG_ERR_MANIFEST_JSON; /* as manifest_load */
	return e->code;
}

static long find_member(const void *ctx, const char *path)
{
	const struct made_check *c = ctx;
	const struct writer_member *w = c->n ? bsearch(path, c->members, c->n, sizeof(*c->members),
						       member_by_path) : NULL;

	return w ? w - c->members : -1;
}

static int made_top(struct manifest_text *t, struct appkg_err *e)
{
	struct made_check *c = t->check;
	size_t start = 0, end = 0;

	c->members = t->m;
	c->n = t->n;
	if (validate_made(t->top, t->top_len, e))
		return e->code;
	if (!member_span((const unsigned char *)t->top, t->top_len, "resources", &start, &end) ||
	    start != t->start || end != t->end || t->top[start] != '[')
		return schema(e, "resources", "must be an array");
	c->m.root = json_parse_strict(t->top, t->top_len, e, MANIFEST_PATH);
	c->m.nres = t->n;
	return check_root(&c->m, e) || check_secrets(&c->m, e) ? e->code : 0;
}

/* keep_entry and check_dependencies for entry c->count. */
static int made_place(struct made_check *c, const struct entry_view *v,
		      const struct manifest_resource *r, struct appkg_err *e)
{
	size_t i = c->count;
	char path[APPKG_MAX_PATH_BYTES + 32];

	if (i >= c->n || strcmp(r->path, c->members[i].path) != 0)
		return schema(e, r->path, "not the path of the member it was made for");
	if (i > 0 && strcmp(c->members[i - 1].path, r->path) >= 0)
		return schema(e, r->path, "resources must be sorted by path, no duplicates");
	if (v->ndeps > APPKG_MAX_DEPENDS)
		return schema(e, r->path, "too many depends_on entries");
	for (size_t j = 0; j < v->ndeps; j++)
		if (!v->deps[j])
			return schema(e, r->path, "depends_on entries must be strings");
	for (size_t j = 0; j < v->ndeps; j++) {
		if (strlen(v->deps[j]) <= APPKG_MAX_PATH_BYTES) {
			snprintf(path, sizeof(path), "resources/%s.json", v->deps[j]);
			if (find_member(c, path) >= 0)
				continue;
		}
		return appkg_fail(e, APPKG_ERR_DEPENDENCY, "manifest.json: %s: depends_on \"%s\" "
				  "names no resource in the package", r->path, v->deps[j]);
	}
	c->count++;
	return 0;
}

/* load_entry for the entry el, as made. */
static int made_entry(struct made_check *c, const char *el, size_t len, struct appkg_err *e)
{
	struct manifest_resource r;
	struct entry_view v;
	json_t *entry = NULL;
	char where[48];
	int rc;

	if (c->count >= APPKG_MAX_MEMBERS)
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBERS, "manifest.json: too many resources");
	c->copy.len = 0;
	if (buf_append(&c->copy, "{\"r\":[", 6) || buf_append(&c->copy, el, len) ||
	    buf_append(&c->copy, "]}", 2))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (validate_made(c->copy.data, c->copy.len, e))
		return e->code;
	entry_where(where, c->count);
	if (!view_of_bytes((char *)c->copy.data + 6, len, &v, c->deps)) {
		entry = json_loadb(el, len, JSON_REJECT_DUPLICATES, NULL);
		if (!entry)
			return schema(e, where, "not valid JSON");
		if (!json_is_object(entry)) {
			json_decref(entry);
			return schema(e, where, "must be an object");
		}
		view_of_json(entry, &v, c->deps);
	}
	rc = check_entry(&v, &r, where, e) || made_place(c, &v, &r, e);
	json_decref(entry);
	return rc ? e->code : 0;
}

static int made_end(struct made_check *c, struct appkg_err *e)
{
	if (c->count != c->n)
		return schema(e, "resources", "not one entry per member");
	return check_inputs(&c->m, find_member, c, e);
}
