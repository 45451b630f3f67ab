/* SPDX-License-Identifier: MIT */
/*
 * jsondiff: the JSON scanner against a reference one (jsondiff_ref.c), on the files listed and
 * on mutations of them; any difference aborts and leaves the input in /tmp/jsondiff-fail.bin.
 * Usage: jsondiff LIST ROUNDS SEED (tests/tools/jsondiff.sh builds and runs it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../format/internal.h"
#include "difftool.h"
#include "jsondiff.h"

static int key_cb(void *ctx, const char *key)
{
	put(ctx, key, strlen(key) + 1);
	return 0;
}

static int key_stop_cb(void *ctx, const char *key)
{
	put(ctx, key, strlen(key) + 1);
	return ((struct acc *)ctx)->n > 40 ? 7 : 0;
}

static const unsigned char *base;

static int element_cb(void *ctx, const unsigned char *el, size_t len)
{
	char b[64];
	int k = snprintf(b, sizeof(b), "%td+%zu;", el - base, len);

	put(ctx, b, (size_t)k);
	return 0;
}

static unsigned long long cases, valid;

static void differ(const unsigned char *p, size_t n, const char *what)
{
	FILE *f = fopen("/tmp/jsondiff-fail.bin", "wb");

	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
	fprintf(stderr, "jsondiff: %s differs after %llu cases, input in /tmp/jsondiff-fail.bin\n",
		what, cases);
	abort();
}

static void check(const unsigned char *p, size_t n)
{
	struct appkg_err a = {0}, b = {0};
	int ma = -5, mb = -5;
	int ra = ref_json_check_resource_marks(p, n, &a, "x", &ma);
	int rb = json_check_resource_marks(p, n, &b, "x", &mb);

	if (ra != rb || ma != mb || a.code != b.code || strcmp(a.msg, b.msg) || a.line != b.line ||
	    a.column != b.column) {
		fprintf(stderr, "ref %d marks %d %s\nnew %d marks %d %s\n", ra, ma, a.msg, rb, mb, b.msg);
		differ(p, n, "json_check_resource_marks");
	}
	if (n > 4) { /* the size limit */
		struct appkg_err c = {0}, d = {0};
		size_t max = n - 1 - below(3);
		if (ref_json_validate(p, n, max, &c, "y") != json_validate(p, n, max, &d, "y") ||
		    strcmp(c.msg, d.msg))
			differ(p, n, "json_validate");
	}
	if (!ra)
		valid++;
}

/* The walkers, on a document the check accepted (their contract), and json_array_elements and
 * json_member_span on any input too (they must stay safe). */
static void walkers(const unsigned char *p, size_t n)
{
	struct acc x = {0}, y = {0}, keys = {0};
	struct appkg_err e = {0};
	int ok = ref_json_check_resource(p, n, &e, "x") == 0;

	base = p;
	if (ok) {
		if (ref_json_values_are_strings(p, n) != json_values_are_strings(p, n))
			differ(p, n, "json_values_are_strings");
		if (ref_json_object_keys(p, n, key_cb, &x) != json_object_keys(p, n, key_cb, &y) ||
		    !same(&x, &y))
			differ(p, n, "json_object_keys");
		x.n = y.n = 0;
		if (ref_json_object_keys(p, n, key_stop_cb, &x) !=
			    json_object_keys(p, n, key_stop_cb, &y) || !same(&x, &y))
			differ(p, n, "json_object_keys (stopped)");
		ref_json_object_keys(p, n, key_cb, &keys);
	}
	put(&keys, "zz-none", 8);
	for (size_t o = 0; o < keys.n; o += strlen(keys.s + o) + 1) {
		size_t s1 = 7, e1 = 9, s2 = 7, e2 = 9;
		int fa = ref_json_member_span(p, n, keys.s + o, &s1, &e1);
		int fb = json_member_span(p, n, keys.s + o, &s2, &e2);
		if (fa != fb || (fa && (s1 != s2 || e1 != e2)))
			differ(p, n, "json_member_span");
		if (fa && s1 < n && p[s1] == '[') {
			x.n = y.n = 0;
			if (ref_json_array_elements(p + s1, e1 - s1, element_cb, &x) !=
				    json_array_elements(p + s1, e1 - s1, element_cb, &y) || !same(&x, &y))
				differ(p, n, "json_array_elements");
		}
	}
	x.n = y.n = 0;
	if (ref_json_array_elements(p, n, element_cb, &x) != json_array_elements(p, n, element_cb, &y) ||
	    !same(&x, &y))
		differ(p, n, "json_array_elements (top)");
	free(keys.s);
	free(x.s);
	free(y.s);
}

/* One input, copied to a block of exactly its size: ASan sees any read past the end. */
static void one(const unsigned char *src, size_t n)
{
	unsigned char *p = malloc(n ? n : 1);

	if (!p)
		abort();
	memcpy(p, src, n);
	cases++;
	check(p, n);
	walkers(p, n);
	free(p);
}

