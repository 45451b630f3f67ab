/* SPDX-License-Identifier: MIT */
/*
 * A test tool for placeholders (spec section 20), public header only:
 *   phtool scan FILE...   one line per file, "FOUND RAW FILE": the placeholders
 *                         appkg_placeholders_scan finds, and how often the text "[[appkg:"
 *                         occurs in the file's bytes. Exit 1 when a file is refused (the
 *                         message on stderr), 4 when one cannot be read.
 *   phtool bench N        bind one document holding N placeholders (in N strings of an array,
 *                         values from 100 inputs) again and again for half a second; prints
 *                         "N BYTES SECONDS", the fastest bind.
 * tests/cli/test_placeholders.sh and bench/bind.sh use it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "appkg/appkg.h"
#include "appkg/errors.h"

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (p = malloc((size_t)n + 1)) && fread(p, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(p);
		p = NULL;
	}
	fclose(f);
	return p;
}

static size_t raw_count(const char *p, size_t len)
{
	size_t n = 0;
	const char *q;

	while (len >= 8 && (q = memmem(p, len, "[[appkg:", 8))) {
		n++;
		len -= (size_t)(q - p) + 8;
		p = q + 8;
	}
	return n;
}

static int scan(int argc, char **argv)
{
	int status = 0;

	for (int i = 0; i < argc; i++) {
		struct appkg_problem problem;
		size_t len;
		char *p = read_all(argv[i], &len);
		int rc;
		if (!p) {
			fprintf(stderr, "phtool: '%s': cannot read\n", argv[i]);
			status = 4;
			continue;
		}
		rc = appkg_placeholders_scan(p, len, NULL, NULL);
		if (rc < 0) {
			appkg_last_problem(&problem);
			fprintf(stderr, "phtool: '%s': %s\n", argv[i], problem.message);
			status = status ? status : 1;
		} else {
			printf("%d %zu %s\n", rc, raw_count(p, len), argv[i]);
		}
		free(p);
	}
	return status;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* {"items": [...]}: string i is "host-[[appkg:input:vK]]:8080" (K = i mod 100), or every
 * tenth the whole placeholder; the values need escaping or are numbers and objects. */
static char *bench_document(long n, size_t *len)
{
	char *doc = malloc((size_t)n * 40 + 64), *p = doc;

	if (!doc)
		return NULL;
	p += sprintf(p, "{\"items\": [");
	for (long i = 0; i < n; i++)
		p += sprintf(p, i % 10 ? "%s\"host-[[appkg:input:v%ld]]:8080\"" : "%s\"[[appkg:input:v%ld]]\"",
			     i ? ", " : "", i % 100);
	p += sprintf(p, "]}\n");
	*len = (size_t)(p - doc);
	return doc;
}

static appkg_bindings *bench_bindings(void)
{
	char env[16384], *p = env;
	appkg_bindings *b = appkg_bindings_new();

	p += sprintf(p, "{\"environment\": \"bench\", \"inputs\": {");
	for (int k = 0; k < 100; k++)
		p += sprintf(p, k % 3 == 0   ? "%s\"v%d\": \"db-%d.example \\\"q\\\" \\\\ \\n \xc3\xa9\""
				: k % 3 == 1 ? "%s\"v%d\": %d"
					     : "%s\"v%d\": {\"port\": %d, \"tls\": true}",
			     k ? ", " : "", k, k);
	sprintf(p, "}}");
	if (b && appkg_bindings_load(b, env, strlen(env))) {
		fprintf(stderr, "phtool: bindings: %s\n", appkg_bindings_error(b));
		appkg_bindings_free(b);
		b = NULL;
	}
	return b;
}

/* The fastest of the repetitions: the others lost time to whatever else ran. */
static int bench(long n)
{
	size_t len, out_len;
	char *doc = bench_document(n, &len), *out;
	appkg_bindings *b = bench_bindings();
	double start = now(), best = 0;
	long reps = 0;
	int rc = 0;

	if (!doc || !b)
		return 4;
	do {
		double t = now();
		rc = appkg_bind(b, doc, len, 0, &out, &out_len);
		t = now() - t;
		if (rc != n) {
			fprintf(stderr, "phtool: bind gave %d: %s\n", rc, appkg_bindings_error(b));
			rc = 1;
			break;
		}
		appkg_bound_free(out, out_len);
		rc = 0;
		if (!reps++ || t < best)
			best = t;
	} while (now() - start < 0.5 || reps < 3);
	if (!rc)
		printf("%ld %zu %.9f\n", n, len, best);
	free(doc);
	appkg_bindings_free(b);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "scan"))
		return scan(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "bench") && atol(argv[2]) > 0 && atol(argv[2]) <= 400000)
		return bench(atol(argv[2]));
	fprintf(stderr, "usage: phtool scan FILE... | phtool bench N\n");
	return 2;
}
