/* SPDX-License-Identifier: MIT */
/*
 * appkg-verify: the integrity gate before import. Reads each package in full without writing
 * anything, and reports every problem it finds, one line each (or one JSON report per package
 * with --json): container, tar, names, manifest, resources, secrets (decrypted when a password
 * is given) and the signature. Memory stays at one frame plus the index and manifest. With
 * --bindings ENV.json it then checks the package's inputs against one target environment:
 * every required input ENV.json lacks is an error, every key no input uses a warning.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "progress.h"

#define MAX_KEYS 16

struct options {
	const char *password_file, *bindings;
	const char *pubkeys[MAX_KEYS];
	int npubkeys, require_signature, json, verbose, ask_password;
	int several; /* more than one PKG: binding lines name the package */
	enum fe_progress_mode progress;
};

struct problem {
	int code;
	char *member; /* NULL when about no one member */
	unsigned line, column;
	char *message;
	int printed; /* fe_password printed it already */
};

struct report {
	const char *package;
	struct problem *problems;
	size_t n, cap;
	size_t members, resources;
	int has_secrets, secrets_checked;
	char signer[64], trusted[256];
	int signature; /* 0 absent, 1 valid, -1 bad or untrusted, 2 signed but not checked */
	json_t *unbound, *unused; /* with --bindings, once checked: [{"name", "used_by"}], [name] */
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG...\n"
	       "Check packages before import; quiet when every check passes ('-' reads stdin).\n\n"
	       "      --password-file FILE also decrypt and authenticate the secrets\n"
	       "  -P, --ask-password       ask for that password on the terminal\n"
	       "      --pubkey FILE        trust this minisign public key (repeatable)\n"
	       "      --require-signature  fail packages that carry no valid signature\n"
	       "      --bindings ENV.json  also check the package's inputs against ENV.json (one\n"
	       "                           target environment): each required input it does not\n"
	       "                           supply is an error, each key no input uses a warning\n"
	       "      --json               print one JSON report per package on stdout\n"
	       "  -v, --verbose            print a summary line for each good package\n"
	       "  -q, --quiet              no progress display\n"
	       "      --progress           a progress display even when stderr is not a terminal\n"
	       "                           or the work is short\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also supplies the password.\n"
	       "Exit status (the worst over all packages): 0 ok, 1 rejected, 2 usage,\n"
	       "3 authentication (wrong password, bad or untrusted or missing required\n"
	       "signature), 4 I/O error.\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"password-file", required_argument, NULL, 'p'}, {"ask-password", no_argument, NULL, 'P'},
		{"pubkey", required_argument, NULL, 'k'}, {"require-signature", no_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{"quiet", no_argument, NULL, 'q'}, {"progress", no_argument, NULL, 'G'},
		{"bindings", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "PvqhV", longs)) != -1) {
		switch (c) {
		case 'p': o->password_file = optarg; break;
		case 'P': o->ask_password = 1; break;
		case 'k':
			if (o->npubkeys == MAX_KEYS)
				fe_usage_error("at most %d --pubkey options", MAX_KEYS);
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'r': o->require_signature = 1; break;
		case 'b': o->bindings = optarg; break;
		case 'j': o->json = 1; break;
		case 'v': o->verbose = 1; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'G': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind == argc)
		fe_usage_error("missing PKG");
	o->several = argc - optind > 1;
}

static void add_problem(struct report *rep, const struct appkg_problem *p)
{
	const char *message = p->message;

	if (rep->n == rep->cap) {
		rep->cap = rep->cap ? 2 * rep->cap : 16;
		rep->problems = realloc(rep->problems, rep->cap * sizeof(*rep->problems));
		if (!rep->problems) {
			fprintf(stderr, "%s: out of memory\n", fe_prog);
			exit(APPKG_EXIT_ENVIRONMENT);
		}
	}
	rep->problems[rep->n] = (struct problem){
		.code = p->code,
		.member = p->member ? strdup(p->member) : NULL,
		.line = p->line,
		.column = p->column,
		.message = strdup(message && *message ? message : appkg_error_name(p->code)),
	};
	rep->n++;
}

