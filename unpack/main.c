/* SPDX-License-Identifier: MIT */
/*
 * appkg-unpack: turn a .appkg package into a directory.
 *
 * Everything is extracted into a fresh temporary directory beside DEST, each member checked
 * against the manifest as it is written; only when the whole package has verified is the
 * directory renamed to DEST (or, with --force, swapped atomically with the old DEST). On any
 * failure the temporary directory is removed and DEST is untouched. Files are created with
 * openat(O_CREAT|O_EXCL|O_NOFOLLOW) below the temporary directory only; member paths are
 * checked by the library and again here, so nothing can land outside DEST.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../format/internal.h"
#include "appkg/appkg.h"
#include "fe.h"

struct options {
	const char *package, *dest, *only, *password_file;
	int force, secrets;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG -C DEST\n"
	       "Unpack a package into the directory DEST (PKG '-' reads standard input).\n\n"
	       "  -C, --directory DEST     directory to create (must be absent or empty)\n"
	       "  -f, --force              replace a non-empty DEST (atomically)\n"
	       "      --only TYPE/NAME     extract only resources/TYPE/NAME.json (file-name form)\n"
	       "  -s, --secrets            decrypt secrets.enc into secrets.json (mode 0600);\n"
	       "                           asks for the password on a terminal\n"
	       "      --password-file FILE read the password from FILE (implies --secrets)\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also implies --secrets. Without a password the\n"
	       "encrypted secrets.enc is written as it is.\n"
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
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "C:fshV", longs)) != -1) {
		switch (c) {
		case 'C': o->dest = optarg; break;
		case 'f': o->force = 1; break;
		case 'o': o->only = optarg; break;
		case 's': o->secrets = 1; break;
		case 'p': o->password_file = optarg; o->secrets = 1; break;
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
	if (getenv("APPKG_PASSWORD"))
		o->secrets = 1;
}

/* Defence in depth: the library already enforces the member-name rules. */
static int safe_relative(const char *path)
{
	const char *p = path;

	if (*p == '/' || *p == '\0')
		return 0;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n + (slash != NULL);
	}
	return 1;
}

struct job {
	const struct options *o;
	appkg_reader *r;
	const char *subject;
	char *tmp;
	int tmpfd;
};

static int report(struct job *j, int code, const char *message)
{
	return fe_report(j->subject, code, message ? message : appkg_reader_error(j->r));
}

/* Write one file below the temporary directory, creating its parent directories. */
static int write_member(struct job *j, const char *path, const void *data, size_t len,
			mode_t mode)
{
	struct appkg_err e = {0};
	char msg[600];

	if (!safe_relative(path)) {
		snprintf(msg, sizeof(msg), "%s: unsafe member path", path);
		return report(j, APPKG_ERR_TAR_MEMBER, msg);
	}
	if (io_write_file_at(j->tmpfd, path, data, len, mode, &e))
		return report(j, e.code, e.msg);
	return 0;
}

static int extract_all(struct job *j)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(j->r, &m, &data)) == 1) {
		if ((rc = write_member(j, m.path, data, (size_t)m.size, 0644)))
			return rc;
	}
	return rc ? report(j, rc, NULL) : 0;
}

static int extract_only(struct job *j)
{
	const char *slash = strchr(j->o->only, '/');
	char type[256], path[600];
	const void *data;
	size_t len;
	int rc;

	if (!slash || (size_t)(slash - j->o->only) >= sizeof(type))
		fe_usage_error("--only: expected TYPE/NAME, not '%s'", j->o->only);
	snprintf(type, sizeof(type), "%.*s", (int)(slash - j->o->only), j->o->only);
	rc = appkg_reader_read_resource(j->r, type, slash + 1, &data, &len);
	if (rc == APPKG_ERR_NOT_FOUND) {
		snprintf(path, sizeof(path), "resources/%s.json: no such resource", j->o->only);
		return report(j, rc, path);
	}
	if (rc)
		return report(j, rc, NULL);
	snprintf(path, sizeof(path), "resources/%s.json", j->o->only);
	return write_member(j, path, data, len, 0644);
}

