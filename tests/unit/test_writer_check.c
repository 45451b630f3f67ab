/* SPDX-License-Identifier: MIT */
/*
 * The writer's manifest check (issue 10, items 3, 5 and 12): every problem of the user's
 * manifest reaches the problem handler in one call, an entry without its resource is refused
 * unless pruned and names the resource with its digest, a rejected resource is not "absent",
 * a carried signature is left out once the manifest changes, and appkg_secrets_decrypt checks
 * a password against a secrets.enc on its own.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

struct seen {
	int n, codes[16];
	char last[512];
};

static void collect(void *ctx, int code, const char *message)
{
	struct seen *s = ctx;

	if (s->n < 16)
		s->codes[s->n] = code;
	s->n++;
	snprintf(s->last, sizeof(s->last), "%s", message);
}

static int finish_to_null(appkg_writer *w)
{
	FILE *f = tmpfile();
	int rc = f ? appkg_writer_finish_fd(w, fileno(f)) : APPKG_ERR_IO;

	if (f)
		fclose(f);
	harness_msg = appkg_writer_error(w);
	return rc;
}

static const char renamed[] =
	"{\"name\": \"x\", \"resources\": [{\"path\": \"resources/q/a.json\", \"mode\": \"overwrite\","
	" \"digest\": \"%s\"}]}";

/* The manifest of a package holding resources/q/a.json = {} as the user wrote it, after a.json
 * was renamed b.json. */
static appkg_writer *renamed_writer(struct seen *s)
{
	appkg_writer *w = appkg_writer_new(), *first = appkg_writer_new();
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	char hex[65], man[512];
	FILE *f = tmpfile();
	size_t len;
	unsigned char *pkg;

	appkg_writer_set_manifest(first, "{\"name\": \"x\"}", 13);
	appkg_writer_add_resource(first, "q", "a", "{}", 2);
	appkg_writer_finish_fd(first, fileno(f));
	len = (size_t)lseek(fileno(f), 0, SEEK_END);
	pkg = malloc(len);
	if (pread(fileno(f), pkg, len, 0) == (ssize_t)len && appkg_reader_open_memory(r, pkg, len) == 0 &&
	    appkg_reader_find(r, "resources/q/a.json", &m) == 0)
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", m.digest[i]);
	snprintf(man, sizeof(man), renamed, hex);
	appkg_writer_set_manifest(w, man, strlen(man));
	appkg_writer_add_resource(w, "q", "b", "{}", 2);
	appkg_writer_set_problem_handler(w, collect, s);
	appkg_reader_free(r);
	appkg_writer_free(first);
	free(pkg);
	fclose(f);
	return w;
}

TEST(test_absent_entry_names_the_rename)
{
	struct seen s = {0};
	appkg_writer *w = renamed_writer(&s);

	CHECK_EQ(appkg_writer_check(w), APPKG_ERR_MEMBER_MISSING);
	CHECK_EQ(s.n, 1);
	CHECK(strstr(s.last, "resources/q/a.json: listed, but there is no such file; "
			     "resources/q/b.json has the same content") != NULL);
	CHECK_EQ(finish_to_null(w), APPKG_ERR_MEMBER_MISSING);
	appkg_writer_free(w);
}

TEST(test_prune_drops_absent_entries)
{
	struct seen s = {0};
	appkg_writer *w = renamed_writer(&s);

	CHECK_EQ(appkg_writer_set_prune(w, 1), 0);
	CHECK_EQ(appkg_writer_check(w), 0);
	CHECK_EQ(finish_to_null(w), 0);
	CHECK_EQ(s.n, 0);
	appkg_writer_free(w);
}

