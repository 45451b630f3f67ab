/* SPDX-License-Identifier: MIT */
/*
 * Every package under tests/vectors/invalid/<case>/ must be rejected with the code its
 * `expected` file names; every golden package under tests/vectors/valid/ must open, read in
 * full and (when it has secrets) decrypt with the password in valid/PASSWORD.
 */
#include <dirent.h>
#include <sodium.h>

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
	return harness_total_failed != 0;
}
