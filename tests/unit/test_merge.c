/* SPDX-License-Identifier: MIT */
/*
 * Selections and merges through the public header only: the closure of a selection over a
 * package (appkg_reader_select) and over a package being written (appkg_writer_set_selection,
 * with a missing dependency naming both ends), and appkg_merge: conflicts as data, a
 * preference, and secrets of two packages sealed under one new password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

static char tmp[256];
static char pkg_chain[512], pkg_a[512], pkg_b[512];

/* A chain p/home -> q/mid -> q/base, and s/other off it. */
static const char chain_manifest[] =
	"{\"name\": \"chain\", \"resources\": ["
	"{\"path\": \"resources/p/home.json\", \"depends_on\": [\"q/mid\"], \"mode\": \"update\"},"
	"{\"path\": \"resources/q/mid.json\", \"depends_on\": [\"q/base\"]},"
	"{\"path\": \"resources/s/other.json\", \"depends_on\": [\"q/base\"]}]}";

static int add(appkg_writer *w, const char *type, const char *name, const char *json)
{
	return appkg_writer_add_resource(w, type, name, json, strlen(json));
}

static int write_chain(appkg_writer *w, const char *path, int with_base)
{
	if (appkg_writer_set_manifest(w, chain_manifest, strlen(chain_manifest)) ||
	    add(w, "p", "home", "{\"a\": 1}") || add(w, "q", "mid", "{\"b\": 1}") ||
	    (with_base && add(w, "q", "base", "{\"c\": 1}")) || add(w, "s", "other", "{\"d\": 1}"))
		return -1;
	return path ? appkg_writer_finish_path(w, path) : 0;
}

/* A package named name with p/home holding home, and secrets (or none). */
static int write_simple(const char *path, const char *name, const char *home, const char *secrets)
{
	appkg_writer *w = appkg_writer_new();
	char manifest[128];
	int rc;

	snprintf(manifest, sizeof(manifest), "{\"name\": \"%s\"}", name);
	rc = !w || appkg_writer_set_manifest(w, manifest, strlen(manifest)) ||
	     add(w, "p", "home", home) || add(w, "p", name, "{\"own\": true}") ||
	     (secrets && appkg_writer_set_secrets(w, secrets, strlen(secrets), "pw", 2,
						  APPKG_KDF_INTERACTIVE, NULL, 0)) ||
	     appkg_writer_finish_path(w, path);
	appkg_writer_free(w);
	return rc;
}

static appkg_reader *open_package(const char *path)
{
	appkg_reader *r = appkg_reader_new();

	if (r && appkg_reader_open_path(r, path))
		harness_msg = appkg_reader_error(r);
	return r;
}

TEST(test_reader_select_closure)
{
	appkg_reader *r = open_package(pkg_chain);
	const char *one[] = {"p/home"}, *bad[] = {"p/nosuch"};
	unsigned char chosen[8];
	struct appkg_resource res;
	size_t n = appkg_reader_resource_count(r), k = 0;

	CHECK_EQ(n, 4);
	CHECK_EQ(appkg_reader_select(r, one, 1, chosen), 3);
	for (size_t i = 0; i < n; i++) {
		CHECK(appkg_reader_resource(r, i, &res) == 0);
		k += chosen[i] && strcmp(res.type, "s") != 0;
		CHECK(chosen[i] == (strcmp(res.type, "s") != 0));
	}
	CHECK_EQ(k, 3);
	CHECK_EQ(appkg_reader_select(r, bad, 1, chosen), APPKG_ERR_NOT_FOUND);
	CHECK(strstr(appkg_reader_error(r), "p/nosuch") != NULL);
	CHECK_EQ(appkg_reader_select(r, one, 1, chosen), 3); /* still usable */
	appkg_reader_free(r);
}

TEST(test_writer_selection)
{
	appkg_writer *w = appkg_writer_new();
	const char *one[] = {"resources/p/home.json"};
	char out[600];
	appkg_reader *r;

	snprintf(out, sizeof(out), "%s/sel.appkg", tmp);
	CHECK(appkg_writer_set_selection(w, one, 1) == 0);
	CHECK(write_chain(w, out, 1) == 0);
	appkg_writer_free(w);
	r = open_package(out);
	CHECK_EQ(appkg_reader_resource_count(r), 3);
	appkg_reader_free(r);
}

TEST(test_writer_selection_missing_dependency)
{
	appkg_writer *w = appkg_writer_new();
	const char *one[] = {"p/home"};

	CHECK(appkg_writer_set_selection(w, one, 1) == 0);
	CHECK(write_chain(w, NULL, 0) == 0);
	CHECK_EQ(appkg_writer_check(w), APPKG_ERR_DEPENDENCY);
	harness_msg = appkg_writer_error(w);
	CHECK(strstr(harness_msg, "resources/q/mid.json") != NULL);
	CHECK(strstr(harness_msg, "q/base") != NULL);
	appkg_writer_free(w);
}

struct seen {
	int n;
	char names[4][64];
};

static void on_conflict(void *ctx, const struct appkg_conflict *c)
{
	struct seen *s = ctx;

	if (s->n < 4)
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s:%s:%zu:%zu", c->kind, c->name,
			 c->first, c->second);
	s->n++;
}

