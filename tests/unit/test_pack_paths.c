/* SPDX-License-Identifier: MIT */
/*
 * The pieces pack's speed work added: BLAKE2b-256 against libsodium's crypto_generichash at
 * every length around the block size and beyond; the JSON check's word-at-a-time scanning
 * with the byte of interest at each place in a word; io_read_file_at through a directory and
 * its refusals; io_copy_range to a file and to a pipe (by hand); and a writer whose member
 * strings share the path with the source path packing the same bytes as one whose do not,
 * with and without threads.
 */
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../format/internal.h"
#include "harness.h"

static char dir[] = "/tmp/appkg-test-pack-paths-XXXXXX";

static int blake2b_same(const unsigned char *p, size_t n)
{
	unsigned char ours[32], theirs[32];

	blake2b_256(ours, p, n);
	crypto_generichash(theirs, 32, p, n, NULL, 0);
	if (memcmp(ours, theirs, 32) != 0)
		return 0;
	digest_bytes(ours, p, n);
	return memcmp(ours, theirs, 32) == 0;
}

TEST(test_blake2b_matches_libsodium)
{
	static unsigned char b[3 * 128 * 64 + 7];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(b); n += n < 1100 ? 1 : 61)
		CHECK(blake2b_same(b, n));
}

/* The block edges from any alignment (the words are read in place), and a multi-MiB buffer. */
TEST(test_blake2b_edges_and_long)
{
	static const size_t lens[] = {0, 1, 127, 128, 129, 255, 256, 257, 383, 384, 385, 8191, 8192};
	size_t big = (3u << 20) + 77;
	unsigned char *b = malloc(big + 8);

	CHECK(b);
	for (size_t i = 0; i < big + 8; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++)
		for (size_t off = 0; off < 8; off++)
			if (!blake2b_same(b + off, lens[k]))
				goto fail;
	if (!blake2b_same(b, big) || !blake2b_same(b + 3, 4u << 19) || !blake2b_same(b + 1, big))
		goto fail;
	free(b);
	return;
fail:
	free(b);
	CHECK(0);
}

/* blake2b_256_update in pieces of every size around the block, from every length: the digest
 * of the whole (the writer digests frame 0's manifest as it is made). */
TEST(test_blake2b_in_pieces)
{
	static const size_t pieces[] = {0, 1, 7, 127, 128, 129, 256, 300, 1000};
	static unsigned char b[4 * 128 + 9];
	unsigned char ours[32], theirs[32];

	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (unsigned char)(i * 97 + 3);
	for (size_t n = 0; n <= sizeof(b); n++) {
		crypto_generichash(theirs, 32, b, n, NULL, 0);
		for (size_t k = 0; k < sizeof(pieces) / sizeof(pieces[0]); k++) {
			struct blake2b_state st;
			size_t at = 0, step = pieces[k];
			blake2b_256_init(&st);
			for (size_t j = 0; at < n; j++) {
				size_t len = step ? step : j % 5 == 0 ? 0 : j % 200; /* 0: any */
				len = len < n - at ? len : n - at;
				blake2b_256_update(&st, b + at, len);
				at += len;
			}
			blake2b_256_final(&st, ours);
			CHECK(memcmp(ours, theirs, 32) == 0);
		}
	}
}

/* blake2b_256_many by each way this CPU has (eight lanes of AVX-512, one after the other, and
 * the choice between them) against crypto_generichash, on n messages of the lengths given
 * at the offsets given into b. */
static int many_same(const unsigned char *b, const size_t *off, const size_t *len, size_t n)
{
	unsigned char out[3][16][32], ref[32];
	const void *data[16];
	int x8;

	for (size_t i = 0; i < n; i++)
		data[i] = b + off[i];
	memset(out, 0xa5, sizeof(out));
	blake2b_256_many(out[0], data, len, n);
	blake2b_256_many_plain(out[1], data, len, n);
	x8 = blake2b_256_many_x8(out[2], data, len, n) == 0;
	if (!x8 && blake2b_x8_usable())
		return 0;
	for (size_t i = 0; i < n; i++) {
		crypto_generichash(ref, 32, b + off[i], len[i], NULL, 0);
		if (memcmp(out[0][i], ref, 32) || memcmp(out[1][i], ref, 32) ||
		    (x8 && memcmp(out[2][i], ref, 32)))
			return 0;
	}
	return 1;
}

