/* SPDX-License-Identifier: MIT */
/*
 * Placeholders and bindings (spec section 20) through the public header only: the grammar,
 * where a placeholder may stand, binding every kind of value into valid JSON (checked by
 * parsing the output with Jansson), secrets only when asked, and the bindings file's schema.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "appkg/errors.h"
#include "harness.h"

#define MAX_FOUND 8

struct found {
	size_t n;
	struct appkg_placeholder p[MAX_FOUND];
	char names[MAX_FOUND][80];
};

static void collect(void *ctx, const struct appkg_placeholder *p)
{
	struct found *f = ctx;

	if (f->n < MAX_FOUND) {
		f->p[f->n] = *p;
		snprintf(f->names[f->n], sizeof(f->names[0]), "%s", p->name ? p->name : "");
		f->p[f->n].name = f->names[f->n];
	}
	f->n++;
}

static int scan(const char *json, struct found *f)
{
	memset(f, 0, sizeof(*f));
	return appkg_placeholders_scan(json, strlen(json), collect, f);
}

/* The message of the last scan failure. */
static const char *last_message(void)
{
	static struct appkg_problem p;

	appkg_last_problem(&p);
	return p.message ? p.message : "";
}

/* {"v": "TEXT"}, TEXT needing no escape. */
static int scan_value(const char *text, struct found *f)
{
	char doc[512];

	snprintf(doc, sizeof(doc), "{\"v\": \"%s\"}", text);
	return scan(doc, f);
}

TEST(grammar_accepts)
{
	static const struct {
		const char *text;
		int kind;
		const char *name;
		int whole;
		unsigned column;
	} ok[] = {
		{"[[appkg:input:db_host]]", APPKG_PLACEHOLDER_INPUT, "db_host", 1, 8},
		{"[[appkg:secret:DB_PASS]]", APPKG_PLACEHOLDER_SECRET, "DB_PASS", 1, 8},
		{"[[appkg:literal]]", APPKG_PLACEHOLDER_LITERAL, "", 1, 8},
		{"jdbc://[[appkg:input:host]]:5432/db", APPKG_PLACEHOLDER_INPUT, "host", 0, 15},
		{"[[appkg:input:a.b-c_D9]]", APPKG_PLACEHOLDER_INPUT, "a.b-c_D9", 1, 8},
		{"[[[appkg:input:x]]]", APPKG_PLACEHOLDER_INPUT, "x", 0, 9},
		{"[[appkg:input:"
		 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl]]",
		 APPKG_PLACEHOLDER_INPUT, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl", 1, 8},
	};
	struct found f;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		harness_msg = ok[i].text;
		CHECK_EQ(scan_value(ok[i].text, &f), 1);
		CHECK_EQ(f.p[0].kind, ok[i].kind);
		CHECK(!strcmp(f.names[0], ok[i].name));
		CHECK_EQ(f.p[0].whole, ok[i].whole);
		CHECK_EQ(f.p[0].line, 1);
		CHECK_EQ(f.p[0].column, ok[i].column);
	}
	CHECK_EQ(scan("{\"a\": [\"[[appkg:input:x]]\", \"[[appkg:literal]] [[appkg:secret:s]]\"]}", &f), 3);
	CHECK(!strcmp(f.names[1], "") && !strcmp(f.names[2], "s"));
	CHECK_EQ(f.p[1].whole, 0);
}

TEST(grammar_refuses)
{
	static const char *const bad[] = {
		"[[appkg:inptu:x]]", "[[appkg:input:]]", "[[appkg:input:1x]]", "[[appkg:input:_x]]",
		"[[appkg:input:x]", "[[appkg:input:x y]]", "[[appkg:input:x ]]", "[[appkg:]]",
		"[[appkg:literal:x]]", "[[appkg:Input:x]]", "[[appkg:", "[[appkg:secret:a/b]]",
		"[[appkg:input:\xc3\xa9]]", "text [[appkg:input:ok]] and [[appkg:oops]]",
		"[[appkg:input:"
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm]]",
	};
	struct found f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		harness_msg = bad[i];
		CHECK_EQ(scan_value(bad[i], &f), APPKG_ERR_PLACEHOLDER);
		harness_msg = last_message();
		CHECK(strstr(last_message(), "is not a placeholder"));
		CHECK(strstr(last_message(), "'input:NAME', 'secret:NAME' or 'literal'"));
		CHECK(strstr(last_message(), "spec §20.1"));
	}
	harness_msg = "";
	CHECK_EQ(scan_value("[[appkg:inptu:x]]", &f), APPKG_ERR_PLACEHOLDER);
	CHECK(!strncmp(last_message(), "line 1 column 8: '[[appkg:inptu:x]]' is not a placeholder", 56));
}

