/* SPDX-License-Identifier: MIT */
/*
 * mkvector: writes the invalid test vectors under tests/vectors/invalid/<case>/, each a
 * package.appkg built by hand (one tar entry per zstd frame, with its own index and seek table)
 * and an `expected` file: "code=<APPKG_ERR_* value> exit=<status> [password=<pw>]".
 * Non-canonical tar entries (links, devices) come from libarchive, as any stock tar writes
 * them (pkgbuild.c). Usage: mkvector OUTDIR. Deterministic: run it again and the bytes are the same.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pkgbuild.h"

static void finish(struct pkg *p, const char *dir, const char *expected, long tail)
{
	char path[600];
	FILE *f;

	pkg_close(p, tail);
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/package.appkg", dir);
	pkg_write_file(path, p->file.data, p->file.len);
	snprintf(path, sizeof(path), "%s/expected", dir);
	if (!(f = fopen(path, "w")))
		pkg_die(path);
	fprintf(f, "%s\n", expected);
	fclose(f);
	buf_free(&p->file);
}

/* Build a package of members (manifest first, generated unless given). */
static void build(const char *out, const char *name, const struct member *m, size_t n,
		  const char *manifest, const char *expected, int flip_member, long tail)
{
	struct pkg p = {0};
	char dir[512];

	pkg_members(&p, m, n, manifest, flip_member);
	snprintf(dir, sizeof(dir), "%s/%s", out, name);
	finish(&p, dir, expected, tail);
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
		pkg_die(e.msg);
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

/* A member whose tar entry is canonical but for its mtime: the ustar header's (and the pax
 * header's, when the path needs one) is `mtime`, the pax header's `pax_mtime`; the manifest's
 * header has mtime 0 (§5.2: one mtime in every header). */
static void mtime_case(const char *out, const char *name, const char *path, uint64_t mtime,
		       uint64_t pax_mtime)
{
	static const char data[] = "{\"title\":\"Home\"}\n";
	struct member listed[] = {{path, data, '0', NULL}};
	char *man = pkg_manifest(listed, 1, ""), dir[600];
	struct buf tar = {0}, pax = {0};
	struct pkg p = {0};

	pkg_member(&p, &(struct member){MANIFEST_PATH, man, '0', NULL}, 0);
	tar_put_header(&tar, path, strlen(data), mtime);
	if (pax_mtime != mtime) { /* the pax header and its record from a second build */
		tar_put_header(&pax, path, strlen(data), pax_mtime);
		memcpy(tar.data, pax.data, tar.len - TAR_BLOCK);
	}
	buf_append(&tar, data, strlen(data));
	tar_put_padding(&tar, strlen(data));
	pkg_index_add(&p, path, p.nframes, 0, data, strlen(data));
	pkg_frame(&p, tar.data, tar.len, 0);
	snprintf(dir, sizeof(dir), "%s/%s", out, name);
	finish(&p, dir, "code=-300 exit=1", 0);
	buf_free(&tar);
	buf_free(&pax);
	free(man);
}

/* format_version spelled with a leading zero (§12: no leading zeros): a schema error. */
static void version_case(const char *out, const char *name, const char *version,
			 const char *expected)
{
	struct member m[] = {HOME};
	char *man = pkg_manifest(m, 1, ""), *v = strstr(man, "\"1.0\""), fixed[2048];

	snprintf(fixed, sizeof(fixed), "%.*s\"%s\"%s", (int)(v - man), man, version, v + 5);
	build(out, name, m, N(m), fixed, expected, -1, 0);
	free(man);
}

/* A format 2.0 package (spec §20.3): members m, its manifest given the inputs field. */
static void v2_case(const char *out, const char *name, const struct member *m, size_t n,
		    const char *inputs, const char *expected)
{
	char *man = pkg_manifest(m, n, inputs), *v = strstr(man, "\"1.0\""), fixed[4096];

	snprintf(fixed, sizeof(fixed), "%.*s\"2.0\"%s", (int)(v - man), man, v + 5);
	build(out, name, m, n, fixed, expected, -1, 0);
	free(man);
}

/* The checks of format 2.0: a newer major is now 3; inputs that disagree with what the
 * resources use; used_by naming what is not a resource. */
static void v2_cases(const char *out)
{
	struct member home[] = {HOME};
	struct member uses[] = {{"resources/pages/home.json",
				 "{\"host\":\"[[appkg:input:db_host]]\"}\n", '0', NULL}};

	version_case(out, "newer_major_version_3", "3.0", "code=-502 exit=1");
	v2_case(out, "input_not_listed", uses, 1, ",\"inputs\":{}", "code=-511 exit=1");
	v2_case(out, "input_listed_but_unused", home, 1, ",\"inputs\":{\"db_host\":{\"required\":"
		"true,\"used_by\":[\"resources/pages/home.json\"]}}", "code=-511 exit=1");
	v2_case(out, "inputs_used_by_wrong", uses, 1, ",\"inputs\":{\"db_host\":{\"required\":true,"
		"\"used_by\":[\"resources/pages/none.json\"]}}", "code=-501 exit=1");
}

int main(int argc, char **argv)
{
	const char *out = argc > 1 ? argv[1] : "tests/vectors/invalid";
	char newer[256];

	if (sodium_init() < 0)
		pkg_die("libsodium");
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
		char *man = pkg_manifest(listed, 1, "");
		build(out, "tar_path_differs_from_index", m, N(m), man, "code=-208 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {{"resources/pages/home.json", "{\"title\":\"Hxme\"}\n", '0', NULL}};
		struct member listed[] = {HOME};
		char *man = pkg_manifest(listed, 1, "");
		build(out, "tampered_resource", m, N(m), man, "code=-506 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {HOME};
		snprintf(newer, sizeof(newer), "{\"format\":\"appkg\",\"format_version\":\"2.0\",\"digest_algorithm"
			 "\":\"blake2b-256\",\"name\":\"from-the-future\",\"resources\":[]}\n");
		/* "2.0" was a newer major until format 2.0; now a 2.0 manifest without inputs */
		build(out, "newer_major_version", m, N(m), newer, "code=-501 exit=1", -1, 0);
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
		char *man = pkg_manifest(listed, 2, "");
		build(out, "manifest_entry_without_member", m, N(m), man, "code=-504 exit=1", -1, 0);
		free(man);
	}
	{
		struct member m[] = {HOME};
		char *man = pkg_manifest(m, 1, ""), *dep = strstr(man, "\"depends_on\":[]");
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
		char *man = pkg_manifest(listed, 2, "");
		build(out, "several_problems", m, N(m), man, "code=-503 exit=1", -1, 0);
		free(man);
	}
	{
		/* one byte of manifest.json changed after the index was written */
		struct member m[] = {HOME};
		char *man = pkg_manifest(m, 1, ""), *flipped = strdup(man);
		flipped[strlen(flipped) / 2] ^= 0x01;
		struct pkg p = {0};
		struct member mm = {MANIFEST_PATH, flipped, '0', NULL, 0, man};
		char dir[600];
		pkg_member(&p, &mm, 0);
		pkg_member(&p, &m[0], 0);
		snprintf(dir, sizeof(dir), "%s/manifest_bit_flip", out);
		finish(&p, dir, "code=-506 exit=1", 0);
		free(man);
		free(flipped);
	}
	{
		/* a newline, and bytes that are not UTF-8, in a name: messages stay one UTF-8 line */
		struct member m[] = {{"resources/pages/a\nb.json", "{}", '0', NULL}};
		struct member u[] = {{"resources/pages/caf\xe9.json", "{}", '0', NULL}};
		build(out, "name_newline", m, N(m), NULL, "code=-402 exit=1", -1, 0);
		build(out, "name_not_utf8", u, N(u), NULL, "code=-400 exit=1", -1, 0);
	}
	mtime_case(out, "mtime_differs", "resources/pages/home.json", 1767225600, 1767225600);
	mtime_case(out, "pax_mtime_differs", "resources/pages/caf\xc3\xa9.json", 0, 1767225600);
	version_case(out, "format_version_minor_leading_zero", "1.00", "code=-501 exit=1");
	version_case(out, "format_version_major_leading_zero", "01.0", "code=-501 exit=1");
	secrets_bit_flip(out);
	kdf_bomb(out);
	deep_manifest(out);
	oversized_member(out);
	v2_cases(out);
	return 0;
}
