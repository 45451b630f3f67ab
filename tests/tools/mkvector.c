/* SPDX-License-Identifier: MIT */
/*
 * mkvector: writes the invalid test vectors under tests/vectors/invalid/<case>/, each a
 * package.appkg built by hand (one tar entry per zstd frame, with its own index and seek table)
 * and an `expected` file: "code=<APPKG_ERR_* value> exit=<status> [password=<pw>]".
 * Non-canonical tar entries (links, devices) come from libarchive, as any stock tar writes
 * them. Usage: mkvector OUTDIR. Deterministic: run it again and the bytes are the same.
 */
#include <archive.h>
#include <archive_entry.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include "../../format/internal.h"

struct member {
	const char *path;
	const char *data;  /* content, NUL-terminated */
	char type;         /* '0' canonical; '1' hardlink, '2' symlink, '3' char device (libarchive) */
	const char *index_path; /* name the index gives it, when it lies; NULL = path */
	size_t len;             /* data length when it has NUL bytes; 0 = strlen */
	const char *digest_of;  /* the index digest covers these bytes instead (a lie); NULL = data */
};

struct pkg {
	struct buf file;
	struct frame_info frames[64];
	struct index_entry index[64];
	uint32_t nframes, nindex;
};

static void die(const char *what)
{
	fprintf(stderr, "mkvector: %s\n", what);
	exit(1);
}

static void add_frame(struct pkg *p, const unsigned char *raw, size_t len, int flip)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	struct buf out = {0};
	struct appkg_err e = {0};

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (frame_encode(c, raw, len, &out, &e))
		die(e.msg);
	if (flip)
		out.data[out.len / 2] ^= 0x10;
	p->frames[p->nframes++] = (struct frame_info){.csize = (uint32_t)out.len, .dsize = (uint32_t)len};
	buf_append(&p->file, out.data, out.len);
	buf_free(&out);
	ZSTD_freeCCtx(c);
}

/* A tar entry written by libarchive (pax restricted), for the types canonical tar lacks. */
static void libarchive_entry(struct buf *b, const struct member *m)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	static unsigned char mem[65536];
	size_t used = 0;

	archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	archive_write_open_memory(a, mem, sizeof(mem), &used);
	archive_entry_set_pathname(e, m->path);
	archive_entry_set_mode(e, m->type == '3' ? S_IFCHR | 0644 : m->type == '2' ? S_IFLNK | 0777
				  : m->type == 'S' ? S_IFREG | 04755 : S_IFREG | 0644);
	if (m->type == '1')
		archive_entry_set_hardlink(e, m->data);
	if (m->type == '2')
		archive_entry_set_symlink(e, m->data);
	if (m->type == '3')
		archive_entry_set_rdev(e, makedev(1, 3));
	archive_write_header(a, e);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	buf_append(b, mem, used - TAR_END_BYTES); /* drop its end-of-archive marker */
}

static void add_member(struct pkg *p, const struct member *m, int flip)
{
	struct buf tar = {0};
	size_t len = m->len ? m->len : strlen(m->data);
	struct index_entry *x = &p->index[p->nindex++];
	const char *ipath = m->index_path ? m->index_path : m->path;

	if (m->type == '0') {
		tar_put_header(&tar, m->path, len, 0);
		buf_append(&tar, m->data, len);
		tar_put_padding(&tar, len);
	} else {
		libarchive_entry(&tar, m);
		len = 0;
	}
	x->path = (char *)ipath;
	x->path_len = (uint32_t)strlen(ipath);
	x->frame = p->nframes;
	x->size = len;
	digest_bytes(x->digest, m->type != '0' ? "" : m->digest_of ? m->digest_of : m->data, len);
	add_frame(p, tar.data, tar.len, flip);
	buf_free(&tar);
}