/* Other templates are text: none of them is read as a placeholder. */
TEST(other_templates_are_text)
{
	static const char *const text[] = {
		"{{ secrets.DB_PASS }}", "{{ env.REGION }}", "{{ inputs.term }}", "#{Octopus.Var}",
		"${DB_HOST}", "$(Build.Id)", "@{variables('x')}", "%{HOST}", "[[APPKG:input:x]]",
		"[[ appkg:input:x]]", "[appkg:input:x]", "[[appkg-input:x]]", "[[appkg input:x]]",
	};
	struct found f;

	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++) {
		harness_msg = text[i];
		CHECK_EQ(scan_value(text[i], &f), 0);
	}
	CHECK_EQ(scan("{\"a\": \"\\\\u005b[appkg:input:x]]\"}", &f), 0); /* an escaped backslash */
}

TEST(escape_cannot_hide_one)
{
	struct found f;

	CHECK_EQ(scan("{\"v\": \"\\u005b[appkg:input:x]]\"}", &f), 1);
	CHECK(!strcmp(f.names[0], "x"));
	CHECK_EQ(f.p[0].column, 8);
	CHECK_EQ(f.p[0].whole, 1);
	CHECK_EQ(scan("{\n \"v\": \"ab\\u005B\\u005Bappkg:\\u0069nput:y\\u005d\\u005d\"}", &f), 1);
	CHECK(!strcmp(f.names[0], "y"));
	CHECK_EQ(f.p[0].line, 2);
	CHECK_EQ(f.p[0].column, 10);
	CHECK_EQ(scan("{\"v\": \"\\u005b[appkg:inptu:x]]\"}", &f), APPKG_ERR_PLACEHOLDER);
}

TEST(key_refused)
{
	struct found f;

	CHECK_EQ(scan("{\"[[appkg:input:x]]\": 1}", &f), APPKG_ERR_PLACEHOLDER);
	harness_msg = last_message();
	CHECK(strstr(last_message(), "line 1 column 3: "));
	CHECK(strstr(last_message(), "placeholder in an object key"));
	CHECK(strstr(last_message(), "valid only in string values"));
	CHECK_EQ(scan("{\"a\": {\"b\\u005b[appkg:literal]]\"  :\n 1}}", &f), APPKG_ERR_PLACEHOLDER);
	CHECK(strstr(last_message(), "object key"));
}

TEST(outside_string_refused)
{
	struct appkg_problem p;
	struct found f;

	CHECK_EQ(scan("{\n  \"port\": [[appkg:input:port]]\n}", &f), APPKG_ERR_PLACEHOLDER);
	CHECK_EQ(appkg_last_problem(&p), APPKG_ERR_PLACEHOLDER);
	harness_msg = p.message;
	CHECK_EQ(p.line, 2);
	CHECK_EQ(p.column, 11);
	CHECK(!strncmp(p.message, "line 2 column 11: placeholder outside a JSON string "
				  "([[appkg:input:port]])", 62));
	CHECK(strstr(p.message, "valid only inside strings (spec §20.1)"));
	CHECK(!strncmp(p.detail, "placeholder outside", 19));
	/* a later successful scan clears it */
	CHECK_EQ(scan("{}", &f), 0);
	CHECK_EQ(appkg_last_problem(&p), 0);
}

TEST(scan_never_reads_past_len)
{
	static const char *const cut[] = {"{\"v\": \"[[appkg:inpu", "{\"v\": \"\\u00", "{\"v\": \"\\",
					  "[[appkg:", "{\"v\": \"[[appkg:input:x]]"};
	struct found f;

	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		size_t n = strlen(cut[i]);
		char *p = malloc(n); /* no NUL after it: ASan sees a read past the end */
		CHECK(p);
		memcpy(p, cut[i], n);
		memset(&f, 0, sizeof(f));
		int rc = appkg_placeholders_scan(p, n, collect, &f);
		free(p);
		CHECK(rc == APPKG_ERR_PLACEHOLDER || rc == 0 || rc == 1);
	}
	CHECK_EQ(appkg_placeholders_scan(NULL, 0, NULL, NULL), 0);
}

