/* SPDX-License-Identifier: MIT */
/*
 * The "one resource read" row of bench/run.sh (issue 13: a library read of one member after the
 * package is open). Opens PKG once, then reads COUNT members picked at random (a fixed
 * generator seeded with SEED, so a run can be repeated) with appkg_reader_read, timing each
 * read alone, and prints "MEDIAN MIN MAX" in seconds per read on one line. Public header only.
 * Usage: member PKG COUNT SEED
 */
#include <appkg/appkg.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* xorshift64: the same picks on every machine for a given seed */
static uint64_t next_random(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Time COUNT random reads into times[]; 0, or -1 with a message on stderr. */
static int time_reads(appkg_reader *r, double *times, size_t count, uint64_t seed)
{
	size_t members = appkg_reader_member_count(r);
	uint64_t state = seed * 2654435761u + 1;

	for (size_t i = 0; i < count; i++) {
		struct appkg_member m;
		const void *data;
		size_t len;
		double t;

		if (appkg_reader_member(r, next_random(&state) % members, &m) < 0)
			goto failed;
		t = now();
		if (appkg_reader_read(r, m.path, &data, &len) < 0)
			goto failed;
		times[i] = now() - t;
	}
	return 0;
failed:
	fprintf(stderr, "member: %s\n", appkg_reader_error(r));
	return -1;
}

int main(int argc, char **argv)
{
	appkg_reader *r = NULL;
	double *times = NULL;
	long count;
	int rc = 4;

	if (argc != 4 || (count = atol(argv[2])) < 1) {
		fprintf(stderr, "usage: member PKG COUNT SEED\n");
		return 2;
	}
	times = malloc((size_t)count * sizeof *times);
	r = appkg_reader_new();
	if (times == NULL || r == NULL)
		goto out;
	if (appkg_reader_open_path(r, argv[1]) < 0) {
		fprintf(stderr, "member: '%s': %s\n", argv[1], appkg_reader_error(r));
		goto out;
	}
	if (appkg_reader_member_count(r) == 0 || time_reads(r, times, (size_t)count, strtoull(argv[3], NULL, 10)) < 0)
		goto out;
	qsort(times, (size_t)count, sizeof *times, by_value);
	printf("%.9f %.9f %.9f\n", times[count / 2], times[0], times[count - 1]);
	rc = 0;
out:
	appkg_reader_free(r);
	free(times);
	return rc;
}