static const char *const pieces[] = {
	"\"", "\\", "[", "]", "{", "}", ",", ":", " ", "\n", "\t", "\r", "\x1f", "\x7f", "\x80",
	"\xc2\xa9", "\xc0\xaf", "\xe0\x80\x80", "\xed\xa0\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80",
	"\xf4\x90\x80\x80", "\xf5", "\xff", "\xe2\x82", "\xf0\x9f\x98", "\\u", "\\u0000", "\\ud800",
	"\\udc00", "\\ud800\\udc00", "\\u00e9", "\\u005b", "\\\\u", "\\n", "\\x", "[[appkg:", "[[appkg",
	"true", "false", "null", "tru", "0", "-", "1.5e+3", "01", "1.", "-0", "1e", "\"a\":1", "\"a\":",
	"{\"a\":1,\"a\":2}", "                 ", "\n                ", "\"k\": \"v\", ", "[1,2,3]", "{}",
	"[]", "\"\"", "e", "E", "+",
};

static void insert(unsigned char *b, size_t *m, size_t at, const void *s, size_t l)
{
	memmove(b + at + l, b + at, *m - at);
	memcpy(b + at, s, l);
	*m += l;
}

/* One random change to b (m bytes, room for cap). */
static void mutate(unsigned char *b, size_t *m, size_t cap)
{
	size_t at = below(*m + 1), l;
	const char *s = pieces[below(sizeof(pieces) / sizeof(pieces[0]))];
	unsigned char t[200];

	switch (below(10)) {
	case 0: /* a bit */
		if (*m)
			b[below(*m)] ^= (unsigned char)(1u << below(8));
		break;
	case 1: /* a byte */
		if (*m)
			b[below(*m)] = (unsigned char)rnd();
		break;
	case 2: /* a piece inserted */
		if (*m + strlen(s) + 1 < cap)
			insert(b, m, at, s, strlen(s) ? strlen(s) : 1); /* "" stands for a NUL */
		break;
	case 3: /* bytes deleted */
		l = 1 + below(8);
		if (at + l <= *m) {
			memmove(b + at, b + at + l, *m - at - l);
			*m -= l;
		}
		break;
	case 4: /* truncated */
		*m = below(*m + 1);
		break;
	case 5: /* a piece written over */
		if (at + strlen(s) <= *m)
			memcpy(b + at, s, strlen(s));
		break;
	case 6: /* deep nesting, about the limit */
		l = 0;
		for (size_t d = 120 + below(16); d-- && l + 5 < sizeof(t);)
			if (below(3)) {
				t[l++] = '[';
			} else {
				memcpy(t + l, "{\"k\":", 5);
				l += 5;
			}
		if (*m + l < cap)
			insert(b, m, at, t, l);
		break;
	case 7: /* a chunk copied elsewhere */
		l = below(64);
		if (l && *m >= l && *m + l < cap) {
			memcpy(t, b + below(*m - l + 1), l);
			insert(b, m, at, t, l);
		}
		break;
	case 8: /* a newline and indentation */
		l = below(40);
		t[0] = '\n';
		memset(t + 1, below(4) ? ' ' : '\t', l);
		if (*m + l + 1 < cap)
			insert(b, m, at, t, l + 1);
		break;
	case 9: /* bytes >= 0x80 */
		l = below(40);
		for (size_t q = 0; q < l; q++)
			t[q] = (unsigned char)(0x80 | rnd());
		if (*m + l < cap)
			insert(b, m, at, t, l);
		break;
	}
}

static void mutations(const unsigned char *src, size_t n, int rounds)
{
	size_t cap = n * 2 + 4096, m;
	unsigned char *b = malloc(cap);

	if (!b)
		abort();
	for (int r = 0; r < rounds; r++) {
		memcpy(b, src, n);
		m = n;
		for (size_t k = 1 + below(4); k--;)
			mutate(b, &m, cap);
		one(b, m);
	}
	free(b);
}

/* Every prefix of a few documents, and nesting on both sides of the limit. */
static void edges(void)
{
	static const char *const docs[] = {
		"{\"a\": \"b\", \"c\": [1, -2.5e+3, true, false, null, {\"d\": \"\\u00e9\\n\"}], \"e\": {}}",
		"{\"k\\u0061\": 1, \"ka\": 2}", "{\"[[appkg:x]]\": \"\\\\u\"}", "  {  }  ", "[1]", "\"s\"",
		"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"a\":10}",
		"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10}",
	};
	char b[1000];

	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++)
		for (size_t k = 0; k <= strlen(docs[d]); k++)
			one((const unsigned char *)docs[d], k);
	for (int depth = 120; depth < 136; depth++) {
		size_t m = 0;
		memcpy(b, "{\"a\":", 5);
		m = 5;
		for (int q = 1; q < depth; q++) {
			if (q % 3) {
				b[m++] = '[';
				continue;
			}
			memcpy(b + m, "{\"k\":", 5);
			m += 5;
		}
		b[m++] = '1';
		one((const unsigned char *)b, m);
	}
}

int main(int argc, char **argv)
{
	char path[4096];
	size_t files = 0, n;
	unsigned char *p;
	FILE *list;

	if (argc != 4 || !(list = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: jsondiff LIST ROUNDS SEED\n");
		return 2;
	}
	seed(argv[3]);
	edges();
	while (fgets(path, sizeof(path), list)) {
		path[strcspn(path, "\n")] = '\0';
		if (!(p = load(path, &n)))
			continue;
		files++;
		one(p, n);
		mutations(p, n, atoi(argv[2]));
		free(p);
	}
	fclose(list);
	printf("jsondiff: %zu files, %llu cases (%llu valid), no difference\n", files, cases, valid);
	return 0;
}