/* ---- binding ---- */

static appkg_bindings *bindings(const char *env)
{
	appkg_bindings *b = appkg_bindings_new();

	if (b && appkg_bindings_load(b, env, strlen(env))) {
		fprintf(stderr, "  load: %s\n", appkg_bindings_error(b));
		appkg_bindings_free(b);
		return NULL;
	}
	return b;
}

static char *bound;
static size_t bound_len;

static int bind_n(appkg_bindings *b, const void *doc, size_t len, int flags)
{
	appkg_bound_free(bound, bound_len);
	bound = NULL;
	int rc = appkg_bind(b, doc, len, flags, &bound, &bound_len);
	harness_msg = appkg_bindings_error(b);
	return rc;
}

static int bind(appkg_bindings *b, const char *doc, int flags)
{
	return bind_n(b, doc, strlen(doc), flags);
}

/* The bound document parsed (must be valid JSON), member key of it. */
static json_t *bound_member(json_t **root, const char *key)
{
	json_error_t err;

	*root = json_loadb(bound, bound_len, JSON_REJECT_DUPLICATES, &err);
	if (!*root)
		fprintf(stderr, "  not valid JSON: %s: %s\n", err.text, bound);
	return *root ? json_object_get(*root, key) : NULL;
}

TEST(literal_survives)
{
	appkg_bindings *b = bindings("{\"inputs\": {\"x\": \"X\"}}");
	json_t *root, *v;

	CHECK(b);
	CHECK_EQ(bind(b, "{\"a\": \"[[appkg:literal]]input:x]]\", \"b\": \"[[appkg:literal]]\"}", 0), 2);
	v = bound_member(&root, "a");
	CHECK(v && json_is_string(v) && !strcmp(json_string_value(v), "[[appkg:input:x]]"));
	CHECK(!strcmp(json_string_value(json_object_get(root, "b")), "[[appkg:"));
	json_decref(root);
	appkg_bindings_free(b);
}

TEST(value_escaped_into_valid_json)
{
	/* quote, backslash, newline, tab, CR, U+0001, U+001F, é, €, an emoji, U+2028, DEL */
	static const char value[] = "q\"b\\s\nn\tt\rr\x01\x1f \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"
				    "\xe2\x80\xa8\x7f/";
	json_t *env = json_pack("{s{ss}}", "inputs", "v", value), *root, *v;
	char *text = json_dumps(env, JSON_COMPACT), expect[128];
	appkg_bindings *b = bindings(text);

	free(text);
	json_decref(env);
	CHECK(b);
	CHECK_EQ(bind(b, "{\"embedded\": \"pre [[appkg:input:v]] post\", \"whole\": \"[[appkg:input:v]]\"}", 0), 2);
	snprintf(expect, sizeof(expect), "pre %s post", value);
	v = bound_member(&root, "embedded");
	CHECK(v && !strcmp(json_string_value(v), expect));
	CHECK(!strcmp(json_string_value(json_object_get(root, "whole")), value));
	CHECK(strstr(bound, "\\u0001") && strstr(bound, "\\n") && !strstr(bound, "\n"));
	CHECK(strstr(bound, "\xc3\xa9")); /* non-ASCII stays raw UTF-8 */
	json_decref(root);
	appkg_bindings_free(b);
}

