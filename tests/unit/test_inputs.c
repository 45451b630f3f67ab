/* SPDX-License-Identifier: MIT */
/*
 * Manifest inputs and format 2.0 (issue 12) through the public header only: the inputs of the
 * golden 2.0 package (appkg_reader_input_count, appkg_reader_input), none for 1.0; the writer
 * lists what resources use (a placeholder made by a \u escape too: the JSON check tells the
 * writer which documents to scan), writes 1.0 without placeholders and 2.0 with; a placeholder outside
 * a string, a missing secret and a bound manifest are refused; a 2.0 package whose inputs
 * disagree with its resources is rejected at open or at the read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"
#include "packages.h"

#define GOLDEN "tests/vectors/valid/v2.0-inputs.appkg"
#define PLAIN "tests/vectors/valid/v1.0-plain.appkg"
#define INVALID "tests/vectors/invalid/"

static char pkg_path[256];

/* Write the manifest and the n resources pages/<i> of data[] to pkg_path; 0 or a code. */
static int write_package(const char *manifest, const char *const *data, size_t n)
{
	appkg_writer *w = appkg_writer_new();
	char name[16];
	int rc;

	snprintf(pkg_path, sizeof(pkg_path), "/tmp/appkg-test-inputs-%d.appkg", (int)getpid());
	rc = appkg_writer_set_manifest(w, manifest, strlen(manifest));
	for (size_t i = 0; !rc && i < n; i++) {
		snprintf(name, sizeof(name), "p%zu", i);
		rc = appkg_writer_add_resource(w, "pages", name, data[i], strlen(data[i]));
	}
	if (!rc)
		rc = appkg_writer_finish_path(w, pkg_path);
	if (rc)
		fprintf(stderr, "  cannot write: %s\n", appkg_writer_error(w));
	appkg_writer_free(w);
	return rc;
}

TEST(test_golden_inputs)
{
	appkg_reader *r = open_package(GOLDEN);
	struct appkg_input in;

	CHECK_EQ(appkg_reader_input_count(r), 4);
	CHECK_EQ(appkg_reader_input(r, 0, &in), 0);
	CHECK(!strcmp(in.name, "crm_host") && in.required && in.default_json == NULL);
	CHECK(!strcmp(in.description, "Host name of the CRM database in the target environment"));
	CHECK_EQ(in.used_by_count, 1);
	CHECK(!strcmp(in.used_by[0], "resources/datasources/crm.json"));
	CHECK_EQ(appkg_reader_input(r, 1, &in), 0);
	CHECK(!strcmp(in.name, "crm_port") && !in.required && !strcmp(in.default_json, "5432"));
	CHECK_EQ(appkg_reader_input(r, 2, &in), 0);
	CHECK(!strcmp(in.name, "region") && !in.required && in.used_by_count == 0);
	CHECK(!strcmp(in.default_json, "\"eu-west\""));
	CHECK_EQ(appkg_reader_input(r, 3, &in), 0);
	CHECK(!strcmp(in.name, "tenant_host") && in.required && in.description == NULL);
	CHECK(!strcmp(in.used_by[0], "resources/queries/customers.json"));
	CHECK_EQ(appkg_reader_input(r, 4, &in), APPKG_ERR_NOT_FOUND);
	CHECK(!strcmp(appkg_reader_meta(r, "format_version"), "2.0"));
	appkg_reader_free(r);
}

TEST(test_v1_has_no_inputs)
{
	appkg_reader *r = open_package(PLAIN);
	struct appkg_input in;

	CHECK_EQ(appkg_reader_input_count(r), 0);
	CHECK_EQ(appkg_reader_input(r, 0, &in), APPKG_ERR_NOT_FOUND);
	appkg_reader_free(r);
	r = appkg_reader_new();
	CHECK_EQ(appkg_reader_input_count(r), 0); /* not open */
	CHECK(appkg_reader_input(r, 0, &in) < 0);
	appkg_reader_free(r);
}

TEST(test_writer_lists_inputs)
{
	const char *data[] = {"{\"a\": \"[[appkg:input:b_in]] and [[appkg:input:a_in]]\"}",
			      "{\"x\": \"[[appkg:input:a_in]]\", \"k\": \"[[appkg:literal]]\"}",
			      "{\"plain\": \"{{ inputs.term }}\"}"};
	appkg_reader *r;
	struct appkg_input in;

	CHECK_EQ(write_package("{\"name\": \"w\", \"inputs\": {\"a_in\": {\"default\": {\"k\": [1]}, "
			       "\"description\": \"A\", \"required\": true, \"used_by\": [\"stale\"]}}}",
			       data, 3), 0);
	r = open_package(pkg_path);
	CHECK(!strcmp(appkg_reader_meta(r, "format_version"), "2.0"));
	CHECK_EQ(appkg_reader_input_count(r), 2);
	CHECK_EQ(appkg_reader_input(r, 0, &in), 0);
	CHECK(!strcmp(in.name, "a_in") && !in.required && !strcmp(in.default_json, "{\"k\":[1]}"));
	CHECK(!strcmp(in.description, "A") && in.used_by_count == 2);
	CHECK(!strcmp(in.used_by[0], "resources/pages/p0.json"));
	CHECK(!strcmp(in.used_by[1], "resources/pages/p1.json"));
	CHECK_EQ(appkg_reader_input(r, 1, &in), 0);
	CHECK(!strcmp(in.name, "b_in") && in.required && in.used_by_count == 1);
	appkg_reader_free(r);
	unlink(pkg_path);
}