/* A problem the tool itself finds, about member (or NULL). */
static void add_own_problem(struct report *rep, int code, const char *member, const char *message)
{
	struct appkg_problem p = {.code = code, .member = member, .message = message};

	add_problem(rep, &p);
}

/* A failure a library call on r just returned. */
static void add_reader_problem(struct report *rep, appkg_reader *r, int code)
{
	struct appkg_problem p;

	appkg_reader_problem(r, code, &p);
	add_problem(rep, &p);
}

static void on_problem(void *ctx, const struct appkg_problem *p)
{
	add_problem(ctx, p);
}

/* Read every member; the reader checks each against the index and the manifest. */
static void read_all(appkg_reader *r, struct report *rep)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		rep->resources += strncmp(m.path, "resources/", 10) == 0;
	if (rc < 0)
		add_reader_problem(rep, r, rc);
}

static void check_secrets(appkg_reader *r, const struct options *o, struct report *rep)
{
	static int refused; /* the source was refused once: it would be again, said once */
	char *pw = NULL, *plain = NULL;
	size_t pw_len = 0, len = 0;
	int rc;

	rep->has_secrets = appkg_reader_has_secrets(r);
	if (!rep->has_secrets || (!o->password_file && !o->ask_password && !getenv("APPKG_PASSWORD")))
		return;
	rc = refused ? refused : fe_password(o->password_file, o->ask_password, &pw, &pw_len);
	if (rc < 0) { /* fe_password printed why */
		refused = rc;
		add_own_problem(rep, rc, "secrets.enc", "secrets.enc: no usable password");
		rep->problems[rep->n - 1].printed = 1;
		return;
	}
	if (rc == 1)
		rc = APPKG_ERR_NO_PASSWORD;
	if (rc == 0 && (rc = appkg_reader_secrets(r, pw, pw_len, &plain, &len)) == 0)
		rep->secrets_checked = 1;
	if (rc == APPKG_ERR_NO_PASSWORD)
		add_own_problem(rep, rc, "secrets.enc", "secrets.enc: no password");
	else if (rc)
		add_reader_problem(rep, r, rc);
	appkg_secure_free(plain, len);
	fe_secret_free(pw, pw_len);
}

static void check_signature(appkg_reader *r, const struct options *o, struct report *rep)
{
	int rc = 0;

	for (int i = 0; i < o->npubkeys && !rc; i++)
		if ((rc = appkg_reader_add_trusted_key(r, o->pubkeys[i])))
			add_reader_problem(rep, r, rc);
	if (rc)
		return;
	rc = appkg_reader_check_signature(r, rep->signer, rep->trusted);
	if (rc == 0) {
		rep->signature = 1;
	} else if (rc == 1) { /* signed, no key given to check it with */
		rep->signature = 2;
		if (o->require_signature)
			add_own_problem(rep, APPKG_ERR_SIGNATURE, "manifest.json.minisig",
					"manifest.json.minisig: signed, but no trusted public key "
					"(--pubkey) to check it with");
	} else if (rc == APPKG_ERR_NOT_FOUND && o->require_signature) {
		add_own_problem(rep, APPKG_ERR_SIGNATURE, "manifest.json.minisig",
				"manifest.json.minisig: package is not signed");
	} else if (rc != APPKG_ERR_NOT_FOUND && (o->npubkeys || o->require_signature)) {
		rep->signature = -1;
		add_reader_problem(rep, r, rc);
	}
}

static void on_binding(void *ctx, const struct appkg_binding_problem *p)
{
	struct report *rep = ctx;
	json_t *used_by;

	if (!p->unbound) {
		json_array_append_new(rep->unused, json_string(p->input));
		return;
	}
	used_by = json_array();
	for (size_t k = 0; k < p->used_by_count; k++)
		json_array_append_new(used_by, json_string(p->used_by[k]));
	json_array_append_new(rep->unbound, json_pack("{s:s, s:o}", "name", p->input, "used_by",
						      used_by));
}