TEST(whole_string_takes_any_value)
{
	appkg_bindings *b = bindings("{\"inputs\": {\"n\": 3, \"r\": 1.50, \"big\": 12345678901234567890123,"
				     " \"o\": {\"a\" : [1, 2], \"s\": \"x y\"}, \"t\": true, \"f\": false,"
				     " \"z\": null, \"e\": \"\", \"arr\": [\"\\u00e9\"]}}");
	const char *doc = "{\"n\": \"[[appkg:input:n]]\", \"r\": \"[[appkg:input:r]]\", \"o\": \"[[appkg:input:o]]\", \"t\": "
			  "\"[[appkg:input:t]]\", \"f\": \"[[appkg:input:f]]\", \"z\": "
			  "\"[[appkg:input:z]]\", \"e\": \"[[appkg:input:e]]\", \"arr\": "
			  "[\"[[appkg:input:arr]]\"], \"in\": \"port [[appkg:input:n]] [[appkg:input:o]] "
			  "[[appkg:input:z]]\"}";
	json_t *root, *v;

	CHECK(b);
	CHECK_EQ(bind(b, "{\"big\": \"[[appkg:input:big]]\"}", 0), 1);
	CHECK(!strcmp(bound, "{\"big\": 12345678901234567890123}")); /* the exact text, not rounded */
	CHECK_EQ(bind(b, doc, 0), 11);
	v = bound_member(&root, "n");
	CHECK(json_is_integer(v) && json_integer_value(v) == 3);
	CHECK(strstr(bound, "\"r\": 1.50,"));
	CHECK(json_is_object(json_object_get(root, "o")));
	CHECK(json_is_true(json_object_get(root, "t")) && json_is_false(json_object_get(root, "f")));
	CHECK(json_is_null(json_object_get(root, "z")));
	CHECK(!strcmp(json_string_value(json_object_get(root, "e")), ""));
	CHECK(json_is_array(json_array_get(json_object_get(root, "arr"), 0)));
	CHECK(!strcmp(json_string_value(json_object_get(root, "in")),
		      "port 3 {\"a\":[1,2],\"s\":\"x y\"} null"));
	CHECK(!strcmp(appkg_bindings_value(b, "o"), "{\"a\":[1,2],\"s\":\"x y\"}"));
	json_decref(root);
	appkg_bindings_free(b);
}

TEST(bytes_outside_kept)
{
	static const char doc[] = "{ \"k\\u00e9y\" :  [1,  2.50e1 , \"x\\/y\", \"[[appkg:secret:s]]\"],\n"
				  "\t\"z\": \"[[appkg:input:n]]\" ,\"w\":\"a\\u0041[[appkg:input:n]]\"}\n";
	static const char want[] = "{ \"k\\u00e9y\" :  [1,  2.50e1 , \"x\\/y\", \"[[appkg:secret:s]]\"],\n"
				   "\t\"z\": 7 ,\"w\":\"aA7\"}\n";
	appkg_bindings *b = bindings("{\"inputs\": {\"n\": 7}}");

	CHECK(b);
	CHECK_EQ(bind(b, doc, 0), 2);
	CHECK_EQ(bound_len, strlen(want));
	CHECK(!memcmp(bound, want, bound_len));
	/* no placeholder: the same bytes */
	CHECK_EQ(bind(b, "{\"a\" :\t[ 1 ,2 ]}", 0), 0);
	CHECK(!strcmp(bound, "{\"a\" :\t[ 1 ,2 ]}"));
	appkg_bindings_free(b);
}

/* A bound document many times its input's size: everything before each string survives the
 * output buffer's growth. */
TEST(output_grows)
{
	char env[1200], doc[4096], *p = doc;
	appkg_bindings *b;
	json_t *root, *v;

	snprintf(env, sizeof(env), "{\"inputs\": {\"v\": \"%01000d\"}}", 7);
	b = bindings(env);
	CHECK(b);
	p += sprintf(p, "{\"first\": 1, \"list\": [");
	for (int i = 0; i < 100; i++)
		p += sprintf(p, "%s\"%d [[appkg:input:v]]\"", i ? ", " : "", i);
	sprintf(p, "], \"last\": \"[[appkg:input:v]]\"}");
	CHECK_EQ(bind(b, doc, 0), 101);
	CHECK(bound_len > 100000);
	v = bound_member(&root, "list");
	CHECK(json_integer_value(json_object_get(root, "first")) == 1);
	CHECK_EQ(json_array_size(v), 100);
	CHECK_EQ(strlen(json_string_value(json_array_get(v, 99))), 1003);
	CHECK_EQ(strlen(json_string_value(json_object_get(root, "last"))), 1000);
	json_decref(root);
	appkg_bindings_free(b);
}

TEST(unbound_names_the_input)
{
	appkg_bindings *b = bindings("{\"inputs\": {\"db_host\": \"h\"}}");

	CHECK(b);
	CHECK_EQ(bind(b, "{\"a\": \"[[appkg:input:db_host]]\",\n \"b\": \"x [[appkg:input:tenant]]\"}", 0),
		 APPKG_ERR_UNBOUND);
	CHECK(!bound);
	CHECK(strstr(appkg_bindings_error(b), "line 2 column 10: input 'tenant' has no value"));
	CHECK_EQ(appkg_error_class(APPKG_ERR_UNBOUND), APPKG_EXIT_REJECTED);
	CHECK(!strcmp(appkg_error_name(APPKG_ERR_UNBOUND), "input or secret without a value"));
	/* a bad placeholder or invalid JSON is refused, not bound */
	CHECK_EQ(bind(b, "{\"a\": \"[[appkg:inptu:x]]\"}", 0), APPKG_ERR_PLACEHOLDER);
	CHECK_EQ(bind(b, "{\"a\": [[appkg:input:db_host]]}", 0), APPKG_ERR_JSON_SYNTAX);
	CHECK_EQ(bind(b, "{\"a\": \"[[appkg:input:db_host]]\", \"a\": 1}", 0), APPKG_ERR_JSON_DUPLICATE);
	appkg_bindings_free(b);
}

