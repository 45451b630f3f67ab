/* SPDX-License-Identifier: MIT */
/*
 * A small test harness: each TEST is a function; CHECK stops the test at the first failed
 * condition and prints file:line, the condition and the last library message. run_test prints
 * "PASS: name" or "FAIL: name", the lines tests/run.sh counts.
 */
#ifndef APPKG_HARNESS_H
#define APPKG_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_failed;
static const char *harness_msg = "";
static int harness_total_failed;

#define TEST(name) static void name(void)

#define CHECK(cond)                                                                          \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "  %s:%d: CHECK(%s) failed; message: %s\n", __FILE__,  \
				__LINE__, #cond, harness_msg ? harness_msg : "");           \
			harness_failed = 1;                                                  \
			return;                                                              \
		}                                                                            \
	} while (0)

#define CHECK_EQ(a, b)                                                                       \
	do {                                                                                 \
		long long a_ = (long long)(a), b_ = (long long)(b);                          \
		if (a_ != b_) {                                                              \
			fprintf(stderr, "  %s:%d: %s == %lld, expected %s == %lld; message: %s\n", \
				__FILE__, __LINE__, #a, a_, #b, b_, harness_msg ? harness_msg : ""); \
			harness_failed = 1;                                                  \
			return;                                                              \
		}                                                                            \
	} while (0)

static void run_test(const char *name, void (*fn)(void))
{
	harness_failed = 0;
	harness_msg = "";
	if (fn)
		fn();
	else
		harness_failed = 1; /* nothing to run counts as a failure */
	printf("%s: %s\n", harness_failed ? "FAIL" : "PASS", name);
	fflush(stdout);
	harness_total_failed += harness_failed;
}

#define RUN(fn) run_test(#fn, fn)

#endif
