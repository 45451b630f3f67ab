/* SPDX-License-Identifier: MIT */
/*
 * The interface tools build on (issue 10), through the public header only: the resource
 * listing and the forms a resource is named in, extraction to a directory (all, a selection,
 * --force, a wrong password), problems as data, file signatures, sealed secrets, and a
 * signature checked without a trusted key.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

#define PLAIN "tests/vectors/valid/v1.0-plain.appkg"
#define SECRETS "tests/vectors/valid/v1.0-secrets.appkg"

static char tmp[256];

/* tmp/name, in one of 8 buffers used in turn: copy a path that must outlive 8 more calls. */
static const char *in_tmp(const char *name)
{
	static char path[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(path[k], sizeof(path[k]), "%s/%s", tmp, name);
	return path[k];
}

static appkg_reader *open_package(const char *path)
{
	appkg_reader *r = appkg_reader_new();

	if (r && appkg_reader_open_path(r, path)) {
		harness_msg = appkg_reader_error(r);
		fprintf(stderr, "  cannot open %s: %s\n", path, appkg_reader_error(r));
	}
	return r;
}

/* Entries of a directory, "." and ".." aside. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return d ? n : -1;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void remove_tree(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	if (system(cmd) != 0)
		fprintf(stderr, "  cannot remove %s\n", path);
}

TEST(test_resource_listing)
{
	appkg_reader *r = open_package(PLAIN);
	struct appkg_resource res;
	struct appkg_member m;

	CHECK_EQ(appkg_reader_resource_count(r), 4);
	CHECK_EQ(appkg_reader_resource(r, 3, &res), 0);
	CHECK(!strcmp(res.path, "resources/queries/get%2Fcustomers.json"));
	CHECK(!strcmp(res.type, "queries"));
	CHECK(!strcmp(res.name, "get/customers"));
	CHECK(!strcmp(res.file_name, "get%2Fcustomers"));
	CHECK(!strcmp(res.mode, "update"));
	CHECK(res.id && !strcmp(res.id, "q-17"));
	CHECK_EQ(res.depends_on_count, 1);
	CHECK(!strcmp(res.depends_on[0], "datasources/crm db"));
	CHECK_EQ(res.size, 80);
	CHECK_EQ(appkg_reader_find(r, res.path, &m), 0);
	CHECK(!memcmp(res.digest, m.digest, APPKG_DIGEST_BYTES));
	CHECK_EQ(appkg_reader_resource(r, 1, &res), 0);
	CHECK(!strcmp(res.name, "Kundenübersicht") && !strcmp(res.mode, "overwrite"));
	CHECK(res.id == NULL);
	CHECK_EQ(appkg_reader_resource(r, 4, &res), APPKG_ERR_NOT_FOUND);
	appkg_reader_free(r);
}

TEST(test_resource_find_forms)
{
	static const char *const forms[] = {"resources/queries/get%2Fcustomers.json",
					    "queries/get%2Fcustomers", "queries/get/customers"};
	appkg_reader *r = open_package(PLAIN);
	size_t i = 99;

	for (size_t k = 0; k < 3; k++) {
		i = 99;
		CHECK_EQ(appkg_reader_resource_find(r, forms[k], &i), 0);
		CHECK_EQ(i, 3);
	}
	CHECK_EQ(appkg_reader_resource_find(r, "pages/Kundenübersicht", &i), 0);
	CHECK_EQ(i, 1);
	CHECK_EQ(appkg_reader_resource_find(r, "queries/nope", &i), APPKG_ERR_NOT_FOUND);
	CHECK(strstr(appkg_reader_error(r), "queries/nope"));
	CHECK_EQ(appkg_reader_resource_find(r, "resources/queries/get%2Fcustomers", &i),
		 APPKG_ERR_NOT_FOUND);
	/* a miss does not fail the handle */
	CHECK(appkg_reader_meta(r, "name") && !strcmp(appkg_reader_meta(r, "name"), "golden-v1"));
	appkg_reader_free(r);
}