TEST(secrets_only_with_the_flag)
{
	static const char doc[] = "{\"pw\": \"[[appkg:secret:DB_PASS]]\", \"url\": "
				  "\"u:[[appkg:secret:DB_PASS]]@[[appkg:input:h]]\"}";
	appkg_bindings *b = bindings("{\"inputs\": {\"h\": \"host\"}}");
	json_t *root;

	CHECK(b);
	CHECK_EQ(bind(b, doc, 0), 1);
	CHECK(!strcmp(bound, "{\"pw\": \"[[appkg:secret:DB_PASS]]\", \"url\": "
			     "\"u:[[appkg:secret:DB_PASS]]@host\"}"));
	CHECK_EQ(bind(b, doc, APPKG_BIND_SECRETS), APPKG_ERR_UNBOUND); /* no secrets given */
	CHECK(strstr(appkg_bindings_error(b), "secret 'DB_PASS'"));
	static const char secrets[] = "{\"A\": \"a\", \"DB_PASS\": \"p\\\"w\\u00e9\"}";
	CHECK_EQ(appkg_bindings_set_secrets(b, secrets, strlen(secrets)), 0);
	CHECK_EQ(bind(b, doc, APPKG_BIND_SECRETS), 3);
	CHECK(!strcmp(json_string_value(bound_member(&root, "pw")), "p\"w\xc3\xa9"));
	CHECK(!strcmp(json_string_value(json_object_get(root, "url")), "u:p\"w\xc3\xa9@host"));
	json_decref(root);
	CHECK_EQ(bind(b, "{\"x\": \"[[appkg:secret:NOPE]]\"}", APPKG_BIND_SECRETS), APPKG_ERR_UNBOUND);
	CHECK(strstr(appkg_bindings_error(b), "secret 'NOPE'"));
	CHECK_EQ(appkg_bindings_set_secrets(b, "{\"A\": 1}", 8), APPKG_ERR_SECRETS_JSON);
	CHECK_EQ(bind(b, "{}", 2), APPKG_ERR_INVALID_ARGUMENT);
	appkg_bindings_free(b);
}

/* ---- the bindings file ---- */

TEST(bindings_file_read)
{
	appkg_bindings *b = bindings("{\"environment\": \"prod-eu\", \"inputs\": {\"zeta\": \"z\","
				     " \"alpha\": [ 1, {\"k\": \"v\"} ], \"m\\u0069d\": 2}}");

	CHECK(b);
	CHECK(!strcmp(appkg_bindings_environment(b), "prod-eu"));
	CHECK_EQ(appkg_bindings_count(b), 3);
	CHECK(!strcmp(appkg_bindings_name(b, 0), "alpha"));
	CHECK(!strcmp(appkg_bindings_name(b, 1), "mid"));
	CHECK(!strcmp(appkg_bindings_name(b, 2), "zeta"));
	CHECK(!appkg_bindings_name(b, 3));
	CHECK(!strcmp(appkg_bindings_value(b, "alpha"), "[1,{\"k\":\"v\"}]"));
	CHECK(!strcmp(appkg_bindings_value(b, "zeta"), "\"z\""));
	CHECK(!appkg_bindings_value(b, "nope"));
	/* a second load replaces the first */
	CHECK_EQ(appkg_bindings_load(b, "{\"inputs\": {}}", 14), 0);
	CHECK_EQ(appkg_bindings_count(b), 0);
	CHECK(!appkg_bindings_environment(b));
	appkg_bindings_free(b);
	appkg_bindings_free(NULL);
}

