/* SPDX-License-Identifier: MIT */
/*
 * appkg-pack: turn an unpacked application directory into a .appkg package.
 *
 * DIR holds manifest.json, resources/<type>/<name>.json, and optionally secrets.json (encrypted
 * into secrets.enc) or a secrets.enc carried over from an earlier unpack. Side files (.git,
 * README.md, editor backups) are skipped by the library's layout rule (spec §6.1); a .json file
 * where no resource can be is an error. Every problem is reported before the tool gives up, and
 * nothing is written then. The one write into DIR is --update-secrets-enc.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
	const char *reuse_from; /* --reuse-from PKG */
	int level, threads, prune, update_secrets;
	enum appkg_kdf_level kdf;
	enum fe_progress_mode progress;
};

struct pack {
	const struct options *o;
	appkg_writer *w;
	int problems; /* worst exit status of the problems reported so far */
	int reported; /* problems the writer handed to writer_problem */
	int manifest_set, have_enc, rewrite_enc;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... DIR -o OUT.appkg\n"
	       "Pack an unpacked application directory into a package.\n\n"
	       "  -o, --output FILE        package to write ('-' for standard output)\n"
	       "  -l, --level N            zstd level 1..19 (default 3)\n"
	       "  -T, --threads N          compression threads (default 1); output is the same\n"
	       "      --kdf LEVEL          Argon2id cost for new secrets: interactive, moderate\n"
	       "                           (default for new secrets) or sensitive; by default a\n"
	       "                           re-pack keeps the parameters of DIR/secrets.enc or\n"
	       "                           of the package it reuses (--reuse-from)\n"
	       "      --password-file FILE read the secrets password from FILE ('-': stdin); with\n"
	       "                           DIR/secrets.enc, or a package to reuse (below), it must\n"
	       "                           be the password that opens it, else a new one (asked\n"
	       "                           twice at a prompt)\n"
	       "      --update-secrets-enc secrets.json wins: pack it even if it differs from\n"
	       "                           DIR/secrets.enc, and rewrite DIR/secrets.enc to match\n"
	       "                           (by default pack refuses when they differ)\n"
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

static enum appkg_kdf_level parse_kdf(const char *s)
{
	if (!strcmp(s, "interactive"))
		return APPKG_KDF_INTERACTIVE;
	if (!strcmp(s, "moderate"))
		return APPKG_KDF_MODERATE;
	if (!strcmp(s, "sensitive"))
		return APPKG_KDF_SENSITIVE;
	fe_usage_error("--kdf: expected interactive, moderate or sensitive, not '%s'", s);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'}, {"level", required_argument, NULL, 'l'},
		{"threads", required_argument, NULL, 'T'}, {"kdf", required_argument, NULL, 'k'},
		{"password-file", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
		{"sign", required_argument, NULL, 's'}, {"key-password-file", required_argument, NULL, 'K'},
		{"version", no_argument, NULL, 'V'}, {"prune", no_argument, NULL, 'P'},
		{"update-secrets-enc", no_argument, NULL, 'U'},
		{"reuse-from", required_argument, NULL, 'R'}, {"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, 'G'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.level = 3, .threads = 1, .kdf = APPKG_KDF_KEEP};
	while ((c = fe_getopt(argc, argv, "o:l:T:qhV", longs)) != -1) {
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'l':
			if ((o->level = (int)fe_parse_int(optarg, 1, 19)) < 0)
				fe_usage_error("--level: expected 1..19, not '%s'", optarg);
			break;
		case 'T':
			if ((o->threads = (int)fe_parse_int(optarg, 1, 64)) < 0)
				fe_usage_error("--threads: expected 1..64, not '%s'", optarg);
			break;
		case 'k': o->kdf = parse_kdf(optarg); break;
		case 'p': o->password_file = optarg; break;
		case 's': o->sign_key = optarg; break;
		case 'K': o->key_password_file = optarg; break;
		case 'P': o->prune = 1; break;
		case 'U': o->update_secrets = 1; break;
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

/* DIR, before anything else: a readable directory (a symbolic link to one is fine), else one
 * line and exit 4. */
static int check_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return fe_report(dir, errno == ENOENT ? APPKG_ERR_NO_FILE : APPKG_ERR_IO,
				 errno == ENOTDIR ? "not a directory" : strerror(errno));
	close(fd);
	return 0;
}

/* Report one problem with the input and keep going. */
static void problem(struct pack *p, int code, const char *message)
{
	int status = fe_report(p->o->dir, code, message);

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

/* lstat a path below DIR, reporting anything but the expected file type. */
static int expect_type(struct pack *p, const char *path, const char *rel, mode_t type)
{
	struct stat st;
	char msg[512];

	if (lstat(path, &st) != 0) {
		int missing = errno == ENOENT; /* a part of DIR is missing: DIR is rejected */
		snprintf(msg, sizeof(msg), "%s: %s", rel, strerror(errno));
		problem(p, missing ? APPKG_ERR_MEMBER_MISSING : APPKG_ERR_IO, msg);
		return -1;
	}
	if ((st.st_mode & S_IFMT) == type)
		return 0;
	snprintf(msg, sizeof(msg), "%s: %s, expected a %s", rel,
		 S_ISLNK(st.st_mode) ? "symbolic link" : S_ISDIR(st.st_mode) ? "directory"
							 : S_ISREG(st.st_mode) ? "regular file" : "special file",
		 type == S_IFDIR ? "directory" : "regular file");
	problem(p, APPKG_ERR_TAR_TYPE, msg);
	return -1;
}

/* DIR/rel by the library's layout rule. A symbolic link counts as what it points at, so that a
 * link posing as a resource or a type directory is reported rather than skipped. */
static int classify(struct pack *p, const char *path, const char *rel)
{
	struct stat st, target;
	char msg[512];
	int kind, is_dir;

	if (lstat(path, &st) != 0) {
		snprintf(msg, sizeof(msg), "%s: %s", rel, strerror(errno));
		problem(p, APPKG_ERR_IO, msg);
		return APPKG_ERR_IO;
	}
	is_dir = S_ISDIR(st.st_mode) ||
		 (S_ISLNK(st.st_mode) && stat(path, &target) == 0 && S_ISDIR(target.st_mode));
	kind = appkg_path_classify(rel, is_dir);
	if (kind < 0) {
		snprintf(msg, sizeof(msg), "%s: not part of an appkg directory: resources are "
			 "resources/<type>/<name>.json", rel);
		problem(p, kind, msg);
	}
	return kind;
}

static void add_resource(struct pack *p, const char *type, const char *file, const char *path)
{
	char *name, rel[1024];
	int rc;

	snprintf(rel, sizeof(rel), "resources/%s/%s", type, file);
	if (classify(p, path, rel) != APPKG_PATH_RESOURCE || expect_type(p, path, rel, S_IFREG))
		return;
	name = strndup(file, strlen(file) - 5);
	rc = name ? appkg_writer_add_file(p->w, type, name, path) : APPKG_ERR_NO_MEMORY;
	if (rc)
		problem(p, rc, appkg_writer_error(p->w));
	free(name);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of a directory, sorted, without "." and "..". */
static char **list_dir(struct pack *p, const char *path, const char *rel, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, cap = 0;

	*count = 0;
	if (!d) {
		char msg[512];
		snprintf(msg, sizeof(msg), "%s: %s", rel, strerror(errno));
		problem(p, APPKG_ERR_IO, msg);
		return NULL;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		if (!names || !(names[n++] = strdup(de->d_name))) {
			fprintf(stderr, "%s: out of memory\n", fe_prog);
			exit(APPKG_EXIT_ENVIRONMENT);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), name_cmp);
	*count = n;
	return names;
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void add_type(struct pack *p, const char *resources, const char *type)
{
	char *dir = join(resources, type), rel[512];
	size_t n;
	char **files;

	snprintf(rel, sizeof(rel), "resources/%s", type);
	if (classify(p, dir, rel) == APPKG_PATH_DIRECTORY && expect_type(p, dir, rel, S_IFDIR) == 0) {
		files = list_dir(p, dir, rel, &n);
		for (size_t i = 0; i < n; i++) {
			char *path = join(dir, files[i]);
			add_resource(p, type, files[i], path);
			free(path);
		}
		free_list(files, n);
	}
	free(dir);
}

static void add_types(struct pack *p, const char *resources)
{
	size_t n;
	char **types;

	if (expect_type(p, resources, "resources", S_IFDIR))
		return;
	types = list_dir(p, resources, "resources", &n);
	for (size_t i = 0; i < n; i++)
		add_type(p, resources, types[i]);
	free_list(types, n);
}

/* The top of DIR: resources/ is walked, the other members are read by their own steps, side
 * files are left alone, and misplaced .json files are reported. */
static void add_resources(struct pack *p)
{
	size_t n;
	char **names = list_dir(p, p->o->dir, ".", &n);

	for (size_t i = 0; i < n; i++) {
		char *path = join(p->o->dir, names[i]);
		if (classify(p, path, names[i]) == APPKG_PATH_DIRECTORY)
			add_types(p, path);
		free(path);
	}
	free_list(names, n);
}

static void set_manifest(struct pack *p)
{
	char *path = join(p->o->dir, "manifest.json"), *data;
	size_t len;
	int rc;

	if (expect_type(p, path, "manifest.json", S_IFREG) == 0) {
		rc = fe_read_file(path, 64u << 20, &data, &len);
		if (!rc) {
			rc = appkg_writer_set_manifest(p->w, data, len);
			free(data);
		}
		if (rc)
			problem(p, rc, rc == APPKG_ERR_IO ? "manifest.json: cannot read"
							  : appkg_writer_error(p->w));
		p->manifest_set = rc == 0;
	}
	free(path);
}

/* Each problem the writer finds in the manifest, as it finds it. */
static void writer_problem(void *ctx, int code, const char *message)
{
	struct pack *p = ctx;
	char msg[1024];

	p->reported++;
	if (code == APPKG_ERR_MEMBER_MISSING && !p->o->prune) {
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

/* secrets.json is encrypted (keeping the salt of secrets.enc, or of the package at the output,
 * if there is one); a lone secrets.enc is carried over unchanged. */
static void set_secrets(struct pack *p)
{
	char *plain_path = join(p->o->dir, "secrets.json"), *enc_path = join(p->o->dir, "secrets.enc");
	char *plain = NULL, *pw = NULL, *enc = NULL;
	const char *from = NULL;
	size_t plain_len = 0, pw_len = 0, enc_len = 0;
	struct stat st;
	int rc = 0, have_plain = lstat(plain_path, &st) == 0, have_enc = lstat(enc_path, &st) == 0;

	p->have_enc = have_enc;
	if (have_enc && p->o->reuse_from)
		fe_usage_error("--reuse-from: DIR has secrets.enc, whose salt pack keeps already");
	if ((have_plain && expect_type(p, plain_path, "secrets.json", S_IFREG)) ||
	    (have_enc && expect_type(p, enc_path, "secrets.enc", S_IFREG)) || p->problems)
		goto out;
	if (have_enc && (rc = fe_read_file(enc_path, 2u << 20, &enc, &enc_len)))
		goto out;
	if (!have_plain) {
		if (have_enc)
			rc = appkg_writer_set_secrets_blob(p->w, enc, enc_len);
		goto out;
	}
	if ((rc = fe_read_secret(plain_path, 1u << 20, &plain, &plain_len)))
		goto out;
	if (!have_enc && (from = reuse_source(p->o)) && reuse_blob(p, from, &enc, &enc_len))
		goto out; /* reported */
	if (get_password(p, !have_enc && !enc, &pw, &pw_len) ||
	    (have_enc && check_sealed(p, enc, enc_len, pw, pw_len, plain, plain_len)) ||
	    (!have_enc && enc && check_reused(p, from, enc, enc_len, pw, pw_len))) {
		rc = 0; /* reported */
		goto out;
	}
	rc = appkg_writer_set_secrets(p->w, plain, plain_len, pw, pw_len, p->o->kdf, enc, enc_len);
out:
	if (rc)
		problem(p, rc, *appkg_writer_error(p->w) ? appkg_writer_error(p->w) : "secrets: cannot read");
	fe_secret_free(plain, plain_len);
	fe_secret_free(pw, pw_len);
	free(enc);
	free(plain_path);
	free(enc_path);
}

/* A secret key: tried without a password first, so that a missing or unreadable file is named
 * before anyone is asked for one. */
static int set_signing_key(struct pack *p)
{
	const char *key = p->o->sign_key;
	char *pw = NULL;
	size_t pw_len = 0;
	int rc = appkg_writer_set_signing_key(p->w, key, NULL, 0);

	if (rc != APPKG_ERR_NO_PASSWORD)
		return rc;
	rc = fe_password_env(p->o->key_password_file, "APPKG_KEY_PASSWORD", 1, &pw, &pw_len);
	if (rc) {
		pw = NULL;
		pw_len = 0;
		if (rc == 1)
			fe_report(key, APPKG_ERR_NO_PASSWORD, "the secret key is encrypted: a password is "
				  "needed (--key-password-file, APPKG_KEY_PASSWORD or a terminal)");
		told(p, rc == 1 ? APPKG_ERR_NO_PASSWORD : rc);
		return 0; /* reported */
	}
	rc = appkg_writer_set_signing_key(p->w, key, pw, pw_len);
	fe_secret_free(pw, pw_len);
	return rc;
}

/* --sign: a fresh signature; otherwise an unpacked signature file is carried over, and the
 * writer leaves it out if the manifest changed. */
static void set_signature(struct pack *p)
{
	char *path = join(p->o->dir, "manifest.json.minisig"), *data = NULL;
	size_t len = 0;
	struct stat st;
	int rc = 0;

	if (p->o->sign_key) {
		rc = set_signing_key(p);
		if (rc == APPKG_ERR_NOT_FOUND)
			rc = APPKG_ERR_IO; /* a file that is not there: the environment, as for DIR */
	} else if (lstat(path, &st) == 0 && expect_type(p, path, "manifest.json.minisig", S_IFREG) == 0) {
		rc = fe_read_file(path, 4096, &data, &len);
		if (rc == 0)
			rc = appkg_writer_set_signature_blob(p->w, data, len);
	}
	if (rc)
		problem(p, rc, *appkg_writer_error(p->w) ? appkg_writer_error(p->w) : "signature: cannot read");
	free(data);
	free(path);
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *c = data;

	while (len > 0) {
		ssize_t n = write(fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Write data to a new temporary file in DIR and rename it over DIR/name: fsync of the file
 * before and of DIR after, so that a crash leaves the old file or the new one. 0 or -1 (errno). */
static int replace_file(const char *dir, const char *name, const void *data, size_t len)
{
	char *path = join(dir, name), *tmp = malloc(strlen(path) + 16), *slash;
	int fd = -1, dfd, rc = -1, err;

	if (!tmp)
		goto out;
	slash = strrchr(path, '/'); /* a side file (spec §6.1) if a crash leaves it behind */
	sprintf(tmp, "%.*s/.%s.tmp-XXXXXX", (int)(slash - path), path, slash + 1);
	if ((fd = mkstemp(tmp)) < 0)
		goto out;
	if (fchmod(fd, 0644) || write_all(fd, data, len) || fsync(fd))
		goto out;
	rc = close(fd);
	fd = -1;
	if (rc || (rc = rename(tmp, path)) != 0)
		goto out;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fsync(dfd))
		rc = -1;
	if (dfd >= 0)
		close(dfd);
out:
	err = errno;
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	errno = err;
	return rc;
}

/* --update-secrets-enc: DIR/secrets.enc becomes the blob just packed. The only write pack
 * makes into DIR. */
static int rewrite_secrets_enc(struct pack *p)
{
	const void *blob;
	size_t len;
	char msg[512];

	if (appkg_writer_secrets_blob(p->w, &blob, &len) != 0 ||
	    replace_file(p->o->dir, "secrets.enc", blob, len) == 0)
		return 0;
	snprintf(msg, sizeof(msg), "secrets.enc: cannot rewrite it: %s", strerror(errno));
	return fe_report(p->o->dir, APPKG_ERR_IO, msg);
}

/* After the package is written: the notices and the one write into DIR. */
static int after_finish(struct pack *p)
{
	const void *blob;
	size_t len;
	char *enc = NULL;
	size_t enc_len = 0;
	int rc = 0;

	if (appkg_writer_signature_dropped(p->w))
		fe_report(p->o->dir, 0, "manifest.json.minisig: left out: it signed the manifest "
			  "before the changes (--sign SECKEY signs the package again)");
	if (!p->o->update_secrets || appkg_writer_secrets_blob(p->w, &blob, &len))
		return 0;
	if (p->have_enc) {
		char *path = join(p->o->dir, "secrets.enc");
		fe_read_file(path, 2u << 20, &enc, &enc_len);
		free(path);
	}
	if (!enc || enc_len != len || memcmp(enc, blob, len) != 0)
		rc = rewrite_secrets_enc(p);
	free(enc);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct pack p = {.o = &o};
	struct fe_progress *progress;
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if ((rc = check_dir(o.dir)) || (rc = fe_check_output(o.output, 0)))
		return rc;
	p.w = appkg_writer_new();
	if (!p.w || appkg_writer_set_level(p.w, o.level) || appkg_writer_set_threads(p.w, o.threads) ||
	    appkg_writer_set_prune(p.w, o.prune))
		return fe_report(o.dir, APPKG_ERR_NO_MEMORY, NULL);
	appkg_writer_set_problem_handler(p.w, writer_problem, &p);
	set_manifest(&p);
	add_resources(&p);
	if (p.manifest_set)
		appkg_writer_check(p.w); /* each problem went to writer_problem */
	if (!p.problems)
		set_secrets(&p);
	if (!p.problems)
		set_signature(&p);
	if (p.problems) {
		appkg_writer_free(p.w);
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
	return rc;
}