/* The package's inputs against the target's values (spec section 20.4), all findings. */
static void check_bindings(appkg_reader *r, appkg_bindings *env, struct report *rep)
{
	int rc;

	rep->unbound = json_array();
	rep->unused = json_array();
	if ((rc = appkg_bindings_check(env, r, on_binding, rep)) < 0) {
		add_own_problem(rep, rc, NULL, appkg_bindings_error(env));
		json_decref(rep->unbound);
		json_decref(rep->unused);
		rep->unbound = rep->unused = NULL;
	}
}

/* The exit status of a report: the worst class over its problems; an unbound input rejects. */
static int report_status(const struct report *rep)
{
	int worst = rep->unbound && json_array_size(rep->unbound) ? 1 : 0;

	for (size_t i = 0; i < rep->n; i++) {
		int s = appkg_error_class(rep->problems[i].code);
		if (s > worst)
			worst = s;
	}
	return worst;
}

/* The check class of an error code, by its range in errors.h. */
static const char *check_class(int code)
{
	static const char *const names[] = {"usage", "environment", "container", "tar", "names",
					    "manifest", "resources", "secrets", "signature", "limits"};
	int k = -code / 100;

	return code < 0 && k < 10 ? names[k] : "other";
}

/* "valid", "invalid", "unchecked" (signed, no --pubkey to check it with) or "absent". An
 * unsigned package, or a bad signature nobody asked about, reads "absent-or-unchecked" as
 * before. */
static const char *signature_status(const struct report *rep)
{
	switch (rep->signature) {
	case 1: return "valid";
	case -1: return "invalid";
	case 2: return "unchecked";
	default: return "absent-or-unchecked";
	}
}

