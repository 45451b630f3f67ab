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
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
	while ((c = getopt_long(argc, argv, "C:fshV", longs, NULL)) != -1) {
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

/* Write one file below dirfd, creating its parent directories. */
static int write_member(int dirfd, const char *path, const void *data, size_t len, mode_t mode)
{
	char buf[512];
	const char *c = data;
	int fd;

	if (!safe_relative(path) || strlen(path) >= sizeof(buf))
		return APPKG_ERR_TAR_MEMBER;
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0755) != 0 && errno != EEXIST)
			return APPKG_ERR_IO;
		*s = '/';
	}
	fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return errno == ENOSPC ? APPKG_ERR_NO_SPACE : APPKG_ERR_IO;
	while (len > 0) {
		ssize_t w = write(fd, c, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int err = errno;
			close(fd);
			return err == ENOSPC ? APPKG_ERR_NO_SPACE : APPKG_ERR_IO;
		}
		c += w;
		len -= (size_t)w;
	}
	return close(fd) ? APPKG_ERR_IO : 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
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

static int file_error(struct job *j, int code, const char *path)
{
	char msg[600];

	snprintf(msg, sizeof(msg), "%s: cannot write: %s", path, appkg_error_name(code));
	return report(j, code, msg);
}

static int extract_all(struct job *j)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(j->r, &m, &data)) == 1) {
		if ((rc = write_member(j->tmpfd, m.path, data, (size_t)m.size, 0644)))
			return file_error(j, rc, m.path);
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
	rc = write_member(j->tmpfd, path, data, len, 0644);
	return rc ? file_error(j, rc, path) : 0;
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

static int install(struct job *j)
{
	struct stat st;

	if (syncfs(j->tmpfd) != 0)
		return report(j, APPKG_ERR_IO, "cannot sync the extracted files");
	if (lstat(j->o->dest, &st) != 0 || (S_ISDIR(st.st_mode) && !j->o->force)) {
		if (rename(j->tmp, j->o->dest) == 0)
			return 0;
	} else if (j->o->force &&
		   renameat2(AT_FDCWD, j->tmp, AT_FDCWD, j->o->dest, RENAME_EXCHANGE) == 0) {
		remove_tree(j->tmp); /* now the old DEST */
		return 0;
	}
	return report(j, errno == ENOTEMPTY || errno == EEXIST ? APPKG_ERR_EXISTS : APPKG_ERR_IO,
		      strerror(errno));
}

/* A new directory beside DEST, mode 0755 less the umask, with a name no one else picked. */
static int make_temp(struct job *j)
{
	char *copy = strdup(j->o->dest), *dcopy = strdup(j->o->dest);
	const char *base = copy ? basename(copy) : NULL, *dir = dcopy ? dirname(dcopy) : NULL;
	size_t n = (dir ? strlen(dir) : 0) + (base ? strlen(base) : 0) + 40;

	j->tmp = dir && base ? malloc(n) : NULL;
	for (int tries = 0; j->tmp && j->tmpfd < 0 && tries < 16; tries++) {
		snprintf(j->tmp, n, "%s/.%s.unpack-%08x", dir, base, randombytes_random());
		if (mkdir(j->tmp, 0755) == 0)
			j->tmpfd = open(j->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		else if (errno != EEXIST)
			break;
	}
	free(copy);
	free(dcopy);
	if (!j->tmp || j->tmpfd < 0) {
		free(j->tmp);
		j->tmp = NULL;
		return fe_report(j->o->dest, APPKG_ERR_IO, "cannot create a temporary directory beside it");
	}
	return 0;
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
	if (!rc && plain && (rc = write_member(j->tmpfd, "secrets.json", plain, plain_len, 0600)))
		rc = file_error(j, rc, "secrets.json");
	if (!rc)
		rc = install(j);
	if (rc)
		remove_tree(j->tmp);
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