TEST(test_every_problem_reported)
{
	static const char man[] =
		"{\"name\": \"x\", \"description\": 1, \"resources\": ["
		"{\"path\": \"resources/q/a.json\", \"mode\": \"replace\", \"id\": 3,"
		" \"depends_on\": [\"q/none\", 7]},"
		"{\"path\": \"resources/q/bad.json\", \"depends_on\": [\"q/a\"]},"
		"{\"path\": \"resources/q/gone.json\"}, {\"mode\": \"create\"}, 5,"
		"{\"path\": \"resources/q/a.json\"}]}";
	struct seen s = {0};
	appkg_writer *w = appkg_writer_new();

	appkg_writer_set_problem_handler(w, collect, &s);
	CHECK_EQ(appkg_writer_set_manifest(w, man, strlen(man)), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "q", "a", "{}", 2), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "q", "bad", "[]", 2), APPKG_ERR_JSON_NOT_OBJECT);
	CHECK_EQ(appkg_writer_check(w), APPKG_ERR_MANIFEST_SCHEMA); /* the first: description */
	/* description, mode, id, q/none, 7, gone.json, no path, not an object, listed twice; the
	 * rejected bad.json is neither absent nor a dangling dependency */
	CHECK_EQ(s.n, 9);
	CHECK_EQ(s.codes[2], APPKG_ERR_IMPORT_MODE);
	CHECK_EQ(s.codes[3], APPKG_ERR_DEPENDENCY);
	CHECK_EQ(s.codes[5], APPKG_ERR_MEMBER_MISSING);
	CHECK(strstr(s.last, "listed twice") != NULL);
	appkg_writer_free(w);
}

TEST(test_bad_manifest_leaves_writer_usable)
{
	appkg_writer *w = appkg_writer_new();

	CHECK(appkg_writer_set_manifest(w, "{\"name\": ", 9) < 0);
	CHECK_EQ(appkg_writer_add_resource(w, "q", "a", "{}", 2), 0);
	CHECK(strstr(appkg_writer_error(w), "manifest.json") != NULL); /* the message is kept */
	appkg_writer_free(w);
}

TEST(test_stale_signature_left_out)
{
	static const char sig[] = "untrusted comment: x\nRWQAAAAAAAAAAA==\ntrusted comment: y\nAA==\n";
	appkg_writer *w = appkg_writer_new();
	const char *man = "{\"name\": \"x\"}";

	appkg_writer_set_manifest(w, man, strlen(man));
	appkg_writer_add_resource(w, "q", "a", "{}", 2);
	CHECK_EQ(appkg_writer_set_signature_blob(w, sig, strlen(sig)), 0);
	CHECK_EQ(finish_to_null(w), 0);
	CHECK_EQ(appkg_writer_signature_dropped(w), 1);
	appkg_writer_free(w);
}

TEST(test_secrets_decrypt_checks_password)
{
	static const char sec[] = "{\"TOKEN\": \"v\"}";
	appkg_writer *w = appkg_writer_new();
	const void *blob;
	size_t len, plen;
	char *plain, msg[256];

	appkg_writer_set_manifest(w, "{\"name\": \"x\"}", 13);
	CHECK_EQ(appkg_writer_secrets_blob(w, &blob, &len), APPKG_ERR_NOT_FOUND);
	CHECK_EQ(appkg_writer_set_secrets(w, sec, strlen(sec), "pw", 2, APPKG_KDF_INTERACTIVE, NULL, 0), 0);
	CHECK_EQ(appkg_writer_secrets_blob(w, &blob, &len), 0);
	CHECK_EQ(appkg_secrets_decrypt(blob, len, "pw", 2, &plain, &plen, msg), 0);
	CHECK(plen == strlen(sec) && memcmp(plain, sec, plen) == 0);
	appkg_secure_free(plain, plen);
	CHECK_EQ(appkg_secrets_decrypt(blob, len, "pq", 2, &plain, &plen, msg), APPKG_ERR_AUTH);
	CHECK(plain == NULL && strstr(msg, "wrong password") != NULL);
	appkg_writer_free(w);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_absent_entry_names_the_rename);
	RUN(test_prune_drops_absent_entries);
	RUN(test_every_problem_reported);
	RUN(test_bad_manifest_leaves_writer_usable);
	RUN(test_stale_signature_left_out);
	RUN(test_secrets_decrypt_checks_password);
	return harness_total_failed != 0;
}
