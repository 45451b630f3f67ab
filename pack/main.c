/* SPDX-License-Identifier: MIT */
/*
 * appkg-pack: turn an unpacked application directory into a .appkg package.
 *
 * DIR holds manifest.json, resources/<type>/<name>.json, and optionally secrets.json (encrypted
 * into secrets.enc) or a secrets.enc carried over from an earlier unpack. Anything else in DIR
 * is an error; every problem is reported before the tool gives up, and nothing is written then.
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

struct options {
	const char *dir, *output, *password_file, *sign_key, *key_password_file;
	int level, threads;
	enum appkg_kdf_level kdf;
};

struct pack {
	const struct options *o;
	appkg_writer *w;
	int problems; /* worst exit status of the problems reported so far */
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
	       "                           re-pack keeps the parameters of DIR/secrets.enc\n"
	       "      --password-file FILE read the secrets password from FILE ('-': stdin)\n"
	       "      --sign SECKEY        sign with a minisign secret key (appkg keygen)\n"
	       "      --key-password-file FILE  password of SECKEY (else APPKG_KEY_PASSWORD,\n"
	       "                           else a prompt); an unsigned DIR/manifest.json.minisig\n"
	       "                           from unpack is carried over and stays valid only if\n"
	       "                           nothing changed\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "The password comes from --password-file, else APPKG_PASSWORD, else a prompt.\n"
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
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.level = 3, .threads = 1, .kdf = APPKG_KDF_KEEP};
	while ((c = getopt_long(argc, argv, "o:l:T:hV", longs, NULL)) != -1) {
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

static void add_resource(struct pack *p, const char *type, const char *file, const char *path)
{
	size_t n = strlen(file);
	char *name, rel[1024];
	int rc;

	snprintf(rel, sizeof(rel), "resources/%s/%s", type, file);
	if (n <= 5 || strcmp(file + n - 5, ".json") != 0) {
		problem(p, APPKG_ERR_TAR_MEMBER, (snprintf(rel + strlen(rel), 64, ": not a .json file"), rel));
		return;
	}
	if (expect_type(p, path, rel, S_IFREG))
		return;
	name = strndup(file, n - 5);
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
	if (expect_type(p, dir, rel, S_IFDIR) == 0) {
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

static void add_resources(struct pack *p)
{
	char *resources = join(p->o->dir, "resources");
	char **types;
	size_t n;
	struct stat st;

	if (lstat(resources, &st) == 0 && expect_type(p, resources, "resources", S_IFDIR) == 0) {
		types = list_dir(p, resources, "resources", &n);
		for (size_t i = 0; i < n; i++)
			add_type(p, resources, types[i]);
		free_list(types, n);
	}
	free(resources);
}

/* Top level: only the names the layout allows. */
static void check_top(struct pack *p)
{
	static const char *const allowed[] = {"manifest.json", "resources", "secrets.json", "secrets.enc",
					      "manifest.json.minisig"};
	size_t n;
	char **names = list_dir(p, p->o->dir, ".", &n), msg[512];

	for (size_t i = 0; i < n; i++) {
		size_t k = 0;
		while (k < 5 && strcmp(names[i], allowed[k]) != 0)
			k++;
		if (k == 5) {
			snprintf(msg, sizeof(msg), "%s: not part of an appkg directory", names[i]);
			problem(p, APPKG_ERR_TAR_MEMBER, msg);
		}
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
	}
	free(path);
}

/* secrets.json is encrypted (keeping the salt of secrets.enc if there is one); a lone
 * secrets.enc is carried over unchanged. */
static void set_secrets(struct pack *p)
{
	char *plain_path = join(p->o->dir, "secrets.json"), *enc_path = join(p->o->dir, "secrets.enc");
	char *plain = NULL, *pw = NULL, *enc = NULL;
	size_t plain_len = 0, pw_len = 0, enc_len = 0;
	struct stat st;
	int rc = 0, have_plain = lstat(plain_path, &st) == 0, have_enc = lstat(enc_path, &st) == 0;

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
	rc = fe_password(p->o->password_file, 1, &pw, &pw_len);
	if (rc == 1) {
		problem(p, APPKG_ERR_NO_PASSWORD, "secrets.json: a password is needed to encrypt it "
			"(--password-file, APPKG_PASSWORD or a terminal)");
		rc = 0;
	} else if (rc < 0) {
		told(p, rc);
		rc = 0;
	} else if (rc == 0) {
		rc = appkg_writer_set_secrets(p->w, plain, plain_len, pw, pw_len, p->o->kdf, enc, enc_len);
	}
out:
	if (rc)
		problem(p, rc, *appkg_writer_error(p->w) ? appkg_writer_error(p->w) : "secrets: cannot read");
	fe_secret_free(plain, plain_len);
	fe_secret_free(pw, pw_len);
	free(enc);
	free(plain_path);
	free(enc_path);
}

/* --sign: a fresh signature; otherwise an unpacked signature file is carried over. */
static void set_signature(struct pack *p)
{
	char *path = join(p->o->dir, "manifest.json.minisig"), *data = NULL, *pw = NULL;
	size_t len = 0, pw_len = 0;
	struct stat st;
	int rc = 0;

	if (p->o->sign_key) {
		rc = appkg_secret_key_encrypted(p->o->sign_key);
		if (rc == 1) {
			rc = fe_password_env(p->o->key_password_file, "APPKG_KEY_PASSWORD", 1, &pw, &pw_len);
			if (rc < 0) { /* fe_password_env said why */
				told(p, rc);
				goto out;
			}
			rc = rc == 1 ? APPKG_ERR_NO_PASSWORD : rc;
		}
		if (rc == 0)
			rc = appkg_writer_set_signing_key(p->w, p->o->sign_key, pw, pw_len);
	} else if (lstat(path, &st) == 0 && expect_type(p, path, "manifest.json.minisig", S_IFREG) == 0) {
		rc = fe_read_file(path, 4096, &data, &len);
		if (rc == 0)
			rc = appkg_writer_set_signature_blob(p->w, data, len);
	}
	if (rc)
		problem(p, rc, *appkg_writer_error(p->w) ? appkg_writer_error(p->w)
			: rc == APPKG_ERR_NO_PASSWORD ? "signing key: no password" : "signature: cannot read");
out:
	fe_secret_free(pw, pw_len);
	free(data);
	free(path);
}

int main(int argc, char **argv)
{
	struct options o;
	struct pack p = {.o = &o};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	if ((rc = check_dir(o.dir)) || (rc = fe_check_output(o.output, 0)))
		return rc;
	p.w = appkg_writer_new();
	if (!p.w || appkg_writer_set_level(p.w, o.level) || appkg_writer_set_threads(p.w, o.threads))
		return fe_report(o.dir, APPKG_ERR_NO_MEMORY, NULL);
	check_top(&p);
	set_manifest(&p);
	add_resources(&p);
	if (!p.problems)
		set_secrets(&p);
	if (!p.problems)
		set_signature(&p);
	if (p.problems) {
		appkg_writer_free(p.w);
		return p.problems;
	}
	rc = strcmp(o.output, "-") ? appkg_writer_finish_path(p.w, o.output)
				   : appkg_writer_finish_fd(p.w, 1);
	if (rc)
		rc = fe_report(o.dir, rc, appkg_writer_error(p.w));
	appkg_writer_free(p.w);
	return rc;
}
