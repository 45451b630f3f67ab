/* SPDX-License-Identifier: MIT */
/*
 * appkg-merge: combine packages into one, or derive a package holding a selection of one
 * package, without unpacking and without writing a secret anywhere.
 *
 * Resources are matched by type and logical name and copied from the input that wins them
 * (appkg_merge); a resource or a secret the inputs hold differently is a conflict, and
 * without --prefer every conflict is listed and nothing is written. --only keeps the named
 * resources and everything they depend on (appkg_writer_set_selection). Secrets are carried
 * sealed when one input has them and no new password is asked for, else decrypted in memory
 * and sealed under the new password. The output is written atomically and never signed
 * unless --sign: a signature never survives a changed manifest.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "progress.h"

#define MAX_LIST 256

struct options {
	const char *output, *name, *version, *new_password_file, *sign_key, *key_password_file;
	const char *only[MAX_LIST], *password_files[MAX_LIST];
	size_t nonly, npassword_files;
	char **inputs;
	size_t ninputs;
	enum appkg_prefer prefer;
	enum appkg_kdf_level kdf;
	enum fe_progress_mode progress;
	int level, json;
};

struct run {
	const struct options *o;
	appkg_reader **in;
	appkg_writer *w;
	json_t *conflicts; /* for --json */
	char *pw[MAX_LIST], *new_pw;
	size_t pw_len[MAX_LIST], new_pw_len;
	int status;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG... -o OUT.appkg\n"
	       "Merge packages into one, or keep a selection of a package, without unpacking.\n\n"
	       "  -o, --output FILE          package to write ('-' for standard output)\n"
	       "      --only TYPE/NAME       keep this resource and everything it depends on\n"
	       "                             (repeatable; logical or file-name form)\n"
	       "      --prefer WHICH         settle conflicts with the first or the last input\n"
	       "                             that holds the resource or secret (first, last); by\n"
	       "                             default every conflict is listed and nothing written\n"
	       "      --name NAME            package name (default: the first input's)\n"
	       "      --package-version V    package version (default: the first input's)\n"
	       "      --password-file FILE   secrets password of an input ('-': stdin); repeat\n"
	       "                             once per input, in input order, or give one for all\n"
	       "      --new-password-file FILE  decrypt the inputs' secrets and seal them all\n"
	       "                             under this password (else APPKG_PASSWORD, else a\n"
	       "                             prompt asked twice, when two inputs have secrets)\n"
	       "      --kdf LEVEL            Argon2id cost of the new secrets: interactive,\n"
	       "                             moderate (default) or sensitive\n"
	       "      --sign SECKEY          sign the output with a minisign secret key\n"
	       "      --key-password-file FILE  password of SECKEY (else APPKG_KEY_PASSWORD,\n"
	       "                             else a prompt)\n"
	       "  -l, --level N              zstd level 1..19 (default 3)\n"
	       "      --json                 print the report (conflicts) as JSON on stdout\n"
	       "  -q, --quiet                no progress display\n"
	       "      --progress             a progress display even when stderr is not a terminal\n"
	       "                             or the work is short\n"
	       "  -h, --help                 show this help\n"
	       "  -V, --version              show the version\n\n"
	       "When one input has secrets and no new password is given, its secrets.enc is\n"
	       "carried sealed as it is, with every secret it holds (a one-line notice says so).\n"
	       "Input passwords come from --password-file, else APPKG_PASSWORD, else a prompt.\n"
	       "Exit status: 0 ok, 1 conflict or rejected input, 2 usage, 3 no or bad password,\n"
	       "4 I/O error.\n",
	       fe_prog);
	exit(0);
}

static void add_to(const char **list, size_t *n, const char *opt, const char *value)
{
	if (*n == MAX_LIST)
		fe_usage_error("%s: at most %d", opt, MAX_LIST);
	list[(*n)++] = value;
}