/* Decrypt before anything is written, so a wrong password leaves nothing behind. */
static int decrypt_secrets(struct job *j, char **plain, size_t *len)
{
	char *pw = NULL;
	size_t pw_len = 0;
	int rc;

	*plain = NULL;
	if (!j->o->secrets || !appkg_reader_has_secrets(j->r))
		return 0;
	rc = fe_password(j->o->password_file, 1, &pw, &pw_len);
	if (rc == 1)
		return report(j, APPKG_ERR_NO_PASSWORD, "secrets.enc: no password (--password-file, "
			      "APPKG_PASSWORD or a terminal)");
	if (rc)
		return appkg_error_class(rc);
	rc = appkg_reader_secrets(j->r, pw, pw_len, plain, len);
	fe_secret_free(pw, pw_len);
	return rc ? report(j, rc, NULL) : 0;
}

static int dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int empty = d != NULL;

	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = 0;
	if (d)
		closedir(d);
	return empty;
}

/* 0 if DEST may be written: absent, an empty directory, or --force. */
static int dest_allowed(const struct options *o)
{
	struct stat st;

	if (lstat(o->dest, &st) != 0)
		return errno == ENOENT ? 0 : APPKG_ERR_IO;
	if (o->force || (S_ISDIR(st.st_mode) && dir_is_empty(o->dest)))
		return 0;
	return APPKG_ERR_EXISTS;
}

/* Make the extracted files durable, then give the directory its name: a rename, or with
 * --force over an existing DEST an atomic swap, after which the old DEST is removed. */
static int install(struct job *j)
{
	struct appkg_err e = {0};
	struct stat st;
	int swap = j->o->force && lstat(j->o->dest, &st) == 0;

	if (io_sync(j->tmpfd, 1, "extracted files", &e) ||
	    io_rename(j->tmp, j->o->dest, swap, &e) || io_sync_dir_of(j->o->dest, &e))
		return report(j, e.code, e.msg);
	if (swap)
		io_remove_tree(j->tmp); /* now the old DEST */
	return 0;
}

/* A new directory beside DEST, mode 0755 less the umask, with a name no one else picked. */
static int make_temp(struct job *j)
{
	struct appkg_err e = {0};

	j->tmpfd = io_temp_dir_beside(j->o->dest, "unpack", &j->tmp, &e);
	return j->tmpfd < 0 ? report(j, e.code, e.msg) : 0;
}

static int run(struct job *j)
{
	char *plain = NULL;
	size_t plain_len = 0;
	int rc = dest_allowed(j->o);

	if (rc)
		return fe_report(j->o->dest, rc, rc == APPKG_ERR_EXISTS
				 ? "destination is not empty (use --force to replace it)" : strerror(errno));
	if ((rc = decrypt_secrets(j, &plain, &plain_len)) || (rc = make_temp(j)))
		goto out;
	rc = j->o->only ? extract_only(j) : extract_all(j);
	if (!rc && plain)
		rc = write_member(j, "secrets.json", plain, plain_len, 0600);
	if (!rc)
		rc = install(j);
	if (rc)
		io_remove_tree(j->tmp);
out:
	fe_secret_free(plain, plain_len);
	if (j->tmp)
		close(j->tmpfd);
	free(j->tmp);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o;
	struct job j = {.o = &o, .tmpfd = -1};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	j.subject = strcmp(o.package, "-") ? o.package : "(stdin)";
	j.r = appkg_reader_new();
	if (!j.r)
		return fe_report(j.subject, APPKG_ERR_NO_MEMORY, NULL);
	rc = strcmp(o.package, "-") ? appkg_reader_open_path(j.r, o.package)
				    : appkg_reader_open_fd(j.r, 0);
	rc = rc ? report(&j, rc, NULL) : run(&j);
	appkg_reader_free(j.r);
	return rc;
}
