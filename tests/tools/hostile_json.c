/* SPDX-License-Identifier: MIT */
/*
 * mkhostile, second part: JSON and secrets. Manifests that are not JSON, of the wrong type or
 * schema, nested 100,000 deep, too large or not regular files; resources that are JSON bombs or
 * broken JSON; secrets.enc blobs truncated, garbage, bound elsewhere, or with KDF parameters
 * that would take hours. Each is otherwise a well-formed package.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

/* ---- manifests ---- */

#define M_HEAD "{\"format\":\"appkg\",\"format_version\":\"1.0\",\"digest_algorithm\":\"blake2b-256\""
#define M_OK M_HEAD ",\"name\":\"v\",\"resources\":[]}\n"
#define ENTRY_HEAD M_HEAD ",\"name\":\"v\",\"resources\":[{\"type\":\"pages\",\"name\":\"home\"," \
	"\"path\":\"resources/pages/home.json\",\"mode\":\"create\","
#define ENTRY(f) ENTRY_HEAD "\"depends_on\":[]," f "}]}\n"
#define DIGEST "\"digest\":\"0000000000000000000000000000000000000000000000000000000000000000\""

/* A format 2.0 manifest without resources, with the given inputs text. */
#define V2(inputs)                                                                          \
	"{\"format\":\"appkg\",\"format_version\":\"2.0\",\"digest_algorithm\":\"blake2b-256\","  \
	"\"name\":\"v\",\"resources\":[]" inputs "}\n"

static const struct {
	const char *name, *codes, *text;
} manifest_texts[] = {
	{"manifest_not_json", "-500", "this is not json\n"},
	{"manifest_empty", "-500", ""},
	{"manifest_array", "-500", "[]\n"},
	{"manifest_string", "-500", "\"appkg\"\n"},
	{"manifest_number", "-500", "42\n"},
	{"manifest_null", "-500", "null\n"},
	{"manifest_bom", "-500", "\xef\xbb\xbf" M_OK},
	{"manifest_duplicate_key", "-500", M_HEAD ",\"name\":\"a\",\"name\":\"b\",\"resources\":[]}\n"},
	{"manifest_nul_escape", "-500", M_HEAD ",\"name\":\"a\\u0000b\",\"resources\":[]}\n"},
	{"manifest_lone_surrogate", "-500", M_HEAD ",\"name\":\"\\ud800\",\"resources\":[]}\n"},
	{"manifest_invalid_utf8", "-500", M_HEAD ",\"name\":\"caf\xe9\",\"resources\":[]}\n"},
	{"manifest_two_documents", "-500", M_OK M_OK},
	{"manifest_wrong_format", "-501", "{\"format\":\"zip\",\"format_version\":\"1.0\",\"name\":\"v\"}\n"},
	{"manifest_format_number", "-501", "{\"format\":1,\"format_version\":\"1.0\",\"name\":\"v\"}\n"},
	{"manifest_name_number", "-501", M_HEAD ",\"name\":42,\"resources\":[]}\n"},
	{"manifest_name_missing", "-501", M_HEAD ",\"resources\":[]}\n"},
	{"manifest_resources_object", "-501", M_HEAD ",\"name\":\"v\",\"resources\":{}}\n"},
	{"manifest_resource_string", "-501", M_HEAD ",\"name\":\"v\",\"resources\":[\"x\"]}\n"},
	{"manifest_resource_dotdot", "-402",
	 M_HEAD ",\"name\":\"v\",\"resources\":[{\"type\":\"..\",\"name\":\"x\",\"path\":"
	 "\"resources/../x.json\",\"size\":2," DIGEST ",\"mode\":\"create\",\"depends_on\":[]}]}\n"},
	{"manifest_size_overflow", "-500|-501", ENTRY("\"size\":18446744073709551616," DIGEST)},
	{"manifest_size_negative", "-501", ENTRY("\"size\":-1," DIGEST)},
	{"manifest_size_float", "-501", ENTRY("\"size\":1e300," DIGEST)},
	{"manifest_digest_algorithm", "-509",
	 "{\"format\":\"appkg\",\"format_version\":\"1.0\",\"digest_algorithm\":\"sha256\",\"name\":\"v\","
	 "\"resources\":[]}\n"},
	{"manifest_version_zero", "-501",
	 "{\"format\":\"appkg\",\"format_version\":\"0.9\",\"name\":\"v\",\"resources\":[]}\n"},
	{"manifest_version_huge", "-501",
	 "{\"format\":\"appkg\",\"format_version\":\"99999999999999999999.0\",\"name\":\"v\"}\n"},
	{"manifest_newer_major", "-502",
	 "{\"format\":\"appkg\",\"format_version\":\"3.0\",\"digest_algorithm\":\"blake2b-256\","
	 "\"name\":\"v\",\"resources\":[]}\n"},
	/* format 2.0 (spec §20.3): inputs required, every field type-checked */
	{"manifest_v2_without_inputs", "-501", V2("")},
	{"manifest_v2_inputs_array", "-501", V2(",\"inputs\":[]")},
	{"manifest_v2_input_bad_name", "-501", V2(",\"inputs\":{\"1x\":{\"required\":false,\"used_by\":[]}}")},
	{"manifest_v2_input_not_object", "-501", V2(",\"inputs\":{\"x\":\"v\"}")},
	{"manifest_v2_input_required_string", "-501",
	 V2(",\"inputs\":{\"x\":{\"required\":\"no\",\"used_by\":[]}}")},
	{"manifest_v2_input_required_wrong", "-501",
	 V2(",\"inputs\":{\"x\":{\"required\":true,\"used_by\":[]}}")},
	{"manifest_v2_input_used_by_object", "-501",
	 V2(",\"inputs\":{\"x\":{\"required\":false,\"used_by\":{}}}")},
	{"manifest_v2_input_used_by_stranger", "-501",
	 V2(",\"inputs\":{\"x\":{\"required\":true,\"used_by\":[\"resources/a/b.json\"]}}")},
	{"manifest_v2_input_description_number", "-501",
	 V2(",\"inputs\":{\"x\":{\"description\":7,\"required\":false,\"used_by\":[]}}")},
};

