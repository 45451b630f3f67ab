/* SPDX-License-Identifier: MIT */
/*
 * Every package under tests/vectors/invalid/<case>/ must be rejected with the code its
 * `expected` file names; every golden package under tests/vectors/valid/ must open, read in
 * full and (when it has secrets) decrypt with the password in valid/PASSWORD. And the zstd
 * parameters spec §3.2 pins reproduce every data frame of the golden packages and of packages
 * written at every level, as a second writer using libzstd would make them.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_c_useRowMatchFinder */
#include <dirent.h>
#include <sodium.h>
#include <stdint.h>
#include <zstd.h>

#include "appkg/appkg.h"
#include "harness.h"

static char expected_line[256];
static const char *vector_dir;

/* Open, read every member, and decrypt when the vector names a password. */
static int read_package(const char *path, const char *password, char *msg, size_t msg_len)
{
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *data;
	int rc = appkg_reader_open_path(r, path);

	if (!rc && password && appkg_reader_has_secrets(r)) {
		char *plain;
		size_t len;
		rc = appkg_reader_secrets(r, password, strlen(password), &plain, &len);
		if (!rc)
			appkg_secure_free(plain, len);
	}
	while (!rc && (rc = appkg_reader_next(r, &m, &data)) == 1)
		rc = 0;
	snprintf(msg, msg_len, "%s", appkg_reader_error(r));
	appkg_reader_free(r);
	return rc;
}

/* "code=-203|-204 exit=1 password=pw": does code match one of the listed codes? */
static int code_listed(const char *line, int code)
{
	const char *p = strstr(line, "code=");

	for (p = p ? p + 5 : NULL; p && *p && *p != ' ';) {
		char *end;
		long v = strtol(p, &end, 10);
		if (v == code)
			return 1;
		p = *end == '|' ? end + 1 : NULL;
	}
	return 0;
}

TEST(test_invalid_vector)
{
	char path[1024], msg[600], pw[64] = "";
	const char *p;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/expected", vector_dir);
	f = fopen(path, "r");
	CHECK(f != NULL);
	CHECK(fgets(expected_line, sizeof(expected_line), f) != NULL);
	fclose(f);
	if ((p = strstr(expected_line, "password=")))
		sscanf(p + 9, "%63s", pw);
	snprintf(path, sizeof(path), "%s/package.appkg", vector_dir);
	rc = read_package(path, *pw ? pw : NULL, msg, sizeof(msg));
	harness_msg = msg;
	CHECK(rc < 0);
	CHECK(code_listed(expected_line, rc));
	CHECK(strlen(msg) > 0 && strchr(msg, '\n') == NULL);
}

TEST(test_valid_vector)
{
	char msg[600], pw[128] = "";
	FILE *f = fopen("tests/vectors/valid/PASSWORD", "r");

	if (f) {
		if (fgets(pw, sizeof(pw), f))
			pw[strcspn(pw, "\n")] = '\0';
		fclose(f);
	}
	harness_msg = msg;
	CHECK_EQ(read_package(vector_dir, pw, msg, sizeof(msg)), 0);
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One frame compressed as spec §3.2 says, compared with the frame the writer made. */
static int frame_reproduced(const unsigned char *z, size_t csize, size_t dsize, int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	void *plain = malloc(dsize), *again = malloc(ZSTD_compressBound(dsize));
	size_t n = ZSTD_decompress(plain, dsize, z, csize);
	int same = 0;

	if (c && plain && again && n == dsize) {
		ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
		ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, 23);
		ZSTD_CCtx_setParameter(c, ZSTD_c_useRowMatchFinder,
				       dsize > 16384 ? ZSTD_ps_enable : ZSTD_ps_disable);
		n = ZSTD_compress2(c, again, ZSTD_compressBound(dsize), plain, dsize);
		same = n == csize && memcmp(again, z, n) == 0;
	}
	ZSTD_freeCCtx(c);
	free(plain);
	free(again);
	return same;
}

/* Number of data frames of the package in f that the §3.2 parameters reproduce, or -1 for a
 * frame they do not (the seek table's frames, in order from offset 0). */
static long frames_reproduced(const unsigned char *f, size_t len, int level)
{
	uint32_t n = le32(f + len - 9);
	const unsigned char *tab = f + len - 9 - 8 * (size_t)n;
	size_t off = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (!frame_reproduced(f + off, le32(tab + 8 * i), le32(tab + 8 * i + 4), level))
			return -1;
		off += le32(tab + 8 * i);
	}
	return n;
}

static unsigned char *slurp(FILE *f, size_t *len)
{
	unsigned char *b = NULL;

	if (f && fseek(f, 0, SEEK_END) == 0 && (*len = (size_t)ftell(f)) > 0 && (b = malloc(*len))) {
		rewind(f);
		if (fread(b, 1, *len, f) != *len) {
			free(b);
			b = NULL;
		}
	}
	if (f)
		fclose(f);
	return b;
}

