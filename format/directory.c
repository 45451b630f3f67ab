/* SPDX-License-Identifier: MIT */
/*
 * An unpacked directory as input (spec §6.1): appkg_writer_add_directory walks it by the
 * layout rule of appkg_path_classify and hands each member to the writer, and
 * appkg_reader_open_directory packs it into an anonymous in-memory file and opens a reader on
 * that, so that a comparison or a listing works the same on a directory as on a package.
 * Entries are visited in sorted order so that problems come out in the same order every time.
 * A symbolic link counts as what it points at for classification (a link posing as a resource
 * is reported, not skipped) and is then refused where a member must be a regular file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "writer.h"

struct walk {
	appkg_writer *w;
	const char *top;
	int first; /* code of the first problem, or 0 */
	int have_manifest;
};

static void problem(struct walk *k, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct walk *k, int code, const char *fmt, ...)
{
	char msg[APPKG_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	writer_problem(k->w, code, msg);
	if (!k->first)
		k->first = code;
}

/* A writer call that failed: its message is on the writer already. */
static void failed(struct walk *k, int code)
{
	if (code) {
		writer_problem(k->w, code, appkg_writer_error(k->w));
		if (!k->first)
			k->first = code;
	}
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* A name as list_dir keeps it: the entry's d_type in the byte after its terminating NUL. */
static char *listed_name(const struct dirent *de)
{
	size_t len = strlen(de->d_name);
	char *s = malloc(len + 2);

	if (s) {
		memcpy(s, de->d_name, len + 1);
		s[len + 1] = (char)de->d_type;
	}
	return s;
}

/* Did the directory say that listed name is a regular file? (DT_UNKNOWN: it did not say.) */
static int listed_regular(const char *name)
{
	return (unsigned char)name[strlen(name) + 1] == DT_REG;
}

/* The sorted entries of top/rel ("" for top), without "." and "..". NULL (reported) or a list
 * of names made by listed_name. */
static char **list_dir(struct walk *k, const char *path, const char *rel, size_t *count)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL, **grown;
	size_t n = 0, cap = 0;

	*count = 0;
	if (!d) {
		problem(k, errno == ENOENT ? APPKG_ERR_NO_FILE : appkg_errno_code(errno), "%s: %s",
			*rel ? rel : path, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (!(grown = realloc(names, cap * sizeof(*names))))
				break;
			names = grown;
		}
		if (!(names[n] = listed_name(de)))
			break;
		n++;
	}
	if (de) {
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
		free_list(names, n);
		closedir(d);
		return NULL;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*count = n;
	return names;
}

/* What top/rel is by the layout rule, or a negative code (reported). *is_link tells a
 * symbolic link, which no member may be. mode, when not 0, is the lstat of path already
 * taken (writer_prepared), else it is taken here. */
static int classify_mode(struct walk *k, const char *path, const char *rel, mode_t mode,
			 int *is_link, int *is_reg)
{
	struct stat st, target;
	int kind, is_dir;

	if (!mode) {
		if (lstat(path, &st) != 0) {
			problem(k, appkg_errno_code(errno), "%s: %s", rel, strerror(errno));
			return APPKG_ERR_IO;
		}
		mode = st.st_mode;
	}
	*is_link = S_ISLNK(mode);
	*is_reg = S_ISREG(mode);
	is_dir = S_ISDIR(mode) ||
		 (*is_link && stat(path, &target) == 0 && S_ISDIR(target.st_mode));
	kind = appkg_path_classify(rel, is_dir);
	if (kind < 0)
		problem(k, kind, "%s: not part of an appkg directory: resources are "
			"resources/<type>/<name>.json", rel);
	else if (kind != APPKG_PATH_SIDE && *is_link)
		problem(k, APPKG_ERR_TAR_TYPE, "%s: symbolic link, expected a %s", rel,
			kind == APPKG_PATH_DIRECTORY ? "directory" : "regular file");
	else if (kind != APPKG_PATH_SIDE && kind != APPKG_PATH_DIRECTORY && !*is_reg)
		problem(k, APPKG_ERR_TAR_TYPE, "%s: %s, expected a regular file", rel,
			S_ISDIR(mode) ? "directory" : "special file");
	else
		return kind;
	return kind < 0 ? kind : APPKG_ERR_TAR_TYPE;
}

static int classify(struct walk *k, const char *path, const char *rel, int *is_link, int *is_reg)
{
	return classify_mode(k, path, rel, 0, is_link, is_reg);
}

static char *join(const char *a, const char *b)
{
	size_t al = strlen(a), bl = strlen(b);
	char *s = malloc(al + bl + 2);

	if (s) {
		memcpy(s, a, al);
		s[al] = '/';
		memcpy(s + al + 1, b, bl + 1);
	}
	return s;
}

/* Read a small member file (manifest, signature, secrets.enc) and give it to set. */
static void add_small(struct walk *k, const char *path, const char *rel, size_t max,
		      int (*set)(appkg_writer *, const void *, size_t))
{
	struct appkg_err e = {0};
	struct buf b = {0};

	if (io_read_file(path, &b, max, &e))
		problem(k, e.code, "%s: %s", rel, e.msg);
	else
		failed(k, set(k->w, b.data, b.len));
	buf_free(&b);
}

static int set_manifest(appkg_writer *w, const void *data, size_t len)
{
	return appkg_writer_set_manifest(w, data, len);
}

/* The files of a type directory, by name, for writer_prepare_start: a regular file named
 * <name>.json is read ahead; anything else only if classify calls it a resource after all.
 * dirfd is the type directory, or -1 (each file is then found by its whole path). */
static struct writer_prepared *prepare_list(const char *type_path, int dirfd, const char *type,
					    char **files, size_t n)
{
	struct writer_prepared *p = calloc(n ? n : 1, sizeof(*p));
	size_t len;

	for (size_t i = 0; p && i < n; i++) {
		char *path = join(type_path, files[i]);
		len = strlen(files[i]);
		p[i].type = type;
		p[i].fs_path = path;
		p[i].dirfd = dirfd;
		p[i].file = files[i];
		p[i].listed_regular = listed_regular(files[i]);
		p[i].name = len > 5 ? strndup(files[i], len - 5) : strdup(""); /* without ".json" */
		p[i].skip = !path || !p[i].name || len <= 5 || strcmp(files[i] + len - 5, ".json");
	}
	return p;
}

/* The resources of one type: read, checked and digested on the writer's threads while this
 * walk classifies and adds them in name order, so that problems come out in that order. A
 * file is classified once it has been read ahead (or found not to be a regular file), from
 * the lstat taken then. */
static void add_type(struct walk *k, const char *type_path, const char *type)
{
	size_t n;
	char **files = list_dir(k, type_path, type, &n), rel[APPKG_MAX_PATH_BYTES + 64];
	int dirfd = n ? open(type_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	struct writer_prepared *p = prepare_list(type_path, dirfd, type, files, n);
	struct prepare_job *job = p ? writer_prepare_start(k->w, p, n) : NULL;
	int is_link, is_reg;

	if (!p)
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; p && i < n; i++) {
		snprintf(rel, sizeof(rel), "resources/%s/%s", type, files[i]);
		if (!p[i].fs_path || !p[i].name) {
			problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
			break;
		}
		writer_prepare_wait(job, i);
		if (classify_mode(k, p[i].fs_path, rel, p[i].stated ? p[i].mode : 0, &is_link,
				  &is_reg) == APPKG_PATH_RESOURCE)
			failed(k, writer_add_prepared(k->w, &p[i]));
	}
	writer_prepare_end(job);
	for (size_t i = 0; p && i < n; i++) {
		writer_prepared_free(&p[i]);
		free((char *)p[i].fs_path);
		free((char *)p[i].name);
	}
	free(p);
	if (dirfd >= 0)
		close(dirfd);
	free_list(files, n);
}

static void add_resources(struct walk *k, const char *resources)
{
	size_t n;
	char **types = list_dir(k, resources, "resources", &n), rel[APPKG_MAX_PATH_BYTES];
	int is_link, is_reg;

	for (size_t i = 0; i < n; i++) {
		char *path = join(resources, types[i]);
		snprintf(rel, sizeof(rel), "resources/%s", types[i]);
		if (!path)
			problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
		else if (classify(k, path, rel, &is_link, &is_reg) == APPKG_PATH_DIRECTORY)
			add_type(k, path, types[i]);
		free(path);
	}
	free_list(types, n);
}

/* One entry of the top of the directory. */
static void add_top(struct walk *k, const char *name)
{
	char *path = join(k->top, name);
	int is_link, is_reg, kind;

	if (!path) {
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
		return;
	}
	if (!strcmp(name, "manifest.json"))
		k->have_manifest = 1; /* there, if perhaps refused: never "missing" as well */
	kind = classify(k, path, name, &is_link, &is_reg);
	if (kind == APPKG_PATH_MANIFEST) {
		add_small(k, path, name, APPKG_MAX_MANIFEST_SIZE, set_manifest);
	} else if (kind == APPKG_PATH_SIGNATURE) {
		add_small(k, path, name, APPKG_MAX_SIGNATURE_SIZE, appkg_writer_set_signature_blob);
	} else if (kind == APPKG_PATH_SECRETS_ENC) {
		add_small(k, path, name, APPKG_MAX_SECRETS_BLOB, appkg_writer_set_secrets_blob);
	} else if (kind == APPKG_PATH_DIRECTORY) {
		add_resources(k, path);
	}
	free(path);
}

int appkg_writer_add_directory(appkg_writer *w, const char *dir)
{
	struct walk k = {.w = w, .top = dir};
	size_t n;
	char **names;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		problem(&k, errno == ENOENT ? APPKG_ERR_NO_FILE : appkg_errno_code(errno), "%s",
			errno == ENOTDIR ? "not a directory" : strerror(errno));
		return k.first;
	}
	close(fd);
	names = list_dir(&k, dir, "", &n);
	for (size_t i = 0; i < n; i++)
		add_top(&k, names[i]);
	if (!k.have_manifest && (names || !k.first)) /* unless DIR could not be listed */
		problem(&k, APPKG_ERR_MEMBER_MISSING, "manifest.json: missing");
	free_list(names, n);
	return k.first;
}

/* Each problem the writer hands over, to the reader's error, which keeps the first (the
 * writer's own message is the last one's). */
static void keep_first(void *ctx, int code, const char *message)
{
	if (code)
		appkg_fail(ctx, code, "%s", message);
}

/* The directory packed into fd, an anonymous file. 0, or the first problem's code with its
 * message copied to r. */
static int pack_into(appkg_reader *r, const char *dir, int fd)
{
	appkg_writer *w = appkg_writer_new();
	int rc;

	if (!w)
		return appkg_fail(reader_err(r), APPKG_ERR_NO_MEMORY, "out of memory");
	appkg_writer_set_problem_handler(w, keep_first, reader_err(r));
	rc = appkg_writer_set_level(w, 1);
	if (!rc && !(rc = appkg_writer_add_directory(w, dir)))
		rc = appkg_writer_finish_fd(w, fd);
	if (rc)
		appkg_fail(reader_err(r), rc, "%s", appkg_writer_error(w));
	appkg_writer_free(w);
	return rc;
}

int appkg_reader_open_directory(appkg_reader *r, const char *dir)
{
	int fd = memfd_create("appkg-directory", MFD_CLOEXEC), rc;

	if (fd < 0)
		return appkg_fail(reader_err(r), appkg_errno_code(errno), "cannot make a memory "
				  "file: %s", strerror(errno));
	rc = pack_into(r, dir, fd);
	if (!rc && lseek(fd, 0, SEEK_SET) != 0)
		rc = appkg_fail(reader_err(r), APPKG_ERR_IO, "cannot seek: %s", strerror(errno));
	if (rc) {
		close(fd);
		return rc;
	}
	return reader_open_owned(r, fd);
}
