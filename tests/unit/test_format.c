/* SPDX-License-Identifier: MIT */
/* Unit tests of libappkg: names, canonical tar, JSON limits, secrets, writer and reader. */
#include <sodium.h>
#include <unistd.h>

#include "../../format/internal.h"
#include "harness.h"

/* Finish a writer into memory. */
static unsigned char *finish_to_memory(appkg_writer *w, size_t *len)
{
	FILE *f = tmpfile();
	unsigned char *p;
	long n;

	if (!f || appkg_writer_finish_fd(w, fileno(f)) != 0) {
		harness_msg = appkg_writer_error(w);
		return NULL;
	}
	n = lseek(fileno(f), 0, SEEK_END);
	p = malloc((size_t)n);
	if (p && pread(fileno(f), p, (size_t)n, 0) != n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

static appkg_writer *sample_writer(int n_resources)
{
	appkg_writer *w = appkg_writer_new();
	char name[32], body[64];

	appkg_writer_set_manifest(w, "{\"name\": \"sample\"}", 18);
	for (int i = 0; i < n_resources; i++) {
		snprintf(name, sizeof(name), "item %03d", i);
		snprintf(body, sizeof(body), "{\"n\": %d, \"pad\": \"%040d\"}\n", i, i);
		appkg_writer_add_resource(w, i % 2 ? "pages" : "queries", name, body, strlen(body));
	}
	return w;
}

TEST(test_name_encode_decode)
{
	static const char *const cases[][2] = {
		{"Sales & Ops Q3", "Sales & Ops Q3"}, {"get/users", "get%2Fusers"},
		{".hidden", "%2Ehidden"},             {"a:b", "a%3Ab"},
		{"100%", "100%25"},                   {"end. ", "end.%20"},
		{"Straße", "Straße"},                 {"x\x7fy", "x%7Fy"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *enc = appkg_name_encode(cases[i][0]), *dec;
		CHECK(enc != NULL);
		harness_msg = cases[i][0];
		CHECK(strcmp(enc, cases[i][1]) == 0);
		CHECK_EQ(appkg_name_check(enc, APPKG_MAX_NAME_BYTES), 0);
		dec = appkg_name_decode(enc);
		CHECK(dec && strcmp(dec, cases[i][0]) == 0);
		free(enc);
		free(dec);
	}
}

TEST(test_name_rules_reject)
{
	CHECK_EQ(appkg_name_check("", 200), APPKG_ERR_NAME_LENGTH);
	CHECK_EQ(appkg_name_check("..", 200), APPKG_ERR_NAME_CHAR);
	CHECK_EQ(appkg_name_check(".x", 200), APPKG_ERR_NAME_CHAR);
	CHECK_EQ(appkg_name_check("a/b", 200), APPKG_ERR_NAME_CHAR);
	CHECK_EQ(appkg_name_check("a\\b", 200), APPKG_ERR_NAME_CHAR);
	CHECK_EQ(appkg_name_check("a%2fb", 200), APPKG_ERR_NAME_CHAR);   /* lowercase hex */
	CHECK_EQ(appkg_name_check("a%41", 200), APPKG_ERR_NAME_CHAR);    /* needless escape */
	CHECK_EQ(appkg_name_check("a%00", 200), APPKG_ERR_NAME_CHAR);    /* NUL */
	CHECK_EQ(appkg_name_check("a\nb", 200), APPKG_ERR_NAME_CHAR);    /* control */
	CHECK_EQ(appkg_name_check("a\xe2\x80\xae" "b", 200), APPKG_ERR_NAME_CHAR); /* bidi override */
	CHECK_EQ(appkg_name_check("Cafe\xcc\x81", 200), APPKG_ERR_NAME_NFC);
	CHECK_EQ(appkg_name_check("\xff", 200), APPKG_ERR_NAME_UTF8);
	CHECK_EQ(appkg_name_check("abcdef", 5), APPKG_ERR_NAME_LENGTH);
}

/* The message of a bad escape names it; a '%' followed by no hex digit once made the message
 * code shift -1 (UBSan in make asan; found by fuzz_names). */
TEST(test_name_bad_escape_message)
{
	static const char *const paths[] = {"resources/t/a%zz.json", "resources/t/a%G1.json",
					    "resources/t/a%.json", "resources/t/%4.json"};

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct appkg_err e = {0};
		harness_msg = paths[i];
		CHECK_EQ(member_path_check(paths[i], strlen(paths[i]), &e), APPKG_ERR_NAME_CHAR);
		CHECK(strstr(e.msg, "bad escape") != NULL);
	}
}

TEST(test_name_collisions)
{
	struct appkg_err e = {0};
	const char *ok[] = {"resources/a/x.json", "resources/a/y.json"};
	const char *ascii[] = {"resources/a/Home.json", "resources/a/home.json"};
	const char *fold[] = {"resources/a/STRASSE.json", "resources/a/straße.json"};
	const char *kelvin[] = {"resources/a/k.json", "resources/a/\xe2\x84\xaa.json"}; /* U+212A */

	CHECK_EQ(names_check_collisions(ok, 2, &e), 0);
	CHECK_EQ(names_check_collisions(ascii, 2, &e), APPKG_ERR_NAME_COLLISION);
	e.code = 0;
	CHECK_EQ(names_check_collisions(fold, 2, &e), APPKG_ERR_NAME_COLLISION);
	e.code = 0;
	CHECK_EQ(names_check_collisions(kelvin, 2, &e), APPKG_ERR_NAME_COLLISION);
}

TEST(test_tar_round_trip_and_pax)
{
	const char *paths[] = {"resources/pages/home.json", "resources/pages/Kundenübersicht.json",
			       "resources/queries/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json"};
	for (int i = 0; i < 3; i++) {
		struct buf b = {0};
		struct tar_entry t;
		struct appkg_err e = {0};
		CHECK_EQ(tar_put_header(&b, paths[i], 5, 0), 0);
		buf_append(&b, "{}\n\n\n", 5);
		tar_put_padding(&b, 5);
		CHECK_EQ(b.len, tar_entry_bytes(paths[i], 5));
		CHECK_EQ(b.len, i == 0 ? 1024 : 2048); /* pax header for unicode and long names */
		CHECK_EQ(tar_parse_entry(b.data, b.len, &t, &e), 0);
		CHECK(strcmp(t.path, paths[i]) == 0);
		CHECK_EQ(t.size, 5);
		CHECK_EQ(t.total, b.len);
		buf_free(&b);
	}
}

TEST(test_tar_rejects_non_canonical)
{
	struct buf b = {0};
	struct tar_entry t;
	struct appkg_err e = {0};

	tar_put_header(&b, "resources/pages/home.json", 0, 0);
	b.data[156] = '2'; /* symlink: checksum now wrong */
	CHECK_EQ(tar_parse_entry(b.data, b.len, &t, &e), APPKG_ERR_TAR_CHECKSUM);
	b.len = 0;
	tar_put_header(&b, "resources/pages/home.json", 0, 0);
	b.data[103] = '4'; /* mode 0000644 -> 0004644 (setuid), checksum fixed below */
	b.data[103] = '0' + 4;
	{
		unsigned sum = 0;
		memset(b.data + 148, ' ', 8);
		for (int i = 0; i < 512; i++)
			sum += b.data[i];
		snprintf((char *)b.data + 148, 8, "%06o", sum);
		b.data[155] = ' ';
	}
	e.code = 0;
	CHECK_EQ(tar_parse_entry(b.data, b.len, &t, &e), APPKG_ERR_TAR_HEADER);
	buf_free(&b);
}

TEST(test_json_limits)
{
	struct appkg_err e = {0};
	size_t depth = 100000;
	char *deep = malloc(2 * depth + 6);

	memcpy(deep, "{\"a\":", 5);
	memset(deep + 5, '[', depth);
	memset(deep + 5 + depth, ']', depth);
	deep[5 + 2 * depth] = '}';
	CHECK_EQ(json_check_resource(deep, 2 * depth + 6, &e, "deep"), APPKG_ERR_JSON_DEPTH);
	free(deep);
}

/* sizeof, not strlen: one case has a NUL byte in it */
#define JSON_CASE(text, code) {text, sizeof(text) - 1, code}

TEST(test_json_rules)
{
	static const struct {
		const char *text;
		size_t len;
		int code;
	} cases[] = {
		JSON_CASE("{\"a\": [1, {\"b\": null}]}", 0),
		JSON_CASE("{\"a\":1,\"a\":2}", APPKG_ERR_JSON_DUPLICATE),
		JSON_CASE("{\"a\":1,\"\\u0061\":2}", APPKG_ERR_JSON_DUPLICATE), /* escaped duplicate */
		JSON_CASE("[1]", APPKG_ERR_JSON_NOT_OBJECT),
		JSON_CASE("{\"a\":1} x", APPKG_ERR_JSON_SYNTAX),         /* trailing data */
		JSON_CASE("{\"a\":01}", APPKG_ERR_JSON_SYNTAX),          /* leading zero */
		JSON_CASE("{\"a\":\"\\ud800\"}", APPKG_ERR_JSON_SYNTAX),   /* lone surrogate */
		JSON_CASE("{\"a\":\"\xff\"}", APPKG_ERR_JSON_SYNTAX),       /* not UTF-8 */
		/* found by fuzz_json: Jansson accepts a NUL between tokens, RFC 8259 does not */
		JSON_CASE("{\"a\":0\0}", APPKG_ERR_JSON_SYNTAX),
	};
	struct appkg_err e = {0};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e.code = 0;
		harness_msg = cases[i].text;
		CHECK_EQ(json_check_resource(cases[i].text, cases[i].len, &e, "case"), cases[i].code);
	}
	e.code = 0;
	CHECK_EQ(json_check_resource("{\"a\":\n}", 7, &e, "bad"), APPKG_ERR_JSON_SYNTAX);
	CHECK(strstr(e.msg, "line 2") != NULL);
}

TEST(test_secrets_round_trip_and_determinism)
{
	struct appkg_err e = {0};
	struct buf a = {0}, b = {0};
	struct secrets_header h;
	const char *plain = "{\"DB_PASSWORD\": \"hunter2\"}";
	char *out = NULL;
	size_t out_len = 0;

	CHECK_EQ(secrets_encrypt(&a, plain, strlen(plain), "pw", 2, APPKG_KDF_INTERACTIVE, NULL,
				 "pkg-1", &e), 0);
	CHECK_EQ(secrets_parse_header(a.data, a.len, &h, &e), 0);
	CHECK(strcmp(h.package_id, "pkg-1") == 0);
	CHECK(memmem(a.data, a.len, "hunter2", 7) == NULL);
	/* same salt, password and plaintext: the same bytes */
	CHECK_EQ(secrets_encrypt(&b, plain, strlen(plain), "pw", 2, APPKG_KDF_KEEP, &h, "pkg-1", &e), 0);
	CHECK_EQ(a.len, b.len);
	CHECK(memcmp(a.data, b.data, a.len) == 0);
	CHECK_EQ(secrets_decrypt(a.data, a.len, "pw", 2, &out, &out_len, &e), 0);
	CHECK(out_len == strlen(plain) && memcmp(out, plain, out_len) == 0);
	appkg_secure_free(out, out_len);
	CHECK_EQ(secrets_decrypt(a.data, a.len, "wrong", 5, &out, &out_len, &e), APPKG_ERR_AUTH);
	e.code = 0;
	a.data[a.len - 1] ^= 1; /* tampered ciphertext */
	CHECK_EQ(secrets_decrypt(a.data, a.len, "pw", 2, &out, &out_len, &e), APPKG_ERR_AUTH);
	buf_free(&a);
	buf_free(&b);
}

TEST(test_secrets_kdf_bounds_checked_first)
{
	struct appkg_err e = {0};
	struct buf a = {0};
	char *out;
	size_t out_len;

	CHECK_EQ(secrets_encrypt(&a, "{}", 2, "pw", 2, APPKG_KDF_INTERACTIVE, NULL, "p", &e), 0);
	put_le64(a.data + 12, 1ull << 40); /* opslimit: hours of Argon2id */
	CHECK_EQ(secrets_decrypt(a.data, a.len, "pw", 2, &out, &out_len, &e), APPKG_ERR_KDF_PARAMS);
	e.code = 0;
	put_le64(a.data + 12, 2);
	put_le64(a.data + 20, 1024); /* memlimit below INTERACTIVE */
	CHECK_EQ(secrets_decrypt(a.data, a.len, "pw", 2, &out, &out_len, &e), APPKG_ERR_KDF_PARAMS);
	buf_free(&a);
}

TEST(test_writer_reader_round_trip)
{
	appkg_writer *w = sample_writer(300);
	appkg_reader *r = appkg_reader_new();
	size_t len, n = 0, rlen;
	unsigned char *pkg = finish_to_memory(w, &len);
	struct appkg_member m;
	const void *data;

	CHECK(pkg != NULL);
	harness_msg = appkg_reader_error(r);
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	CHECK(strcmp(appkg_reader_meta(r, "name"), "sample") == 0);
	CHECK_EQ(appkg_reader_member_count(r), 301);
	while (appkg_reader_next(r, &m, &data) == 1)
		n++;
	CHECK_EQ(n, 301);
	CHECK(strcmp(appkg_reader_error(r), "") == 0);
	CHECK_EQ(appkg_reader_read_resource(r, "pages", "item 001", &data, &rlen), 0);
	CHECK(rlen > 10 && memcmp(data, "{\"n\": 1,", 8) == 0);
	CHECK_EQ(appkg_reader_read_resource(r, "pages", "nope", &data, &rlen), APPKG_ERR_NOT_FOUND);
	appkg_reader_free(r);
	appkg_writer_free(w);
	free(pkg);
}

TEST(test_writer_deterministic_across_threads)
{
	appkg_writer *a = sample_writer(500), *b = sample_writer(500);
	size_t la, lb;
	unsigned char *pa, *pb;

	appkg_writer_set_threads(b, 4);
	pa = finish_to_memory(a, &la);
	pb = finish_to_memory(b, &lb);
	CHECK(pa && pb);
	CHECK_EQ(la, lb);
	CHECK(memcmp(pa, pb, la) == 0);
	appkg_writer_free(a);
	appkg_writer_free(b);
	free(pa);
	free(pb);
}

static int memory_read(void *ctx, void *buf, size_t len, uint64_t off, struct appkg_err *e)
{
	memcpy(buf, (const unsigned char *)ctx + off, len);
	(void)e;
	return 0;
}

TEST(test_random_access_reads_one_frame)
{
	appkg_writer *w = sample_writer(2000);
	appkg_reader *r = appkg_reader_new(), *seq = appkg_reader_new();
	size_t len, rlen;
	unsigned char *pkg = finish_to_memory(w, &len);
	struct appkg_member m;
	struct container c;
	struct appkg_err e = {0};
	const void *data;

	CHECK(pkg != NULL);
	CHECK_EQ(container_open(&c, memory_read, pkg, len, &e), 0);
	CHECK(c.nframes > 10);
	/* damage frame 1; member 1500 lives in a later frame and must still read */
	pkg[c.frames[1].offset + c.frames[1].csize / 2] ^= 0x55;
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	CHECK_EQ(appkg_reader_member(r, 1500, &m), 0);
	CHECK(m.frame > 1);
	CHECK_EQ(appkg_reader_read(r, m.path, &data, &rlen), 0);
	CHECK_EQ(rlen, m.size);
	/* a full sequential read does reach frame 1 and fails there */
	CHECK_EQ(appkg_reader_open_memory(seq, pkg, len), 0);
	while (appkg_reader_next(seq, &m, &data) == 1)
		;
	harness_msg = appkg_reader_error(seq);
	CHECK(strstr(appkg_reader_error(seq), "frame 1") != NULL);
	container_free(&c);
	appkg_reader_free(r);
	appkg_reader_free(seq);
	appkg_writer_free(w);
	free(pkg);
}

/* A manifest loaded against the package's index: each path the index holds is the index's
 * string, not a copy; the others are copies; and the outcome is manifest_load's, good or bad. */
TEST(test_manifest_paths_shared_with_index)
{
	appkg_writer *w = sample_writer(300);
	appkg_reader *r = appkg_reader_new();
	struct manifest a, b;
	struct container c, half;
	struct appkg_err ea = {0}, eb = {0};
	const char *json;
	char *bad;
	size_t len, mlen, from;
	unsigned char *pkg = finish_to_memory(w, &len);

	CHECK(pkg != NULL);
	CHECK_EQ(container_open(&c, memory_read, pkg, len, &ea), 0);
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	CHECK_EQ(appkg_reader_manifest(r, &json, &mlen), 0);
	CHECK_EQ(manifest_load(&a, json, mlen, &ea), 0);
	CHECK_EQ(manifest_load_indexed(&b, json, mlen, &c, &eb), 0);
	CHECK_EQ(b.nres, 300);
	CHECK_EQ(a.nres, b.nres);
	for (size_t i = 0; i < b.nres; i++) {
		CHECK(strcmp(a.res[i].path, b.res[i].path) == 0);
		CHECK(b.res[i].path >= c.names && b.res[i].path < c.names + len);
		CHECK_EQ(a.res[i].size, b.res[i].size);
		CHECK(memcmp(a.res[i].digest, b.res[i].digest, APPKG_DIGEST_BYTES) == 0);
	}
	manifest_free(&b);
	/* an index that holds only the first half: the rest are the manifest's own copies */
	half = c;
	half.nentries = c.nentries / 2;
	from = 0;
	CHECK_EQ(manifest_load_indexed(&b, json, mlen, &half, &eb), 0);
	CHECK_EQ(a.nres, b.nres);
	for (size_t i = 0; i < b.nres; i++) {
		int shared = b.res[i].path >= c.names && b.res[i].path < c.names + len;
		CHECK(strcmp(a.res[i].path, b.res[i].path) == 0);
		if (!shared && !from)
			from = i;
		CHECK(shared == (from == 0)); /* shared up to the cut, copies after it */
	}
	CHECK(from > 0);
	manifest_free(&b);
	/* out of order: the same failure either way */
	bad = strdup(json);
	CHECK(bad != NULL);
	memcpy(strstr(bad, "resources/pages/item 001"), "resources/pages/item 999", 24);
	CHECK(manifest_load(&b, bad, mlen, &ea) != 0);
	manifest_free(&b);
	CHECK(manifest_load_indexed(&b, bad, mlen, &c, &eb) != 0);
	manifest_free(&b);
	CHECK_EQ(ea.code, eb.code);
	harness_msg = eb.msg;
	CHECK(strcmp(ea.msg, eb.msg) == 0);
	free(bad);
	manifest_free(&a);
	container_free(&c);
	appkg_reader_free(r);
	appkg_writer_free(w);
	free(pkg);
}

/* manifest_read runs on bytes whose validation is not known yet (the reader's open validates
 * beside it): on bytes that are no JSON value it must still end. The first hung in skip_value
 * (found by fuzz_manifest); an alarm turns a hang into a failure. */
TEST(test_manifest_read_ends_on_any_bytes)
{
	static const char *const cases[] = {
		"{\"resources\": [{\"x\": [1 X]}]}",
		"{\"resources\": [{\"x\": {\"a\": \x01}}]}",
		"{\"resources\": [{\"x\": }]}",
		"{\"resources\": [{\"x\": [[[}",
	};
	struct manifest m;
	struct appkg_err e;

	alarm(10);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = (struct appkg_err){0};
		manifest_read(&m, cases[i], strlen(cases[i]), NULL, &e);
		manifest_free(&m);
		e = (struct appkg_err){0};
		CHECK(manifest_load(&m, cases[i], strlen(cases[i]), &e) != 0);
		manifest_free(&m);
	}
	alarm(0);
}

