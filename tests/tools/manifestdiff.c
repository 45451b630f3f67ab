/* SPDX-License-Identifier: MIT */
/*
 * manifestdiff: the manifest loader (manifest_load, and manifest_load_indexed against an index
 * made of the document's own resource paths, some dropped, some added) of two builds of
 * libappkg, each a shared object that manifestdiff.sh makes, must agree on every input: the
 * code, message, line and column of a failure, and everything loaded on success (resources,
 * paths shared with the index or not, dependencies, secrets, version, inputs, the top level).
 * Inputs: every manifest listed, then ROUNDS mutations of each, most of them kept valid JSON
 * (strings, numbers, keys, entries and whitespace changed) so that the schema checks run. The
 * new build's manifest_read, which the reader runs before the validation has ended, is also
 * run on every input, for the sanitizers.
 * Usage: manifestdiff OLD.so NEW.so LIST ROUNDS SEED
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../format/internal.h"
#include "difftool.h"

typedef int (*load_fn)(struct manifest *, const void *, size_t, const struct container *,
		       struct appkg_err *);
typedef void (*free_fn)(struct manifest *);
typedef int (*path_check_fn)(const char *, size_t, struct appkg_err *);

struct lib {
	load_fn load;
	free_fn free;
};

static struct lib old_lib, new_lib;
static path_check_fn path_check;
static load_fn read_unvalidated; /* the new build's manifest_read, when it has one */
static unsigned long long cases, loaded;

static void open_lib(const char *path, struct lib *l)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "manifestdiff: %s\n", dlerror());
		exit(2);
	}
	l->load = (load_fn)dlsym(h, "appkg__manifest_load_indexed");
	l->free = (free_fn)dlsym(h, "appkg__manifest_free");
	if (!path_check)
		path_check = (path_check_fn)dlsym(h, "appkg__member_path_check");
	if (!l->load || !l->free || !path_check) {
		fprintf(stderr, "manifestdiff: %s: symbols missing\n", path);
		exit(2);
	}
}

static void hex(struct acc *a, const unsigned char *d)
{
	for (int i = 0; i < APPKG_DIGEST_BYTES; i++)
		putf(a, "%02x", d[i]);
}

static int in_index(const struct container *c, const char *p)
{
	for (uint32_t i = 0; c && i < c->nentries; i++)
		if (c->entries[i].path == p)
			return 1;
	return 0;
}

