/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the placeholder scanner and the binder (spec section 20). Every name has a
 * value here (a string full of characters that need escaping, a number, an object, null,
 * chosen by the name), so that most documents with placeholders bind. Checked: nothing
 * crashes; a bound document is valid JSON (by the project's validator and, when it takes the
 * input, by Jansson); binding replaces exactly the placeholders the scan finds; a document
 * without placeholders binds to its own bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../format/internal.h"

static const struct {
	const char *json;
	const char *text;
} values[] = {
	{"\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\"", "q\"b\\n\n\x01\xc3\xa9"},
	{"-12.5e3", NULL},
	{"{\"a\":[1,{\"b\":null}],\"c\":\"d\"}", NULL},
	{"null", NULL},
	{"\"\"", ""},
};

static int lookup(void *ctx, int kind, const char *name, size_t len, struct ph_value *v)
{
	size_t k = (len + (unsigned char)name[0]) % (sizeof(values) / sizeof(values[0]));

	(void)ctx;
	if (kind == APPKG_PLACEHOLDER_SECRET)
		k = 0; /* secrets are strings */
	v->json = kind == APPKG_PLACEHOLDER_SECRET ? NULL : values[k].json;
	v->json_len = v->json ? strlen(v->json) : 0;
	v->text = (const unsigned char *)values[k].text;
	v->text_len = values[k].text ? strlen(values[k].text) : 0;
	v->is_string = values[k].text != NULL;
	return 1;
}

static int jansson_takes(const void *data, size_t size)
{
	json_t *v = json_loadb(data, size, JSON_REJECT_DUPLICATES, NULL);
	int ok = v != NULL;

	json_decref(v);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct appkg_err e = {0}, check = {0}, scan_err = {0};
	int found = placeholders_walk(data, size, NULL, NULL, &scan_err), rc;
	char *out;
	size_t out_len;

	if (found < 0 && found != APPKG_ERR_PLACEHOLDER)
		abort();
	if (found < 0 && (!scan_err.line || !scan_err.column || !strstr(scan_err.msg, "§20.1")))
		abort(); /* a refusal says where and names the rule */
	rc = placeholders_bind(data, size, lookup, NULL, APPKG_BIND_SECRETS, &out, &out_len, &e);
	if (rc < 0) {
		if (out)
			abort();
		return 0;
	}
	/* binding succeeded: the input was a valid resource, the scan agreed, all were replaced */
	if (found != rc)
		abort();
	if (json_check_resource(out, out_len, &check, "bound") && check.code != APPKG_ERR_JSON_DEPTH)
		abort(); /* a whole-string object may nest two levels deeper than the input */
	if (jansson_takes(data, size) && !jansson_takes(out, out_len))
		abort();
	if (found == 0 && (out_len != size || memcmp(out, data, size) != 0))
		abort();
	if (out[out_len] != '\0')
		abort();
	free(out);
	return 0;
}
