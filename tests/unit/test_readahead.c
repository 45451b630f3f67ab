/* SPDX-License-Identifier: MIT */
/*
 * appkg_reader_set_readahead: with the read-ahead on, random reads in package order and out of
 * it return the bytes they return without it, and a tampered member in a frame the read-ahead
 * prepares fails with the code and message it fails with without it, on every read, while its
 * neighbours read.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "appkg/appkg.h"
#include "harness.h"

static char dir[] = "/tmp/appkg-test-readahead-XXXXXX";
static char good[512], bad[512];
#define COUNT 240 /* resources of about 2 KiB: several frames of 128 KiB */

static void body(char *out, size_t cap, int i)
{
	int n = snprintf(out, cap, "{\"n\":%d,\"text\":\"", i);

	for (int k = 0; k < 2000; k++)
		out[n++] = (char)('a' + (i * 7 + k * 13) % 26);
	snprintf(out + n, cap - (size_t)n, "\"}");
}

static int write_package(void)
{
	appkg_writer *w = appkg_writer_new();
	static const char man[] = "{\"name\":\"ra\",\"version\":\"1.0\"}";
	char name[32], json[2100];
	int rc = appkg_writer_set_manifest(w, man, strlen(man));

	for (int i = 0; !rc && i < COUNT; i++) {
		snprintf(name, sizeof(name), "r%03d", i);
		body(json, sizeof(json), i);
		rc = appkg_writer_add_resource(w, "pages", name, json, strlen(json));
	}
	if (!rc)
		rc = appkg_writer_finish_path(w, good);
	appkg_writer_free(w);
	return rc;
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *all = NULL;
	long size;

	if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (all = malloc((size_t)size)) && fread(all, 1, (size_t)size, f) != (size_t)size) {
		free(all);
		all = NULL;
	}
	if (f)
		fclose(f);
	*len = all ? (size_t)size : 0;
	return all;
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* bad: good with data frame 3 decoded, one letter of its first member's text changed (the
 * member then fails its digest, its frame still decodes and tiles) and compressed again, with
 * the new size in the seek table (spec §3.2: the last 9 bytes count the entries before them). */
static int write_tampered(void)
{
	size_t len, plain_len, out_len, csz[64], off = 0, n;
	unsigned char *all = slurp(good, &len), *plain = NULL, *again = NULL;
	uint32_t count = all ? le32(all + len - 9) : 0;
	const unsigned char *table;
	int rc = -1;
	FILE *f;

	if (!all || count < 6 || count > 64)
		goto out;
	table = all + len - 9 - 8 * count;
	for (uint32_t i = 0; i < count; i++)
		csz[i] = le32(table + 8 * i);
	for (int i = 0; i < 3; i++)
		off += csz[i];
	plain_len = le32(table + 8 * 3 + 4);
	plain = malloc(plain_len);
	again = malloc(ZSTD_compressBound(plain_len));
	if (!plain || !again || ZSTD_decompress(plain, plain_len, all + off, csz[3]) != plain_len)
		goto out;
	plain[512 + 20] = plain[512 + 20] == 'q' ? 'z' : 'q'; /* inside the first member's text */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1);
	out_len = ZSTD_compress2(c, again, ZSTD_compressBound(plain_len), plain, plain_len);
	ZSTD_freeCCtx(c);
	if (ZSTD_isError(out_len) || !(f = fopen(bad, "wb")))
		goto out;
	n = fwrite(all, 1, off, f) + fwrite(again, 1, out_len, f);
	unsigned char *rest = all + off + csz[3];
	size_t rest_len = len - off - csz[3];
	size_t entry = (size_t)(table - rest) + 8 * 3;
	rest[entry] = (unsigned char)out_len;
	rest[entry + 1] = (unsigned char)(out_len >> 8);
	rest[entry + 2] = (unsigned char)(out_len >> 16);
	rest[entry + 3] = (unsigned char)(out_len >> 24);
	n += fwrite(rest, 1, rest_len, f);
	rc = fclose(f) == 0 && n == off + out_len + rest_len ? 0 : -1;
out:
	free(all);
	free(plain);
	free(again);
	return rc;
}