static void check_options(struct options *o, int argc, char **argv)
{
	size_t stdin_uses = 0;

	if (optind == argc)
		fe_usage_error("missing PKG");
	o->inputs = argv + optind;
	o->ninputs = (size_t)(argc - optind);
	if (o->ninputs > MAX_LIST)
		fe_usage_error("at most %d packages", MAX_LIST);
	if (!o->output)
		fe_usage_error("missing -o OUT.appkg");
	if (!strcmp(o->output, "-") && isatty(1))
		fe_usage_error("refusing to write a package to a terminal");
	if (!strcmp(o->output, "-") && o->json)
		fe_usage_error("--json and -o - both use standard output");
	if (o->npassword_files > 1 && o->npassword_files != o->ninputs)
		fe_usage_error("--password-file: give one for all inputs or one per input (%zu)",
			       o->ninputs);
	for (size_t i = 0; i < o->ninputs; i++)
		stdin_uses += !strcmp(o->inputs[i], "-");
	for (size_t i = 0; i < o->npassword_files; i++)
		stdin_uses += !strcmp(o->password_files[i], "-");
	if (o->new_password_file && !strcmp(o->new_password_file, "-"))
		stdin_uses++;
	if (stdin_uses > 1)
		fe_usage_error("standard input ('-') can be read only once");
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'}, {"only", required_argument, NULL, 'O'},
		{"prefer", required_argument, NULL, 'P'}, {"name", required_argument, NULL, 'N'},
		{"package-version", required_argument, NULL, 'R'},
		{"password-file", required_argument, NULL, 'p'},
		{"new-password-file", required_argument, NULL, 'n'}, {"kdf", required_argument, NULL, 'k'},
		{"sign", required_argument, NULL, 's'}, {"key-password-file", required_argument, NULL, 'K'},
		{"level", required_argument, NULL, 'l'}, {"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'}, {"progress", no_argument, NULL, 'G'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.level = 3, .kdf = APPKG_KDF_MODERATE};
	while ((c = fe_getopt(argc, argv, "o:l:qhV", longs)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'O': add_to(o->only, &o->nonly, "--only", optarg); break;
		case 'P':
			if (strcmp(optarg, "first") && strcmp(optarg, "last"))
				fe_usage_error("--prefer: expected first or last, not '%s'", optarg);
			o->prefer = !strcmp(optarg, "first") ? APPKG_PREFER_FIRST : APPKG_PREFER_LAST;
			break;
		case 'N': o->name = optarg; break;
		case 'R': o->version = optarg; break;
		case 'p': add_to(o->password_files, &o->npassword_files, "--password-file", optarg); break;
		case 'n': o->new_password_file = optarg; break;
		case 'k': o->kdf = fe_parse_kdf(optarg); break;
		case 's': o->sign_key = optarg; break;
		case 'K': o->key_password_file = optarg; break;
		case 'l':
			if ((o->level = (int)fe_parse_int(optarg, 1, 19)) < 0)
				fe_usage_error("--level: expected 1..19, not '%s'", optarg);
			break;
		case 'j': o->json = 1; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'G': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	check_options(o, argc, argv);
}

static const char *subject(const char *input)
{
	return strcmp(input, "-") ? input : "(stdin)";
}

static int open_inputs(struct run *x)
{
	const struct options *o = x->o;
	int rc;

	if (!(x->in = calloc(o->ninputs, sizeof(*x->in))))
		return fe_report(o->output, APPKG_ERR_NO_MEMORY, NULL);
	for (size_t i = 0; i < o->ninputs; i++) {
		if (!(x->in[i] = appkg_reader_new()))
			return fe_report(o->output, APPKG_ERR_NO_MEMORY, NULL);
		rc = strcmp(o->inputs[i], "-") ? appkg_reader_open_path(x->in[i], o->inputs[i])
					       : appkg_reader_open_fd(x->in[i], 0);
		if (rc)
			return fe_report(subject(o->inputs[i]), rc, appkg_reader_error(x->in[i]));
	}
	return 0;
}

/* A password helper's outcome: 0, or the exit status (the helper said why, or we do). */
static int password_status(int rc, const char *what)
{
	if (rc == 1) {
		fprintf(stderr, "%s: %s: a password is needed (--password-file, APPKG_PASSWORD or "
			"a terminal)\n", fe_prog, what);
		return APPKG_EXIT_AUTH;
	}
	return rc ? appkg_error_class(rc) : 0;
}

/* Secrets are decrypted when a new password is given or two inputs have them: then every
 * input with secrets needs its password, and the output a new one. */
static int get_passwords(struct run *x)
{
	const struct options *o = x->o;
	size_t with = 0, np = o->npassword_files;
	int rc = 0;

	for (size_t i = 0; i < o->ninputs; i++)
		with += appkg_reader_has_secrets(x->in[i]) == 1;
	if (!with || (!o->new_password_file && with < 2))
		return 0;
	for (size_t i = 0; i < o->ninputs && !rc; i++) {
		size_t k = np > 1 ? i : 0; /* one password per input, or one for all */
		if (appkg_reader_has_secrets(x->in[i]) == 1 && !x->pw[k])
			rc = password_status(fe_password(np ? o->password_files[k] : NULL, 1, &x->pw[k],
							 &x->pw_len[k]),
					     subject(o->inputs[i]));
	}
	if (!rc)
		rc = password_status(fe_password_confirm(o->new_password_file, 1, &x->new_pw,
							 &x->new_pw_len), "new password");
	return rc;
}

static void on_conflict(void *ctx, const struct appkg_conflict *c)
{
	struct run *x = ctx;
	const char *a = subject(x->o->inputs[c->first]), *b = subject(x->o->inputs[c->second]);
	const char *settled = x->o->prefer == APPKG_PREFER_FIRST ? "first"
			      : x->o->prefer == APPKG_PREFER_LAST ? "last" : NULL;
	json_t *e;

	if (x->conflicts) {
		e = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:[s, s], s:s?}", "kind", c->kind, "what",
			      c->what, "type", c->type, "path", c->path, "name", c->name, "inputs", a,
			      b, "settled", settled);
		json_array_append_new(x->conflicts, e ? e : json_null());
	}
	if (settled || x->o->json)
		return;
	if (c->path)
		fprintf(stderr, "%s: '%s': %s/%s: %s differs between '%s' and '%s'\n", fe_prog,
			c->path, c->type, c->name, c->what, a, b);
	else
		fprintf(stderr, "%s: '%s %s': %s differs between '%s' and '%s'\n", fe_prog, c->kind,
			c->name, !strcmp(c->kind, "input") ? "declaration" : c->what, a, b);
}

static void print_json(struct run *x, int status)
{
	const struct options *o = x->o;
	json_t *inputs = json_array(), *doc;
	const char *prefer = o->prefer == APPKG_PREFER_FIRST ? "first"
			     : o->prefer == APPKG_PREFER_LAST ? "last" : "none";

	for (size_t i = 0; i < o->ninputs; i++)
		json_array_append_new(inputs, json_string(subject(o->inputs[i])));
	doc = json_pack("{s:b, s:i, s:s, s:o, s:s, s:O, s:b}", "ok", status == 0, "exit", status,
			"output", o->output, "inputs", inputs, "prefer", prefer, "conflicts",
			x->conflicts, "written", status == 0);
	if (doc) {
		json_dumpf(doc, stdout, JSON_COMPACT);
		putchar('\n');
	}
	json_decref(doc);
}

static void on_problem(void *ctx, int code, const char *message)
{
	struct run *x = ctx;
	int status = fe_report(x->o->output, code, message);

	if (status > x->status)
		x->status = status;
}

static int build(struct run *x)
{
	const struct options *o = x->o;
	struct appkg_merge_options mo = {.prefer = o->prefer, .name = o->name, .version = o->version,
					 .new_password = x->new_pw, .new_password_len = x->new_pw_len,
					 .kdf = o->kdf, .conflict_fn = on_conflict, .conflict_ctx = x};
	const char *pws[MAX_LIST] = {0};
	size_t lens[MAX_LIST] = {0};
	int rc;

	for (size_t i = 0; i < o->ninputs; i++) {
		size_t k = o->npassword_files > 1 ? i : 0;
		pws[i] = x->pw[k];
		lens[i] = x->pw_len[k];
	}
	mo.passwords = pws;
	mo.password_lens = lens;
	if (!(x->w = appkg_writer_new()) || appkg_writer_set_level(x->w, o->level))
		return fe_report(o->output, APPKG_ERR_NO_MEMORY, NULL);
	appkg_writer_set_problem_handler(x->w, on_problem, x);
	rc = appkg_merge(x->w, x->in, o->ninputs, &mo);
	if (!rc && o->nonly)
		rc = appkg_writer_set_selection(x->w, o->only, o->nonly);
	if (!rc && o->nonly && (rc = appkg_writer_check(x->w)))
		return x->status ? x->status : fe_report(o->output, rc, appkg_writer_error(x->w));
	if (rc)
		return fe_report(o->output, rc, appkg_writer_error(x->w));
	if (!o->sign_key)
		return 0;
	rc = fe_set_signing_key(x->w, o->output, o->sign_key, o->key_password_file);
	return rc ? appkg_error_class(rc) : 0;
}

/* One line when secrets.enc goes out sealed as one input had it. */
static void notice_sealed(struct run *x)
{
	const struct options *o = x->o;

	if (x->new_pw)
		return;
	for (size_t i = 0; i < o->ninputs; i++)
		if (appkg_reader_has_secrets(x->in[i]) == 1)
			fe_report(subject(o->inputs[i]), 0, "secrets.enc: carried sealed as it is, with "
				  "every secret it holds (--new-password-file re-seals them)");
}

static int finish(struct run *x)
{
	const char *out = x->o->output;
	struct fe_progress *progress = fe_progress_new("merging", x->o->progress);
	int rc;

	appkg_writer_set_progress(x->w, fe_progress_update, progress);
	rc = strcmp(out, "-") ? appkg_writer_finish_path(x->w, out) : appkg_writer_finish_fd(x->w, 1);
	fe_progress_end(progress);

	if (rc)
		return x->status ? x->status : fe_report(out, rc, appkg_writer_error(x->w));
	notice_sealed(x);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct run x = {.o = &o};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if (o.json)
		x.conflicts = json_array();
	if (!(rc = fe_check_output(o.output, 0)) && !(rc = open_inputs(&x)) &&
	    !(rc = get_passwords(&x)) && !(rc = build(&x)))
		rc = finish(&x);
	if (o.json)
		print_json(&x, rc);
	for (size_t i = 0; i < MAX_LIST; i++)
		fe_secret_free(x.pw[i], x.pw_len[i]);
	fe_secret_free(x.new_pw, x.new_pw_len);
	for (size_t i = 0; x.in && i < o.ninputs; i++)
		appkg_reader_free(x.in[i]);
	free(x.in);
	appkg_writer_free(x.w);
	json_decref(x.conflicts);
	return rc;
}
