/* SPDX-License-Identifier: MIT */
/*
 * appkg-diff: what changed between two packages or unpacked directories, the preview before
 * an import. The comparison is the library's (appkg_diff_compare); this file opens the inputs,
 * gets the passwords and prints the changes as text, counts (--stat) or JSON (--json, spec
 * §19.2). Exit status as diff(1): 0 equal, 1 different; an input that cannot be read or is
 * rejected gives 5, so that trouble never looks like a difference. No secret value is printed.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "appkg/appkg.h"
#include "fe.h"

struct options {
	const char *inputs[2];
	const char *password_files[2];
	int npassword_files, stat, json, quiet;
	long value_max;
};

/* One input, opened. */
struct input {
	const char *path;
	appkg_reader *r;
	int is_dir, shared_password;
	char *password, *secrets_json;
	size_t password_len, secrets_json_len;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... A B\n"
	       "Show what changed from A to B, each a package or an unpacked directory\n"
	       "('-' reads a package from standard input).\n\n"
	       "      --password-file FILE the secrets password; give it twice for a password\n"
	       "                           per input (first A, then B), once for both\n"
	       "      --stat               print counts of changes per resource type\n"
	       "      --json               print the changes as one JSON document\n"
	       "  -q, --quiet              print nothing; the exit status tells\n"
	       "  -w, --width N            shorten values to N bytes (default 60)\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD supplies the password for both inputs when no file is given.\n"
	       "With both passwords (or a directory's secrets.json) secrets are compared by\n"
	       "name, else only as changed or unchanged; a secret value is never printed.\n"
	       "Exit status: 0 equal, 1 different, 2 usage, 3 wrong password, 4 environment,\n"
	       "5 no comparison made (an input is damaged, not a package or cannot be read).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"password-file", required_argument, NULL, 'p'}, {"stat", no_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'}, {"quiet", no_argument, NULL, 'q'},
		{"width", required_argument, NULL, 'w'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.value_max = 60};
	while ((c = fe_getopt(argc, argv, "qw:hV", longs)) != -1) {
		switch (c) {
		case 'p':
			if (o->npassword_files == 2)
				fe_usage_error("at most two --password-file options (A, then B)");
			o->password_files[o->npassword_files++] = optarg;
			break;
		case 's': o->stat = 1; break;
		case 'j': o->json = 1; break;
		case 'q': o->quiet = 1; break;
		case 'w':
			if ((o->value_max = fe_parse_int(optarg, 8, 1 << 20)) < 0)
				fe_usage_error("--width: expected 8..1048576, not '%s'", optarg);
			break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (argc - optind != 2)
		fe_usage_error(argc - optind < 2 ? "expected two inputs, A and B" : "more than two inputs");
	o->inputs[0] = argv[optind];
	o->inputs[1] = argv[optind + 1];
	if (!strcmp(o->inputs[0], "-") && !strcmp(o->inputs[1], "-"))
		fe_usage_error("only one input can be standard input");
	if (o->npassword_files == 2 && !strcmp(o->password_files[0], "-") &&
	    !strcmp(o->password_files[1], "-"))
		fe_usage_error("only one --password-file can be standard input");
	if (o->json + o->stat + o->quiet > 1 && !(o->json && o->stat && !o->quiet))
		fe_usage_error("--quiet goes with neither --stat nor --json");
}

/* Trouble with an input: exit 5 unless it is a password (3) or the machine (memory: 4). */
static int no_comparison(const char *subject, int code, const char *message)
{
	int status = fe_report(subject, code, message);

	return status == APPKG_EXIT_AUTH || code == APPKG_ERR_NO_MEMORY ? status
									 : APPKG_EXIT_NO_COMPARISON;
}

/* A directory's secrets.json, if it has one: its plaintext is compared by name. */
static int read_secrets_json(struct input *in)
{
	size_t n = strlen(in->path) + sizeof("/secrets.json");
	char *path = malloc(n);
	struct stat st;
	int rc = 0;

	if (!path)
		return no_comparison(in->path, APPKG_ERR_NO_MEMORY, NULL);
	snprintf(path, n, "%s/secrets.json", in->path);
	if (lstat(path, &st) == 0 && (rc = fe_read_secret(path, 1u << 20, &in->secrets_json,
							    &in->secrets_json_len)))
		rc = no_comparison(in->path, rc, "secrets.json: cannot read");
	free(path);
	return rc;
}

static int open_input(struct input *in)
{
	struct stat st;
	int rc;

	if (!(in->r = appkg_reader_new()))
		return no_comparison(in->path, APPKG_ERR_NO_MEMORY, NULL);
	in->is_dir = strcmp(in->path, "-") && stat(in->path, &st) == 0 && S_ISDIR(st.st_mode);
	rc = in->is_dir		       ? appkg_reader_open_directory(in->r, in->path)
	     : strcmp(in->path, "-") ? appkg_reader_open_path(in->r, in->path)
				     : appkg_reader_open_fd(in->r, 0);
	if (rc)
		return no_comparison(strcmp(in->path, "-") ? in->path : "(stdin)", rc,
				     appkg_reader_error(in->r));
	return in->is_dir ? read_secrets_json(in) : 0;
}

/* The password of input i, when it has sealed secrets and no plaintext: its own file, the one
 * file given for both, or APPKG_PASSWORD. None is fine: the secrets are then compared sealed. */
static int get_password(const struct options *o, struct input *in, int i)
{
	const char *file = o->npassword_files ? o->password_files[o->npassword_files == 2 ? i : 0]
					      : NULL;
	int rc;

	if (in->secrets_json || !appkg_reader_has_secrets(in->r))
		return 0;
	if (i == 1 && o->npassword_files < 2 && in[-1].password) { /* one for both: read once */
		in->password = in[-1].password;
		in->password_len = in[-1].password_len;
		in->shared_password = 1;
		return 0;
	}
	rc = fe_password(file, 0, &in->password, &in->password_len);
	if (rc == 1)
		return 0;
	return rc ? appkg_error_class(rc) : 0; /* fe_password said why */
}

static void close_input(struct input *in)
{
	appkg_reader_free(in->r);
	if (!in->shared_password)
		fe_secret_free(in->password, in->password_len);
	fe_secret_free(in->secrets_json, in->secrets_json_len);
}

static const char *const kind_names[] = {"", "added", "removed", "changed"};
static const char *const subject_names[] = {"", "package", "resource", "value", "entry", "secret", "secrets"};

static void print_value_line(const struct appkg_change *c)
{
	printf("    %s", c->subject == APPKG_DIFF_ENTRY ? "entry " : "");
	if (!*c->pointer)
		fputs("(whole document)", stdout);
	else
		fe_put_text(c->pointer);
	fe_put_change_values(c);
}

static void print_change(const struct appkg_change *c)
{
	switch (c->subject) {
	case APPKG_DIFF_PACKAGE:
		printf("package ");
		fe_put_text(c->pointer);
		fe_put_change_values(c);
		break;
	case APPKG_DIFF_RESOURCE:
		printf("%-7s ", kind_names[c->kind]);
		fe_put_text(c->type);
		putchar('/');
		fe_put_text(c->name);
		putchar('\n');
		break;
	case APPKG_DIFF_VALUE:
	case APPKG_DIFF_ENTRY: print_value_line(c); break;
	case APPKG_DIFF_SECRET:
		printf("secret %s ", kind_names[c->kind]);
		fe_put_text(c->name);
		putchar('\n');
		break;
	default:
		printf("secrets %s%s\n", kind_names[c->kind],
		       c->kind == APPKG_CHANGE_CHANGED
			       ? " (the sealed blobs differ; give both passwords to compare names)"
			       : "");
	}
}

/* Counts per resource type (resources added, removed, changed), package fields, secrets. */
static json_t *make_stat(appkg_diff *d)
{
	json_t *stat = json_object(), *types = json_object(), *secrets = json_object();
	struct appkg_change c;
	json_int_t package = 0;

	for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++) {
		json_t *t, *counter = NULL;
		if (c.subject == APPKG_DIFF_PACKAGE)
			package++;
		if (c.subject == APPKG_DIFF_RESOURCE) {
			if (!(t = json_object_get(types, c.type))) {
				t = json_pack("{s:i,s:i,s:i}", "added", 0, "removed", 0, "changed", 0);
				json_object_set_new(types, c.type, t);
			}
			counter = json_object_get(t, kind_names[c.kind]);
		} else if (c.subject == APPKG_DIFF_SECRET || c.subject == APPKG_DIFF_SECRETS) {
			if (!json_object_get(secrets, kind_names[c.kind]))
				json_object_set_new(secrets, kind_names[c.kind], json_integer(0));
			counter = json_object_get(secrets, kind_names[c.kind]);
		}
		if (counter)
			json_integer_set(counter, json_integer_value(counter) + 1);
	}
	json_object_set_new(stat, "resources", types);
	json_object_set_new(stat, "package", json_integer(package));
	json_object_set_new(stat, "secrets", secrets);
	return stat;
}

static void print_stat(appkg_diff *d)
{
	json_t *stat = make_stat(d), *t, *secrets = json_object_get(stat, "secrets");
	const char *type, *kind;
	json_t *n;

	json_object_foreach(json_object_get(stat, "resources"), type, t) {
		fe_put_text(type);
		printf(": %lld added, %lld removed, %lld changed\n",
		       json_integer_value(json_object_get(t, "added")),
		       json_integer_value(json_object_get(t, "removed")),
		       json_integer_value(json_object_get(t, "changed")));
	}
	if (json_integer_value(json_object_get(stat, "package")))
		printf("package: %lld changed fields\n",
		       json_integer_value(json_object_get(stat, "package")));
	if (json_object_size(secrets)) {
		printf("secrets:");
		json_object_foreach(secrets, kind, n)
			printf(" %lld %s", json_integer_value(n), kind);
		putchar('\n');
	}
	json_decref(stat);
}

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static void print_json(appkg_diff *d, const struct options *o, int status)
{
	json_t *doc = json_object(), *list = json_array();
	struct appkg_change c;
	char *text;

	json_object_set_new(doc, "a", json_string(strcmp(o->inputs[0], "-") ? o->inputs[0] : "(stdin)"));
	json_object_set_new(doc, "b", json_string(strcmp(o->inputs[1], "-") ? o->inputs[1] : "(stdin)"));
	json_object_set_new(doc, "equal", json_boolean(status == 0));
	json_object_set_new(doc, "exit", json_integer(status));
	for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}",
			"kind", kind_names[c.kind], "subject", subject_names[c.subject],
			"type", text_or_null(c.type), "name", text_or_null(c.name),
			"pointer", text_or_null(c.pointer), "old", text_or_null(c.old_value),
			"new", text_or_null(c.new_value)));
	json_object_set_new(doc, "changes", list);
	json_object_set_new(doc, "stat", make_stat(d));
	text = json_dumps(doc, JSON_INDENT(2));
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
}