/* Batches of 1 to 16 messages of mixed lengths (the block edges, empty, up to 64 KiB) at odd
 * alignments: the lanes end at different blocks, take new messages, finish in plain C. */
TEST(test_blake2b_many_matches_libsodium)
{
	static const size_t edges[] = {0, 1, 127, 128, 129, 255, 256, 257, 8191, 8192};
	size_t size = 16 * 65536 + 64, off[16], len[16];
	unsigned char *b = malloc(size);
	unsigned seed = 12345;
	int bad = 0;

	CHECK(b);
	for (size_t i = 0; i < size; i++)
		b[i] = (unsigned char)(i * 2654435761u >> 13);
	/* every edge length in every lane, the other lanes empty or long */
	for (size_t e = 0; e < 10; e++)
		for (size_t n = 1; n <= 8; n++) {
			for (size_t i = 0; i < n; i++) {
				len[i] = i == n - 1 ? edges[e] : edges[(e + i) % 10] * (i & 1);
				off[i] = i * 65536 + i;
			}
			bad |= !many_same(b, off, len, n);
		}
	for (int round = 0; round < 3000 && !bad; round++) {
		size_t n = 1 + (seed = seed * 1103515245 + 12345) % 16;
		for (size_t i = 0; i < n; i++) {
			unsigned r = (seed = seed * 1103515245 + 12345) >> 8;
			unsigned kind = r % 4;
			len[i] = kind == 0 ? edges[(r >> 2) % 10]
				 : kind == 3 ? (r >> 2) % 65537
					     : (r >> 2) % 1500;
			off[i] = i * 65536 + (r >> 20) % 64;
		}
		bad |= !many_same(b, off, len, n);
	}
	free(b);
	CHECK(!bad);
}

static int check(const char *json, int *marks)
{
	struct appkg_err e = {0};

	return json_check_resource_marks(json, strlen(json), &e, "t", marks);
}

/* A string of pad plain bytes, then c, then more plain bytes: c at every place in a word and
 * in a 16-byte block. */
TEST(test_json_word_scan_each_offset)
{
	char doc[128], pad[48];
	int marks;

	for (int k = 0; k < 40; k++) {
		memset(pad, 'a', (size_t)k);
		pad[k] = '\0';
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\x01zzzzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) != 0); /* a control character */
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\\\"zzzzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) == 0 && !marks);
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\\u0041zzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) == 0 && marks); /* a raw \u: scanned for placeholders */
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\xc3\xa9zzzzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) == 0 && !marks);
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\xc3zzzzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) != 0); /* invalid UTF-8 */
		snprintf(doc, sizeof(doc), "{\"k\":\"%s[[appkg:x]]zzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) == 0 && marks);
		snprintf(doc, sizeof(doc), "{\"k\":\"%s[[appkzzzzzzzzzz\"}", pad);
		CHECK(check(doc, &marks) == 0 && !marks);
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\"}", pad);
		CHECK(check(doc, &marks) == 0);
		snprintf(doc, sizeof(doc), "{\"k\":\"%s", pad);
		CHECK(check(doc, &marks) != 0); /* unterminated, at every length */
	}
}

/* The column of an error found by a block scan is that of its byte, at every place. */
TEST(test_json_error_column_each_offset)
{
	char doc[128], pad[48];
	struct appkg_err e;

	for (int k = 0; k < 40; k++) {
		memset(pad, 'a', (size_t)k);
		pad[k] = '\0';
		snprintf(doc, sizeof(doc), "{\"k\":\"%s\x1fzz\"}", pad);
		memset(&e, 0, sizeof(e));
		CHECK(json_check_resource(doc, strlen(doc), &e, "t") == APPKG_ERR_JSON_SYNTAX);
		CHECK(e.line == 1 && e.column == (unsigned)k + 7);
		memset(pad, ' ', (size_t)k); /* indentation from here on */
		snprintf(doc, sizeof(doc), "{\n%s\"k\": 1,\n%s\"k\": 2\n}", pad, pad);
		memset(&e, 0, sizeof(e));
		CHECK(json_check_resource(doc, strlen(doc), &e, "t") == APPKG_ERR_JSON_DUPLICATE);
		CHECK(e.line == 4 && e.column == 2);
		snprintf(doc, sizeof(doc), "{\n%s\n%sx", pad, pad);
		memset(&e, 0, sizeof(e));
		CHECK(json_check_resource(doc, strlen(doc), &e, "t") == APPKG_ERR_JSON_SYNTAX);
		CHECK(e.line == 3 && e.column == (unsigned)k + 1);
	}
}

