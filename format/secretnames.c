/* SPDX-License-Identifier: MIT */
/*
 * The names of the secrets, never their values (spec §11 and §19.1): what a review shows of a
 * package's secrets once the password is known. The plaintext of secrets.json stays in the
 * guarded memory it was decrypted into and is wiped before the call returns; only the keys are
 * copied out, into ordinary memory, sorted by their bytes. The values are stepped over by the
 * JSON scanner without being copied anywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct name_list {
	char **names;
	size_t n, cap;
};

static int collect(void *ctx, const char *key)
{
	struct name_list *l = ctx;
	char *copy;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		char **grown = realloc(l->names, cap * sizeof(*grown));
		if (!grown)
			return -1;
		l->names = grown;
		l->cap = cap;
	}
	if (!(copy = strdup(key)))
		return -1;
	l->names[l->n++] = copy;
	return 0;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The keys of plaintext that secrets_check_json accepted, sorted; e gets the message. */
static int names_of(const char *plain, size_t len, char ***names, size_t *count,
		    struct appkg_err *e)
{
	struct name_list l = {0};

	if (json_object_keys(plain, len, collect, &l)) {
		appkg_secret_names_free(l.names, l.n);
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "secrets: out of memory");
	}
	if (l.n)
		qsort(l.names, l.n, sizeof(*l.names), by_bytes);
	*names = l.names;
	*count = l.n;
	return 0;
}

int appkg_secrets_names(const char *json, size_t len, char ***names, size_t *count)
{
	struct appkg_err e = {0};

	*names = NULL;
	*count = 0;
	if (!json)
		appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "secrets.json: no data");
	else if (secrets_check_json(json, len, &e) == 0)
		names_of(json, len, names, count, &e);
	return problem_set_last(&e, NULL, 0);
}

int appkg_reader_secret_names(appkg_reader *r, const char *password, size_t password_len,
			      char ***names, size_t *count)
{
	char *plain = NULL;
	size_t len = 0;
	int rc;

	*names = NULL;
	*count = 0;
	if ((rc = appkg_reader_secrets(r, password, password_len, &plain, &len)))
		return rc;
	rc = names_of(plain, len, names, count, reader_err(r));
	appkg_secure_free(plain, len);
	return rc;
}

void appkg_secret_names_free(char **names, size_t count)
{
	if (!names)
		return;
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}
