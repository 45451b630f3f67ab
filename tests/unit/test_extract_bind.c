/* SPDX-License-Identifier: MIT */
/*
 * appkg_extract with bindings (issue 12), through the public header only, on the golden 2.0
 * package: the bound tree (values escaped in place, the default where none is given, the
 * literal's text, manifest.json with "bound_for", no signature), the secret references left
 * and counted; with bind_secrets and the password the secrets in place and those files 0600;
 * every unbound input named at once and nothing written; bind_secrets without the password;
 * a selection counts only the inputs of what it writes; a 1.0 package is written as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"
#include "packages.h"

#define GOLDEN "tests/vectors/valid/v2.0-inputs.appkg"
#define PLAIN "tests/vectors/valid/v1.0-plain.appkg"
#define PASSWORD "golden-password"

static char dest[256];

static appkg_bindings *load(const char *json)
{
	appkg_bindings *b = appkg_bindings_new();

	if (b && appkg_bindings_load(b, json, strlen(json)))
		fprintf(stderr, "  bindings: %s\n", appkg_bindings_error(b));
	return b;
}

/* The file DEST/rel, NUL-terminated (malloc'd), or NULL. */
static char *slurp(const char *rel)
{
	char path[512], *text;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", dest, rel);
	if (!(f = fopen(path, "rb")))
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	text = malloc((size_t)n + 1);
	if (text && fread(text, 1, (size_t)n, f) == (size_t)n)
		text[n] = '\0';
	fclose(f);
	return text;
}

static unsigned mode_of(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dest, rel);
	return stat(path, &st) == 0 ? (unsigned)(st.st_mode & 07777) : 0;
}

static void remove_dest(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dest);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", dest);
}

static int extract(const char *path, appkg_bindings *b, const struct appkg_extract_options *base,
		   const char **message)
{
	static char saved[512];
	struct appkg_extract_options o = *base;
	appkg_reader *r = open_package(path);
	int rc;

	remove_dest(); /* what a failed test left */
	o.bindings = b;
	rc = appkg_extract(r, dest, &o);
	snprintf(saved, sizeof(saved), "%s", rc ? appkg_reader_error(r) : "");
	*message = saved;
	appkg_reader_free(r);
	return rc;
}

TEST(test_bound_tree)
{
	appkg_bindings *b = load("{\"environment\": \"prod-eu\", \"inputs\": {\"crm_host\": "
				 "\"db \\\"one\\\" \\\\ \\u00e9\\n\", \"tenant_host\": \"t.example\"}}");
	size_t left = 99;
	struct appkg_extract_options o = {.secrets_left = &left};
	const char *msg;
	char *crm, *query, *manifest;

	CHECK_EQ(extract(GOLDEN, b, &o, &msg), 0);
	crm = slurp("resources/datasources/crm.json");
	query = slurp("resources/queries/customers.json");
	manifest = slurp("manifest.json");
	CHECK(crm && query && manifest);
	harness_msg = crm;
	/* whole: the value's JSON text as ENV.json has it; embedded: re-encoded, UTF-8 raw */
	CHECK(strstr(crm, "\"host\": \"db \\\"one\\\" \\\\ \\u00e9\\n\","));
	CHECK(strstr(crm, "\"port\": 5432,"));
	CHECK(strstr(crm, "\"url\": \"postgres://db \\\"one\\\" \\\\ \xc3\xa9\\n:5432/crm\""));
	CHECK(strstr(crm, "\"password\": \"[[appkg:secret:CRM_DB_PASSWORD]]\""));
	CHECK(strstr(crm, "\"note\": \"[[appkg:input:crm_host]] is text, not a placeholder\""));
	CHECK(!strstr(crm, "\\u005b"));
	harness_msg = query;
	CHECK(strstr(query, "\"X-Host\": \"t.example\""));
	CHECK(strstr(query, "{{ inputs.term }}"));
	harness_msg = manifest;
	CHECK(strstr(manifest, "\"bound_for\": \"prod-eu\""));
	CHECK_EQ(left, 2);
	CHECK_EQ(mode_of("resources/datasources/crm.json"), 0644);
	CHECK_EQ(mode_of("manifest.json.minisig"), 0);
	free(crm);
	free(query);
	free(manifest);
	remove_dest();
	appkg_bindings_free(b);
}

