/* SPDX-License-Identifier: MIT */
/* What the differential tests (jsondiff, manifestdiff, readerdiff) share: a seeded xorshift,
 * a growing text to compare two builds' outcomes by, and a file read whole. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t state = 88172645463325252ull;

static inline void seed(const char *s)
{
	state = strtoull(s, NULL, 10) * 2654435761u + 1;
}

static inline uint64_t rnd(void)
{
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static inline size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

struct acc {
	char *s;
	size_t n, cap;
};

static inline void put(struct acc *a, const void *p, size_t n)
{
	if (a->n + n + 1 > a->cap) {
		a->cap = (a->n + n + 1) * 2;
		if (!(a->s = realloc(a->s, a->cap)))
			abort();
	}
	memcpy(a->s + a->n, p, n);
	a->n += n;
	a->s[a->n] = '\0';
}

static inline void putf(struct acc *a, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	put(a, tmp, k < 0 ? 0 : (size_t)k < sizeof(tmp) ? (size_t)k : sizeof(tmp) - 1);
}

static inline int same(const struct acc *a, const struct acc *b)
{
	return a->n == b->n && (!a->n || !memcmp(a->s, b->s, a->n));
}

static inline unsigned char *load(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p;
	long l;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (l = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
	    !(p = malloc(l ? (size_t)l : 1)) || fread(p, 1, (size_t)l, f) != (size_t)l)
		abort();
	fclose(f);
	*n = (size_t)l;
	return p;
}