TEST(test_unknown_fields_kept_newer_minor_opens)
{
	appkg_writer *w = appkg_writer_new();
	appkg_reader *r = appkg_reader_new();
	const char *man = "{\"name\": \"x\", \"format_version\": \"1.7\", \"x-future\": {\"k\": [1, 2]},"
			  " \"resources\": [{\"path\": \"resources/pages/a.json\", \"mode\": \"merge\","
			  " \"x-entry\": true, \"depends_on\": [\"pages/b\"]}]}";
	const char *json;
	size_t len, mlen;
	unsigned char *pkg;

	CHECK_EQ(appkg_writer_set_manifest(w, man, strlen(man)), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "a", "{}", 2), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "b", "{}", 2), 0);
	pkg = finish_to_memory(w, &len);
	CHECK(pkg != NULL);
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	CHECK_EQ(appkg_reader_manifest(r, &json, &mlen), 0);
	CHECK(strstr(json, "\"x-future\"") && strstr(json, "\"x-entry\": true"));
	CHECK(strstr(json, "\"mode\": \"merge\""));
	appkg_reader_free(r);
	appkg_writer_free(w);
	free(pkg);
}

TEST(test_writer_rejects_bad_input)
{
	appkg_writer *w = appkg_writer_new();
	const char *dangling = "{\"name\": \"x\", \"resources\": [{\"path\": \"resources/pages/a.json\","
			       " \"depends_on\": [\"queries/none\"]}]}";
	const char *newer = "{\"name\": \"x\", \"format_version\": \"3.0\"}";
	size_t len;

	CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"x\"}", 13), 0);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "a", "[]", 2), APPKG_ERR_JSON_NOT_OBJECT);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "a/b", "{}", 2), APPKG_ERR_TAR_MEMBER);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "Cafe\xcc\x81", "{}", 2), APPKG_ERR_NAME_NFC);
	CHECK_EQ(appkg_writer_add_resource(w, "pages", "a", "{}", 2), 0); /* still usable */
	CHECK_EQ(appkg_writer_set_manifest(w, dangling, strlen(dangling)), 0);
	CHECK(finish_to_memory(w, &len) == NULL);
	CHECK(strstr(appkg_writer_error(w), "queries/none") != NULL);
	appkg_writer_free(w);
	w = appkg_writer_new();
	CHECK_EQ(appkg_writer_set_manifest(w, newer, strlen(newer)), 0);
	CHECK(finish_to_memory(w, &len) == NULL);
	CHECK(strstr(appkg_writer_error(w), "newer appkg") != NULL);
	appkg_writer_free(w);
}

