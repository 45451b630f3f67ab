/* SPDX-License-Identifier: MIT */
/*
 * readerdiff: opening a package (appkg_reader_open_fd, from a file, and
 * appkg_reader_open_memory) with two builds of libappkg, each a shared object that
 * readerdiff.sh makes, must give the same outcome: code and message of a failure, and on
 * success the members, the manifest's text and every member read. Inputs: each package listed,
 * then ROUNDS damaged copies of it (bits flipped, bytes set, runs zeroed, truncated), most of
 * the damage in frame 0 (the manifest, whose checks the open makes) and the index.
 * Usage: readerdiff OLD.so NEW.so ROUNDS SEED PKG...
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "difftool.h"

struct lib {
	appkg_reader *(*new)(void);
	void (*free)(appkg_reader *);
	int (*open_fd)(appkg_reader *, int);
	int (*open_memory)(appkg_reader *, const void *, size_t);
	const char *(*error)(const appkg_reader *);
	size_t (*count)(const appkg_reader *);
	int (*member)(appkg_reader *, size_t, struct appkg_member *);
	int (*manifest)(appkg_reader *, const char **, size_t *);
	int (*read)(appkg_reader *, const char *, const void **, size_t *);
};

static struct lib libs[2];
static unsigned long long cases, opened;

static void *sym(void *h, const char *name)
{
	void *p = dlsym(h, name);

	if (!p) {
		fprintf(stderr, "readerdiff: %s missing\n", name);
		exit(2);
	}
	return p;
}

static void open_lib(const char *path, struct lib *l)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		fprintf(stderr, "readerdiff: %s\n", dlerror());
		exit(2);
	}
	l->new = (appkg_reader * (*)(void)) sym(h, "appkg_reader_new");
	l->free = (void (*)(appkg_reader *))sym(h, "appkg_reader_free");
	l->open_fd = (int (*)(appkg_reader *, int))sym(h, "appkg_reader_open_fd");
	l->open_memory = (int (*)(appkg_reader *, const void *, size_t))sym(h,
									    "appkg_reader_open_memory");
	l->error = (const char *(*)(const appkg_reader *))sym(h, "appkg_reader_error");
	l->count = (size_t(*)(const appkg_reader *))sym(h, "appkg_reader_member_count");
	l->member = (int (*)(appkg_reader *, size_t, struct appkg_member *))sym(h,
										 "appkg_reader_member");
	l->manifest = (int (*)(appkg_reader *, const char **, size_t *))sym(h,
									    "appkg_reader_manifest");
	l->read = (int (*)(appkg_reader *, const char *, const void **, size_t *))sym(
		h, "appkg_reader_read");
}

/* What an open of p gave (from a file when fd >= 0, else from memory). */
static void describe(struct acc *a, const struct lib *l, const unsigned char *p, size_t n, int fd)
{
	appkg_reader *r = l->new();
	int rc = fd >= 0 ? l->open_fd(r, fd) : l->open_memory(r, p, n);
	struct appkg_member m;
	const char *json;
	const void *data;
	size_t len;

	putf(a, "rc %d %s\n", rc, l->error(r));
	if (rc == 0) {
		opened++;
		if (l->manifest(r, &json, &len) == 0)
			put(a, json, len);
		for (size_t i = 0; i < l->count(r) && l->member(r, i, &m) == 0; i++) {
			rc = l->read(r, m.path, &data, &len);
			putf(a, "\n%s %llu %d %s %zu", m.path, (unsigned long long)m.size, rc,
			     rc ? l->error(r) : "", rc ? 0 : len);
		}
	}
	l->free(r);
}

static void differ(const unsigned char *p, size_t n, const char *x, const char *y)
{
	FILE *f = fopen("readerdiff.fail", "wb");

	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
	fprintf(stderr, "readerdiff: outcomes differ (package in readerdiff.fail)\n--- old\n%.2000s\n"
		"--- new\n%.2000s\n", x, y);
	exit(1);
}

static void one(const unsigned char *src, size_t n)
{
	unsigned char *p = malloc(n ? n : 1);
	int fd = memfd_create("readerdiff", 0);

	if (!p || fd < 0 || (n && write(fd, src, n) != (ssize_t)n))
		abort();
	memcpy(p, src, n);
	for (int from_file = 0; from_file < 2; from_file++) {
		struct acc x = {0}, y = {0};
		describe(&x, &libs[0], p, n, from_file ? fd : -1);
		describe(&y, &libs[1], p, n, from_file ? fd : -1);
		if (x.n != y.n || memcmp(x.s, y.s, x.n))
			differ(p, n, x.s, y.s);
		free(x.s);
		free(y.s);
		cases++;
	}
	close(fd);
	free(p);
}

/* Where to damage: frame 0 mostly (its compressed bytes start at 0), else the end (index
 * and seek table), else anywhere. */
static size_t where(size_t n, size_t frame0)
{
	switch (below(4)) {
	case 0: case 1: return below(frame0 < n ? frame0 : n);
	case 2: return n - 1 - below(n < 4096 ? n : 4096);
	default: return below(n);
	}
}

static void damage(unsigned char *b, size_t *m, size_t frame0)
{
	size_t at = *m ? where(*m, frame0) : 0, l;

	if (!*m)
		return;
	switch (below(5)) {
	case 0: b[at] ^= (unsigned char)(1u << below(8)); break;
	case 1: b[at] = (unsigned char)rnd(); break;
	case 2:
		l = 1 + below(64);
		memset(b + at, 0, at + l <= *m ? l : *m - at);
		break;
	case 3: *m = below(*m + 1); break;
	case 4: /* a later part of frame 0's bytes cut out (the frame ends early) */
		l = 1 + below(256);
		if (at + l <= *m) {
			memmove(b + at, b + at + l, *m - at - l);
			*m -= l;
		}
		break;
	}
}

/* The compressed size of frame 0, from the seek table at the end (§3.3), or n. */
static size_t frame0_size(const unsigned char *p, size_t n)
{
	size_t frames, c;

	if (n < 17)
		return n;
	frames = p[n - 9] | p[n - 8] << 8 | (size_t)p[n - 7] << 16 | (size_t)p[n - 6] << 24;
	if (frames == 0 || frames * 8 + 17 > n)
		return n;
	c = n - 9 - frames * 8;
	return p[c] | p[c + 1] << 8 | (size_t)p[c + 2] << 16 | (size_t)p[c + 3] << 24;
}

int main(int argc, char **argv)
{
	int rounds;

	if (argc < 6) {
		fprintf(stderr, "usage: readerdiff OLD.so NEW.so ROUNDS SEED PKG...\n");
		return 2;
	}
	open_lib(argv[1], &libs[0]);
	open_lib(argv[2], &libs[1]);
	rounds = atoi(argv[3]);
	seed(argv[4]);
	for (int k = 5; k < argc; k++) {
		size_t n, m;
		unsigned char *p = load(argv[k], &n), *b;
		if (!p)
			continue;
		one(p, n);
		if (!(b = malloc(n ? n : 1)))
			abort();
		for (int r = 0; r < rounds; r++) {
			memcpy(b, p, n);
			m = n;
			for (size_t d = 1 + below(2); d--;)
				damage(b, &m, frame0_size(p, n));
			one(b, m);
		}
		free(b);
		free(p);
	}
	printf("readerdiff: %d packages, %llu cases (%llu opened), no difference\n", argc - 5, cases,
	       opened);
	return 0;
}