TEST(test_extract_all_and_force)
{
	const char *dest = in_tmp("all");
	struct appkg_extract_options force = {.force = 1};
	appkg_reader *r = open_package(PLAIN);
	int rc;

	CHECK_EQ(appkg_extract(r, dest, NULL), 0);
	appkg_reader_free(r);
	CHECK(exists(in_tmp("all/manifest.json")));
	CHECK(exists(in_tmp("all/resources/queries/get%2Fcustomers.json")));
	CHECK_EQ(count_entries(in_tmp("all/resources/pages")), 2);
	r = open_package(PLAIN);
	rc = appkg_extract(r, dest, NULL);
	appkg_reader_free(r);
	CHECK_EQ(rc, APPKG_ERR_EXISTS);
	r = open_package(PLAIN);
	rc = appkg_extract(r, dest, &force);
	appkg_reader_free(r);
	CHECK_EQ(rc, 0);
	CHECK_EQ(count_entries(tmp), 1); /* no temporary directory left beside it */
	remove_tree(dest);
}

/* Re-pack a selection directory through the writer, as appkg-pack does. */
static int repack(const char *dir, const char *out)
{
	appkg_writer *w = appkg_writer_new();
	char path[512], *manifest = NULL;
	size_t len = 0;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/manifest.json", dir);
	f = fopen(path, "r");
	if (!f || !(manifest = malloc(1 << 16)))
		return -1;
	len = fread(manifest, 1, 1 << 16, f);
	fclose(f);
	rc = appkg_writer_set_manifest(w, manifest, len);
	snprintf(path, sizeof(path), "%s/resources/queries/get%%2Fcustomers.json", dir);
	if (!rc)
		rc = appkg_writer_add_file(w, "queries", "get%2Fcustomers", path);
	snprintf(path, sizeof(path), "%s/resources/datasources/crm db.json", dir);
	if (!rc)
		rc = appkg_writer_add_file(w, "datasources", "crm db", path);
	if (!rc)
		rc = appkg_writer_finish_path(w, out);
	if (rc)
		fprintf(stderr, "  repack: %s\n", appkg_writer_error(w));
	appkg_writer_free(w);
	free(manifest);
	return rc;
}

TEST(test_extract_selection)
{
	const char *dest = in_tmp("sel"), *alone[] = {"queries/get/customers"};
	const char *both[] = {"queries/get/customers", "resources/datasources/crm db.json",
			      "queries/get%2Fcustomers"};
	struct appkg_extract_options o = {.only = alone, .only_count = 1};
	struct appkg_resource res;
	appkg_reader *r = open_package(PLAIN);
	int rc = appkg_extract(r, dest, &o);

	CHECK_EQ(rc, APPKG_ERR_INVALID_ARGUMENT); /* its dependency is not selected */
	CHECK(strstr(appkg_reader_error(r), "datasources/crm db"));
	appkg_reader_free(r);
	CHECK(!exists(dest));
	CHECK_EQ(count_entries(tmp), 0);
	o.only = both;
	o.only_count = 3;
	r = open_package(PLAIN);
	rc = appkg_extract(r, dest, &o);
	appkg_reader_free(r);
	CHECK_EQ(rc, 0);
	CHECK_EQ(count_entries(dest), 2); /* manifest.json, resources; no signature, no secrets */
	CHECK_EQ(count_entries(in_tmp("sel/resources")), 2);
	CHECK_EQ(repack(dest, in_tmp("sel.appkg")), 0);
	r = open_package(in_tmp("sel.appkg"));
	CHECK_EQ(appkg_reader_resource_count(r), 2);
	CHECK_EQ(appkg_reader_resource(r, 1, &res), 0);
	CHECK(!strcmp(res.mode, "update") && res.id && !strcmp(res.id, "q-17"));
	appkg_reader_free(r);
	remove_tree(dest);
	unlink(in_tmp("sel.appkg"));
}

