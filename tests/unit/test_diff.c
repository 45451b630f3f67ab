/* SPDX-License-Identifier: MIT */
/*
 * The comparison API (appkg_diff_*) and directories opened as packages
 * (appkg_reader_open_directory), through the public header only: equal packages, one changed
 * value and its pointer, RFC 6901 escaping, an element inserted into an array, a removed key,
 * resources added and removed, entry attributes, shortened values, arrays past the LCS limit,
 * a directory against a package, and secrets compared by name with no value in any change.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"
#include "packages.h"

static appkg_diff *compare(appkg_reader *a, appkg_reader *b, int *count)
{
	struct appkg_diff_input ia = {.reader = a}, ib = {.reader = b};
	appkg_diff *d = appkg_diff_new();

	*count = appkg_diff_compare(d, &ia, &ib);
	harness_msg = appkg_diff_error(d);
	return d;
}

/* The first change of the subject and pointer given, or NULL. */
static const struct appkg_change *find(appkg_diff *d, int subject, const char *pointer)
{
	static struct appkg_change c;

	for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++)
		if (c.subject == subject && (!pointer || (c.pointer && !strcmp(c.pointer, pointer))))
			return &c;
	return NULL;
}

static int count_subject(appkg_diff *d, int subject)
{
	struct appkg_change c;
	int n = 0;

	for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++)
		n += c.subject == subject;
	return n;
}

#define MANIFEST "{\"name\":\"demo\",\"version\":\"1.0\"}"

static int write_file(const char *dir, const char *rel, const char *text);

