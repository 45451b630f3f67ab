/* SPDX-License-Identifier: MIT */
/*
 * appkg-plan: what importing a package into a target would do, before anything is imported
 * (spec §21). The target is what it holds now: an export as a package or an unpacked
 * directory. The plan is the library's (appkg_plan_make); this file opens the inputs and the
 * bindings and prints the plan as a table or as JSON (--json). Exit status as diff(1): 0 when
 * the import would change nothing and nothing stands in its way, 1 otherwise; an input that is
 * rejected or cannot be read gives 5, so that trouble never looks like a plan. Secrets are never
 * read, so none can be printed.
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
	const char *inputs[2]; /* PKG, TARGET */
	const char *bindings;
	int json;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG TARGET\n"
	       "Show what importing PKG into TARGET would do, resource by resource, in import\n"
	       "order. TARGET is what the target holds now: an export, as a package or an\n"
	       "unpacked directory ('-' reads a package from standard input).\n\n"
	       "      --bindings ENV.json  bind the inputs for this target before comparing, and\n"
	       "                           report the required inputs it does not supply\n"
	       "      --json               print the plan as one JSON document\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "Actions: create, conflict (mode create, present), update, overwrite, merge (RFC\n"
	       "7396), unchanged, error (mode update, absent; or no match), skip. Resources are\n"
	       "matched by type and name, or by id when their manifest entry says \"match\": \"id\".\n"
	       "Without --bindings every required input is reported unbound.\n"
	       "Exit status: 0 nothing to change, 1 changes, conflicts, errors, unbound inputs or\n"
	       "cycles, 2 usage, 4 environment (ENV.json cannot be read, out of memory),\n"
	       "5 no plan made (an input is damaged, not a package or cannot be read).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"bindings", required_argument, NULL, 'b'}, {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "hV", longs)) != -1) {
		switch (c) {
		case 'b': o->bindings = optarg; break;
		case 'j': o->json = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (argc - optind != 2)
		fe_usage_error(argc - optind < 2 ? "expected two inputs, PKG and TARGET"
						 : "more than two inputs");
	o->inputs[0] = argv[optind];
	o->inputs[1] = argv[optind + 1];
	if (!strcmp(o->inputs[0], "-") && !strcmp(o->inputs[1], "-"))
		fe_usage_error("only one input can be standard input");
	if (o->bindings && !strcmp(o->bindings, "-"))
		fe_usage_error("--bindings: a file, not standard input");
}

static const char *shown(const char *path)
{
	return strcmp(path, "-") ? path : "(stdin)";
}

/* Trouble with PKG or TARGET: exit 5, or 4 when the machine is out of memory. */
static int no_plan(const char *subject, int code, const char *message)
{
	fe_report(shown(subject), code, message);
	return code == APPKG_ERR_NO_MEMORY ? APPKG_EXIT_ENVIRONMENT : APPKG_EXIT_NO_COMPARISON;
}

static int open_input(const char *path, appkg_reader **r)
{
	struct stat st;
	int rc;

	if (!(*r = appkg_reader_new()))
		return no_plan(path, APPKG_ERR_NO_MEMORY, NULL);
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		rc = appkg_reader_open_directory(*r, path);
	else
		rc = strcmp(path, "-") ? appkg_reader_open_path(*r, path) : appkg_reader_open_fd(*r, 0);
	return rc ? no_plan(path, rc, appkg_reader_error(*r)) : 0;
}

/* ENV.json: a file that cannot be read is the environment's (4), a rejected one 5. */
static int load_bindings(const char *path, appkg_bindings **b)
{
	int rc;

	if (!(*b = appkg_bindings_new()))
		return no_plan(path, APPKG_ERR_NO_MEMORY, NULL);
	if (!(rc = appkg_bindings_load_file(*b, path)))
		return 0;
	fe_report(path, rc, appkg_bindings_error(*b));
	return appkg_error_class(rc) == APPKG_EXIT_ENVIRONMENT ? APPKG_EXIT_ENVIRONMENT : APPKG_EXIT_NO_COMPARISON;
}

/* ---- text ------------------------------------------------------------------------------ */

static void put_padded(const char *s, int width)
{
	int n = (int)strlen(s);

	fe_put_text(s);
	printf("%*s", n < width ? width - n : 0, "");
}

static const char *const kind_names[] = {"", "added", "removed", "changed"};

/* As appkg diff prints a changed value. */
static void print_change(const struct appkg_change *c)
{
	printf("    ");
	if (!*c->pointer)
		fputs("(whole document)", stdout);
	else
		fe_put_text(c->pointer);
	fe_put_change_values(c);
}

static const char *where(const struct appkg_plan_item *it)
{
	return it->reason ? it->reason : it->target_path ? it->target_path : "-";
}

static void print_item(const appkg_plan *p, size_t i, int wname, int wwhere)
{
	struct appkg_plan_item it;
	struct appkg_change c;

	appkg_plan_item(p, i, &it);
	printf("%-9s  ", appkg_plan_action_name(it.action));
	fe_put_text(it.type);
	putchar('/');
	put_padded(it.name, wname - (int)strlen(it.type) - 1);
	printf("  %-9s  %-5s  ", it.mode, it.match);
	put_padded(where(&it), wwhere);
	printf("  %zu\n", it.change_count);
	for (size_t k = 0; appkg_plan_change(p, i, k, &c) == 0; k++)
		print_change(&c);
}

/* The resources that use input name, from the package's manifest. */
static int input_of(appkg_reader *r, const char *name, struct appkg_input *in)
{
	size_t n = appkg_reader_input_count(r);

	for (size_t i = 0; i < n; i++)
		if (appkg_reader_input(r, i, in) == 0 && !strcmp(in->name, name))
			return 0;
	return -1;
}

static void print_text(const appkg_plan *p, appkg_reader *pkg)
{
	struct appkg_plan_item it;
	struct appkg_input in;
	const char *const *cycle;
	int wname = 9, wwhere = 6;
	size_t n;

	for (size_t i = 0; appkg_plan_item(p, i, &it) == 0; i++) {
		int a = (int)(strlen(it.type) + 1 + strlen(it.name)), b = (int)strlen(where(&it));
		wname = a > wname ? a : wname;
		wwhere = b > wwhere ? b : wwhere;
	}
	if (appkg_plan_count(p)) {
		printf("%-9s  %-*s  %-9s  %-5s  %-*s  %s\n", "ACTION", wname, "RESOURCE", "MODE",
		       "MATCH", wwhere, "TARGET", "CHANGES");
		for (size_t i = 0; i < appkg_plan_count(p); i++)
			print_item(p, i, wname, wwhere);
	}
	for (size_t i = 0; i < appkg_plan_unbound_count(p); i++) {
		printf("unbound input ");
		fe_put_text(appkg_plan_unbound(p, i));
		for (size_t k = 0; input_of(pkg, appkg_plan_unbound(p, i), &in) == 0 &&
				   k < in.used_by_count; k++) {
			printf(k ? ", " : " (used by ");
			fe_put_text(in.used_by[k]);
			if (k + 1 == in.used_by_count)
				putchar(')');
		}
		putchar('\n');
	}
	for (size_t i = 0; (cycle = appkg_plan_cycle(p, i, &n)); i++) {
		printf("cycle: ");
		for (size_t k = 0; k < n; k++) {
			fe_put_text(cycle[k]);
			printf(" -> ");
		}
		fe_put_text(cycle[0]);
		putchar('\n');
	}
}

/* ---- JSON (spec §21.3) ----------------------------------------------------------------- */

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_item(const appkg_plan *p, size_t i)
{
	struct appkg_plan_item it;
	struct appkg_change c;
	json_t *changes = json_array();

	appkg_plan_item(p, i, &it);
	for (size_t k = 0; appkg_plan_change(p, i, k, &c) == 0; k++)
		json_array_append_new(changes, json_pack("{s:s,s:s,s:o,s:o}", "kind",
			kind_names[c.kind], "pointer", c.pointer, "old", text_or_null(c.old_value),
			"new", text_or_null(c.new_value)));
	return json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:o}", "order",
			 (json_int_t)(i + 1), "action", appkg_plan_action_name(it.action), "path",
			 it.path, "type", it.type, "name", it.name, "mode", it.mode, "match", it.match,
			 "id", text_or_null(it.id), "target_path", text_or_null(it.target_path),
			 "reason", text_or_null(it.reason), "changes", changes);
}