TEST(test_extract_password)
{
	const char *dest = in_tmp("sec");
	struct appkg_extract_options o = {.password = "wrong", .password_len = 5};
	struct stat st;
	appkg_reader *r = open_package(SECRETS);
	int rc = appkg_extract(r, dest, &o);

	appkg_reader_free(r);
	CHECK_EQ(rc, APPKG_ERR_AUTH);
	CHECK_EQ(count_entries(tmp), 0); /* nothing written */
	o.password = "golden-password";
	o.password_len = strlen(o.password);
	r = open_package(SECRETS);
	rc = appkg_extract(r, dest, &o);
	appkg_reader_free(r);
	CHECK_EQ(rc, 0);
	CHECK(stat(in_tmp("sec/secrets.json"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(exists(in_tmp("sec/secrets.enc")));
	remove_tree(dest);
}

struct seen {
	int n;
	struct appkg_problem last;
	char member[256], detail[256];
};

static void collect(void *ctx, const struct appkg_problem *p)
{
	struct seen *s = ctx;

	s->n++;
	s->last = *p;
	snprintf(s->member, sizeof(s->member), "%s", p->member ? p->member : "(none)");
	snprintf(s->detail, sizeof(s->detail), "%s", p->detail);
}

TEST(test_problems_as_data)
{
	struct seen s = {0};
	struct appkg_problem p;
	struct appkg_member m;
	const void *data;
	appkg_reader *r = appkg_reader_new();
	int rc;

	appkg_reader_set_problem_callback(r, collect, &s);
	CHECK_EQ(appkg_reader_open_path(r, "tests/vectors/invalid/several_problems/package.appkg"), 0);
	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	CHECK_EQ(rc, 0);
	CHECK_EQ(s.n, 3);
	CHECK_EQ(s.last.code, APPKG_ERR_JSON_SYNTAX);
	CHECK(!strcmp(s.member, "resources/pages/bad.json"));
	CHECK_EQ(s.last.line, 1);
	CHECK_EQ(s.last.column, 7);
	CHECK(!strcmp(s.detail, "invalid token"));
	CHECK_EQ(appkg_extract(r, in_tmp("x"), NULL), APPKG_ERR_STATE); /* it would skip members */
	appkg_reader_free(r);

	r = appkg_reader_new();
	rc = appkg_reader_open_path(r, "tests/vectors/invalid/manifest_bit_flip/package.appkg");
	CHECK_EQ(appkg_reader_problem(r, rc, &p), APPKG_ERR_DIGEST_MISMATCH);
	CHECK(p.member && !strcmp(p.member, "manifest.json"));
	CHECK(!strcmp(p.detail, "digest mismatch") && p.line == 0);
	appkg_reader_free(r);
}

/* An unencrypted key pair in tmp (encrypting one costs seconds of scrypt). */
static int key_pair(void)
{
	if (exists(in_tmp("k.pub")))
		return 0;
	return appkg_keygen(in_tmp("k.pub"), in_tmp("k.sec"), NULL, 0, NULL);
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(test_sign_and_check_file)
{
	char file[512], missing[512], key_id[17], trusted[256];
	struct appkg_problem p;

	snprintf(file, sizeof(file), "%s", in_tmp("data.txt"));
	snprintf(missing, sizeof(missing), "%s", in_tmp("nosuch.sec"));
	CHECK_EQ(key_pair(), 0);
	CHECK_EQ(write_text(file, "hello\n"), 0);
	CHECK_EQ(appkg_sign_file(file, in_tmp("k.sec"), NULL, 0, NULL), 0);
	CHECK(exists(in_tmp("data.txt.minisig")));
	CHECK_EQ(appkg_check_file_signature(file, NULL, in_tmp("k.pub"), key_id, trusted), 0);
	CHECK_EQ(strlen(key_id), 16);
	CHECK(!strcmp(trusted, "file:data.txt"));
	CHECK_EQ(write_text(file, "hello, edited\n"), 0);
	CHECK_EQ(appkg_check_file_signature(file, NULL, in_tmp("k.pub"), key_id, trusted),
		 APPKG_ERR_SIGNATURE);
	CHECK_EQ(appkg_last_problem(&p), APPKG_ERR_SIGNATURE);
	CHECK(appkg_sign_file(file, missing, NULL, 0, NULL) < 0);
	CHECK(appkg_last_problem(&p) < 0);
	CHECK(p.member && !strcmp(p.member, missing));
	CHECK(strncmp(p.detail, missing, strlen(missing)) != 0);
	unlink(file);
	unlink(in_tmp("data.txt.minisig"));
}

TEST(test_seal_secrets)
{
	static const char json[] = "{\"db_password\": \"s3cret\"}";
	void *blob = NULL, *again = NULL;
	size_t len = 0, again_len = 0, plain_len = 0;
	appkg_writer *w = appkg_writer_new();
	appkg_reader *r;
	char *plain = NULL;
	int rc;

	CHECK_EQ(appkg_secrets_seal(json, strlen(json), "pw", 2, APPKG_KDF_INTERACTIVE, NULL, 0,
				    NULL, &blob, &len), 0);
	/* the previous blob's salt, parameters and package_id: the same bytes again */
	rc = appkg_secrets_seal(json, strlen(json), "pw", 2, APPKG_KDF_KEEP, blob, len, NULL, &again,
				&again_len);
	CHECK_EQ(rc, 0);
	CHECK(again_len == len && !memcmp(again, blob, len));
	CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"sealed\"}", 18), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "home", "{}", 2), 0);
	CHECK_EQ(appkg_writer_set_secrets_blob(w, blob, len), 0);
	CHECK_EQ(appkg_writer_finish_path(w, in_tmp("sealed.appkg")), 0);
	appkg_writer_free(w);
	r = open_package(in_tmp("sealed.appkg"));
	CHECK_EQ(appkg_reader_secrets(r, "pw", 2, &plain, &plain_len), 0);
	CHECK(plain_len == strlen(json) && !memcmp(plain, json, plain_len));
	appkg_secure_free(plain, plain_len);
	appkg_reader_free(r);
	free(blob);
	free(again);
	unlink(in_tmp("sealed.appkg"));
	CHECK_EQ(appkg_secrets_seal("[1]", 3, "pw", 2, APPKG_KDF_INTERACTIVE, NULL, 0, NULL, &blob,
				    &len), APPKG_ERR_SECRETS_JSON);
	CHECK_EQ(appkg_last_problem(&(struct appkg_problem){0}), APPKG_ERR_SECRETS_JSON);
	CHECK(blob == NULL);
}

TEST(test_signature_without_trusted_key)
{
	char key_id[17], again[17], trusted[256];
	appkg_writer *w = appkg_writer_new();
	appkg_reader *r;

	CHECK_EQ(key_pair(), 0);
	CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"signed\"}", 18), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "home", "{}", 2), 0);
	CHECK_EQ(appkg_writer_set_signing_key(w, in_tmp("k.sec"), NULL, 0), 0);
	CHECK_EQ(appkg_writer_finish_path(w, in_tmp("signed.appkg")), 0);
	appkg_writer_free(w);
	r = open_package(in_tmp("signed.appkg"));
	CHECK_EQ(appkg_reader_check_signature(r, key_id, trusted), 1);
	CHECK_EQ(strlen(key_id), 16);
	CHECK(appkg_reader_meta(r, "name") && !strcmp(appkg_reader_meta(r, "name"), "signed"));
	CHECK_EQ(appkg_reader_add_trusted_key(r, in_tmp("k.pub")), 0);
	CHECK_EQ(appkg_reader_check_signature(r, again, trusted), 0);
	CHECK(!strcmp(again, key_id));
	appkg_reader_free(r);
	unlink(in_tmp("signed.appkg"));
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "%s/appkg-api-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_resource_listing);
	RUN(test_resource_find_forms);
	RUN(test_extract_all_and_force);
	RUN(test_extract_selection);
	RUN(test_extract_password);
	RUN(test_problems_as_data);
	RUN(test_sign_and_check_file);
	RUN(test_seal_secrets);
	RUN(test_signature_without_trusted_key);
	unlink(in_tmp("k.pub"));
	unlink(in_tmp("k.sec"));
	remove_tree(tmp);
	return harness_total_failed != 0;
}
