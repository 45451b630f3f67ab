/* SPDX-License-Identifier: MIT */
/*
 * A package becomes a directory (appkg_extract, spec section "Unpacked directories").
 * Everything is written into a fresh temporary directory beside DEST, each member checked
 * against the manifest as it is written; only when the whole package has verified is the
 * directory synced and renamed to DEST (or, with force, swapped atomically with the old DEST,
 * which is then removed). On any failure the temporary directory is removed and DEST is
 * untouched. Files are created with openat(O_CREAT|O_EXCL|O_NOFOLLOW) below the temporary
 * directory only (io.c); member paths were checked at open and are checked again here.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

struct job {
	appkg_reader *r;
	const struct manifest *m;
	struct appkg_err *e;
	const struct appkg_extract_options *o;
	const char *dest;
	unsigned char *chosen; /* per resource, with a selection; else NULL */
	char *tmp;
	int tmpfd, swap;
};

/* Defence in depth: the reader already enforces the member-name rules. */
static int safe_relative(const char *path)
{
	const char *p = path;

	if (*p == '/' || *p == '\0')
		return 0;
	while (*p) {
		size_t n = strcspn(p, "/");
		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return 0;
		p += n + (p[n] == '/');
	}
	return 1;
}

static int write_member(struct job *j, const char *path, const void *data, size_t len,
			mode_t mode)
{
	if (!safe_relative(path))
		return appkg_fail(j->e, APPKG_ERR_TAR_MEMBER, "%s: unsafe member path", path);
	return io_write_file_at(j->tmpfd, path, data, len, mode, j->e);
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

/* DEST may be written when absent, an empty directory, or with force (then swapped). */
static int check_dest(struct job *j)
{
	struct stat st;

	if (lstat(j->dest, &st) != 0)
		return errno == ENOENT ? 0 : appkg_fail(j->e, appkg_errno_code(errno), "%s: %s",
							 j->dest, strerror(errno));
	j->swap = j->o->force;
	if (j->o->force || (S_ISDIR(st.st_mode) && dir_is_empty(j->dest)))
		return 0;
	return appkg_fail(j->e, APPKG_ERR_EXISTS, "%s: destination is not empty", j->dest);
}

/* depends_on of each chosen resource names a chosen one, so that the directory packs. */
static int check_selection(struct job *j)
{
	const struct manifest *m = j->m;
	size_t idx;

	for (size_t i = 0; i < m->nres; i++) {
		const char *dep = (const char *)m->pool.data + m->deps[i];
		for (uint32_t k = 0; j->chosen[i] && k < m->ndeps[i]; k++, dep += strlen(dep) + 1) {
			if (appkg_reader_resource_find(j->r, dep, &idx) == 0 && j->chosen[idx])
				continue;
			return appkg_fail(j->e, APPKG_ERR_INVALID_ARGUMENT, "%s: depends on %s, which is "
					  "not selected", m->res[i].path, dep);
		}
	}
	return 0;
}

static int select_resources(struct job *j)
{
	size_t idx;
	int rc;

	if (!j->o->only)
		return 0;
	if (!(j->chosen = calloc(j->m->nres + 1, 1)))
		return appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t k = 0; k < j->o->only_count; k++) {
		if ((rc = appkg_reader_resource_find(j->r, j->o->only[k], &idx)))
			return j->e->code = rc; /* its message is on the handle */
		j->chosen[idx] = 1;
	}
	return check_selection(j);
}

/* Decrypt before anything is written, so that a wrong password leaves nothing behind. */
static int decrypt(struct job *j, char **plain, size_t *len)
{
	*plain = NULL;
	*len = 0;
	if (!j->o->password || !appkg_reader_has_secrets(j->r))
		return 0;
	return appkg_reader_secrets(j->r, j->o->password, j->o->password_len, plain, len);
}

static int write_all(struct job *j)
{
	struct appkg_member mb;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(j->r, &mb, &data)) == 1)
		if (write_member(j, mb.path, data, (size_t)mb.size, 0644))
			return j->e->code;
	return rc;
}

/* A manifest listing only the chosen resources, in canonical form. */
static int write_selection_manifest(struct job *j)
{
	json_t *root = json_deep_copy(j->m->root), *list = json_array(), *entry;
	char *text = NULL;
	size_t len = 0;
	int rc = 0;

	for (size_t i = 0; root && list && i < j->m->nres && !rc; i++)
		if (j->chosen[i])
			rc = !(entry = resources_entry(j->r, i)) || json_array_append_new(list, entry);
	if (!rc && root && list && !json_object_set(root, "resources", list))
		text = json_canonical(root, &len);
	json_decref(list);
	json_decref(root);
	if (!text)
		return appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = write_member(j, "manifest.json", text, len, 0644);
	free(text);
	return rc;
}

static int copy_member(struct job *j, const char *path)
{
	const void *data;
	size_t len;
	int rc = appkg_reader_read(j->r, path, &data, &len);

	if (rc)
		return j->e->code = rc; /* the read left its message on the handle */
	return write_member(j, path, data, len, 0644);
}

static int write_selection(struct job *j)
{
	if (write_selection_manifest(j))
		return j->e->code;
	for (size_t i = 0; i < j->m->nres; i++)
		if (j->chosen[i] && copy_member(j, j->m->res[i].path))
			return j->e->code;
	return j->m->has_secrets ? copy_member(j, "secrets.enc") : 0;
}

/* Make the files durable, then give the directory its name: a rename, or with force over an
 * existing DEST an atomic swap, after which the old DEST is removed. */
static int install(struct job *j)
{
	if (io_sync(j->tmpfd, 1, "extracted files", j->e) || io_rename(j->tmp, j->dest, j->swap, j->e) ||
	    io_sync_dir_of(j->dest, j->e))
		return j->e->code;
	if (j->swap)
		io_remove_tree(j->tmp); /* now the old DEST */
	return 0;
}

static int start(struct job *j)
{
	if (!j->dest || !*j->dest)
		return appkg_fail(j->e, APPKG_ERR_INVALID_ARGUMENT, "extract: no destination");
	if (reader_reports_problems(j->r))
		return appkg_fail(j->e, APPKG_ERR_STATE, "extract: the reader reports problems and goes "
				  "on; extracting needs one that stops");
	return check_dest(j) || select_resources(j) ? j->e->code : 0;
}

int appkg_extract(appkg_reader *r, const char *dest, const struct appkg_extract_options *options)
{
	static const struct appkg_extract_options all;
	struct job j = {.r = r, .e = reader_err(r), .o = options ? options : &all, .dest = dest,
			.tmpfd = -1};
	char *plain = NULL;
	size_t plain_len = 0;
	int rc;

	if (!(j.m = reader_manifest_view(r)))
		return j.e->code;
	if ((rc = start(&j)) || (rc = decrypt(&j, &plain, &plain_len)))
		goto out;
	if ((j.tmpfd = io_temp_dir_beside(dest, "unpack", &j.tmp, j.e)) < 0) {
		rc = j.tmpfd;
		goto out;
	}
	rc = j.chosen ? write_selection(&j) : write_all(&j);
	if (!rc && plain)
		rc = write_member(&j, "secrets.json", plain, plain_len, 0600);
	if (!rc)
		rc = install(&j);
	if (rc)
		io_remove_tree(j.tmp);
	close(j.tmpfd);
out:
	appkg_secure_free(plain, plain_len);
	free(j.tmp);
	free(j.chosen);
	return rc;
}
