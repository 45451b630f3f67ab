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
#include <pthread.h>
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

/* The entries of a directory: each name followed by its terminating NUL and then its d_type
 * (listed_regular), all in one block, for 100,000 names one allocation instead of one each. */
struct listing {
	char **names; /* sorted, into block */
	size_t n;
	struct buf block;
};

static void free_list(struct listing *l)
{
	free(l->names);
	buf_free(&l->block);
	*l = (struct listing){0};
}

/* Did the directory say that listed name is a regular file? (DT_UNKNOWN: it did not say.) */
static int listed_regular(const char *name, size_t len)
{
	return (unsigned char)name[len + 1] == DT_REG;
}

/* Each name's offset in the block, as names[i], turned into its address once the block has
 * stopped moving. */
static int note_name(struct listing *l, const struct dirent *de, size_t *cap)
{
	size_t len = strlen(de->d_name), at = l->block.len;
	char type = (char)de->d_type, **grown;

	if (l->n == *cap) {
		*cap = *cap ? 2 * *cap : 64;
		if (!(grown = realloc(l->names, *cap * sizeof(*grown))))
			return -1;
		l->names = grown;
	}
	if (buf_append(&l->block, de->d_name, len + 1) || buf_append(&l->block, &type, 1))
		return -1;
	l->names[l->n++] = (char *)(uintptr_t)at;
	return 0;
}

/* The sorted entries of path, without "." and "..", into l: 0, an errno when the directory
 * does not open, or -1 when out of memory. Reports nothing, so that it may run on a thread of
 * its own (struct ahead); report_listing reports. */
static int list_names(const char *path, struct listing *l)
{
	DIR *d = opendir(path);
	struct dirent *de;
	size_t cap = 0;

	*l = (struct listing){0};
	if (!d)
		return errno ? errno : EIO;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (note_name(l, de, &cap))
			break;
	}
	closedir(d);
	if (de) {
		free_list(l);
		return -1;
	}
	for (size_t i = 0; i < l->n; i++)
		l->names[i] = (char *)l->block.data + (uintptr_t)l->names[i];
	if (l->n)
		qsort(l->names, l->n, sizeof(*l->names), name_cmp);
	return 0;
}

/* list_names' rc for top/rel ("" for top), reported: -1 (reported) or 0. */
static int report_listing(struct walk *k, const char *path, const char *rel, int rc)
{
	if (rc > 0)
		problem(k, rc == ENOENT ? APPKG_ERR_NO_FILE : appkg_errno_code(rc), "%s: %s",
			*rel ? rel : path, strerror(rc));
	else if (rc < 0)
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
	return rc ? -1 : 0;
}

/* The sorted entries of top/rel ("" for top), without "." and "..". -1 (reported), or 0 and
 * the list in l. */