static json_t *json_unbound(const appkg_plan *p, appkg_reader *pkg)
{
	json_t *list = json_array();
	struct appkg_input in;

	for (size_t i = 0; i < appkg_plan_unbound_count(p); i++) {
		json_t *used = json_array();
		if (input_of(pkg, appkg_plan_unbound(p, i), &in) == 0)
			for (size_t k = 0; k < in.used_by_count; k++)
				json_array_append_new(used, json_string(in.used_by[k]));
		json_array_append_new(list, json_pack("{s:s,s:o}", "name", appkg_plan_unbound(p, i),
						      "used_by", used));
	}
	return list;
}

static json_t *json_cycles(const appkg_plan *p)
{
	json_t *list = json_array();
	const char *const *cycle;
	size_t n;

	for (size_t i = 0; (cycle = appkg_plan_cycle(p, i, &n)); i++) {
		json_t *one = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(one, json_string(cycle[k]));
		json_array_append_new(list, one);
	}
	return list;
}

static void print_json(const appkg_plan *p, const struct options *o, appkg_reader *pkg,
		       appkg_bindings *b, int status)
{
	json_t *doc, *summary = json_object(), *items = json_array();
	struct appkg_plan_item it;
	char *text;

	for (int a = APPKG_ACTION_CREATE; a <= APPKG_ACTION_SKIP; a++)
		json_object_set_new(summary, appkg_plan_action_name(a), json_integer(0));
	for (size_t i = 0; appkg_plan_item(p, i, &it) == 0; i++) {
		json_t *n = json_object_get(summary, appkg_plan_action_name(it.action));
		json_integer_set(n, json_integer_value(n) + 1);
		json_array_append_new(items, json_item(p, i));
	}
	doc = json_pack("{s:s,s:s,s:o,s:b,s:o,s:o,s:o,s:o}", "package", shown(o->inputs[0]),
			"target", shown(o->inputs[1]), "environment",
			text_or_null(b ? appkg_bindings_environment(b) : NULL), "clean", status == 0,
			"summary", summary, "items", items, "unbound_inputs", json_unbound(p, pkg),
			"cycles", json_cycles(p));
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	if (text)
		puts(text);
	free(text);
	json_decref(doc);
}

/* ---- main ------------------------------------------------------------------------------ */

static int make_plan(const struct options *o, appkg_reader *in[2], appkg_bindings *b)
{
	appkg_plan *p = appkg_plan_new();
	int rc, which;

	if (!p || (b && appkg_plan_set_bindings(p, b)))
		return no_plan(o->inputs[0], APPKG_ERR_NO_MEMORY, NULL);
	rc = appkg_plan_make(p, in[0], in[1]);
	if (rc < 0) {
		which = appkg_plan_failed_input(p);
		rc = no_plan(o->inputs[which == 1 ? 1 : 0], rc, appkg_plan_error(p));
	} else if (o->json) {
		print_json(p, o, in[0], b, rc);
	} else {
		print_text(p, in[0]);
	}
	appkg_plan_free(p);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_reader *in[2] = {NULL, NULL};
	appkg_bindings *b = NULL;
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if (!(rc = open_input(o.inputs[0], &in[0])) && !(rc = open_input(o.inputs[1], &in[1])) &&
	    !(rc = o.bindings ? load_bindings(o.bindings, &b) : 0))
		rc = make_plan(&o, in, b);
	appkg_reader_free(in[0]);
	appkg_reader_free(in[1]);
	appkg_bindings_free(b);
	return rc;
}