/* The manifest listing every resource member with its real size and digest. */
static char *manifest_for(const struct member *m, size_t n, const char *extra)
{
	struct buf b = {0};
	char line[1024], hex[65];
	unsigned char d[32];
	int first = 1;

	snprintf(line, sizeof(line), "{\"format\":\"appkg\",\"format_version\":\"1.0\","
		 "\"digest_algorithm\":\"blake2b-256\",\"name\":\"vector\"%s,\"resources\":[", extra);
	buf_append(&b, line, strlen(line));
	for (size_t i = 0; i < n; i++) {
		const char *t = m[i].path + 10, *slash;
		if (strncmp(m[i].path, "resources/", 10) || !(slash = strchr(t, '/')))
			continue;
		size_t len = m[i].type != '0' ? 0 : m[i].len ? m[i].len : strlen(m[i].data);
		digest_bytes(d, m[i].type == '0' ? m[i].data : "", len);
		hex_encode(hex, d, 32);
		snprintf(line, sizeof(line), "%s{\"type\":\"%.*s\",\"name\":\"%.*s\",\"path\":\"%s\","
			 "\"size\":%zu,\"digest\":\"%s\",\"mode\":\"create\",\"depends_on\":[]}",
			 first ? "" : ",", (int)(slash - t), t, (int)(strlen(slash + 1) - 5), slash + 1,
			 m[i].path, len, hex);
		buf_append(&b, line, strlen(line));
		first = 0;
	}
	buf_append(&b, "]}\n", 4);
	return (char *)b.data;
}

static void finish(struct pkg *p, const char *dir, const char *expected, long tail)
{
	unsigned char end[TAR_END_BYTES] = {0};
	char path[600];
	FILE *f;

	add_frame(p, end, sizeof(end), 0);
	index_encode(&p->file, p->index, p->nindex);
	seek_table_encode(&p->file, p->frames, p->nframes);
	if (tail > 0)
		buf_append(&p->file, "garbage", 7);
	if (tail < 0)
		p->file.len -= (size_t)-tail;
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/package.appkg", dir);
	if (!(f = fopen(path, "wb")) || fwrite(p->file.data, 1, p->file.len, f) != p->file.len)
		die(path);
	fclose(f);
	snprintf(path, sizeof(path), "%s/expected", dir);
	if (!(f = fopen(path, "w")))
		die(path);
	fprintf(f, "%s\n", expected);
	fclose(f);
	buf_free(&p->file);
}

/* Build a package of members (manifest first, generated unless given). */
static void build(const char *out, const char *name, const struct member *m, size_t n,
		  const char *manifest, const char *expected, int flip_member, long tail)
{
	struct pkg p = {0};
	char dir[512], *gen = manifest ? NULL : manifest_for(m, n, "");
	struct member man = {MANIFEST_PATH, manifest ? manifest : gen, '0', NULL};

	add_member(&p, &man, 0);
	for (size_t i = 0; i < n; i++)
		add_member(&p, &m[i], flip_member == (int)i);
	snprintf(dir, sizeof(dir), "%s/%s", out, name);
	finish(&p, dir, expected, tail);
	free(gen);
}

#define HOME {"resources/pages/home.json", "{\"title\":\"Home\"}\n", '0', NULL}
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* secrets.enc with KDF parameters far above SENSITIVE: running Argon2id would take hours. */
static void kdf_bomb(const char *out)
{
	static char blob[68 + 4 + 16 + 1];
	unsigned char *b = (unsigned char *)blob;
	char man[1024], hex[65];
	unsigned char d[32];

	memset(blob, 'A', sizeof(blob) - 1);
	memcpy(b, "APKGSECR", 8);
	b[8] = b[9] = b[10] = 1;
	b[11] = 4;
	put_le64(b + 12, 1ull << 40);
	put_le64(b + 20, 1ull << 40);
	memcpy(b + 68, "pkg1", 4);
	digest_bytes(d, blob, sizeof(blob) - 1);
	hex_encode(hex, d, 32);
	snprintf(man, sizeof(man), "{\"format\":\"appkg\",\"format_version\":\"1.0\",\"digest_algorithm\":"
		 "\"blake2b-256\",\"name\":\"v\",\"package_id\":\"pkg1\",\"resources\":[],\"secrets\":"
		 "{\"path\":\"secrets.enc\",\"size\":%zu,\"digest\":\"%s\"}}\n", sizeof(blob) - 1, hex);
	struct member m[] = {{SECRETS_PATH, blob, '0', NULL, sizeof(blob) - 1}};
	build(out, "kdf_params_out_of_range", m, 1, man, "code=-701 exit=1 password=pw", -1, 0);
}