static int list_dir(struct walk *k, const char *path, const char *rel, struct listing *l)
{
	return report_listing(k, path, rel, list_names(path, l));
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
 * dirfd is the type directory, or -1 (each file is then found by its whole path). The paths
 * and names go in one block, *strings, freed with the list. NULL when out of memory. */
static struct writer_prepared *prepare_list(const char *type_path, int dirfd, const char *type,
					    const struct listing *files, char **strings)
{
	size_t n = files->n, tl = strlen(type_path), total = 0, len;
	struct writer_prepared *p = calloc(n ? n : 1, sizeof(*p));
	char *at;

	for (size_t i = 0; i < n; i++)
		total += tl + 2 * strlen(files->names[i]) + 3; /* path and name, each with a NUL */
	if (!p || !(*strings = at = malloc(total ? total : 1))) {
		free(p);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *file = files->names[i];
		len = strlen(file);
		p[i].type = type;
		p[i].fs_path = at;
		memcpy(at, type_path, tl);
		at[tl] = '/';
		memcpy(at + tl + 1, file, len + 1);
		at += tl + len + 2;
		p[i].dirfd = dirfd;
		p[i].file = file;
		p[i].listed_regular = listed_regular(file, len);
		p[i].skip = len <= 5 || memcmp(file + len - 5, ".json", 5);
		len = len > 5 ? len - 5 : 0; /* the name, without ".json" */
		p[i].name = memcpy(at, file, len);
		at[len] = '\0';
		at += len + 1;
	}
	return p;
}

/* prefix (plen bytes) then name into rel, cut to cap bytes as snprintf would. */
static void rel_path(char *rel, size_t cap, const char *prefix, size_t plen, const char *name)
{
	size_t nl = strlen(name);

	if (plen >= cap) {
		plen = cap - 1;
		nl = 0;
	} else if (plen + nl >= cap) {
		nl = cap - 1 - plen;
	}
	memcpy(rel, prefix, plen);
	memcpy(rel + plen, name, nl);
	rel[plen + nl] = '\0';
}

/* A type directory listed, its directory open and its files made a list for
 * writer_prepare_start; nothing reported yet (add_type reports). */
struct type_list {
	struct listing files;
	int rc;                 /* list_names' */
	int dirfd;
	struct writer_prepared *p; /* NULL when listed but out of memory */
	char *strings;
};

static void list_type(const char *type_path, const char *type, struct type_list *t)
{
	t->strings = NULL;
	t->p = NULL;
	t->rc = list_names(type_path, &t->files);
	t->dirfd = t->files.n ? open(type_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (!t->rc)
		t->p = prepare_list(type_path, t->dirfd, type, &t->files, &t->strings);
}

static void type_list_free(struct type_list *t)
{
	for (size_t i = 0; t->p && i < t->files.n; i++)
		writer_prepared_free(&t->p[i]);
	free(t->p);
	free(t->strings);
	if (t->dirfd >= 0)
		close(t->dirfd);
	free_list(&t->files);
}

/* A type directory listed ahead, on a thread of its own, while the walk adds the files of the
 * one before: listing it (getdents and the sort of its names, then the list of its files, some
 * 15 ms for the 17,000 of a type of L) was a stretch in which the walk kept the read-ahead
 * threads, then the compressing ones, waiting. What is made ahead is names and an open
 * directory only: reported, or dropped when the entry turns out not to be a type directory,
 * once the walk comes to it, in order. */
struct ahead {
	pthread_t tid;
	int running;
	const char *path, *type;
	struct type_list t;
};

static void *list_ahead(void *arg)
{
	struct ahead *a = arg;

	list_type(a->path, a->type, &a->t);
	return NULL;
}

/* List path ahead; without a thread, it is listed when taken. */
static void ahead_start(struct ahead *a, const char *path, const char *type)
{
	a->path = path;
	a->type = type;
	a->running = pthread_create(&a->tid, NULL, list_ahead, a) == 0;
	if (!a->running)
		a->path = NULL; /* add_type lists it */
}

/* The listing of a->path into t. */
static void ahead_take(struct ahead *a, struct type_list *t)
{
	pthread_join(a->tid, NULL);
	a->running = 0;
	*t = a->t;
}

/* A listing not taken (what it lists turned out not to be a type directory). */
static void ahead_drop(struct ahead *a)
{
	if (a->running) {
		pthread_join(a->tid, NULL);
		a->running = 0;
		type_list_free(&a->t);
	}
}

/* The resources of one type: read, checked and digested on the writer's threads while this
 * walk classifies and adds them in name order, so that problems come out in that order. A
 * file is classified once it has been read ahead (or found not to be a regular file), from
 * the lstat taken then. ahead, when not NULL, is its listing made ahead. */
static void add_type(struct walk *k, const char *type_path, const char *type,
		     struct ahead *ahead)
{
	struct type_list t;
	char rel[APPKG_MAX_PATH_BYTES + 64], prefix[APPKG_MAX_PATH_BYTES + 64];
	size_t plen = (size_t)snprintf(prefix, sizeof(prefix), "resources/%s/", type);
	struct writer_prepared *p;
	struct prepare_job *job;
	int is_link, is_reg;

	if (ahead)
		ahead_take(ahead, &t);
	else
		list_type(type_path, type, &t);
	p = t.p;
	if (!report_listing(k, type_path, type, t.rc) && !p)
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
	job = p ? writer_prepare_start(k->w, p, t.files.n) : NULL;
	for (size_t i = 0; p && i < t.files.n; i++) {
		rel_path(rel, sizeof(rel), prefix, plen, t.files.names[i]);
		writer_prepare_wait(job, i);
		if (classify_mode(k, p[i].fs_path, rel, p[i].stated ? p[i].mode : 0, &is_link,
				  &is_reg) == APPKG_PATH_RESOURCE)
			failed(k, writer_add_prepared(k->w, &p[i]));
	}
	writer_prepare_end(job);
	type_list_free(&t);
}

/* The type directories, each listed ahead while the walk adds the files of the one before. */
static void add_resources(struct walk *k, const char *resources)
{
	struct listing types;
	struct ahead ahead[2] = {{0}};
	char rel[APPKG_MAX_PATH_BYTES], **paths;
	int is_link, is_reg, kind;

	list_dir(k, resources, "resources", &types);
	if (!(paths = calloc(types.n ? types.n : 1, sizeof(*paths))))
		problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; paths && i < types.n; i++)
		paths[i] = join(resources, types.names[i]);
	for (size_t i = 0; paths && i < types.n; i++) {
		struct ahead *cur = i ? &ahead[i % 2] : NULL; /* the first is listed when wanted */
		snprintf(rel, sizeof(rel), "resources/%s", types.names[i]);
		if (!paths[i]) {
			problem(k, APPKG_ERR_NO_MEMORY, "out of memory");
			continue;
		}
		kind = classify(k, paths[i], rel, &is_link, &is_reg);
		if (k->w->threads > 1 && i + 1 < types.n && paths[i + 1]) /* -T 1: one thread */
			ahead_start(&ahead[(i + 1) % 2], paths[i + 1], types.names[i + 1]);
		if (kind == APPKG_PATH_DIRECTORY)
			add_type(k, paths[i], types.names[i], cur && cur->path == paths[i] ? cur : NULL);
		if (cur)
			ahead_drop(cur);
	}
	for (size_t i = 0; paths && i < types.n; i++)
		free(paths[i]);
	free(paths);
	free_list(&types);
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
	struct listing names;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), listed;

	if (fd < 0) {
		problem(&k, errno == ENOENT ? APPKG_ERR_NO_FILE : appkg_errno_code(errno), "%s",
			errno == ENOTDIR ? "not a directory" : strerror(errno));
		return k.first;
	}
	close(fd);
	listed = !list_dir(&k, dir, "", &names);
	for (size_t i = 0; i < names.n; i++)
		add_top(&k, names.names[i]);
	if (!k.have_manifest && (listed || !k.first)) /* unless DIR could not be listed */
		problem(&k, APPKG_ERR_MEMBER_MISSING, "manifest.json: missing");
	free_list(&names);
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
