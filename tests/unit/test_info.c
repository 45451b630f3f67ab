/* SPDX-License-Identifier: MIT */
/*
 * What `appkg info` needs of the library (issue 11), through the public header only: the names
 * of a package's secrets without their values (appkg_reader_secret_names), sorted and decoded,
 * refused with a wrong password or when there are no secrets; the same for secrets.json bytes
 * the caller holds (appkg_secrets_names); the golden vector's one name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

#define GOLDEN "tests/vectors/valid/v1.0-secrets.appkg"
#define PLAIN "tests/vectors/valid/v1.0-plain.appkg"

/* Keys with escapes (an escaped quote, a \u00e9, a surrogate pair), values that must never
 * come out. */
static const char secrets_json[] =
	"{\"zeta\": \"value-zeta-NEVER\", \"alpha\\u00e9\": \"value-alpha-NEVER\",\n"
	" \"b\\\"q\": \"value-\\\"quoted\\\"-NEVER\", \"emoji\\ud83d\\ude00\": \"x\"}";

static char pkg_path[256];

/* A package with secrets_json sealed under "pw" at pkg_path. */
static int make_package(void)
{
	appkg_writer *w = appkg_writer_new();
	int rc;

	snprintf(pkg_path, sizeof(pkg_path), "/tmp/appkg-test-info-%d.appkg", (int)getpid());
	rc = appkg_writer_set_manifest(w, "{\"name\": \"named\"}", 17);
	if (!rc)
		rc = appkg_writer_add_resource(w, "pages", "home", "{}", 2);
	if (!rc)
		rc = appkg_writer_set_secrets(w, secrets_json, strlen(secrets_json), "pw", 2,
					      APPKG_KDF_INTERACTIVE, NULL, 0);
	if (!rc)
		rc = appkg_writer_finish_path(w, pkg_path);
	if (rc)
		fprintf(stderr, "  cannot write %s: %s\n", pkg_path, appkg_writer_error(w));
	appkg_writer_free(w);
	return rc;
}

static appkg_reader *open_package(const char *path)
{
	appkg_reader *r = appkg_reader_new();

	if (r && appkg_reader_open_path(r, path))
		fprintf(stderr, "  cannot open %s: %s\n", path, appkg_reader_error(r));
	return r;
}

/* 1 if any name holds "NEVER" or "value-" (a value leaked into a name). */
static int leaks_value(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strstr(names[i], "NEVER") || strstr(names[i], "value-"))
			return 1;
	return 0;
}

TEST(test_secret_names_sorted_decoded)
{
	appkg_reader *r;
	char **names = NULL;
	size_t n = 0;

	CHECK_EQ(make_package(), 0);
	r = open_package(pkg_path);
	CHECK_EQ(appkg_reader_secret_names(r, "pw", 2, &names, &n), 0);
	harness_msg = appkg_reader_error(r);
	CHECK_EQ(n, 4);
	CHECK(!strcmp(names[0], "alpha\xc3\xa9"));
	CHECK(!strcmp(names[1], "b\"q"));
	CHECK(!strcmp(names[2], "emoji\xf0\x9f\x98\x80"));
	CHECK(!strcmp(names[3], "zeta"));
	CHECK(!leaks_value(names, n));
	appkg_secret_names_free(names, n);
	/* the handle stays usable: a second call gives the same */
	CHECK_EQ(appkg_reader_secret_names(r, "pw", 2, &names, &n), 0);
	CHECK_EQ(n, 4);
	appkg_secret_names_free(names, n);
	appkg_reader_free(r);
}

TEST(test_secret_names_wrong_password)
{
	appkg_reader *r = open_package(pkg_path);
	char **names = (char **)1;
	size_t n = 7;

	CHECK_EQ(appkg_reader_secret_names(r, "wrong", 5, &names, &n), APPKG_ERR_AUTH);
	CHECK(names == NULL);
	CHECK_EQ(n, 0);
	appkg_reader_free(r);
	unlink(pkg_path);
}

TEST(test_secret_names_no_secrets)
{
	appkg_reader *r = open_package(PLAIN);
	char **names = NULL;
	size_t n = 0;

	CHECK_EQ(appkg_reader_secret_names(r, "pw", 2, &names, &n), APPKG_ERR_NOT_FOUND);
	CHECK(names == NULL);
	appkg_reader_free(r);
}

TEST(test_secret_names_golden_vector)
{
	appkg_reader *r = open_package(GOLDEN);
	char **names = NULL;
	size_t n = 0;

	CHECK_EQ(appkg_reader_secret_names(r, "golden-password", 15, &names, &n), 0);
	CHECK_EQ(n, 1);
	CHECK(!strcmp(names[0], "CRM_DB_PASSWORD"));
	appkg_secret_names_free(names, n);
	appkg_reader_free(r);
}

TEST(test_secrets_names_of_plaintext)
{
	char **names = NULL;
	size_t n = 9;

	CHECK_EQ(appkg_secrets_names(secrets_json, strlen(secrets_json), &names, &n), 0);
	CHECK_EQ(n, 4);
	CHECK(!leaks_value(names, n));
	appkg_secret_names_free(names, n);
	CHECK_EQ(appkg_secrets_names("{}", 2, &names, &n), 0);
	CHECK(names == NULL && n == 0);
	CHECK_EQ(appkg_secrets_names("{\"a\": 1}", 8, &names, &n), APPKG_ERR_SECRETS_JSON);
	CHECK(names == NULL && n == 0);
	CHECK_EQ(appkg_last_problem(&(struct appkg_problem){0}), APPKG_ERR_SECRETS_JSON);
	CHECK_EQ(appkg_secrets_names("[\"a\"]", 5, &names, &n), APPKG_ERR_SECRETS_JSON);
	CHECK(appkg_secrets_names("{\"a\": \"b\", \"a\": \"c\"}", 20, &names, &n) < 0);
	CHECK(names == NULL);
	appkg_secret_names_free(NULL, 0);
}

int main(void)
{
	RUN(test_secret_names_sorted_decoded);
	RUN(test_secret_names_wrong_password);
	RUN(test_secret_names_no_secrets);
	RUN(test_secret_names_golden_vector);
	RUN(test_secrets_names_of_plaintext);
	return harness_total_failed ? 1 : 0;
}
