/* SPDX-License-Identifier: MIT */
/*
 * The progress callbacks of writers and readers (appkg_writer_set_progress,
 * appkg_reader_set_progress) and appkg_secrets_kdf_level, through the public header only:
 * progress runs from nothing to the totals without going back, and the KDF preset of a
 * sealed blob is read back as it was chosen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

struct seen {
	int calls, backwards;
	uint64_t done, total;
	size_t members, members_total;
};

static void on_progress(void *ctx, uint64_t done, uint64_t total, size_t members,
			size_t members_total)
{
	struct seen *s = ctx;

	if (done < s->done || members < s->members || done > total || members > members_total)
		s->backwards = 1;
	s->calls++;
	s->done = done;
	s->total = total;
	s->members = members;
	s->members_total = members_total;
}

/* A package of n resources of 4 KiB in a temporary file, written with progress to s. */
static FILE *sample(int n, struct seen *s, uint64_t *payload)
{
	appkg_writer *w = appkg_writer_new();
	FILE *f = tmpfile();
	char name[32], body[4096];
	int rc;

	*payload = 0;
	appkg_writer_set_manifest(w, "{\"name\": \"progress\"}", 20);
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "item%03d", i);
		memset(body, ' ', sizeof(body));
		memcpy(body, "{\"n\": 1}", 8);
		body[sizeof(body) - 1] = '\n';
		appkg_writer_add_resource(w, "pages", name, body, sizeof(body));
		*payload += sizeof(body);
	}
	appkg_writer_set_progress(w, on_progress, s);
	rc = f ? appkg_writer_finish_fd(w, fileno(f)) : APPKG_ERR_IO;
	harness_msg = appkg_writer_error(w);
	appkg_writer_free(w);
	if (rc && f) {
		fclose(f);
		f = NULL;
	}
	return f;
}

TEST(test_writer_progress_reaches_totals)
{
	struct seen s = {0};
	uint64_t payload;
	FILE *f = sample(40, &s, &payload);

	CHECK(f != NULL);
	fclose(f);
	CHECK_EQ(s.backwards, 0);
	CHECK_EQ(s.calls, 41); /* the manifest, then each resource */
	CHECK_EQ(s.members, 41);
	CHECK_EQ(s.members_total, 41);
	CHECK_EQ(s.done, s.total);
	CHECK(s.total > payload); /* the resources and the manifest */
}

TEST(test_reader_progress_counts_sequential_reads)
{
	struct seen ws = {0}, rs = {0};
	uint64_t payload;
	FILE *f = sample(30, &ws, &payload);
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *data;
	int rc;

	CHECK(f != NULL && r != NULL);
	appkg_reader_set_progress(r, on_progress, &rs);
	CHECK_EQ(appkg_reader_open_fd(r, fileno(f)), 0);
	CHECK_EQ(rs.calls, 0); /* opening reads no member */
	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	CHECK_EQ(rc, 0);
	CHECK_EQ(rs.backwards, 0);
	CHECK_EQ(rs.members, appkg_reader_member_count(r));
	CHECK_EQ(rs.members_total, appkg_reader_member_count(r));
	CHECK_EQ(rs.done, rs.total);
	CHECK(rs.total == ws.total);
	appkg_reader_free(r);
	fclose(f);
}

TEST(test_progress_off)
{
	struct seen s = {0};
	uint64_t payload;
	FILE *f = sample(3, &s, &payload);
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *data;

	CHECK(f != NULL && r != NULL);
	appkg_reader_set_progress(r, on_progress, &s);
	appkg_reader_set_progress(r, NULL, NULL);
	s.calls = 0;
	CHECK_EQ(appkg_reader_open_fd(r, fileno(f)), 0);
	while (appkg_reader_next(r, &m, &data) == 1)
		;
	CHECK_EQ(s.calls, 0);
	appkg_reader_free(r);
	fclose(f);
}

TEST(test_kdf_level_read_back)
{
	static const char json[] = "{\"api_key\": \"x\"}";
	static const enum appkg_kdf_level levels[] = {APPKG_KDF_INTERACTIVE, APPKG_KDF_MODERATE};
	void *blob = NULL;
	size_t len;

	for (size_t i = 0; i < 2; i++) {
		CHECK_EQ(appkg_secrets_seal(json, strlen(json), "pw", 2, levels[i], NULL, 0, NULL,
					    &blob, &len), 0);
		CHECK_EQ(appkg_secrets_kdf_level(blob, len), levels[i]);
		free(blob);
		blob = NULL;
	}
	CHECK(appkg_secrets_kdf_level("not a blob", 10) < 0);
	CHECK(appkg_secrets_kdf_level(NULL, 0) < 0);
}

int main(void)
{
	RUN(test_writer_progress_reaches_totals);
	RUN(test_reader_progress_counts_sequential_reads);
	RUN(test_progress_off);
	RUN(test_kdf_level_read_back);
	return harness_total_failed != 0;
}
