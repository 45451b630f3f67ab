/* SPDX-License-Identifier: MIT */
/*
 * Problems as data (struct appkg_problem): the code, the member or file a message is about,
 * the JSON position, and the message with and without those, so that callers print or sort
 * problems without taking messages apart. Calls with a handle keep their last problem on it;
 * calls without one (key files, file signatures, sealed secrets) keep it per thread for
 * appkg_last_problem.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* libsodium must be initialised before guarded memory or random bytes are used; the library
 * does it when it is loaded, so that a caller needs nothing but appkg.h. sodium_init is
 * idempotent and thread-safe; should it fail, sodium_malloc fails later and is reported. This
 * file is linked into every program that uses a reader, a writer or a key call. */
__attribute__((constructor)) static void init_sodium(void)
{
	if (sodium_init() < 0)
		return; /* sodium_malloc then fails, and that is reported */
}

static __thread struct appkg_err last;
static __thread char last_member[APPKG_MAX_PATH_BYTES + 1024]; /* "" when none */

void problem_fill(const struct appkg_err *e, const char *member, struct appkg_problem *out)
{
	const char *d = e->msg;
	char pos[48];
	size_t n = member ? strlen(member) : 0;

	if (member && !strncmp(d, member, n) && !strncmp(d + n, ": ", 2))
		d += n + 2;
	snprintf(pos, sizeof(pos), "line %u column %u: ", e->line, e->column);
	if (e->line && !strncmp(d, pos, strlen(pos)))
		d += strlen(pos);
	out->code = e->code;
	out->member = member;
	out->line = e->line;
	out->column = e->column;
	out->message = e->msg;
	out->detail = d;
}

int problem_set_last(const struct appkg_err *e, const char *const *candidates, size_t n)
{
	last = *e;
	last_member[0] = '\0';
	for (size_t i = 0; e->code && i < n; i++) {
		size_t k = candidates[i] ? strlen(candidates[i]) : 0;
		if (k && k < sizeof(last_member) && !strncmp(e->msg, candidates[i], k) &&
		    !strncmp(e->msg + k, ": ", 2)) {
			memcpy(last_member, candidates[i], k + 1);
			break;
		}
	}
	return e->code;
}

int appkg_last_problem(struct appkg_problem *out)
{
	problem_fill(&last, last_member[0] ? last_member : NULL, out);
	return last.code;
}
