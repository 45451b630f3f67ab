/* SPDX-License-Identifier: MIT */
/*
 * appkg-unpack: turn a .appkg package into a directory. The library does the work
 * (appkg_extract): a temporary directory beside DEST, every member verified before it gets
 * its name, an atomic swap with --force, nothing left behind on failure. This file reads the
 * options and the password and reports the outcome. With --bindings ENV.json the tree is bound
 * for that environment (spec section 20.2); each required input ENV.json lacks is named on a
 * line of its own before anything is asked or written.
 */
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "progress.h"

#define MAX_ONLY 4096

struct options {
	const char *package, *dest, *password_file, *bindings;
	const char *only[MAX_ONLY];
	size_t nonly;
	int force, secrets, bind_secrets;
	enum fe_progress_mode progress;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG -C DEST\n"
	       "Unpack a package into the directory DEST (PKG '-' reads standard input).\n\n"
	       "  -C, --directory DEST     directory to create (must be absent or empty)\n"
	       "  -f, --force              replace a non-empty DEST (atomically)\n"
	       "      --only RESOURCE      extract only this resource (repeatable): TYPE/NAME with\n"
	       "                           NAME in file-name or logical form, or the path tar\n"
	       "                           lists (resources/TYPE/NAME.json); DEST also gets a\n"
	       "                           manifest.json listing just those, and secrets.enc\n"
	       "  -s, --secrets            decrypt secrets.enc into secrets.json (mode 0600);\n"
	       "                           asks for the password on a terminal\n"
	       "      --password-file FILE read the password from FILE (implies --secrets)\n"
	       "      --bindings ENV.json  write the tree bound for the target environment\n"
	       "                           ENV.json describes, ready for import (not a package\n"
	       "                           source): its inputs or their defaults replace the\n"
	       "                           input placeholders, manifest.json gets \"bound_for\"\n"
	       "      --bind-secrets       with --bindings and the password, also replace\n"
	       "                           secret references (those files mode 0600)\n"
	       "  -q, --quiet              no progress display\n"
	       "      --progress           a progress display even when stderr is not a terminal\n"
	       "                           or the work is short\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also implies --secrets. Without a password the\n"
	       "encrypted secrets.enc is written as it is. DEST is a directory: '-' is refused.\n"
	       "Exit status: 0 ok, 1 package rejected, 2 usage, 3 wrong password, 4 I/O error.\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"directory", required_argument, NULL, 'C'}, {"force", no_argument, NULL, 'f'},
		{"only", required_argument, NULL, 'o'}, {"secrets", no_argument, NULL, 's'},
		{"password-file", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, 'G'}, {"bindings", required_argument, NULL, 'b'},
		{"bind-secrets", no_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "C:fsqhV", longs)) != -1) {
		switch (c) {
		case 'C': o->dest = optarg; break;
		case 'f': o->force = 1; break;
		case 'o':
			if (o->nonly == MAX_ONLY)
				fe_usage_error("at most %d --only options", MAX_ONLY);
			o->only[o->nonly++] = optarg;
			break;
		case 's': o->secrets = 1; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'G': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'p': o->password_file = optarg; o->secrets = 1; break;
		case 'b': o->bindings = optarg; break;
		case 'S': o->bind_secrets = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		fe_usage_error(optind == argc ? "missing PKG" : "one PKG only");
	o->package = argv[optind];
	if (!o->dest)
		fe_usage_error("missing -C DEST");
	if (!strcmp(o->dest, "-"))
		fe_usage_error("-C -: DEST is a directory, not a stream (name it ./- to mean that)");
	if (getenv("APPKG_PASSWORD"))
		o->secrets = 1;
	if (o->bind_secrets && !o->bindings)
		fe_usage_error("--bind-secrets needs --bindings ENV.json");
	if (o->bind_secrets && !o->secrets)
		fe_usage_error("--bind-secrets needs the password (--password-file, APPKG_PASSWORD, "
			       "or --secrets to be asked for it)");
}

/* Why DEST may not be written without --force: a symbolic link or a file is no directory. */
static const char *dest_exists_message(const char *dest)
{
	struct stat st;

	if (lstat(dest, &st) == 0 && S_ISLNK(st.st_mode))
		return "a symbolic link, not a directory (use --force to replace the link)";
	if (lstat(dest, &st) == 0 && !S_ISDIR(st.st_mode))
		return "exists and is not a directory (use --force to replace it)";
	return "destination is not empty (use --force to replace it)";
}

/* A failure of the library, from its data: the destination is named when the problem is
 * about it, the package otherwise. */
static int report(appkg_reader *r, const struct options *o, const char *subject, int code)
{
	struct appkg_problem p;

	appkg_reader_problem(r, code, &p);
	if (code == APPKG_ERR_EXISTS)
		return fe_report(o->dest, code, dest_exists_message(o->dest));
	return fe_report(subject, code, p.message);
}

/* The password, when secrets are to be decrypted and the package has them. */
static int get_password(appkg_reader *r, const struct options *o, const char *subject, char **pw,
			size_t *len)
{
	int rc;

	if (!o->secrets || !appkg_reader_has_secrets(r))
		return 0;
	rc = fe_password(o->password_file, 1, pw, len);
	if (rc == 1)
		return fe_report(subject, APPKG_ERR_NO_PASSWORD, "secrets.enc: no password "
				 "(--password-file, APPKG_PASSWORD or a terminal)");
	return rc ? appkg_error_class(rc) : 0;
}

/* Before a password is asked: a DEST the library would refuse (not empty, no --force). */
static int dest_in_use(const struct options *o)
{
	struct dirent *e;
	DIR *d;
	int used = 0;

	if (o->force || !(d = opendir(o->dest)))
		return 0; /* absent, or not a directory: appkg_extract says which */
	while (!used && (e = readdir(d)))
		used = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return used ? fe_report(o->dest, APPKG_ERR_EXISTS, dest_exists_message(o->dest)) : 0;
}

/* With --force: a DEST that holds an input of this run, the package or ENV.json (DEST its
 * directory or an ancestor), which the swap would delete along with the old tree. */
static int dest_holds(const struct options *o, const char *input, const char *what)
{
	char dest[PATH_MAX], in[PATH_MAX], msg[PATH_MAX + 80];
	size_t n;

	if (!o->force || !input || !strcmp(input, "-") || !realpath(o->dest, dest) ||
	    !realpath(input, in))
		return 0;
	n = strlen(dest);
	if (strncmp(in, dest, n) || (in[n] != '/' && strcmp(dest, "/")))
		return 0;
	snprintf(msg, sizeof msg, "holds the %s '%s', which --force would delete; unpack "
		 "somewhere else", what, input);
	return fe_report(o->dest, APPKG_ERR_EXISTS, msg);
}

/* ENV.json: a bad one is one line naming it. */
static int load_bindings(const struct options *o, appkg_bindings **env)
{
	int rc;

	if (!o->bindings)
		return 0;
	if (!(*env = appkg_bindings_new()))
		return fe_report(o->bindings, APPKG_ERR_NO_MEMORY, NULL);
	rc = appkg_bindings_load_file(*env, o->bindings);
	return rc ? fe_report(o->bindings, rc, appkg_bindings_error(*env)) : 0;
}

/* Whether the resource at path is written: every one, or one that --only names. */
static int selected(appkg_reader *r, const struct options *o, const char *path)
{
	size_t want, idx;

	if (!o->nonly)
		return 1;
	if (appkg_reader_resource_find(r, path, &want))
		return 0;
	for (size_t i = 0; i < o->nonly; i++)
		if (appkg_reader_resource_find(r, o->only[i], &idx) == 0 && idx == want)
			return 1;
	return 0;
}

struct unbound {
	appkg_reader *r;
	const struct options *o;
	size_t count;
};

/* "appkg-unpack: 'ENV.json': input 'db_host' is required (used by resources/a.json)" */
static void on_binding(void *ctx, const struct appkg_binding_problem *p)
{
	struct unbound *u = ctx;
	size_t shown = 0;

	if (!p->unbound)
		return; /* a key nothing uses: appkg-verify --bindings warns about it */
	for (size_t k = 0; k < p->used_by_count; k++) {
		if (!selected(u->r, u->o, p->used_by[k]))
			continue;
		if (!shown++)
			fprintf(stderr, "%s: '%s': input '%s' is required (used by", fe_prog,
				u->o->bindings, p->input);
		fprintf(stderr, "%s %s", shown > 1 ? "," : "", p->used_by[k]);
	}
	if (shown) {
		fputs(")\n", stderr);
		u->count++;
	}
}

/* Every required input ENV.json lacks, one line each, before a password is asked for. */
static int check_unbound(appkg_reader *r, const struct options *o, appkg_bindings *env)
{
	struct unbound u = {.r = r, .o = o};
	int rc;

	if (!env)
		return 0;
	if ((rc = appkg_bindings_check(env, r, on_binding, &u)) < 0)
		return fe_report(o->bindings, rc, appkg_bindings_error(env));
	return u.count ? APPKG_EXIT_REJECTED : 0;
}

/* After a bound unpack: the secret references it left, which an import would take as text. */
static void notice_secrets_left(const struct options *o, size_t left)
{
	if (left)
		fprintf(stderr, "%s: '%s': %zu secret reference%s left as placeholders "
			"(--bind-secrets replaces them)\n", fe_prog, o->dest, left, left > 1 ? "s" : "");
}

static int extract(appkg_reader *r, const struct options *o, const char *subject,
		   appkg_bindings *env)
{
	struct appkg_extract_options x = {.force = o->force, .only = o->nonly ? o->only : NULL,
					  .only_count = o->nonly, .bindings = env,
					  .bind_secrets = o->bind_secrets};
	char *pw = NULL;
	size_t pw_len = 0, left = 0;
	struct fe_progress *progress;
	int rc = dest_holds(o, o->package, "package");

	if (rc || (rc = dest_holds(o, o->bindings, "bindings file")) || (rc = dest_in_use(o)) ||
	    (rc = get_password(r, o, subject, &pw, &pw_len)))
		return rc;
	x.password = pw;
	x.password_len = pw_len;
	x.secrets_left = &left;
	progress = fe_progress_new("unpacking", o->progress);
	appkg_reader_set_progress(r, fe_progress_update, progress);
	rc = appkg_extract(r, o->dest, &x);
	fe_progress_end(progress);
	fe_secret_free(pw, pw_len);
	if (rc)
		return report(r, o, subject, rc);
	notice_secrets_left(o, left);
	return 0;
}

static int run(appkg_reader *r, const struct options *o, const char *subject)
{
	appkg_bindings *env = NULL;
	int rc = load_bindings(o, &env);

	if (!rc && !(rc = check_unbound(r, o, env)))
		rc = extract(r, o, subject, env);
	appkg_bindings_free(env);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	const char *subject;
	appkg_reader *r;
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	subject = strcmp(o.package, "-") ? o.package : "(stdin)";
	if (!(r = appkg_reader_new()))
		return fe_report(subject, APPKG_ERR_NO_MEMORY, NULL);
	rc = strcmp(o.package, "-") ? appkg_reader_open_path(r, o.package) : appkg_reader_open_fd(r, 0);
	if (rc == 0)
		appkg_reader_set_readahead(r, fe_online_cpus()); /* without it, one core checks */
	rc = rc ? report(r, &o, subject, rc) : run(r, &o, subject);
	appkg_reader_free(r);
	return rc;
}
