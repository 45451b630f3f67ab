/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the resource JSON scanner against Jansson (differential), and the canonical
 * writer's round trip: parse -> canonical -> parse -> canonical gives the same text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../format/internal.h"

/* Jansson's verdict on "one JSON object, no duplicate keys", within its number range. */
static int jansson_accepts(const uint8_t *data, size_t size, int *out_of_range)
{
	json_error_t err;
	json_t *v = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	int ok = v && json_is_object(v);

	*out_of_range = !v && (strstr(err.text, "too big") || strstr(err.text, "overflow"));
	json_decref(v);
	return ok;
}

static void canonical_round_trip(const uint8_t *data, size_t size)
{
	json_t *a = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *b;
	size_t la, lb;
	char *ta, *tb;

	if (!a)
		return;
	ta = json_canonical(a, &la);
	b = ta ? json_loadb(ta, la, JSON_REJECT_DUPLICATES, NULL) : NULL;
	tb = b ? json_canonical(b, &lb) : NULL;
	if (ta && (!tb || la != lb || memcmp(ta, tb, la) != 0))
		abort();
	free(ta);
	free(tb);
	json_decref(a);
	json_decref(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct appkg_err e = {0};
	int range = 0, ours = json_check_resource(data, size, &e, "fuzz") == 0;
	int theirs = jansson_accepts(data, size, &range);

	/* Jansson refuses numbers it cannot represent; resources allow any RFC 8259 number, and
	 * Jansson has its own depth limit (2048) above ours (128). */
	if (ours && !theirs && !range && !memchr(data, 'e', size) && !memchr(data, 'E', size) &&
	    size < 4096)
		abort();
	/* Jansson also takes a NUL byte between tokens, which RFC 8259 does not allow */
	if (!ours && theirs && e.code != APPKG_ERR_JSON_DEPTH && !memchr(data, 0, size))
		abort();
	canonical_round_trip(data, size);
	return 0;
}