TEST(test_diff_equal)
{
	appkg_reader *a = package(MANIFEST, "pages", "home", "{\"t\":1,\"l\":[1,2]}", NULL);
	appkg_reader *b = package(MANIFEST, "pages", "home", "{\"l\":[1,2],  \"t\":1}", NULL);
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 0); /* key order and spacing are not values */
	CHECK_EQ(appkg_diff_count(d), 0);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_one_value)
{
	appkg_reader *a = package(MANIFEST, "pages", "home", "{\"title\":\"Home\",\"n\":1}",
				  "queries", "q", "{\"x\":1}", NULL);
	appkg_reader *b = package(MANIFEST, "pages", "home", "{\"title\":\"Start\",\"n\":1}",
				  "queries", "q", "{\"x\":1}", NULL);
	const struct appkg_change *c;
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 2); /* the resource, and its one value */
	CHECK((c = find(d, APPKG_DIFF_RESOURCE, NULL)));
	CHECK(c->kind == APPKG_CHANGE_CHANGED && !strcmp(c->type, "pages") && !strcmp(c->name, "home"));
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/title")));
	CHECK(!strcmp(c->old_value, "\"Home\"") && !strcmp(c->new_value, "\"Start\""));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_pointer_escaping)
{
	appkg_reader *a = package(MANIFEST, "pages", "a", "{\"a/b\":{\"c~d\":1,\"~1\":true}}", NULL);
	appkg_reader *b = package(MANIFEST, "pages", "a", "{\"a/b\":{\"c~d\":2,\"~1\":false}}", NULL);
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 3);
	CHECK(find(d, APPKG_DIFF_VALUE, "/a~1b/c~0d"));
	CHECK(find(d, APPKG_DIFF_VALUE, "/a~1b/~01"));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_array_insert)
{
	appkg_reader *a = package(MANIFEST, "pages", "a", "{\"l\":[{\"k\":1},{\"k\":2},{\"k\":3},4,5]}", NULL);
	appkg_reader *b = package(MANIFEST, "pages", "a",
				  "{\"l\":[{\"k\":1},{\"k\":9},{\"k\":2},{\"k\":3},4,6]}", NULL);
	const struct appkg_change *c;
	int n;
	appkg_diff *d = compare(a, b, &n);

	/* one inserted element and the last one changed, not every later element changed */
	CHECK_EQ(n, 3);
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/l/1")));
	CHECK(c->kind == APPKG_CHANGE_ADDED && !c->old_value && !strcmp(c->new_value, "{\"k\":9}"));
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/l/5")));
	CHECK(c->kind == APPKG_CHANGE_CHANGED && !strcmp(c->old_value, "5") && !strcmp(c->new_value, "6"));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_key_removed)
{
	appkg_reader *a = package(MANIFEST, "pages", "a", "{\"keep\":1,\"gone\":[1,2]}", NULL);
	appkg_reader *b = package(MANIFEST, "pages", "a", "{\"keep\":1,\"new\":null}", NULL);
	const struct appkg_change *c;
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 3);
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/gone")));
	CHECK(c->kind == APPKG_CHANGE_REMOVED && !strcmp(c->old_value, "[1,2]") && !c->new_value);
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/new")));
	CHECK(c->kind == APPKG_CHANGE_ADDED && !strcmp(c->new_value, "null"));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_resources_and_manifest)
{
	appkg_reader *a = package("{\"name\":\"demo\",\"version\":\"1.0\",\"resources\":[{\"path\":"
				  "\"resources/pages/a.json\",\"mode\":\"create\",\"id\":\"7\"}]}",
				  "pages", "a", "{}", "pages", "old", "{}", NULL);
	appkg_reader *b = package("{\"name\":\"demo\",\"version\":\"2.0\",\"resources\":[{\"path\":"
				  "\"resources/pages/a.json\",\"mode\":\"update\",\"id\":\"7\"}]}",
				  "pages", "a", "{}", "queries", "new%2Fone", "{}", NULL);
	const struct appkg_change *c;
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 5);
	CHECK((c = find(d, APPKG_DIFF_PACKAGE, "/version")));
	CHECK(!strcmp(c->old_value, "\"1.0\"") && !strcmp(c->new_value, "\"2.0\""));
	CHECK((c = find(d, APPKG_DIFF_ENTRY, "/mode")));
	CHECK(!strcmp(c->name, "a") && !strcmp(c->new_value, "\"update\""));
	CHECK_EQ(count_subject(d, APPKG_DIFF_RESOURCE), 3);
	CHECK(appkg_diff_change(d, (size_t)n, &(struct appkg_change){0}) == APPKG_ERR_NOT_FOUND);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_logical_names)
{
	appkg_reader *a = package(MANIFEST, NULL);
	appkg_reader *b = package(MANIFEST, "queries", "invoices%2Fopen", "{}", NULL);
	const struct appkg_change *c;
	int n;
	appkg_diff *d = compare(a, b, &n);

	CHECK_EQ(n, 1);
	CHECK((c = find(d, APPKG_DIFF_RESOURCE, NULL)));
	CHECK(c->kind == APPKG_CHANGE_ADDED && !strcmp(c->name, "invoices/open"));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

TEST(test_diff_value_shortened)
{
	char big[400];
	appkg_reader *a, *b;
	const struct appkg_change *c;
	int n;
	appkg_diff *d;

	snprintf(big, sizeof(big), "{\"s\":\"%0300d\"}", 7);
	a = package(MANIFEST, "pages", "a", "{\"s\":\"short\"}", NULL);
	b = package(MANIFEST, "pages", "a", big, NULL);
	d = compare(a, b, &n);
	CHECK_EQ(n, 2);
	CHECK((c = find(d, APPKG_DIFF_VALUE, "/s")));
	CHECK(strlen(c->new_value) <= 60);
	CHECK(!strcmp(c->new_value + strlen(c->new_value) - 3, "..."));
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

/* Past APPKG_MAX_DIFF_CELLS the arrays are compared index by index: a shift of 1100 elements
 * is 1100 changes, where the LCS would have found one removal and one addition. */
TEST(test_diff_large_array_index_wise)
{
	size_t cap = 20000, len = 0;
	char *ja = malloc(cap), *jb = malloc(cap);
	appkg_reader *a, *b;
	int n;
	appkg_diff *d;

	CHECK(ja && jb);
	len = (size_t)snprintf(ja, cap, "{\"l\":[");
	for (int i = 0; i < 1100; i++)
		len += (size_t)snprintf(ja + len, cap - len, "%s%d", i ? "," : "", i);
	snprintf(ja + len, cap - len, "]}");
	len = (size_t)snprintf(jb, cap, "{\"l\":[");
	for (int i = 1; i <= 1100; i++)
		len += (size_t)snprintf(jb + len, cap - len, "%s%d", i > 1 ? "," : "", i);
	snprintf(jb + len, cap - len, "]}");
	a = package(MANIFEST, "pages", "a", ja, NULL);
	b = package(MANIFEST, "pages", "a", jb, NULL);
	d = compare(a, b, &n);
	CHECK_EQ(n, 1 + 1100);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
	free(ja);
	free(jb);
}

static int write_file(const char *dir, const char *rel, const char *text)
{
	char path[1100];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (!(f = fopen(path, "w")))
		return -1;
	fputs(text, f);
	return fclose(f);
}

TEST(test_diff_directory_against_package)
{
	char dir[512], sub[600];
	appkg_reader *a = package(MANIFEST, "pages", "home", "{\"t\":1}", NULL), *b = appkg_reader_new();
	appkg_diff *d;
	int n;

	snprintf(dir, sizeof(dir), "%s/dir", tmp);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(write_file(dir, "manifest.json", MANIFEST) == 0);
	CHECK(write_file(dir, "README.md", "side file") == 0);
	snprintf(sub, sizeof(sub), "%s/resources", dir);
	CHECK(mkdir(sub, 0755) == 0);
	snprintf(sub, sizeof(sub), "%s/resources/pages", dir);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(write_file(dir, "resources/pages/home.json", "{\"t\":1}\n") == 0);
	CHECK(appkg_reader_open_directory(b, dir) == 0);
	d = compare(a, b, &n);
	CHECK_EQ(n, 0);
	appkg_diff_free(d);
	CHECK(write_file(dir, "resources/pages/home.json", "{\"t\":2}") == 0);
	appkg_reader_free(b);
	b = appkg_reader_new();
	CHECK(appkg_reader_open_directory(b, dir) == 0);
	d = compare(a, b, &n);
	CHECK_EQ(n, 2);
	CHECK(find(d, APPKG_DIFF_VALUE, "/t"));
	appkg_diff_free(d);
	CHECK(write_file(dir, "resources/pages/home.json", "{\"t\":") == 0);
	appkg_reader_free(b);
	b = appkg_reader_new();
	CHECK(appkg_reader_open_directory(b, dir) == APPKG_ERR_JSON_SYNTAX);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

/* Secrets by name from plaintexts; no value in any string of any change. */
TEST(test_diff_secrets_by_name)
{
	static const char sa[] = "{\"KEEP\":\"same-value-1\",\"CHANGE\":\"old-value-2\",\"DROP\":\"x-3\"}";
	static const char sb[] = "{\"KEEP\":\"same-value-1\",\"CHANGE\":\"new-value-4\",\"ADD\":\"y-5\"}";
	static const char *const values[] = {"same-value-1", "old-value-2", "x-3", "new-value-4", "y-5"};
	appkg_reader *a = package(MANIFEST, NULL), *b = package(MANIFEST, NULL);
	struct appkg_diff_input ia = {.reader = a, .secrets_json = sa, .secrets_json_len = strlen(sa)};
	struct appkg_diff_input ib = {.reader = b, .secrets_json = sb, .secrets_json_len = strlen(sb)};
	appkg_diff *d = appkg_diff_new();
	struct appkg_change c;
	int n = appkg_diff_compare(d, &ia, &ib), seen = 0;

	harness_msg = appkg_diff_error(d);
	CHECK_EQ(n, 3);
	for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++) {
		const char *s[] = {c.type, c.name, c.pointer, c.old_value, c.new_value};
		CHECK(c.subject == APPKG_DIFF_SECRET);
		seen |= (!strcmp(c.name, "CHANGE") && c.kind == APPKG_CHANGE_CHANGED) << 0 |
			(!strcmp(c.name, "DROP") && c.kind == APPKG_CHANGE_REMOVED) << 1 |
			(!strcmp(c.name, "ADD") && c.kind == APPKG_CHANGE_ADDED) << 2;
		for (size_t k = 0; k < 5; k++)
			for (size_t v = 0; v < 5; v++)
				CHECK(!s[k] || !strstr(s[k], values[v]));
	}
	CHECK_EQ(seen, 7);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

/* A wrong password is APPKG_ERR_AUTH about that input, before anything is compared; the right
 * one compares the package with itself as equal. */
TEST(test_diff_wrong_password)
{
	appkg_reader *a = appkg_reader_new(), *b = appkg_reader_new();
	struct appkg_diff_input ia = {.reader = a, .password = "not it", .password_len = 6};
	struct appkg_diff_input ib = {.reader = b};
	char pw[256] = {0};
	FILE *f = fopen("tests/vectors/valid/PASSWORD", "r");
	appkg_diff *d = appkg_diff_new();

	CHECK(f && fgets(pw, sizeof(pw), f));
	fclose(f);
	pw[strcspn(pw, "\n")] = '\0';
	CHECK(appkg_reader_open_path(a, "tests/vectors/valid/v1.0-secrets.appkg") == 0);
	CHECK(appkg_reader_open_path(b, "tests/vectors/valid/v1.0-secrets.appkg") == 0);
	CHECK_EQ(appkg_diff_compare(d, &ia, &ib), APPKG_ERR_AUTH);
	CHECK_EQ(appkg_diff_failed_input(d), 0);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
	a = appkg_reader_new();
	b = appkg_reader_new();
	CHECK(appkg_reader_open_path(a, "tests/vectors/valid/v1.0-secrets.appkg") == 0);
	CHECK(appkg_reader_open_path(b, "tests/vectors/valid/v1.0-secrets.appkg") == 0);
	ia = (struct appkg_diff_input){.reader = a, .password = pw, .password_len = strlen(pw)};
	ib = (struct appkg_diff_input){.reader = b, .password = pw, .password_len = strlen(pw)};
	d = appkg_diff_new();
	harness_msg = appkg_diff_error(d);
	CHECK_EQ(appkg_diff_compare(d, &ia, &ib), 0);
	appkg_diff_free(d);
	appkg_reader_free(a);
	appkg_reader_free(b);
}

/* The layout rule of pack: a side file is skipped, a symbolic link where a resource belongs
 * and a misplaced .json file are problems, each reported to the writer's handler. */
static void count_problem(void *ctx, int code, const char *message)
{
	(void)code;
	(void)message;
	(*(int *)ctx)++;
}

TEST(test_directory_layout_rule)
{
	char dir[512], sub[600], link[700];
	appkg_writer *w = appkg_writer_new();
	int problems = 0;

	snprintf(dir, sizeof(dir), "%s/layout", tmp);
	snprintf(sub, sizeof(sub), "%s/resources/pages", dir);
	CHECK(mkdir(dir, 0755) == 0);
	CHECK(mkdir(strcat(strcpy(link, dir), "/resources"), 0755) == 0);
	CHECK(mkdir(sub, 0755) == 0);
	CHECK(write_file(dir, "manifest.json", MANIFEST) == 0);
	CHECK(write_file(dir, "resources/pages/home.json", "{}") == 0);
	CHECK(write_file(dir, "resources/pages/home.json~", "side file") == 0);
	snprintf(link, sizeof(link), "%s/resources/pages/link.json", dir);
	CHECK(symlink("home.json", link) == 0);
	CHECK(write_file(dir, "notes.json", "{}") == 0);
	appkg_writer_set_problem_handler(w, count_problem, &problems);
	CHECK(appkg_writer_add_directory(w, dir) != 0);
	CHECK_EQ(problems, 2);
	appkg_writer_free(w);
	CHECK(unlink(link) == 0);
	snprintf(link, sizeof(link), "%s/notes.json", dir);
	CHECK(unlink(link) == 0);
	w = appkg_writer_new();
	CHECK_EQ(appkg_writer_add_directory(w, dir), 0);
	appkg_writer_free(w);
	w = appkg_writer_new();
	snprintf(link, sizeof(link), "%s/none", tmp);
	CHECK_EQ(appkg_writer_add_directory(w, link), APPKG_ERR_NO_FILE);
	appkg_writer_free(w);
}

int main(void)
{
	char cmd[300];

	snprintf(tmp, sizeof(tmp), "/tmp/appkg-test-diff-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(test_diff_equal);
	RUN(test_diff_one_value);
	RUN(test_diff_pointer_escaping);
	RUN(test_diff_array_insert);
	RUN(test_diff_key_removed);
	RUN(test_diff_resources_and_manifest);
	RUN(test_diff_logical_names);
	RUN(test_diff_value_shortened);
	RUN(test_diff_large_array_index_wise);
	RUN(test_diff_directory_against_package);
	RUN(test_diff_secrets_by_name);
	RUN(test_diff_wrong_password);
	RUN(test_directory_layout_rule);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp);
	return harness_total_failed != 0;
}