static int same_reads(const char *path, int order_step, int threads)
{
	appkg_reader *plain = appkg_reader_new(), *ahead = appkg_reader_new();
	int ok = plain && ahead && !appkg_reader_open_path(plain, path) &&
		 !appkg_reader_open_path(ahead, path) && !appkg_reader_set_readahead(ahead, threads);

	for (int k = 0; ok && k < COUNT; k++) {
		int i = (k * order_step) % COUNT;
		char p[64];
		const void *a, *b;
		size_t alen, blen;
		snprintf(p, sizeof(p), "resources/pages/r%03d.json", i);
		int ra = appkg_reader_read(plain, p, &a, &alen);
		char amsg[1024];
		snprintf(amsg, sizeof(amsg), "%s", ra ? appkg_reader_error(plain) : "");
		usleep(1000); /* time for the read-ahead to prepare the next frame */
		int rb = appkg_reader_read(ahead, p, &b, &blen);
		if (ra != rb || (ra == 0 && (alen != blen || memcmp(a, b, alen))) ||
		    (ra != 0 && strcmp(amsg, appkg_reader_error(ahead)))) {
			fprintf(stderr, "  %s: %d '%s' without read-ahead, %d '%s' with\n", p, ra, amsg,
				rb, rb ? appkg_reader_error(ahead) : "");
			ok = 0;
		}
	}
	appkg_reader_free(plain);
	appkg_reader_free(ahead);
	return ok;
}

TEST(in_order_same_bytes)
{
	CHECK(same_reads(good, 1, 1));
	CHECK(same_reads(good, 1, 3));
}

TEST(out_of_order_same_bytes)
{
	CHECK(same_reads(good, 97, 1)); /* 97 and 240 have no common factor: every member once */
	CHECK(same_reads(good, 97, 3));
}

TEST(tampered_member_same_failure_every_read)
{
	appkg_reader *r = appkg_reader_new();
	char tampered[64] = "";
	const void *d;
	size_t len;
	int bads = 0;

	CHECK(same_reads(bad, 1, 1));
	CHECK(same_reads(bad, 1, 3));
	CHECK(r && !appkg_reader_open_path(r, bad) && !appkg_reader_set_readahead(r, 1));
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < COUNT; i++) { /* in order: the read-ahead prepares each next frame */
			char p[64];
			int rc;
			snprintf(p, sizeof(p), "resources/pages/r%03d.json", i);
			rc = appkg_reader_read(r, p, &d, &len);
			usleep(1000);
			bads += rc != 0;
			CHECK(rc == 0 || rc == APPKG_ERR_DIGEST_MISMATCH);
			if (rc)
				snprintf(tampered, sizeof(tampered), "%s", p);
		}
	}
	CHECK(bads == 2); /* one member, failed on each of the two passes */
	CHECK(appkg_reader_set_readahead(r, 0) == 0);
	CHECK(appkg_reader_read(r, tampered, &d, &len) == APPKG_ERR_DIGEST_MISMATCH);
	appkg_reader_free(r);
}

/* Sequential reading: every member's bytes and every problem, code and message, in order. */
struct trail {
	char text[16384];
	size_t len;
};

static void note(struct trail *t, const char *fmt, const char *a, long n)
{
	int k = snprintf(t->text + t->len, sizeof(t->text) - t->len, fmt, a, n);

	if (k > 0 && (size_t)k < sizeof(t->text) - t->len)
		t->len += (size_t)k;
}

static void on_problem(void *ctx, const struct appkg_problem *p)
{
	note(ctx, "problem %s %ld\n", p->message ? p->message : "", p->code);
}

static int walk(const char *path, int threads, struct trail *t)
{
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *data;
	int rc = -1;

	if (!r)
		return -1;
	appkg_reader_set_problem_callback(r, on_problem, t);
	if (!appkg_reader_open_path(r, path) && !appkg_reader_set_readahead(r, threads)) {
		while ((rc = appkg_reader_next(r, &m, &data)) == 1)
			note(t, "%s %ld\n", m.path, (long)m.size + ((const char *)data)[m.size / 2]);
	}
	appkg_reader_free(r);
	return rc;
}

TEST(sequential_same_members_and_problems)
{
	static struct trail plain, ahead;
	const char *paths[] = {good, bad};

	for (int i = 0; i < 2; i++) {
		for (int threads = 1; threads <= 4; threads += 3) {
			plain.len = ahead.len = 0;
			CHECK(walk(paths[i], 0, &plain) == walk(paths[i], threads, &ahead));
			CHECK(plain.len > 1000 && plain.len < sizeof(plain.text) - 1);
			CHECK(plain.len == ahead.len && !memcmp(plain.text, ahead.text, plain.len));
			CHECK((strstr(plain.text, "digest mismatch") != NULL) == (i == 1));
		}
	}
}

int main(void)
{
	if (!mkdtemp(dir))
		return 1;
	snprintf(good, sizeof(good), "%s/good.appkg", dir);
	snprintf(bad, sizeof(bad), "%s/bad.appkg", dir);
	if (write_package() || write_tampered()) {
		fprintf(stderr, "cannot write the test packages\n");
		return 1;
	}
	RUN(in_order_same_bytes);
	RUN(out_of_order_same_bytes);
	RUN(sequential_same_members_and_problems);
	RUN(tampered_member_same_failure_every_read);
	unlink(good);
	unlink(bad);
	rmdir(dir);
	return harness_total_failed != 0;
}