/* Duplicate keys: escaped or not, in small objects (compared pairwise) and large ones (a
 * table), keys of every length (their hashes read up to eight bytes from each end). */
TEST(test_json_duplicate_keys)
{
	char doc[4096], key[40];
	int marks;

	CHECK(check("{\"a\":1,\"\\u0061\":2}", &marks) != 0);
	CHECK(check("{\"ab\":1,\"a\\u0062\":2,\"b\":3}", &marks) != 0);
	CHECK(check("{\"ab\":1,\"a\\u0063\":2}", &marks) == 0);
	for (int len = 1; len < 24; len++) {
		for (int n = 2; n < 20; n += 5) {
			size_t m = 1;
			doc[0] = '{';
			for (int k = 0; k < n; k++) {
				memset(key, 'q', (size_t)len);
				key[len] = '\0';
				key[k % len] = (char)('A' + k); /* unequal keys of one length */
				m += (size_t)snprintf(doc + m, sizeof(doc) - m, "%s\"%s\":%d", k ? "," : "",
						       key, k);
			}
			snprintf(doc + m, sizeof(doc) - m, "}");
			CHECK(check(doc, &marks) == 0);
			/* the first key again, at the end */
			memset(key, 'q', (size_t)len);
			key[len] = '\0';
			key[0] = 'A';
			snprintf(doc + m, sizeof(doc) - m, ",\"%s\":0}", key);
			CHECK(check(doc, &marks) != 0);
		}
	}
}

/* Runs of spaces of every length, ended by each kind of byte. */
TEST(test_json_whitespace_runs)
{
	static const char *const ends[] = {"\n", "\t", "\r", "", "x"};
	char doc[512], pad[40];
	int marks;

	for (int k = 0; k < 34; k++) {
		memset(pad, ' ', (size_t)k);
		pad[k] = '\0';
		for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
			snprintf(doc, sizeof(doc), "{%s%s\"a\"%s:%s1%s,%s\"b\":[%s]%s}%s", pad, ends[e],
				 pad, pad, ends[e], pad, pad, pad, pad);
			if (e == 4)
				CHECK(check(doc, &marks) != 0);
			else
				CHECK(check(doc, &marks) == 0);
		}
	}
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

TEST(test_read_file_at)
{
	char path[512], fifo[512];
	struct appkg_err e = {0};
	struct buf b = {0};
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	mode_t mode = 0;

	CHECK(dfd >= 0);
	snprintf(path, sizeof(path), "%s/f.json", dir);
	write_file(path, "{\"a\": 1}");
	CHECK(io_read_file_at(dfd, "f.json", path, &b, 100, &mode, &e) == 0 && S_ISREG(mode));
	CHECK(b.len == 8 && !memcmp(b.data, "{\"a\": 1}", 8));
	CHECK(io_read_file(path, &b, 100, &e) == 0 && b.len == 8); /* the buffer reused */
	write_file(path, "");
	CHECK(io_read_file_at(dfd, "f.json", path, &b, 100, NULL, &e) == 0 && b.len == 0);
	write_file(path, "0123456789");
	CHECK(io_read_file_at(dfd, "f.json", path, &b, 9, NULL, &e) == APPKG_ERR_LIMIT_MEMBER_SIZE);
	CHECK(strstr(e.msg, path) != NULL); /* named by its whole path */
	snprintf(fifo, sizeof(fifo), "%s/p.json", dir);
	CHECK(mkfifo(fifo, 0600) == 0);
	e = (struct appkg_err){0};
	CHECK(io_read_file_at(dfd, "p.json", fifo, &b, 100, &mode, &e) == APPKG_ERR_SOURCE);
	CHECK(S_ISFIFO(mode)); /* opened without blocking, and told apart */
	e = (struct appkg_err){0};
	CHECK(io_read_file_at(dfd, "missing.json", path, &b, 100, &mode, &e) != 0 && mode == 0);
	buf_free(&b);
	unlink(fifo);
	unlink(path);
	close(dfd);
}