/* The writer scans for placeholders only the documents whose JSON check saw "[[appkg:" or a
 * raw "\u" in a string: an escaped placeholder, in a file or in memory, is found all the same,
 * and an escaped backslash before "u" makes none. */
TEST(test_writer_finds_escaped_placeholders)
{
	const char *data[] = {"{\"v\": [\"x\", {\"w\": \"\\u005b[appkg:input:esc]]\"}]}",
			      "{\"w\": \"\\\\u005b[appkg:input:no]] \\u005B\\u005Bappkg:input:both]]\"}",
			      "{\"w\": \"a\\\\u005b[appkg:input:none]]\"}"};
	appkg_reader *r;
	struct appkg_input in;

	CHECK_EQ(write_package("{\"name\": \"w\"}", data, 3), 0);
	r = open_package(pkg_path);
	CHECK_EQ(appkg_reader_input_count(r), 2);
	CHECK_EQ(appkg_reader_input(r, 0, &in), 0);
	CHECK(!strcmp(in.name, "both") && in.used_by_count == 1);
	CHECK(!strcmp(in.used_by[0], "resources/pages/p1.json"));
	CHECK_EQ(appkg_reader_input(r, 1, &in), 0);
	CHECK(!strcmp(in.name, "esc") && in.used_by_count == 1);
	CHECK(!strcmp(in.used_by[0], "resources/pages/p0.json"));
	appkg_reader_free(r);
	unlink(pkg_path);
}

TEST(test_writer_version_1_without_placeholders)
{
	const char *data[] = {"{\"t\": \"{{ secrets.X }} ${env} #{v} [[APPKG:input:x]]\"}"};
	appkg_reader *r;

	CHECK_EQ(write_package("{\"name\": \"w\", \"inputs\": {}}", data, 1), 0);
	r = open_package(pkg_path);
	CHECK(!strcmp(appkg_reader_meta(r, "format_version"), "1.0"));
	CHECK_EQ(appkg_reader_input_count(r), 0);
	appkg_reader_free(r);
	unlink(pkg_path);
}

static int problems;

static void count_problem(void *ctx, int code, const char *message)
{
	(void)ctx;
	if (code == APPKG_ERR_UNBOUND && strstr(message, "is not in secrets.json"))
		problems++;
}

TEST(test_writer_refusals)
{
	appkg_writer *w = appkg_writer_new();
	const char *outside = "{\n\"port\": [[appkg:input:port]]}";
	const char *refs = "{\"a\": \"[[appkg:secret:HAVE]]\", \"b\": \"[[appkg:secret:MISSING]]\",\n"
			   " \"c\": \"[[appkg:secret:ALSO_MISSING]]\"}";
	const char *secrets = "{\"HAVE\": \"value\"}";
	const char *bound = "{\"name\": \"x\", \"bound_for\": \"prod\"}";

	CHECK_EQ(appkg_writer_set_manifest(w, bound, strlen(bound)), APPKG_ERR_MANIFEST_SCHEMA);
	CHECK(strstr(appkg_writer_error(w), "bound_for") != NULL);
	CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"x\"}", 13), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "o", outside, strlen(outside)),
		 APPKG_ERR_PLACEHOLDER);
	CHECK(strstr(appkg_writer_error(w), "resources/pages/o.json: line 2 column") != NULL);
	CHECK(strstr(appkg_writer_error(w), "outside a JSON string") != NULL);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "s", refs, strlen(refs)), 0);
	appkg_writer_set_problem_handler(w, count_problem, NULL);
	CHECK_EQ(appkg_writer_set_secrets(w, secrets, strlen(secrets), "pw", 2,
					  APPKG_KDF_INTERACTIVE, NULL, 0), APPKG_ERR_UNBOUND);
	CHECK_EQ(problems, 2);
	CHECK(strstr(appkg_writer_error(w), "line 2 column") != NULL);
	appkg_writer_free(w);
}

TEST(test_reader_rejects_disagreeing_inputs)
{
	appkg_reader *r = appkg_reader_new();
	const void *data;
	size_t len;

	CHECK_EQ(appkg_reader_open_path(r, INVALID "inputs_used_by_wrong/package.appkg"),
		 APPKG_ERR_MANIFEST_SCHEMA);
	appkg_reader_free(r);
	r = open_package(INVALID "input_not_listed/package.appkg");
	CHECK_EQ(appkg_reader_read(r, "resources/pages/home.json", &data, &len), APPKG_ERR_PLACEHOLDER);
	CHECK(strstr(appkg_reader_error(r), "db_host") != NULL);
	appkg_reader_free(r);
	r = open_package(INVALID "input_listed_but_unused/package.appkg");
	CHECK_EQ(appkg_reader_input_count(r), 1);
	CHECK_EQ(appkg_reader_read(r, "resources/pages/home.json", &data, &len), APPKG_ERR_PLACEHOLDER);
	appkg_reader_free(r);
}

int main(void)
{
	RUN(test_golden_inputs);
	RUN(test_v1_has_no_inputs);
	RUN(test_writer_lists_inputs);
	RUN(test_writer_finds_escaped_placeholders);
	RUN(test_writer_version_1_without_placeholders);
	RUN(test_writer_refusals);
	RUN(test_reader_rejects_disagreeing_inputs);
	return harness_total_failed ? 1 : 0;
}