TEST(test_merge_conflicts_reported)
{
	appkg_reader *in[2] = {open_package(pkg_a), open_package(pkg_b)};
	appkg_writer *w = appkg_writer_new();
	const char *pws[2] = {"pw", "pw"};
	struct seen s = {0};
	struct appkg_merge_options o = {.passwords = pws, .new_password = "new",
					.new_password_len = 3, .kdf = APPKG_KDF_INTERACTIVE,
					.conflict_fn = on_conflict, .conflict_ctx = &s};

	CHECK_EQ(appkg_merge(w, in, 2, &o), APPKG_ERR_MERGE_CONFLICT);
	CHECK_EQ(s.n, 2);
	CHECK(!strcmp(s.names[0], "resource:home:0:1"));
	CHECK(!strcmp(s.names[1], "secret:K:0:1"));
	CHECK(strstr(appkg_writer_error(w), "2 conflicts") != NULL);
	appkg_writer_free(w);
	appkg_reader_free(in[0]);
	appkg_reader_free(in[1]);
}

TEST(test_merge_prefer_last_and_secrets)
{
	appkg_reader *in[2] = {open_package(pkg_a), open_package(pkg_b)}, *r;
	appkg_writer *w = appkg_writer_new();
	const char *pws[2] = {"pw", "pw"}, *data;
	struct appkg_merge_options o = {.prefer = APPKG_PREFER_LAST, .passwords = pws,
					.new_password = "new", .new_password_len = 3,
					.kdf = APPKG_KDF_INTERACTIVE, .version = "2"};
	char out[600], *plain = NULL;
	size_t len, plain_len;

	snprintf(out, sizeof(out), "%s/m.appkg", tmp);
	CHECK(appkg_merge(w, in, 2, &o) == 0);
	CHECK(appkg_writer_finish_path(w, out) == 0);
	appkg_writer_free(w);
	r = open_package(out);
	CHECK_EQ(appkg_reader_resource_count(r), 3);
	CHECK(appkg_reader_read_resource(r, "p", "home", (const void **)&data, &len) == 0);
	CHECK(len == 9 && !memcmp(data, "{\"h\": 2}\n", 9));
	CHECK(!strcmp(appkg_reader_meta(r, "name"), "a") && !strcmp(appkg_reader_meta(r, "version"), "2"));
	CHECK(appkg_reader_secrets(r, "new", 3, &plain, &plain_len) == 0);
	CHECK(strstr(plain, "\"K\": \"two\"") && strstr(plain, "\"ONLY_A\""));
	appkg_secure_free(plain, plain_len);
	appkg_reader_free(r);
	r = open_package(out); /* a failed decryption ends a handle */
	CHECK(appkg_reader_secrets(r, "pw", 2, &plain, &plain_len) == APPKG_ERR_AUTH);
	appkg_reader_free(r);
	appkg_reader_free(in[0]);
	appkg_reader_free(in[1]);
}

TEST(test_merge_two_sealed_need_passwords)
{
	appkg_reader *in[2] = {open_package(pkg_a), open_package(pkg_b)};
	appkg_writer *w = appkg_writer_new();

	CHECK_EQ(appkg_merge(w, in, 2, &(struct appkg_merge_options){.prefer = APPKG_PREFER_FIRST}),
		 APPKG_ERR_NO_PASSWORD);
	appkg_writer_free(w);
	appkg_reader_free(in[0]);
	appkg_reader_free(in[1]);
}

int main(void)
{
	appkg_writer *w;

	snprintf(tmp, sizeof(tmp), "%s/appkg-merge-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp))
		return 1;
	snprintf(pkg_chain, sizeof(pkg_chain), "%s/chain.appkg", tmp);
	snprintf(pkg_a, sizeof(pkg_a), "%s/a.appkg", tmp);
	snprintf(pkg_b, sizeof(pkg_b), "%s/b.appkg", tmp);
	w = appkg_writer_new();
	if (write_chain(w, pkg_chain, 1) ||
	    write_simple(pkg_a, "a", "{\"h\": 1}\n", "{\"K\": \"one\", \"ONLY_A\": \"x\"}") ||
	    write_simple(pkg_b, "b", "{\"h\": 2}\n", "{\"K\": \"two\"}")) {
		fprintf(stderr, "setup: %s\n", appkg_writer_error(w));
		return 1;
	}
	appkg_writer_free(w);
	RUN(test_reader_select_closure);
	RUN(test_writer_selection);
	RUN(test_writer_selection_missing_dependency);
	RUN(test_merge_conflicts_reported);
	RUN(test_merge_prefer_last_and_secrets);
	RUN(test_merge_two_sealed_need_passwords);
	unlink(pkg_chain);
	unlink(pkg_a);
	unlink(pkg_b);
	snprintf(pkg_a, sizeof(pkg_a), "%s/sel.appkg", tmp);
	unlink(pkg_a);
	snprintf(pkg_a, sizeof(pkg_a), "%s/m.appkg", tmp);
	unlink(pkg_a);
	rmdir(tmp);
	return harness_total_failed != 0;
}