/* open^n inner close^n, NUL-terminated; malloc'd. */
static char *nested(const char *before, const char *open, size_t n, const char *inner,
		    const char *close, const char *after)
{
	size_t lo = strlen(open), lc = strlen(close), lb = strlen(before), li = strlen(inner);
	char *s = malloc(lb + n * (lo + lc) + li + strlen(after) + 1), *p = s;

	memcpy(p, before, lb), p += lb;
	for (size_t i = 0; i < n; i++)
		memcpy(p, open, lo), p += lo;
	memcpy(p, inner, li), p += li;
	for (size_t i = 0; i < n; i++)
		memcpy(p, close, lc), p += lc;
	strcpy(p, after);
	return s;
}

static void manifest_case(const char *name, const char *codes, const char *text)
{
	static const struct member home = HOME;
	struct pkg p = {0};

	pkg_members(&p, &home, 1, text, -1);
	emit_pkg(name, codes, &p);
}

/* A manifest whose tar entry is not a regular file. */
static void manifest_not_file(const char *name, char type, const char *target)
{
	static const struct member home = HOME;
	struct pkg p = {0};

	pkg_member(&p, &(struct member){MANIFEST_PATH, target, type}, 0);
	pkg_member(&p, &home, 0);
	emit_pkg(name, "-302", &p);
}

/* A manifest of `n` bytes: prefix, then `fill`, then suffix; malloc'd. */
static char *filled(const char *prefix, char fill, size_t n, const char *suffix)
{
	char *s = malloc(n + 1);

	memset(s, fill, n);
	memcpy(s, prefix, strlen(prefix));
	memcpy(s + n - strlen(suffix), suffix, strlen(suffix));
	s[n] = '\0';
	return s;
}