TEST(test_reader_secrets_and_binding)
{
	appkg_writer *w = appkg_writer_new();
	appkg_reader *r = appkg_reader_new();
	const char *sec = "{\"API_KEY\": \"s3cr3t-value\"}";
	size_t len, plen;
	unsigned char *pkg;
	char *plain;

	appkg_writer_set_manifest(w, "{\"name\": \"x\"}", 13);
	CHECK_EQ(appkg_writer_set_secrets(w, sec, strlen(sec), "pw", 2, APPKG_KDF_INTERACTIVE, NULL, 0), 0);
	pkg = finish_to_memory(w, &len);
	CHECK(pkg != NULL);
	CHECK(memmem(pkg, len, "s3cr3t", 6) == NULL);
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	CHECK_EQ(appkg_reader_has_secrets(r), 1);
	CHECK_EQ(appkg_reader_secrets(r, "pw", 2, &plain, &plen), 0);
	CHECK(plen == strlen(sec) && memcmp(plain, sec, plen) == 0);
	appkg_secure_free(plain, plen);
	CHECK_EQ(appkg_reader_secrets(r, "nope", 4, &plain, &plen), APPKG_ERR_AUTH);
	appkg_reader_free(r);
	appkg_writer_free(w);
	free(pkg);
}

TEST(test_sequence_survives_random_reads)
{
	appkg_writer *w = sample_writer(400);
	appkg_reader *r = appkg_reader_new();
	size_t len, rlen, n = 0;
	unsigned char *pkg = finish_to_memory(w, &len);
	struct appkg_member m;
	const void *data;

	CHECK(pkg != NULL);
	CHECK_EQ(appkg_reader_open_memory(r, pkg, len), 0);
	harness_msg = appkg_reader_error(r);
	for (;;) {
		int rc = appkg_reader_next(r, &m, &data);
		CHECK(rc >= 0);
		if (rc == 0)
			break;
		if (++n % 50 == 0) /* a random read elsewhere must not disturb the sequence */
			CHECK_EQ(appkg_reader_read(r, "manifest.json", &data, &rlen), 0);
	}
	CHECK_EQ(n, 401);
	appkg_reader_free(r);
	appkg_writer_free(w);
	free(pkg);
}