TEST(test_copy_range_file_and_pipe)
{
	char src[512], dst[512];
	static unsigned char data[3 << 20], back[3 << 20];
	struct appkg_err e = {0};
	int in, out, p[2];
	ssize_t r;
	size_t got = 0;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + i / 4096);
	snprintf(src, sizeof(src), "%s/src", dir);
	snprintf(dst, sizeof(dst), "%s/dst", dir);
	in = open(src, O_RDWR | O_CREAT | O_TRUNC, 0600);
	out = open(dst, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(in >= 0 && out >= 0);
	CHECK(write(in, data, sizeof(data)) == (ssize_t)sizeof(data));
	CHECK(write(out, "head", 4) == 4); /* copied at the output's position */
	CHECK(io_copy_range(in, 100, sizeof(data) - 100, out, "dst", &e) == 0);
	CHECK(pread(out, back, sizeof(data) - 100, 4) == (ssize_t)(sizeof(data) - 100));
	CHECK(memcmp(back, data + 100, sizeof(data) - 100) == 0);
	CHECK(lseek(out, 0, SEEK_CUR) == (off_t)(sizeof(data) - 96));
	CHECK(pipe(p) == 0); /* no copy_file_range into a pipe: read and written */
	CHECK(io_copy_range(in, 5, 40000, p[1], "pipe", &e) == 0);
	close(p[1]);
	while ((r = read(p[0], back + got, sizeof(back) - got)) > 0)
		got += (size_t)r;
	close(p[0]);
	CHECK(got == 40000 && memcmp(back, data + 5, 40000) == 0);
	close(in);
	close(out);
	unlink(src);
	unlink(dst);
}

/* The same resources added from DIR/resources/TYPE/NAME.json (path shared with the source
 * path) and from files elsewhere (not shared), with one thread and with four. */
static int pack_files(int from_tree, int threads, struct buf *out)
{
	static const char man[] = "{\"name\":\"paths\",\"version\":\"1.0\"}";
	appkg_writer *w = appkg_writer_new();
	char path[600], name[32], out_path[600], body[200];
	int rc = !w || appkg_writer_set_threads(w, threads) ||
		 appkg_writer_set_manifest(w, man, strlen(man));
	struct appkg_err e = {0};

	for (int i = 0; !rc && i < 40; i++) {
		snprintf(name, sizeof(name), "r%02d", i);
		if (from_tree)
			snprintf(path, sizeof(path), "%s/resources/pages/%s.json", dir, name);
		else
			snprintf(path, sizeof(path), "%s/loose-%s", dir, name);
		snprintf(body, sizeof(body), "{\"n\": %d, \"text\": \"%0*d\"}", i, 20 + i, i);
		write_file(path, body);
		rc = appkg_writer_add_file(w, "pages", name, path);
	}
	snprintf(out_path, sizeof(out_path), "%s/out-%d-%d.appkg", dir, from_tree, threads);
	if (!rc)
		rc = appkg_writer_finish_path(w, out_path);
	appkg_writer_free(w);
	if (!rc)
		rc = io_read_file(out_path, out, 1 << 24, &e);
	unlink(out_path);
	return rc;
}

TEST(test_shared_member_strings_same_package)
{
	struct buf a = {0}, b = {0}, c = {0};
	char sub[512];

	snprintf(sub, sizeof(sub), "%s/resources", dir);
	CHECK(mkdir(sub, 0700) == 0);
	snprintf(sub, sizeof(sub), "%s/resources/pages", dir);
	CHECK(mkdir(sub, 0700) == 0);
	CHECK(pack_files(1, 1, &a) == 0);
	CHECK(pack_files(0, 1, &b) == 0);
	CHECK(pack_files(1, 4, &c) == 0);
	CHECK(a.len == b.len && a.len == c.len && a.len > 0);
	CHECK(!memcmp(a.data, b.data, a.len) && !memcmp(a.data, c.data, a.len));
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

static void remove_dir(void)
{
	io_remove_tree(dir);
}

int main(void)
{
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	RUN(test_blake2b_matches_libsodium);
	RUN(test_blake2b_edges_and_long);
	RUN(test_blake2b_in_pieces);
	RUN(test_blake2b_many_matches_libsodium);
	RUN(test_json_word_scan_each_offset);
	RUN(test_json_whitespace_runs);
	RUN(test_json_error_column_each_offset);
	RUN(test_json_duplicate_keys);
	RUN(test_read_file_at);
	RUN(test_copy_range_file_and_pipe);
	RUN(test_shared_member_strings_same_package);
	remove_dir();
	return harness_total_failed != 0;
}