void manifest_cases(void)
{
	static const struct member home = HOME;
	struct pkg p = {0};
	char *s;

	for (size_t i = 0; i < N(manifest_texts); i++)
		manifest_case(manifest_texts[i].name, manifest_texts[i].codes, manifest_texts[i].text);
	s = nested("", "{\"a\":", 100000, "1", "}", "\n");
	manifest_case("manifest_nested_objects_100k", "-602", s);
	free(s);
	s = nested("", "[", 100000, "", "]", "\n");
	manifest_case("manifest_nested_arrays_100k", "-602", s);
	free(s);
	s = nested(M_HEAD ",\"name\":\"v\",\"resources\":[],\"x\":", "[", 100000, "", "]", "}\n");
	manifest_case("manifest_nested_in_field", "-602", s);
	free(s);
	s = nested(M_HEAD ",\"name\":\"v\",\"resources\":[],\"x\":", "[", 128, "", "]", "}\n");
	manifest_case("manifest_depth_129", "-602", s);
	free(s);
	s = nested(M_HEAD ",\"name\":\"v\",\"resources\":[", "{},", 1000000, "{}", "", "]}\n");
	manifest_case("manifest_million_resources", "-501|-900", s);
	free(s);
	s = nested(ENTRY_HEAD "\"size\":17," DIGEST ",\"depends_on\":[", "\"pages/home\",", 2000,
		   "\"pages/home\"", "", "]}]}\n");
	manifest_case("manifest_depends_2000", "-501", s);
	free(s);
	s = filled(" ", ' ', APPKG_MAX_MANIFEST_SIZE + 1, "\n");
	manifest_case("manifest_whitespace_over_limit", "-901", s);
	free(s);
	s = filled("{\"format\":\"zip\",\"name\":\"", 'n', 32 * MIB, "\"}\n");
	manifest_case("manifest_string_32mb", "-501", s);
	free(s);
	manifest_not_file("manifest_directory", '5', "");
	manifest_not_file("manifest_symlink", '2', "/etc/passwd");
	manifest_not_file("manifest_hardlink", '1', "/etc/shadow");
	pkg_member(&p, &home, 0); /* no manifest at all */
	emit_pkg("manifest_missing", "-306", &p);
}

/* ---- resources: JSON bombs and broken JSON ---- */

static void resource_case(const char *name, const char *codes, const char *data)
{
	struct member m = {"resources/pages/bomb.json", data, '0'};

	members_case(name, codes, &m, 1);
}

void resource_cases(void)
{
	static const struct {
		const char *name, *codes, *data;
	} t[] = {
		{"resource_array", "-601", "[]"},
		{"resource_string", "-600|-601", "\"x\""},
		{"resource_empty", "-600", ""},
		{"resource_duplicate_key", "-603", "{\"a\":1,\"a\":2}"},
		{"resource_trailing_garbage", "-600", "{} x"},
		{"resource_bom", "-600", "\xef\xbb\xbf{}"},
		{"resource_invalid_utf8", "-600", "{\"a\":\"caf\xe9\"}"},
		{"resource_nul_escape", "-600", "{\"a\":\"\\u0000\"}"},
		{"resource_lone_surrogate", "-600", "{\"a\":\"\\udc00\"}"},
		{"resource_raw_newline_in_string", "-600", "{\"a\":\"\n\"}"},
	};
	struct buf keys = {0};
	char *s, k[32];

	for (size_t i = 0; i < N(t); i++)
		resource_case(t[i].name, t[i].codes, t[i].data);
	s = nested("{\"a\":", "[", 100000, "", "]", "}");
	resource_case("resource_nested_arrays_100k", "-602", s);
	free(s);
	s = nested("", "{\"a\":", 100000, "1", "}", "");
	resource_case("resource_nested_objects_100k", "-602", s);
	free(s);
	s = nested("{\"a\":", "[", 128, "", "]", "}");
	resource_case("resource_depth_129", "-602", s);
	free(s);
	s = filled("{\"a\":", '[', APPKG_MAX_RESOURCE_SIZE - 1, "");
	resource_case("resource_16mb_of_brackets", "-602", s);
	free(s);
	s = filled("{\"a\":1", '1', APPKG_MAX_RESOURCE_SIZE - 1, "e}");
	resource_case("resource_16mb_number", "-600", s);
	free(s);
	s = filled("{\"a\":\"", 's', APPKG_MAX_RESOURCE_SIZE - 1, "");
	resource_case("resource_unterminated_string", "-600", s);
	free(s);
	s = filled("{", ' ', APPKG_MAX_RESOURCE_SIZE + 1, "}");
	resource_case("resource_over_limit", "-901", s);
	free(s);
	buf_append(&keys, "{", 1);
	for (int i = 0; i < 300000; i++) {
		snprintf(k, sizeof(k), "\"k%d\":0,", i);
		buf_append(&keys, k, strlen(k));
	}
	buf_append(&keys, "\"k0\":1}", 8);
	resource_case("resource_300k_keys_then_duplicate", "-603", (const char *)keys.data);
	buf_free(&keys);
}

/* ---- secrets.enc ---- */

#define SECRETS_ID "pkg1"