TEST(test_format_version_strict)
{
	static const char *const bad[] = {" 1.0", "+1.0", "01.0", "1.-1", "1", "1.0.0", "0.9", "1.00"};
	char man[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		appkg_writer *w = appkg_writer_new();
		size_t len;
		snprintf(man, sizeof(man), "{\"name\": \"x\", \"format_version\": \"%s\"}", bad[i]);
		harness_msg = bad[i];
		CHECK_EQ(appkg_writer_set_manifest(w, man, strlen(man)), 0);
		CHECK(finish_to_memory(w, &len) == NULL);
		CHECK(strstr(appkg_writer_error(w), "format_version") != NULL);
		appkg_writer_free(w);
	}
}

TEST(test_secrets_json_rules)
{
	static const struct {
		const char *text;
		int code;
	} cases[] = {
		{"{\"a\": \"x\", \"b\": \"y\"}", 0}, {"{}", 0},
		{"{\"a\": 1}", APPKG_ERR_SECRETS_JSON}, {"[\"a\"]", APPKG_ERR_SECRETS_JSON},
		{"{\"a\": {\"b\": \"c\"}}", APPKG_ERR_SECRETS_JSON},
		{"{\"a\": \"x\", \"a\": \"y\"}", APPKG_ERR_JSON_DUPLICATE},
		{"{\"a\": \"x\"", APPKG_ERR_JSON_SYNTAX},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct appkg_err e = {0};
		harness_msg = cases[i].text;
		CHECK_EQ(secrets_check_json(cases[i].text, strlen(cases[i].text), &e), cases[i].code);
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	RUN(test_name_encode_decode);
	RUN(test_name_rules_reject);
	RUN(test_name_bad_escape_message);
	RUN(test_name_collisions);
	RUN(test_tar_round_trip_and_pax);
	RUN(test_tar_rejects_non_canonical);
	RUN(test_json_limits);
	RUN(test_json_rules);
	RUN(test_secrets_round_trip_and_determinism);
	RUN(test_secrets_kdf_bounds_checked_first);
	RUN(test_writer_reader_round_trip);
	RUN(test_writer_deterministic_across_threads);
	RUN(test_random_access_reads_one_frame);
	RUN(test_manifest_paths_shared_with_index);
	RUN(test_manifest_read_ends_on_any_bytes);
	RUN(test_unknown_fields_kept_newer_minor_opens);
	RUN(test_writer_rejects_bad_input);
	RUN(test_reader_secrets_and_binding);
	RUN(test_sequence_survives_random_reads);
	RUN(test_format_version_strict);
	RUN(test_secrets_json_rules);
	return harness_total_failed != 0;
}