static int compare(const struct options *o, struct input in[2])
{
	struct appkg_diff_input a = {in[0].r, in[0].password, in[0].password_len,
				     in[0].secrets_json, in[0].secrets_json_len};
	struct appkg_diff_input b = {in[1].r, in[1].password, in[1].password_len,
				     in[1].secrets_json, in[1].secrets_json_len};
	appkg_diff *d = appkg_diff_new();
	struct appkg_change c;
	int rc, status;

	if (!d || appkg_diff_set_value_max(d, (size_t)o->value_max))
		return no_comparison(o->inputs[0], APPKG_ERR_NO_MEMORY, NULL);
	rc = appkg_diff_compare(d, &a, &b);
	if (rc < 0) {
		int which = appkg_diff_failed_input(d);
		status = no_comparison(in[which < 0 ? 0 : which].path, rc, appkg_diff_error(d));
		appkg_diff_free(d);
		return status;
	}
	status = rc ? 1 : 0;
	if (o->json)
		print_json(d, o, status);
	else if (o->stat)
		print_stat(d);
	else if (!o->quiet)
		for (size_t i = 0; appkg_diff_change(d, i, &c) == 0; i++)
			print_change(&c);
	appkg_diff_free(d);
	return status;
}

int main(int argc, char **argv)
{
	struct options o;
	struct input in[2] = {{0}, {0}};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	in[0].path = o.inputs[0];
	in[1].path = o.inputs[1];
	if (!(rc = open_input(&in[0])) && !(rc = open_input(&in[1])) &&
	    !(rc = get_password(&o, &in[0], 0)) && !(rc = get_password(&o, &in[1], 1)))
		rc = compare(&o, in);
	close_input(&in[0]);
	close_input(&in[1]);
	return rc;
}