TEST(test_bind_secrets)
{
	appkg_bindings *b = load("{\"inputs\": {\"crm_host\": \"h\", \"tenant_host\": \"t\"}}");
	size_t left = 99;
	struct appkg_extract_options o = {.password = PASSWORD, .password_len = strlen(PASSWORD),
					  .bind_secrets = 1, .secrets_left = &left};
	const char *msg;
	char *crm, *manifest;

	CHECK_EQ(extract(GOLDEN, b, &o, &msg), 0);
	crm = slurp("resources/datasources/crm.json");
	manifest = slurp("manifest.json");
	CHECK(crm && manifest);
	harness_msg = crm;
	CHECK(strstr(crm, "\"password\": \"golden-v2-db-secret-Kx4\""));
	CHECK_EQ(mode_of("resources/datasources/crm.json"), 0600);
	CHECK_EQ(mode_of("resources/queries/customers.json"), 0600);
	CHECK_EQ(mode_of("resources/pages/customers.json"), 0644);
	CHECK(strstr(manifest, "\"bound_for\": \"\""));
	CHECK_EQ(left, 0);
	free(crm);
	free(manifest);
	remove_dest();
	appkg_bindings_free(b);
}

TEST(test_unbound_writes_nothing)
{
	appkg_bindings *b = load("{\"inputs\": {\"region\": \"us\"}}");
	struct appkg_extract_options o = {0};
	const char *msg;

	CHECK_EQ(extract(GOLDEN, b, &o, &msg), APPKG_ERR_UNBOUND);
	harness_msg = msg;
	CHECK(strstr(msg, "input 'crm_host' is required (used by resources/datasources/crm.json)"));
	CHECK(strstr(msg, "input 'tenant_host' is required (used by "
			  "resources/queries/customers.json)"));
	CHECK(access(dest, F_OK) != 0);
	appkg_bindings_free(b);
}

TEST(test_bind_secrets_needs_password)
{
	appkg_bindings *b = load("{\"inputs\": {\"crm_host\": \"h\", \"tenant_host\": \"t\"}}");
	struct appkg_extract_options o = {.bind_secrets = 1};
	const char *msg;

	CHECK_EQ(extract(GOLDEN, b, &o, &msg), APPKG_ERR_NO_PASSWORD);
	CHECK(access(dest, F_OK) != 0);
	appkg_bindings_free(b);
}

/* Only the datasource: tenant_host, which the query uses, is not needed. */
TEST(test_selection_needs_only_its_inputs)
{
	const char *only[] = {"datasources/crm"};
	appkg_bindings *b = load("{\"inputs\": {\"tenant_host\": \"t\"}}");
	struct appkg_extract_options o = {.only = only, .only_count = 1};
	const char *msg;
	char *crm;

	CHECK_EQ(extract(GOLDEN, b, &o, &msg), APPKG_ERR_UNBOUND);
	harness_msg = msg;
	CHECK(strstr(msg, "'crm_host'") && !strstr(msg, "'tenant_host'"));
	appkg_bindings_free(b);
	b = load("{\"inputs\": {\"crm_host\": \"h\"}}");
	CHECK_EQ(extract(GOLDEN, b, &o, &msg), 0);
	crm = slurp("resources/datasources/crm.json");
	CHECK(crm && strstr(crm, "\"host\": \"h\""));
	free(crm);
	remove_dest();
	appkg_bindings_free(b);
}

/* A 1.0 package has no placeholders: its resources are written byte for byte. */
TEST(test_v1_written_as_it_is)
{
	appkg_bindings *b = load("{\"environment\": \"x\", \"inputs\": {\"unused\": 1}}");
	struct appkg_extract_options o = {0};
	appkg_reader *r = open_package(PLAIN);
	struct appkg_resource res;
	const void *data;
	size_t len;
	const char *msg;
	char *text, *manifest;

	CHECK(appkg_reader_resource_count(r) > 0);
	CHECK_EQ(appkg_reader_resource(r, 0, &res), 0);
	CHECK_EQ(appkg_reader_read(r, res.path, &data, &len), 0);
	CHECK_EQ(extract(PLAIN, b, &o, &msg), 0);
	text = slurp(res.path);
	manifest = slurp("manifest.json");
	CHECK(text && manifest && strlen(text) == len && !memcmp(text, data, len));
	CHECK(strstr(manifest, "\"bound_for\": \"x\""));
	free(text);
	free(manifest);
	appkg_reader_free(r);
	remove_dest();
	appkg_bindings_free(b);
}

int main(void)
{
	snprintf(dest, sizeof(dest), "/tmp/appkg-test-extract-bind-%d", (int)getpid());
	RUN(test_bound_tree);
	RUN(test_bind_secrets);
	RUN(test_unbound_writes_nothing);
	RUN(test_bind_secrets_needs_password);
	RUN(test_selection_needs_only_its_inputs);
	RUN(test_v1_written_as_it_is);
	remove_dest();
	return harness_total_failed != 0;
}