static void print_json(const struct report *rep, appkg_reader *r, int status, const char *bindings)
{
	static const char *const classes[] = {"container", "tar", "names", "manifest", "resources",
					      "secrets", "signature", "limits"};
	json_t *o = json_object(), *checks = json_object(), *list = json_array();

	json_object_set_new(o, "package", json_string(rep->package));
	json_object_set_new(o, "ok", json_boolean(status == 0));
	json_object_set_new(o, "exit", json_integer(status));
	json_object_set_new(o, "name", json_string(appkg_reader_meta(r, "name") ?: ""));
	json_object_set_new(o, "version", json_string(appkg_reader_meta(r, "version") ?: ""));
	json_object_set_new(o, "format_version", json_string(appkg_reader_meta(r, "format_version") ?: ""));
	json_object_set_new(o, "members", json_integer((json_int_t)rep->members));
	json_object_set_new(o, "resources", json_integer((json_int_t)rep->resources));
	json_object_set_new(o, "secrets", json_string(!rep->has_secrets ? "none" : rep->secrets_checked
						       ? "decrypted" : "digest-only"));
	json_object_set_new(o, "signature", json_pack("{s:s, s:s, s:s}", "status",
						       signature_status(rep), "key_id", rep->signer,
						       "trusted_comment", rep->trusted));
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		json_object_set_new(checks, classes[i], json_string("pass"));
	for (size_t i = 0; i < rep->n; i++) {
		const struct problem *p = &rep->problems[i];
		const char *cls = check_class(p->code);
		json_t *item = json_pack("{s:i, s:s, s:s, s:s, s:s}", "code", p->code, "name",
					 appkg_error_name(p->code), "class", cls, "member",
					 p->member ? p->member : "", "message", p->message);
		if (p->line) {
			json_object_set_new(item, "line", json_integer(p->line));
			json_object_set_new(item, "column", json_integer(p->column));
		}
		json_object_set_new(checks, cls, json_string("fail"));
		json_array_append_new(list, item);
	}
	json_object_set_new(o, "checks", checks);
	json_object_set_new(o, "problems", list);
	if (bindings)
		json_object_set_new(o, "bindings", !rep->unbound ? json_null() :
				    json_pack("{s:s, s:O, s:O}", "file", bindings, "unbound",
					      rep->unbound, "unused", rep->unused));
	json_dumpf(o, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

/* One line per input ENV.json lacks, with the resources that use it; one per unused key.
 * With several packages each line ends naming the package. */
static void print_bindings(const struct report *rep, const struct options *o)
{
	const char *in = o->several ? " in '" : "", *end = o->several ? "'" : "";
	const char *package = o->several ? rep->package : "";
	size_t i, k;
	json_t *item, *path;

	json_array_foreach(rep->unbound, i, item) {
		fprintf(stderr, "%s: '%s': input '%s' is required (used by", fe_prog, o->bindings,
			json_string_value(json_object_get(item, "name")));
		json_array_foreach(json_object_get(item, "used_by"), k, path)
			fprintf(stderr, "%s %s", k ? "," : "", json_string_value(path));
		fprintf(stderr, ")%s%s%s\n", in, package, end);
	}
	json_array_foreach(rep->unused, i, item)
		fprintf(stderr, "%s: '%s': warning: input '%s' is not used by the package%s%s%s\n",
			fe_prog, o->bindings, json_string_value(item), o->several ? " '" : "", package,
			end);
}

static void print_text(const struct report *rep, appkg_reader *r, int status,
		       const struct options *o)
{
	int verbose = o->verbose;

	for (size_t i = 0; i < rep->n; i++)
		if (!rep->problems[i].printed)
			fe_report(rep->package, rep->problems[i].code, rep->problems[i].message);
	if (rep->unbound)
		print_bindings(rep, o);
	if (status == 0 && verbose)
		printf("%s: ok: %s %s, %zu resources, secrets %s, %s%s%s\n", rep->package,
		       appkg_reader_meta(r, "name"), appkg_reader_meta(r, "version") ?: "(no version)",
		       rep->resources, !rep->has_secrets ? "none" : rep->secrets_checked ? "decrypted" : "sealed",
		       rep->signature > 0 ? "signed by key " : "unsigned", rep->signature > 0 ? rep->signer : "",
		       rep->signature == 2 ? " (not checked: no --pubkey)" : "");
	if (status == 0 && verbose && rep->signature == 1)
		printf("%s: trusted comment: %s\n", rep->package, rep->trusted);
}

static int verify_one(const char *package, const struct options *o, appkg_bindings *env)
{
	struct report rep = {.package = strcmp(package, "-") ? package : "(stdin)"};
	appkg_reader *r = appkg_reader_new();
	int rc, status;

	if (!r)
		return fe_report(rep.package, APPKG_ERR_NO_MEMORY, NULL);
	appkg_reader_set_problem_callback(r, on_problem, &rep);
	rc = strcmp(package, "-") ? appkg_reader_open_path(r, package) : appkg_reader_open_fd(r, 0);
	if (rc) {
		add_reader_problem(&rep, r, rc);
	} else {
		struct fe_progress *progress = fe_progress_new("verifying", o->progress);
		rep.members = appkg_reader_member_count(r);
		appkg_reader_set_readahead(r, fe_online_cpus()); /* without it, one core checks */
		appkg_reader_set_progress(r, fe_progress_update, progress);
		read_all(r, &rep);
		fe_progress_end(progress);
		check_secrets(r, o, &rep);
		check_signature(r, o, &rep);
		if (env)
			check_bindings(r, env, &rep);
	}
	status = report_status(&rep);
	if (o->json)
		print_json(&rep, r, status, o->bindings);
	else
		print_text(&rep, r, status, o);
	for (size_t i = 0; i < rep.n; i++) {
		free(rep.problems[i].member);
		free(rep.problems[i].message);
	}
	free(rep.problems);
	json_decref(rep.unbound);
	json_decref(rep.unused);
	appkg_reader_free(r);
	return status;
}

/* ENV.json, read before any package: a bad one is one line naming it, and nothing else. */
static int load_bindings(const char *path, appkg_bindings **env)
{
	int rc;

	*env = NULL;
	if (!path)
		return 0;
	if (!(*env = appkg_bindings_new()))
		return fe_report(path, APPKG_ERR_NO_MEMORY, NULL);
	if ((rc = appkg_bindings_load_file(*env, path)) == 0)
		return 0;
	rc = fe_report(path, rc, appkg_bindings_error(*env));
	appkg_bindings_free(*env);
	*env = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_bindings *env;
	int worst;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if ((worst = load_bindings(o.bindings, &env)))
		return worst;
	for (int i = optind; i < argc; i++) {
		int status = verify_one(argv[i], &o, env);
		if (status > worst)
			worst = status;
	}
	appkg_bindings_free(env);
	return worst;
}