/* A real secrets.enc with one ciphertext byte changed and the index digest recomputed: only
 * the manifest's digest still tells. */
static void secrets_bit_flip(const char *out)
{
	struct buf blob = {0};
	struct appkg_err e = {0};
	struct secrets_header h = {.opslimit = 2, .memlimit = 67108864};
	char man[1024], hex[65];
	unsigned char d[32];

	memset(h.salt, 7, sizeof(h.salt));
	if (secrets_encrypt(&blob, "{\"K\": \"v\"}", 10, "pw", 2, APPKG_KDF_KEEP, &h, "pkg1", &e))
		die(e.msg);
	digest_bytes(d, blob.data, blob.len);
	hex_encode(hex, d, 32);
	snprintf(man, sizeof(man), "{\"format\":\"appkg\",\"format_version\":\"1.0\",\"digest_algorithm\":"
		 "\"blake2b-256\",\"name\":\"v\",\"package_id\":\"pkg1\",\"resources\":[],\"secrets\":"
		 "{\"path\":\"secrets.enc\",\"size\":%zu,\"digest\":\"%s\"}}\n", blob.len, hex);
	blob.data[blob.len - 3] ^= 0x40;
	struct member m[] = {{SECRETS_PATH, (const char *)blob.data, '0', NULL, blob.len, NULL}};
	build(out, "secrets_bit_flip", m, 1, man, "code=-506 exit=1", -1, 0);
	buf_free(&blob);
}

static void deep_manifest(const char *out)
{
	size_t depth = 100000;
	char *s = malloc(2 * depth + 2);

	memset(s, '[', depth);
	memset(s + depth, ']', depth);
	s[2 * depth] = '\n';
	s[2 * depth + 1] = '\0';
	build(out, "manifest_nested_100k", NULL, 0, s, "code=-602 exit=1", -1, 0);
	free(s);
}

