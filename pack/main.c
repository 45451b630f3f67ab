/* SPDX-License-Identifier: MIT */
/*
 * appkg-pack: turn an unpacked application directory into a .appkg package.
 *
 * DIR holds manifest.json, resources/<type>/<name>.json, and optionally secrets.json (encrypted
 * into secrets.enc) or a secrets.enc carried over from an earlier unpack. The library walks DIR
 * (appkg_writer_add_directory: side files such as .git, README.md and editor backups skipped by
 * the layout rule of spec §6.1, a .json file where no resource can be an error); pack adds what
 * needs the user: the password that seals secrets.json, the key of --sign. Every problem is reported before the tool gives up, and
 * nothing is written then. The one write into DIR is --update-secrets-enc.
 */
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "progress.h"

struct options {
	const char *dir, *output, *password_file, *sign_key, *key_password_file;
	const char *only[256]; /* --only selectors */
	size_t nonly;
	const char *reuse_from; /* --reuse-from PKG */
	int level, threads, prune, update_secrets;
	enum appkg_kdf_level kdf;
	enum fe_progress_mode progress;
};

struct pack {
	const struct options *o;
	appkg_writer *w;
	int problems; /* worst exit status of the problems reported so far */
	int reported; /* problems the library handed to writer_problem */
	int checking; /* in appkg_writer_check: a missing member is a manifest entry */
	char *enc; /* a copy of the secrets.enc the library carried over, or NULL */
	size_t enc_len;
	struct fe_progress *adding; /* the display while the directory is added, or NULL */
	uint64_t expect_bytes;      /* what the adds should come to, counted beforehand */
	size_t expect_members;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... DIR -o OUT.appkg\n"
	       "Pack an unpacked application directory into a package.\n\n"
	       "  -o, --output FILE        package to write ('-' for standard output)\n"
	       "  -l, --level N            zstd level 1..19 (default 3)\n"
	       "  -T, --threads N          threads that read, check and compress (default 0: one\n"
	       "                           per CPU, at most 8); output is the same for any N\n"
	       "      --kdf LEVEL          Argon2id cost for new secrets: interactive, moderate\n"
	       "                           (default for new secrets) or sensitive; by default a\n"
	       "                           re-pack keeps the parameters of DIR/secrets.enc\n"
	       "      --password-file FILE read the secrets password from FILE ('-': stdin); with\n"
	       "                           DIR/secrets.enc it must be the password that opens it,\n"
	       "                           else a new one (asked twice at a prompt)\n"
	       "      --update-secrets-enc secrets.json wins: pack it even if it differs from\n"
	       "                           DIR/secrets.enc, and rewrite DIR/secrets.enc to match\n"
	       "                           (by default pack refuses when they differ)\n"
	       "      --only TYPE/NAME     pack only this resource and everything it depends on\n"
	       "                           (repeatable; logical or file-name form)\n"
	       "      --reuse-from PKG     when DIR has secrets.json and no secrets.enc, reuse the\n"
	       "                           salt, KDF cost and package id of PKG's secrets (the\n"
	       "                           password must open them); by default those of the\n"
	       "                           package already at OUT, so that a fresh export packs\n"
	       "                           to the same bytes\n"
	       "      --prune              drop manifest entries whose file is gone (by default\n"
	       "                           pack refuses and names them)\n"
	       "      --sign SECKEY        sign with a minisign secret key (appkg keygen)\n"
	       "      --key-password-file FILE  password of SECKEY (else APPKG_KEY_PASSWORD,\n"
	       "                           else a prompt)\n"
	       "  -q, --quiet              no progress display\n"
	       "      --progress           a progress display even when stderr is not a terminal\n"
	       "                           or the work is short\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "The password comes from --password-file, else APPKG_PASSWORD, else a prompt.\n"
	       "Without --sign, DIR/manifest.json.minisig from unpack is kept while the manifest\n"
	       "is unchanged and left out, with a notice, after an edit. Side files (.git,\n"
	       "README.md, x.json~ ...) are skipped; a misplaced .json file is an error.\n"
	       "Exit status: 0 ok, 1 rejected input, 2 usage, 3 no or bad password, 4 I/O error.\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'}, {"level", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 'T'}, {"kdf", required_argument, NULL, 'k'},
		{"password-file", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"sign", required_argument, NULL, 's'}, {"key-password-file", required_argument, NULL, 'K'},
		{"version", no_argument, NULL, 'V'}, {"prune", no_argument, NULL, 'P'},
		{"update-secrets-enc", no_argument, NULL, 'U'}, {"only", required_argument, NULL, 'O'},
		{"reuse-from", required_argument, NULL, 'R'}, {"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, 'G'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.level = 3, .threads = 0, .kdf = APPKG_KDF_KEEP};
	while ((c = fe_getopt(argc, argv, "o:l:T:qhV", longs)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'l':
			if ((o->level = (int)fe_parse_int(optarg, 1, 19)) < 0)
				fe_usage_error("--level: expected 1..19, not '%s'", optarg);
			break;
		case 'T':
			if ((o->threads = (int)fe_parse_int(optarg, 0, 64)) < 0)
				fe_usage_error("--threads: expected 0..64, not '%s'", optarg);
			break;
		case 'k': o->kdf = fe_parse_kdf(optarg); break;
		case 'p': o->password_file = optarg; break;
		case 's': o->sign_key = optarg; break;
		case 'K': o->key_password_file = optarg; break;
		case 'P': o->prune = 1; break;
		case 'U': o->update_secrets = 1; break;
		case 'O':
			if (o->nonly == sizeof(o->only) / sizeof(o->only[0]))
				fe_usage_error("--only: at most 256");
			o->only[o->nonly++] = optarg;
			break;
		case 'R': o->reuse_from = optarg; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'G': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		fe_usage_error(optind == argc ? "missing DIR" : "one DIR only");
	o->dir = argv[optind];
	if (!o->output)
		fe_usage_error("missing -o OUT.appkg");
	if (!strcmp(o->output, "-") && isatty(1))
		fe_usage_error("refusing to write a package to a terminal");
}

/* Report one problem with the input and keep going. */
static void problem(struct pack *p, int code, const char *message)
{
	int status;

	fe_progress_end(p->adding); /* the line goes before anything else is printed */
	p->adding = NULL;
	status = fe_report(p->o->dir, code, message);

	if (status > p->problems)
		p->problems = status;
}

/* A problem whose message has been printed already (by fe_password): only its status counts. */
static void told(struct pack *p, int code)
{
	if (appkg_error_class(code) > p->problems)
		p->problems = appkg_error_class(code);
}

static char *join(const char *a, const char *b)
{
	size_t n = strlen(a) + strlen(b) + 2;
	char *s = malloc(n);

	if (!s) {
		fprintf(stderr, "%s: out of memory\n", fe_prog);
		exit(APPKG_EXIT_ENVIRONMENT);
	}
	snprintf(s, n, "%s/%s", a, b);
	return s;
}

/* Each problem the library finds in DIR or in the manifest, as it finds it. */
static void writer_problem(void *ctx, int code, const char *message)
{
	struct pack *p = ctx;
	char msg[1024];

	p->reported++;
	if (p->checking && code == APPKG_ERR_MEMBER_MISSING && !p->o->prune) {
		snprintf(msg, sizeof(msg), "%s; restore it, or --prune drops the entry", message);
		message = msg;
	}
	problem(p, code, message);
}

/* A password from the tool's helpers, reported as a problem when there is none. */
static int get_password(struct pack *p, int confirm, char **pw, size_t *len)
{
	int rc = confirm ? fe_password_confirm(p->o->password_file, 1, pw, len)
			 : fe_password(p->o->password_file, 1, pw, len);

	if (rc) {
		*pw = NULL; /* never freed twice, whatever the helper did */
		*len = 0;
	}
	if (rc == 1)
		problem(p, APPKG_ERR_NO_PASSWORD, "secrets.json: a password is needed to encrypt it "
			"(--password-file, APPKG_PASSWORD or a terminal)");
	else if (rc) /* the helper said why */
		told(p, rc);
	return rc;
}

/* DIR/secrets.enc is what the package held: the password must open it (a typo would re-seal
 * the secrets under a password nobody knows), and secrets.json must still say what it holds
 * unless --update-secrets-enc. 0 to go on. */
static int check_sealed(struct pack *p, const char *enc, size_t enc_len, const char *pw,
			size_t pw_len, const char *plain, size_t plain_len)
{
	char *old = NULL, msg[256];
	size_t old_len = 0;
	int rc = appkg_secrets_decrypt(enc, enc_len, pw, pw_len, &old, &old_len, msg);

	if (rc == APPKG_ERR_AUTH)
		problem(p, rc, "secrets.enc: wrong password: it does not open secrets.enc, so "
			"secrets.json is not sealed with it");
	else if (rc)
		problem(p, rc, msg);
	else if ((old_len != plain_len || memcmp(old, plain, plain_len) != 0) &&
		 !p->o->update_secrets)
		problem(p, rc = APPKG_ERR_SECRETS_JSON, "secrets.json differs from secrets.enc: "
			"--update-secrets-enc packs secrets.json and rewrites secrets.enc, or remove "
			"secrets.json to pack secrets.enc");
	appkg_secure_free(old, old_len);
	return rc;
}

/* The package whose secrets lend their salt, KDF parameters and package_id when DIR has no
 * secrets.enc (spec §11.6): --reuse-from, else a regular file at the output path. */
static const char *reuse_source(const struct options *o)
{
	struct stat st;

	if (o->reuse_from)
		return o->reuse_from;
	if (!strcmp(o->output, "-") || stat(o->output, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	return o->output;
}

/* The secrets.enc of that package into *blob (malloc'd), or *blob NULL when there is nothing
 * to reuse: no such package at the output, one that does not open (it is replaced, as before),
 * or one without secrets. A --reuse-from that cannot be read is a problem. */
static int reuse_blob(struct pack *p, const char *from, char **blob, size_t *len)
{
	appkg_reader *r = appkg_reader_new();
	const void *data;
	int rc;

	*blob = NULL;
	if (!r)
		return APPKG_ERR_NO_MEMORY;
	rc = appkg_reader_open_path(r, from);
	if (!rc && appkg_reader_has_secrets(r) &&
	    !(rc = appkg_reader_read(r, "secrets.enc", &data, len)) && !(*blob = malloc(*len)))
		rc = APPKG_ERR_NO_MEMORY;
	if (*blob)
		memcpy(*blob, data, *len);
	if (rc && (p->o->reuse_from || rc == APPKG_ERR_NO_MEMORY))
		told(p, (fe_report(from, rc, appkg_reader_error(r)), rc));
	else
		rc = 0;
	appkg_reader_free(r);
	return rc;
}

/* The password must open the reused secrets: a typo must not give a package that looks like a
 * re-pack of the old one but opens with another password. 0 to go on. */
static int check_reused(struct pack *p, const char *from, const char *blob, size_t len,
			const char *pw, size_t pw_len)
{
	char *old = NULL, msg[256];
	size_t old_len = 0;
	int rc = appkg_secrets_decrypt(blob, len, pw, pw_len, &old, &old_len, msg);

	appkg_secure_free(old, old_len);
	if (rc == APPKG_ERR_AUTH)
		fe_report(from, rc, "secrets.enc: wrong password: this pack reuses the salt and "
			  "package id of these secrets, so the password must open them; nothing "
			  "written (to change it: appkg rekey, or pack to a new file)");
	else if (rc)
		fe_report(from, rc, msg);
	if (rc)
		told(p, rc);
	return rc;
}

/* secrets.json is encrypted, keeping the salt of secrets.enc, or else of the package at the
 * output or --reuse-from (spec §11.6); a lone secrets.enc stays as appkg_writer_add_directory
 * carried it. The library has refused a secrets.json that is not a regular file already. */
static void set_secrets(struct pack *p)
{
	char *plain_path = join(p->o->dir, "secrets.json"), *plain = NULL, *pw = NULL, *reused = NULL;
	size_t plain_len = 0, pw_len = 0, reused_len = 0;
	const char *from = NULL;
	const void *blob;
	struct stat st;
	int rc = 0;

	if (appkg_writer_secrets_blob(p->w, &blob, &p->enc_len) == 0) {
		if (!(p->enc = malloc(p->enc_len ? p->enc_len : 1))) {
			problem(p, APPKG_ERR_NO_MEMORY, "out of memory");
			goto out;
		}
		memcpy(p->enc, blob, p->enc_len);
	}
	if (p->enc && p->o->reuse_from)
		fe_usage_error("--reuse-from: DIR has secrets.enc, whose salt pack keeps already");
	if (lstat(plain_path, &st) != 0)
		goto out;
	if ((rc = fe_read_secret(plain_path, 1u << 20, &plain, &plain_len))) {
		problem(p, rc, "secrets.json: cannot read");
		rc = 0;
		goto out;
	}
	if (!p->enc && (from = reuse_source(p->o)) && reuse_blob(p, from, &reused, &reused_len))
		goto out; /* reported */
	if (get_password(p, !p->enc && !reused, &pw, &pw_len) ||
	    (p->enc && check_sealed(p, p->enc, p->enc_len, pw, pw_len, plain, plain_len)) ||
	    (reused && check_reused(p, from, reused, reused_len, pw, pw_len)))
		goto out; /* reported */
	rc = appkg_writer_set_secrets(p->w, plain, plain_len, pw, pw_len, p->o->kdf,
				      p->enc ? p->enc : reused, p->enc ? p->enc_len : reused_len);
out:
	if (rc == APPKG_ERR_UNBOUND)
		told(p, rc); /* each secret reference missing went to writer_problem */
	else if (rc)
		problem(p, rc, appkg_writer_error(p->w));
	fe_secret_free(plain, plain_len);
	fe_secret_free(pw, pw_len);
	free(reused);
	free(plain_path);
}

/* --sign: a fresh signature, in place of the one appkg_writer_add_directory carried over
 * (which the writer leaves out if the manifest changed). */
static void set_signature(struct pack *p)
{
	int rc = fe_set_signing_key(p->w, p->o->dir, p->o->sign_key, p->o->key_password_file);

	if (rc)
		told(p, rc);
}

/* --update-secrets-enc: DIR/secrets.enc becomes the blob just packed. The only write pack
 * makes into DIR. */
static int rewrite_secrets_enc(struct pack *p)
{
	const void *blob;
	size_t len;
	char *path;
	struct appkg_problem why;
	int rc;

	if (appkg_writer_secrets_blob(p->w, &blob, &len) != 0)
		return 0;
	path = join(p->o->dir, "secrets.enc");
	rc = appkg_file_replace(path, blob, len);
	free(path);
	if (!rc)
		return 0;
	appkg_last_problem(&why);
	return fe_report(p->o->dir, rc, why.message);
}

/* After the package is written: the notices and the one write into DIR. */
static int after_finish(struct pack *p)
{
	const void *blob;
	size_t len;

	if (appkg_writer_signature_dropped(p->w))
		fe_report(p->o->dir, 0, "manifest.json.minisig: left out: it signed the manifest "
			  "before the changes (--sign SECKEY signs the package again)");
	if (!p->o->update_secrets || appkg_writer_secrets_blob(p->w, &blob, &len))
		return 0;
	if (!p->enc || p->enc_len != len || memcmp(p->enc, blob, len) != 0)
		return rewrite_secrets_enc(p);
	return 0;
}

/* The resource files (DIR/resources/TYPE/NAME.json) and their bytes, plus the manifest and
 * any secrets, for the display of the adds, whose totals the library cannot know before the
 * walk ends. Counted only when a display may show. */
static void count_expected(struct pack *p, const char *dir)
{
	char *res = join(dir, "resources"), *path;
	DIR *top = res ? opendir(res) : NULL, *sub;
	struct dirent *t, *f;
	struct stat st;

	p->expect_members = 1;
	for (const char *s = "secrets.json"; s; s = strcmp(s, "secrets.json") ? NULL : "secrets.enc") {
		path = join(dir, s);
		if (stat(path, &st) == 0)
			p->expect_members = 2;
		free(path);
	}
	while (top && (t = readdir(top))) {
		int fd = t->d_name[0] == '.' ? -1 : openat(dirfd(top), t->d_name, O_RDONLY | O_DIRECTORY);
		sub = fd >= 0 ? fdopendir(fd) : NULL;
		if (fd >= 0 && !sub)
			close(fd);
		while (sub && (f = readdir(sub))) {
			size_t n = strlen(f->d_name);
			if (n > 5 && !strcmp(f->d_name + n - 5, ".json") &&
			    fstatat(dirfd(sub), f->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISREG(st.st_mode)) {
				p->expect_members++;
				p->expect_bytes += (uint64_t)st.st_size;
			}
		}
		if (sub)
			closedir(sub);
	}
	if (top)
		closedir(top);
	free(res);
}

/* The library reports the adds with totals 0 (not known yet): the counted ones stand in. */
static void adding_progress(void *ctx, uint64_t done, uint64_t total, size_t members,
			    size_t members_total)
{
	struct pack *p = ctx;

	fe_progress_update(p->adding, done, p->expect_bytes > done ? p->expect_bytes : done,
			   members, p->expect_members > members ? p->expect_members : members);
}

/* A display of the adds, when one may show: in path order they read, check, digest and
 * compress every resource, most of a pack's work. */
static void start_adding_progress(struct pack *p)
{
	const struct options *o = p->o;

	if (o->progress == FE_PROGRESS_NEVER || (o->progress == FE_PROGRESS_AUTO && !isatty(2)))
		return;
	count_expected(p, o->dir);
	p->adding = fe_progress_new("packing", o->progress);
	appkg_writer_set_progress(p->w, adding_progress, p);
}

/* A fixed threshold above which memory is mapped on its own (glibc's default, 128 KiB). Left
 * to itself glibc raises it to the size of any large block freed, and a pack frees some (the
 * read-ahead lists of a type directory): the manifest check's arrays and the like, grown by
 * doubling, then come from the heap, each copy left behind resident. On 100,000 resources
 * that was 20 MiB of the peak. */
static void malloc_policy(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
}

int main(int argc, char **argv)
{
	struct options o;
	struct pack p = {.o = &o};
	struct fe_progress *progress;
	int rc;

	fe_init(argv[0]);
	malloc_policy();
	parse_options(argc, argv, &o);
	if (o.threads == 0) /* like zstd -T0: every CPU, capped to bound the memory per thread */
		o.threads = fe_online_cpus();
	p.w = appkg_writer_new();
	if (!p.w || appkg_writer_set_level(p.w, o.level) || appkg_writer_set_threads(p.w, o.threads) ||
	    appkg_writer_set_prune(p.w, o.prune) ||
	    (o.nonly && appkg_writer_set_selection(p.w, o.only, o.nonly)))
		return fe_report(o.dir, APPKG_ERR_NO_MEMORY, NULL);
	appkg_writer_set_problem_handler(p.w, writer_problem, &p);
	start_adding_progress(&p);
	if (appkg_writer_add_directory(p.w, o.dir) != 0 && !p.problems)
		p.problems = APPKG_EXIT_ENVIRONMENT; /* never silent: out of memory at the least */
	appkg_writer_set_progress(p.w, NULL, NULL);
	fe_progress_end(p.adding);
	p.adding = NULL;
	p.checking = 1;
	appkg_writer_check(p.w); /* each problem went to writer_problem; no manifest: nothing */
	p.checking = 0;
	if (!p.problems && (rc = fe_check_output(o.output, 0)))
		p.problems = rc;
	if (!p.problems)
		set_secrets(&p);
	if (!p.problems && o.sign_key)
		set_signature(&p);
	if (p.problems) {
		appkg_writer_free(p.w);
		free(p.enc);
		return p.problems;
	}
	progress = fe_progress_new("packing", o.progress);
	appkg_writer_set_progress(p.w, fe_progress_update, progress);
	rc = strcmp(o.output, "-") ? appkg_writer_finish_path(p.w, o.output)
				   : appkg_writer_finish_fd(p.w, 1);
	fe_progress_end(progress);
	if (rc && !p.reported)
		rc = fe_report(o.dir, rc, appkg_writer_error(p.w));
	else if (rc)
		rc = p.problems;
	else
		rc = after_finish(&p);
	appkg_writer_free(p.w);
	free(p.enc);
	return rc;
}