TEST(bindings_schema_errors)
{
	static const struct {
		const char *doc;
		int code;
		const char *says;
	} bad[] = {
		{"{\"inputs\": {}, \"enviroment\": \"x\"}", APPKG_ERR_BINDINGS, "line 1 column 16: unknown field 'enviroment'"},
		{"{\"inputs\": {\"1db\": 1}}", APPKG_ERR_BINDINGS, "'1db' is not an input name"},
		{"{\"inputs\": {\"a b\": 1}}", APPKG_ERR_BINDINGS, "'a b' is not an input name"},
		{"{\"inputs\": {\"\": 1}}", APPKG_ERR_BINDINGS, "is not an input name"},
		{"{\"inputs\": []}", APPKG_ERR_BINDINGS, "inputs: not an object"},
		{"{\"inputs\": {}, \"environment\": 3}", APPKG_ERR_BINDINGS, "environment: not a string"},
		{"{\"environment\": \"x\"}", APPKG_ERR_BINDINGS, "no 'inputs' field"},
		{"[]", APPKG_ERR_JSON_NOT_OBJECT, "not an object"},
		{"\"inputs\"", APPKG_ERR_JSON_NOT_OBJECT, "not an object"},
		{"{\"inputs\": {\"a\": 1, \"a\": 2}}", APPKG_ERR_JSON_DUPLICATE, "duplicate"},
		{"{\"inputs\": {\"a\": 1,}}", APPKG_ERR_JSON_SYNTAX, "line 1 column 20"},
		{"", APPKG_ERR_JSON_SYNTAX, "expected a JSON object"},
	};
	appkg_bindings *b = appkg_bindings_new();
	char *big;

	CHECK(b);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(appkg_bindings_load(b, bad[i].doc, strlen(bad[i].doc)), bad[i].code);
		harness_msg = appkg_bindings_error(b);
		CHECK(strstr(appkg_bindings_error(b), bad[i].says));
	}
	big = malloc((16u << 20) + 1);
	CHECK(big);
	memset(big, ' ', (16u << 20) + 1);
	memcpy(big, "{\"inputs\": {}}", 14);
	CHECK_EQ(appkg_bindings_load(b, big, (16u << 20) + 1), APPKG_ERR_BINDINGS);
	CHECK_EQ(appkg_bindings_load(b, big, 16u << 20), 0); /* the limit itself is allowed */
	free(big);
	CHECK(strstr(appkg_error_name(APPKG_ERR_BINDINGS), "bindings"));
	CHECK_EQ(appkg_error_class(APPKG_ERR_BINDINGS), APPKG_EXIT_REJECTED);
	CHECK_EQ(appkg_error_class(APPKG_ERR_PLACEHOLDER), APPKG_EXIT_REJECTED);
	appkg_bindings_free(b);
}