static void describe(struct acc *a, const struct lib *l, const unsigned char *p, size_t n,
		     const struct container *c)
{
	struct manifest m;
	struct appkg_err e = {0};
	int rc = l->load(&m, p, n, c, &e);

	putf(a, "rc %d code %d line %u column %u msg %s\n", rc, e.code, e.line, e.column, e.msg);
	if (rc == 0) {
		char *top = json_dumps(m.root, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		putf(a, "top %s\nmajor %d nres %zu secrets %d %llu ", top ? top : "?", m.major, m.nres,
		    m.has_secrets, (unsigned long long)m.secrets_size);
		free(top);
		hex(a, m.secrets_digest);
		for (size_t i = 0; i < m.nres; i++) {
			const char *d = m.ndeps[i] ? (const char *)m.pool.data + m.deps[i] : "";
			putf(a, "\n%s %d %llu ", m.res[i].path, in_index(c, m.res[i].path),
			    (unsigned long long)m.res[i].size);
			hex(a, m.res[i].digest);
			for (uint32_t j = 0; j < m.ndeps[i]; j++, d += strlen(d) + 1)
				putf(a, " dep %s", d);
			if (m.res_inputs)
				putf(a, " inputs %u", m.res_inputs[i]);
		}
		for (size_t i = 0; i < m.ninputs; i++) {
			const struct manifest_input *in = &m.inputs[i];
			putf(a, "\ninput %s %s %d %s", in->name, in->description ? in->description : "-",
			    in->required, in->default_json ? in->default_json : "-");
			for (size_t j = 0; j < in->nused; j++)
				putf(a, " %s", in->used_by[j]);
		}
		loaded++;
	}
	l->free(&m);
}

static void differ(const unsigned char *p, size_t n, const char *x, const char *y)
{
	FILE *f = fopen("manifestdiff.fail", "wb");

	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
	fprintf(stderr, "manifestdiff: outcomes differ (input in manifestdiff.fail)\n--- old\n%.3000s\n"
		"--- new\n%.3000s\n", x, y);
	exit(1);
}

static void compare(const unsigned char *p, size_t n, const struct container *c)
{
	struct acc x = {0}, y = {0};

	describe(&x, &old_lib, p, n, c);
	describe(&y, &new_lib, p, n, c);
	if (x.n != y.n || memcmp(x.s, y.s, x.n))
		differ(p, n, x.s, y.s);
	if (read_unvalidated) { /* the reader runs it before the validation ends: any bytes */
		struct manifest m;
		struct appkg_err e = {0};
		read_unvalidated(&m, p, n, c, &e);
		new_lib.free(&m);
	}
	free(x.s);
	free(y.s);
	cases++;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* An index of the resource paths of p (as Jansson reads them), less some, with some added. */
static void make_index(const unsigned char *p, size_t n, struct container *c, int vary)
{
	static const char *const extra[] = {
		"resources/pages/home.json", "resources/a/b.json", "resources/queries/Zeta.json",
		"resources/pages/%2Ehidden.json", "resources/pages/caf\xc3\xa9.json", "secrets.enc",
		"manifest.json.minisig", "resources/x/y.json",
	};
	json_t *root = json_loadb((const char *)p, n, 0, NULL), *r, *v;
	char **paths = NULL;
	size_t k = 0, i, cap = 16, names = 0, at = 0;

	memset(c, 0, sizeof(*c));
	if (!(paths = malloc(cap * sizeof(*paths))))
		abort();
	paths[k++] = strdup("manifest.json");
	r = json_object_get(root, "resources");
	json_array_foreach(r, i, v) {
		const char *s = json_string_value(json_object_get(v, "path"));
		if (!s || (vary && !below(8)))
			continue;
		if (k + 2 >= cap && !(paths = realloc(paths, (cap *= 2) * sizeof(*paths))))
			abort();
		paths[k++] = strdup(s);
	}
	if (vary && below(2))
		paths[k++] = strdup(extra[below(sizeof(extra) / sizeof(extra[0]))]);
	json_decref(root);
	qsort(paths, k, sizeof(*paths), path_cmp);
	for (i = 0; i < k; i++)
		names += strlen(paths[i]) + 1;
	if (!(c->entries = calloc(k, sizeof(*c->entries))) || !(c->names = malloc(names + 1)))
		abort();
	for (i = 0; i < k; i++) {
		struct appkg_err e = {0};
		size_t l = strlen(paths[i]);
		if (c->nentries && !strcmp(c->entries[c->nentries - 1].path, paths[i]))
			continue; /* an index holds each path once */
		struct index_entry *x = &c->entries[c->nentries++];
		x->path = memcpy(c->names + at, paths[i], l + 1);
		x->path_len = (uint32_t)l;
		x->kind = path_check(x->path, l, &e);
		if (x->kind < 0)
			c->nentries--; /* the reader refuses such an index before the manifest */
		at += l + 1;
	}
	for (i = 0; i < k; i++)
		free(paths[i]);
	free(paths);
}

/* One input, copied to a block of exactly its size (ASan sees a read past the end), loaded
 * without an index and with one. */
static void one(const unsigned char *src, size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	struct container c;

	if (!p)
		abort();
	memcpy(p, src, n);
	compare(p, n, NULL);
	make_index(p, n, &c, 0);
	compare(p, n, &c);
	free(c.entries);
	free(c.names);
	make_index(p, n, &c, 1);
	compare(p, n, &c);
	free(c.entries);
	free(c.names);
	free(p);
}

/* Replacements for a string's contents (between its quotes). */
static const char *const strings[] = {
	"", "a", "A", "create", "update", "overwrite", "merge", "skip", "name", "id", "Create",
	"resources/pages/home.json", "resources/pages/Home.json", "resources/pages/.x.json",
	"resources/pages/a%2Fb.json", "resources/pages/a%2fb.json", "resources/pages/a%25.json",
	"resources/pages/x.", "resources/pages/x .json", "resources/pages/x.json ",
	"resources/pages/caf\xc3\xa9.json", "resources/pages/cafe\xcc\x81.json", "resources//x.json",
	"resources/pages/x/y.json", "resources/pages/.json", "resources/pages/a:b.json",
	"resources/pages/a%3Ab.json", "manifest.json", "secrets.enc", "pages", "Pages", "p/q", ".",
	"..", "a b", "a:b", "a%b", "caf\xc3\xa9", "cafe\xcc\x81", "\\u0000", "a\\u0000b", "\\n",
	"\\\"", "\\\\", "\\/", "\\u00e9", "pages\\u002fx", "x\\u0041", "\xe2\x80\x8e", "\x7f",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0",
	"pages/home", "pages/missing", "queries/x", "appkg", "1.0", "2.0", "3.0", "1.00", "01.0",
	"blake2b-256", "sha256", "depends_on", "digest", "size", "path", "type", "match", "mode",
	"resources", "secrets", "inputs", "used_by", "required", "default", "description",
	"format_version", "package_id", "x.y", "A1", "[[appkg:input:x]]",
};

/* Replacements for a number or a literal. */
static const char *const values[] = {
	"0", "1", "-1", "5005", "18446744073709551615", "9223372036854775807", "9223372036854775808",
	"123456789012345678", "1234567890123456789", "1.0", "1e3", "1E3", "-0", "0.5", "1e400",
	"true", "false", "null", "\"5\"", "[]", "{}", "[\"pages/home\"]", "[1]", "[\"a\",\"b\"]",
	"[null]", "{\"path\":\"secrets.enc\",\"size\":1,\"digest\":"
	"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}", "999999999999999",
	"1234567890123456", "-5", "[\"pages/home\", \"pages/home\"]",
};

/* Members inserted into an object. */
static const char *const members[] = {
	"\"id\": \"x\", ", "\"id\": 5, ", "\"match\": \"id\", ", "\"match\": \"x\", ",
	"\"match\": null, ", "\"mode\": \"merge\", ", "\"extra\": {\"a\": [1, 2]}, ", "\"x\": 1e5, ",
	"\"depends_on\": [\"pages/home\"], ", "\"k\\u0065y\": 1, ", "\"e\\\"\": \"q\\\\\", ",
	"\"n\": -12345678901234567, ", "\"n\": 123456789012345678901, ",
	"\"secrets\": {\"path\": \"secrets.enc\", \"size\": 1, \"digest\": "
	"\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}, ",
	"\"package_id\": \"p1\", ", "\"inputs\": {}, ",
	"\"inputs\": {\"x\": {\"required\": false, \"used_by\": [], \"default\": 1}}, ",
};

/* Where the tokens of p are: starts of strings (their quote) and of other scalars. */
static size_t tokens(const unsigned char *p, size_t n, size_t *str, size_t *num, size_t cap,
		     size_t *nnum)
{
	size_t ns = 0, i = 0;

	*nnum = 0;
	while (i < n) {
		if (p[i] == '"') {
			if (ns < cap)
				str[ns++] = i;
			for (i++; i < n && p[i] != '"'; i++)
				if (p[i] == '\\')
					i++;
			i++;
		} else if ((p[i] == '-' || (p[i] >= '0' && p[i] <= '9') || p[i] == 't' ||
			    p[i] == 'f' || p[i] == 'n')) {
			if (*nnum < cap)
				num[(*nnum)++] = i;
			while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' &&
			       p[i] != '\n')
				i++;
		} else {
			i++;
		}
	}
	return ns;
}

static size_t string_end(const unsigned char *p, size_t n, size_t i)
{
	for (i++; i < n && p[i] != '"'; i++)
		if (p[i] == '\\')
			i++;
	return i < n ? i : n;
}

static size_t scalar_end(const unsigned char *p, size_t n, size_t i)
{
	while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' && p[i] != ' ' && p[i] != '\n')
		i++;
	return i;
}

/* b[from..to) replaced by s. */
static void splice(unsigned char *b, size_t *m, size_t cap, size_t from, size_t to, const char *s,
		   size_t l)
{
	if (to > *m || from > to || *m - (to - from) + l >= cap)
		return;
	memmove(b + from + l, b + to, *m - to);
	memcpy(b + from, s, l);
	*m = *m - (to - from) + l;
}

/* The span of the object element that holds position i of a resources array, roughly. */
static int entry_around(const unsigned char *b, size_t m, size_t i, size_t *s, size_t *e)
{
	size_t a = i, z = i;

	while (a > 0 && !(b[a] == '{' && a > 0 && (b[a - 1] == ' ' || b[a - 1] == '\n' ||
						     b[a - 1] == '[' || b[a - 1] == ',')))
		a--;
	while (z < m && b[z] != '}')
		z++;
	if (b[a] != '{' || z >= m)
		return 0;
	*s = a;
	*e = z + 1;
	return 1;
}

static void mutate(unsigned char *b, size_t *m, size_t cap)
{
	static size_t str[1 << 16], num[1 << 16];
	size_t nnum, ns = tokens(b, *m, str, num, 1 << 16, &nnum), at, end, s, e;
	const char *r;
	unsigned char t[4096];

	switch (below(12)) {
	case 0: case 1: case 2: case 3: /* a string's contents */
		if (!ns)
			break;
		at = str[below(ns)];
		end = string_end(b, *m, at);
		r = strings[below(sizeof(strings) / sizeof(strings[0]))];
		splice(b, m, cap, at + 1, end, r, strlen(r));
		break;
	case 4: /* a scalar */
		if (!nnum)
			break;
		at = num[below(nnum)];
		r = values[below(sizeof(values) / sizeof(values[0]))];
		splice(b, m, cap, at, scalar_end(b, *m, at), r, strlen(r));
		break;
	case 5: /* a member added after an object's brace */
		at = below(*m);
		while (at < *m && b[at] != '{')
			at++;
		if (at < *m) {
			r = members[below(sizeof(members) / sizeof(members[0]))];
			splice(b, m, cap, at + 1, at + 1, r, strlen(r));
		}
		break;
	case 6: /* an entry copied after itself or swapped with the next */
		if (ns && entry_around(b, *m, str[below(ns)], &s, &e) && e - s + 2 < sizeof(t)) {
			memcpy(t, b + s, e - s);
			t[e - s] = ',';
			t[e - s + 1] = ' ';
			splice(b, m, cap, s, s, (const char *)t, e - s + 2);
		}
		break;
	case 7: /* an entry removed, with its comma */
		if (ns && entry_around(b, *m, str[below(ns)], &s, &e) && e < *m && b[e] == ',')
			splice(b, m, cap, s, e + 1, "", 0);
		break;
	case 8: /* a string's character made uppercase or non-ASCII */
		if (ns) {
			at = str[below(ns)];
			end = string_end(b, *m, at);
			if (end > at + 1) {
				size_t k = at + 1 + below(end - at - 1);
				if (b[k] >= 'a' && b[k] <= 'z')
					b[k] -= 32;
				else
					splice(b, m, cap, k, k, "\xc3\xa9", 2);
			}
		}
		break;
	case 9: /* a byte flipped (often invalid JSON: the grammar check's message) */
		if (*m)
			b[below(*m)] ^= (unsigned char)(1u << below(8));
		break;
	case 10: /* whitespace */
		at = below(*m + 1);
		r = below(2) ? "\n  \t " : " ";
		splice(b, m, cap, at, at, r, strlen(r));
		break;
	case 11: /* truncated */
		*m = below(*m + 1);
		break;
	}
}

static void mutations(const unsigned char *src, size_t n, int rounds)
{
	size_t cap = n * 2 + 65536, m;
	unsigned char *b = malloc(cap);

	if (!b)
		abort();
	for (int r = 0; r < rounds; r++) {
		memcpy(b, src, n);
		m = n;
		for (size_t k = 1 + below(3); k--;)
			mutate(b, &m, cap);
		one(b, m);
	}
	free(b);
}

int main(int argc, char **argv)
{
	char path[4096];
	size_t files = 0, n;
	unsigned char *p;
	FILE *list;

	if (argc != 6 || !(list = fopen(argv[3], "r"))) {
		fprintf(stderr, "usage: manifestdiff OLD.so NEW.so LIST ROUNDS SEED\n");
		return 2;
	}
	open_lib(argv[1], &old_lib);
	open_lib(argv[2], &new_lib);
	read_unvalidated = (load_fn)dlsym(dlopen(argv[2], RTLD_NOW | RTLD_LOCAL),
					  "appkg__manifest_read");
	seed(argv[5]);
	while (fgets(path, sizeof(path), list)) {
		path[strcspn(path, "\n")] = '\0';
		if (!(p = load(path, &n)))
			continue;
		files++;
		for (size_t k = 0; k <= n && k < 64; k++)
			one(p, k); /* prefixes */
		one(p, n);
		mutations(p, n, atoi(argv[4]));
		free(p);
	}
	fclose(list);
	printf("manifestdiff: %zu files, %llu cases (%llu loaded), no difference\n", files, cases,
	       loaded);
	return 0;
}