static void secrets_case(const char *name, const char *codes, const void *blob, size_t len)
{
	char man[1024], hex[65];
	unsigned char d[32];
	struct member m = {SECRETS_PATH, blob, '0', NULL, len};
	struct pkg p = {0};

	digest_bytes(d, blob, len);
	hex_encode(hex, d, 32);
	snprintf(man, sizeof(man), M_HEAD ",\"name\":\"v\",\"package_id\":\"" SECRETS_ID "\","
		 "\"resources\":[],\"secrets\":{\"path\":\"secrets.enc\",\"size\":%zu,\"digest\":\"%s\"}}\n",
		 len, hex);
	pkg_members(&p, &m, 1, man, -1);
	pkg_close(&p, 0);
	emit(name, codes, 1, p.file.data, p.file.len);
	buf_free(&p.file);
}

/* A real blob (Argon2id interactive, fixed salt) of plain, sealed with the corpus password. */
static void seal(struct buf *blob, const char *plain)
{
	struct appkg_err e = {0};
	struct secrets_header h = {.opslimit = 2, .memlimit = 67108864};

	memset(h.salt, 7, sizeof(h.salt));
	blob->len = 0;
	if (secrets_encrypt(blob, plain, strlen(plain), PASSWORD, strlen(PASSWORD), APPKG_KDF_KEEP,
			    &h, SECRETS_ID, &e))
		pkg_die(e.msg);
}

/* A copy of the good blob with one header byte or field changed. */
static void secrets_header_case(const char *name, const char *codes, const struct buf *good,
				size_t off, const void *bytes, size_t n)
{
	unsigned char *b = malloc(good->len);

	memcpy(b, good->data, good->len);
	memcpy(b + off, bytes, n);
	secrets_case(name, codes, b, good->len);
	free(b);
}

void secrets_cases(void)
{
	static const unsigned char two = 2, zero = 0;
	unsigned char le[8];
	struct buf good = {0}, b = {0};
	char *s;

	seal(&good, "{\"API_KEY\": \"s3cret\"}");
	secrets_case("secrets_empty", "-700", "", 0);
	secrets_case("secrets_truncated_header", "-700", good.data, 40);
	secrets_case("secrets_truncated_tag", "-700", good.data, 68 + 4 + 8);
	secrets_case("secrets_cut_ciphertext", "-702", good.data, good.len - 5);
	secrets_case("secrets_garbage", "-700", garbage, sizeof(garbage));
	secrets_header_case("secrets_bad_magic", "-700", &good, 0, "APKGSECX", 8);
	secrets_header_case("secrets_version_2", "-700", &good, 8, &two, 1);
	secrets_header_case("secrets_kdf_2", "-700", &good, 9, &two, 1);
	secrets_header_case("secrets_cipher_2", "-700", &good, 10, &two, 1);
	secrets_header_case("secrets_id_len_zero", "-700", &good, 11, &zero, 1);
	secrets_header_case("secrets_id_control_char", "-700", &good, 68, "p\x01", 2);
	secrets_header_case("secrets_id_other_package", "-704", &good, 68, "pkg2", 4);
	put_le64(le, 1ull << 40);
	secrets_header_case("secrets_kdf_opslimit_hours", "-701", &good, 12, le, 8);
	secrets_header_case("secrets_kdf_memlimit_1tb", "-701", &good, 20, le, 8);
	put_le64(le, UINT64_MAX);
	secrets_header_case("secrets_kdf_memlimit_overflow", "-701", &good, 20, le, 8);
	put_le64(le, 1);
	secrets_header_case("secrets_kdf_opslimit_one", "-701", &good, 12, le, 8);
	buf_append(&b, good.data, 72);
	buf_append_zeros(&b, 2 * MIB);
	secrets_case("secrets_blob_over_limit", "-901", b.data, b.len);
	b.len = 72;
	buf_append(&b, garbage, sizeof(garbage));
	secrets_case("secrets_ciphertext_garbage", "-702", b.data, b.len);
	seal(&b, "not json");
	secrets_case("secrets_not_json", "-600|-703", b.data, b.len);
	seal(&b, "{\"a\": 1}");
	secrets_case("secrets_not_strings", "-703", b.data, b.len);
	s = nested("", "[", 100000, "", "]", "");
	seal(&b, s);
	secrets_case("secrets_nested_100k", "-602|-703", b.data, b.len);
	free(s);
	buf_free(&good);
	buf_free(&b);
}