TEST(bindings_file_only_regular)
{
	char dir[] = "/tmp/appkg-ph-XXXXXX", path[64], fifo[64];
	appkg_bindings *b = appkg_bindings_new();
	FILE *f;

	CHECK(b && mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ENV.json", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	f = fopen(path, "w");
	CHECK(f);
	fputs("{\"environment\": \"t\", \"inputs\": {\"a\": 1}}\n", f);
	fclose(f);
	CHECK_EQ(appkg_bindings_load_file(b, path), 0);
	CHECK(!strcmp(appkg_bindings_value(b, "a"), "1"));
	CHECK_EQ(appkg_bindings_load_file(b, dir), APPKG_ERR_SOURCE);
	CHECK_EQ(mkfifo(fifo, 0600), 0);
	CHECK_EQ(appkg_bindings_load_file(b, fifo), APPKG_ERR_SOURCE); /* does not block */
	CHECK_EQ(appkg_bindings_load_file(b, "/nonexistent/ENV.json"), APPKG_ERR_NO_FILE);
	CHECK(strstr(appkg_bindings_error(b), "cannot open"));
	unlink(fifo);
	unlink(path);
	rmdir(dir);
	appkg_bindings_free(b);
}

/* ---- against a package's inputs (the golden v2.0 package) ---- */

#define GOLDEN_V2 "tests/vectors/valid/v2.0-inputs.appkg"

struct check_seen {
	char unbound[4][64], unused[4][64], first_user[4][64];
	size_t nunbound, nunused;
};

static void check_found(void *ctx, const struct appkg_binding_problem *p)
{
	struct check_seen *s = ctx;

	if (p->unbound && s->nunbound < 4) {
		snprintf(s->first_user[s->nunbound], 64, "%s", p->used_by_count ? p->used_by[0] : "");
		snprintf(s->unbound[s->nunbound++], 64, "%s", p->input);
	} else if (!p->unbound && s->nunused < 4) {
		snprintf(s->unused[s->nunused++], 64, "%s", p->input);
	}
}

TEST(check_reports_every_unbound_input)
{
	appkg_reader *r = appkg_reader_new();
	appkg_bindings *b = bindings("{\"inputs\": {}}");
	struct check_seen s = {0};

	CHECK(r && b);
	CHECK_EQ(appkg_reader_open_path(r, GOLDEN_V2), 0);
	CHECK_EQ(appkg_bindings_check(b, r, check_found, &s), 2);
	CHECK_EQ(s.nunbound, 2);
	CHECK(!strcmp(s.unbound[0], "crm_host") && !strcmp(s.unbound[1], "tenant_host"));
	CHECK(!strcmp(s.first_user[0], "resources/datasources/crm.json"));
	CHECK(!strcmp(s.first_user[1], "resources/queries/customers.json"));
	CHECK_EQ(s.nunused, 0);
	memset(&s, 0, sizeof(s));
	static const char env[] = "{\"inputs\": {\"crm_host\": \"db\", \"extra\": 1, \"region\": \"x\", "
				  "\"tenant_host\": \"t\"}}";
	CHECK_EQ(appkg_bindings_load(b, env, strlen(env)), 0);
	CHECK_EQ(appkg_bindings_check(b, r, check_found, &s), 0);
	CHECK_EQ(s.nunbound, 0);
	CHECK_EQ(s.nunused, 2); /* a key nothing uses: unknown, or declared and used by no resource */
	CHECK(!strcmp(s.unused[0], "extra") && !strcmp(s.unused[1], "region"));
	appkg_bindings_free(b);
	appkg_reader_free(r);
}

TEST(defaults_fill_what_is_not_given)
{
	appkg_reader *r = appkg_reader_new();
	appkg_bindings *b = bindings("{\"inputs\": {\"crm_host\": \"db.example\", \"tenant_host\": \"t\"}}");
	const void *data;
	size_t len;
	json_t *root;

	CHECK(r && b);
	CHECK_EQ(appkg_reader_open_path(r, GOLDEN_V2), 0);
	CHECK(!appkg_bindings_value(b, "crm_port"));
	CHECK_EQ(appkg_reader_read(r, "resources/datasources/crm.json", &data, &len), 0);
	CHECK_EQ(bind_n(b, data, len, 0), APPKG_ERR_UNBOUND);
	CHECK(strstr(appkg_bindings_error(b), "input 'crm_port'"));
	CHECK_EQ(appkg_bindings_use_defaults(b, r), 0);
	CHECK(!strcmp(appkg_bindings_value(b, "crm_port"), "5432"));
	CHECK(!strcmp(appkg_bindings_value(b, "crm_host"), "\"db.example\"")); /* given wins */
	CHECK_EQ(appkg_bindings_count(b), 2); /* the document's inputs only */
	CHECK_EQ(appkg_reader_read(r, "resources/datasources/crm.json", &data, &len), 0);
	CHECK_EQ(bind_n(b, data, len, 0), 6);
	CHECK(json_integer_value(bound_member(&root, "port")) == 5432);
	CHECK(!strcmp(json_string_value(json_object_get(root, "url")), "postgres://db.example:5432/crm"));
	CHECK(!strcmp(json_string_value(json_object_get(root, "password")), "[[appkg:secret:CRM_DB_PASSWORD]]"));
	CHECK(!strcmp(json_string_value(json_object_get(root, "escaped")), "db.example"));
	json_decref(root);
	appkg_bindings_free(b);
	appkg_reader_free(r);
}

int main(void)
{
	RUN(grammar_accepts);
	RUN(grammar_refuses);
	RUN(other_templates_are_text);
	RUN(escape_cannot_hide_one);
	RUN(key_refused);
	RUN(outside_string_refused);
	RUN(scan_never_reads_past_len);
	RUN(literal_survives);
	RUN(value_escaped_into_valid_json);
	RUN(whole_string_takes_any_value);
	RUN(bytes_outside_kept);
	RUN(output_grows);
	RUN(unbound_names_the_input);
	RUN(secrets_only_with_the_flag);
	RUN(bindings_file_read);
	RUN(bindings_schema_errors);
	RUN(bindings_file_only_regular);
	RUN(check_reports_every_unbound_input);
	RUN(defaults_fill_what_is_not_given);
	appkg_bound_free(bound, bound_len);
	return harness_total_failed != 0;
}