static void oversized_member(const char *out)
{
	size_t n = APPKG_MAX_RESOURCE_SIZE + 2;
	char *s = malloc(n + 1);

	memset(s, ' ', n);
	s[0] = '{';
	s[n - 1] = '}';
	s[n] = '\0';
	struct member m[] = {{"resources/pages/bomb.json", s, '0', NULL}};
	build(out, "decompression_bomb", m, 1, NULL, "code=-901 exit=1", -1, 0);
	free(s);
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "tests/vectors/invalid";
	char newer[256];

	if (sodium_init() < 0)
		die("libsodium");
	mkdir(out, 0755);
	{
		struct member m[] = {HOME, {"resources/pages/link.json", "/etc/passwd", '2', NULL}};
		build(out, "symlink_member", m, N(m), NULL, "code=-302 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/pages/hard.json", "/etc/passwd", '1', NULL}, HOME};
		build(out, "hardlink_member", m, N(m), NULL, "code=-302 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/pages/dev.json", "", '3', NULL}, HOME};
		build(out, "device_member", m, N(m), NULL, "code=-302 exit=1", -1, 0);
	}
	{
		struct member m[] = {HOME, {"resources/pages/suid.json", "", 'S', NULL}};
		build(out, "setuid_member", m, N(m), NULL, "code=-300 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/../../../../tmp/appkg-escape.json", "{}", '0', NULL}};
		build(out, "traversal_member", m, N(m), NULL, "code=-307 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/../escape.json", "{}", '0', NULL}};
		build(out, "dotdot_type", m, N(m), NULL, "code=-402 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"/tmp/appkg-escape.json", "{}", '0', NULL}};
		build(out, "absolute_member", m, N(m), NULL, "code=-307 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/pages/../../../../tmp/appkg-escape.json", "{\"title\":\"Home\"}\n",
				      '0', "resources/pages/home.json"}};
		struct member listed[] = {HOME};
		char *man = manifest_for(listed, 1, "");
		build(out, "tar_path_differs_from_index", m, N(m), man, "code=-208 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {{"resources/pages/home.json", "{\"title\":\"Hxme\"}\n", '0', NULL}};
		struct member listed[] = {HOME};
		char *man = manifest_for(listed, 1, "");
		build(out, "tampered_resource", m, N(m), man, "code=-506 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {HOME};
		snprintf(newer, sizeof(newer), "{\"format\":\"appkg\",\"format_version\":\"2.0\",\"digest_algorithm"
			 "\":\"blake2b-256\",\"name\":\"from-the-future\",\"resources\":[]}\n");
		build(out, "newer_major_version", m, N(m), newer, "code=-502 exit=1", -1, 0);
		build(out, "zstd_frame_bit_flip", m, N(m), NULL, "code=-203|-204 exit=1", 0, 0);
		build(out, "truncated_package", m, N(m), NULL, "code=-200 exit=1", -1, -20);
		build(out, "trailing_garbage", m, N(m), NULL, "code=-200 exit=1", -1, 1);
		build(out, "member_not_in_manifest", m, N(m),
		      "{\"format\":\"appkg\",\"format_version\":\"1.0\",\"digest_algorithm\":\"blake2b-256\","
		      "\"name\":\"v\",\"resources\":[]}\n", "code=-503 exit=1", -1, 0);
	}
	{
		struct member m[] = {HOME, HOME};
		build(out, "duplicate_member", m, N(m), NULL, "code=-305 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/pages/Home.json", "{}", '0', NULL}, HOME};
		build(out, "case_collision", m, N(m), NULL, "code=-404 exit=1", -1, 0);
	}
	{
		struct member m[] = {{"resources/pages/Cafe\xcc\x81.json", "{}", '0', NULL}};
		build(out, "name_not_nfc", m, N(m), NULL, "code=-401 exit=1", -1, 0);
	}
	{
		struct member m[] = {HOME}, listed[] = {HOME, {"resources/pages/more.json", "{}", '0', NULL}};
		char *man = manifest_for(listed, 2, "");
		build(out, "manifest_entry_without_member", m, N(m), man, "code=-504 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {HOME};
		char *man = manifest_for(m, 1, ""), *dep = strstr(man, "\"depends_on\":[]");
		char fixed[2048];
		snprintf(fixed, sizeof(fixed), "%.*s\"depends_on\":[\"queries/missing\"]%s", (int)(dep - man),
			 man, dep + strlen("\"depends_on\":[]"));
		build(out, "dangling_depends_on", m, N(m), fixed, "code=-508 exit=1", -1, 0);
		free(man);
	}
	{
		/* three problems: invalid JSON in bad.json, extra.json not listed, home.json tampered */
		struct member m[] = {{"resources/pages/bad.json", "{\"a\": }", '0', NULL},
				     {"resources/pages/extra.json", "{}", '0', NULL},
				     {"resources/pages/home.json", "{\"title\":\"Hxme\"}\n", '0', NULL}};
		struct member listed[] = {{"resources/pages/bad.json", "{\"a\": }", '0', NULL}, HOME};
		char *man = manifest_for(listed, 2, "");
		build(out, "several_problems", m, N(m), man, "code=-503 exit=1", -1, 0);
		free(man);
	}
	{
		/* one byte of manifest.json changed after the index was written */
		struct member m[] = {HOME};
		char *man = manifest_for(m, 1, ""), *flipped = strdup(man);
		flipped[strlen(flipped) / 2] ^= 0x01;
		struct pkg p = {0};
		struct member mm = {MANIFEST_PATH, flipped, '0', NULL, 0, man};
		char dir[600];
		add_member(&p, &mm, 0);
		add_member(&p, &m[0], 0);
		snprintf(dir, sizeof(dir), "%s/manifest_bit_flip", out);
		finish(&p, dir, "code=-506 exit=1", 0);
		free(man);
		free(flipped);
	}
	secrets_bit_flip(out);
	kdf_bomb(out);
	deep_manifest(out);
	oversized_member(out);
	return 0;
}
