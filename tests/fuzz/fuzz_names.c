/* SPDX-License-Identifier: MIT */
/* libFuzzer target: member-name rules. Properties: a valid component decodes and encodes back
 * to itself; encoding any logical name gives a component whose only possible fault is NFC or
 * length; member_path_check never accepts a path with "..", "." or an empty component; the
 * case-fold key (with its ASCII shortcut) equals libunistring's NFC case fold. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <unistr.h>

#include "../../format/internal.h"

static void check_component(const char *s)
{
	char *logical, *again;

	if (appkg_name_check(s, 1000) != 0)
		return;
	logical = appkg_name_decode(s);
	again = logical ? appkg_name_encode(logical) : NULL;
	if (!again || strcmp(again, s) != 0)
		abort();
	free(logical);
	free(again);
}

static void check_logical(const char *s)
{
	char *enc = appkg_name_encode(s);
	int rc;

	if (!enc)
		return;
	rc = appkg_name_check(enc, 100000);
	if (rc != 0 && rc != APPKG_ERR_NAME_NFC)
		abort();
	free(enc);
}

static void check_path(const char *s, size_t n)
{
	struct appkg_err e = {0};

	if (member_path_check(s, n, &e) < 0)
		return;
	if (s[0] == '/' || strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//") || strchr(s, '\\'))
		abort();
}

static void check_fold(const char *s, size_t n)
{
	size_t a_len = 0, b_len = 0;
	char *a;
	uint8_t *b;

	if (u8_check((const uint8_t *)s, n) != NULL)
		return;
	a = name_fold_key(s, n, &a_len);
	b = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFC, NULL, &b_len);
	if (a && b && (a_len != b_len || memcmp(a, b, a_len) != 0))
		abort();
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_component(s);
	check_logical(s);
	check_path(s, strlen(s));
	check_fold(s, strlen(s));
	free(s);
	return 0;
}