TEST(test_spec_zstd_parameters_golden)
{
	static const char *const golden[] = {"tests/vectors/valid/v1.0-plain.appkg",
					      "tests/vectors/valid/v1.0-secrets.appkg"};

	for (size_t i = 0; i < 2; i++) {
		size_t len = 0;
		unsigned char *f = slurp(fopen(golden[i], "rb"), &len);
		harness_msg = golden[i];
		CHECK(f != NULL);
		long n = frames_reproduced(f, len, 3);
		free(f);
		CHECK(n >= 2);
	}
}

/* Resource i of the level test: JSON of a size that puts frames below, at and above 16 KiB
 * and above the 128 KiB frame target, where libzstd's own match-finder choice depends on the
 * CPU. */
static size_t level_resource(char *out, size_t i)
{
	static const size_t sizes[] = {3000, 16000, 17000, 40000, 100000, 200000};
	size_t n = sizes[i], pos;
	uint32_t x = (uint32_t)i + 1;

	pos = (size_t)sprintf(out, "{\"items\": [");
	while (pos < n - 40) {
		x = x * 1103515245u + 12345u;
		pos += (size_t)sprintf(out + pos, "{\"k\": \"v%u\", \"n\": %u}, ", (x >> 16) % 97,
				       (x >> 8) % 1000);
	}
	pos += (size_t)sprintf(out + pos, "{}]}");
	return pos;
}

TEST(test_spec_zstd_parameters_levels)
{
	static char data[6][200100];
	size_t len[6];
	char msg[64];

	for (size_t i = 0; i < 6; i++)
		len[i] = level_resource(data[i], i);
	for (int level = 1; level <= 19; level++) {
		appkg_writer *w = appkg_writer_new();
		FILE *f = tmpfile();
		size_t flen = 0;
		unsigned char *pkg;
		char name[16];
		snprintf(msg, sizeof(msg), "level %d", level);
		harness_msg = msg;
		CHECK(w && f);
		CHECK_EQ(appkg_writer_set_level(w, level), 0);
		CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"levels\"}", 18), 0);
		for (size_t i = 0; i < 6; i++) {
			snprintf(name, sizeof(name), "r%zu", i);
			CHECK_EQ(appkg_writer_add_resource(w, "pages", name, data[i], len[i]), 0);
		}
		CHECK_EQ(appkg_writer_finish_fd(w, fileno(f)), 0);
		appkg_writer_free(w);
		pkg = slurp(f, &flen);
		CHECK(pkg != NULL);
		long n = frames_reproduced(pkg, flen, level);
		free(pkg);
		CHECK(n >= 4);
	}
}

/* Frame 0 of a package of many resources: a manifest larger than the window, compressed in
 * parts as it is made (spec §3.2) and given back to libzstd's window as it goes, must be the
 * bytes ZSTD_compress2 makes of it whole. */
TEST(test_spec_zstd_parameters_large_manifest)
{
	static const int levels[] = {3, 9};
	char msg[64], name[32], data[32];

	for (size_t l = 0; l < 2; l++) {
		appkg_writer *w = appkg_writer_new();
		FILE *f = tmpfile();
		size_t flen = 0;
		unsigned char *pkg;
		snprintf(msg, sizeof(msg), "level %d", levels[l]);
		harness_msg = msg;
		CHECK(w && f);
		CHECK_EQ(appkg_writer_set_level(w, levels[l]), 0);
		CHECK_EQ(appkg_writer_set_threads(w, l ? 2 : 1), 0);
		CHECK_EQ(appkg_writer_set_manifest(w, "{\"name\": \"large\"}", 17), 0);
		for (size_t i = 0; i < 45000; i++) {
			int n = snprintf(data, sizeof(data), "{\"i\": %zu}", i);
			snprintf(name, sizeof(name), "r%zu", i * 7919 % 45000);
			CHECK_EQ(appkg_writer_add_resource(w, i % 3 ? "pages" : "flows", name, data,
							  (size_t)n), 0);
		}
		CHECK_EQ(appkg_writer_finish_fd(w, fileno(f)), 0);
		appkg_writer_free(w);
		pkg = slurp(f, &flen);
		CHECK(pkg != NULL);
		long n = frames_reproduced(pkg, flen, levels[l]);
		free(pkg);
		CHECK(n >= 2);
	}
}

static void run_dir(const char *dir, int valid)
{
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	char path[1024], name[600];

	for (int i = 0; i < n; i++) {
		const char *d = list[i]->d_name;
		size_t len = strlen(d);
		if (d[0] != '.' && (!valid || (len > 6 && !strcmp(d + len - 6, ".appkg")))) {
			snprintf(path, sizeof(path), "%s/%s", dir, d);
			snprintf(name, sizeof(name), "%s_%s", valid ? "valid" : "invalid", d);
			vector_dir = path;
			run_test(name, valid ? test_valid_vector : test_invalid_vector);
		}
		free(list[i]);
	}
	free(list);
	if (n <= 0)
		run_test(valid ? "valid_vectors_present" : "invalid_vectors_present", NULL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	run_dir("tests/vectors/invalid", 0);
	run_dir("tests/vectors/valid", 1);
	RUN(test_spec_zstd_parameters_golden);
	RUN(test_spec_zstd_parameters_levels);
	RUN(test_spec_zstd_parameters_large_manifest);
	return harness_total_failed != 0;
}
