/* SPDX-License-Identifier: MIT */
/*
 * A package becomes a directory (appkg_extract, spec section "Unpacked directories").
 * Everything is written into a fresh temporary directory beside DEST, each member checked
 * against the manifest as it is written; only when the whole package has verified is the
 * directory synced and renamed to DEST (or, with force, swapped atomically with the old DEST,
 * which is then removed). On any failure the temporary directory is removed and DEST is
 * untouched. Files are created with openat(O_CREAT|O_EXCL|O_NOFOLLOW) below the temporary
 * directory only (io.c); member paths were checked at open and are checked again here.
 *
 * With bindings the tree is bound for one environment (spec section 20.2): every resource goes
 * through appkg_bind after it verified, and manifest.json gets "bound_for". Every required
 * input without a value is found from the manifest's "inputs" before any file is written, and
 * every secret reference that secrets.json lacks during the pass, before the tree is named.
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
	appkg_bindings *b;    /* the bindings when resources are bound (format 2), else NULL */
	int bind_flags;       /* APPKG_BIND_SECRETS or 0 */
	char **secret_names;  /* the keys of secrets.json, sorted, with APPKG_BIND_SECRETS */
	size_t nsecret_names;
	char **missing;       /* secrets referenced that secrets.json lacks */
	size_t nmissing;
	char *missing_path;   /* the first resource referencing one */
	size_t secrets_left;  /* secret references kept as they are */
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

/* ---- binding for one environment (spec section 20.2) ---- */

/* A package of format 1 holds no placeholder: "[[appkg:" in it is text (spec section 12). */
static int holds_placeholders(const struct manifest *m)
{
	const char *v = json_string_value(json_object_get(m->root, "format_version"));

	return v && strtol(v, NULL, 10) >= 2;
}

/* Whether an input is used by a resource that is written. */
static int used_here(struct job *j, const struct appkg_input *in)
{
	size_t idx;

	for (size_t k = 0; k < in->used_by_count; k++)
		if (!j->chosen || (appkg_reader_resource_find(j->r, in->used_by[k], &idx) == 0 &&
				   j->chosen[idx]))
			return 1;
	return 0;
}

static int append_text(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* "input 'db_host' is required (used by resources/a.json, resources/b.json)" */
static int describe_unbound(struct buf *msg, const struct appkg_input *in)
{
	int rc = (msg->len && append_text(msg, "; ")) || append_text(msg, "input '") ||
		 append_text(msg, in->name) || append_text(msg, "' is required (used by ");

	for (size_t k = 0; !rc && k < in->used_by_count; k++)
		rc = (k && append_text(msg, ", ")) || append_text(msg, in->used_by[k]);
	return rc || append_text(msg, ")");
}

/* Every required input the bindings do not supply, all named, before anything is written. */
static int check_inputs(struct job *j)
{
	struct buf msg = {0};
	struct appkg_input in;
	size_t n = appkg_reader_input_count(j->r);
	int rc = 0;

	for (size_t i = 0; i < n && !rc; i++) {
		if ((rc = appkg_reader_input(j->r, i, &in)))
			return j->e->code = rc; /* its message is on the handle */
		if (!in.required || appkg_bindings_value(j->b, in.name) || !used_here(j, &in))
			continue;
		if (describe_unbound(&msg, &in))
			rc = appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	if (!rc && msg.len)
		rc = buf_append(&msg, "", 1) ? appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory")
					     : appkg_fail(j->e, APPKG_ERR_UNBOUND, "%s", (char *)msg.data);
	buf_free(&msg);
	return rc;
}

/* The bindings apply when the package can hold placeholders; its defaults fill the gaps. */
static int prepare_bindings(struct job *j)
{
	int rc;

	if (!j->o->bindings || !holds_placeholders(j->m))
		return 0;
	j->b = j->o->bindings;
	j->bind_flags = j->o->bind_secrets ? APPKG_BIND_SECRETS : 0;
	if ((rc = appkg_bindings_use_defaults(j->b, j->r)))
		return appkg_fail(j->e, rc, "inputs: %s", appkg_bindings_error(j->b));
	return check_inputs(j);
}

/* With APPKG_BIND_SECRETS, the secrets (decrypted already) go to the bindings and their names
 * to the job, so that every reference secrets.json lacks can be named. */
static int prepare_secrets(struct job *j, const char *plain, size_t len)
{
	int rc;

	if (!j->bind_flags)
		return 0;
	if (!plain && appkg_reader_has_secrets(j->r))
		return appkg_fail(j->e, APPKG_ERR_NO_PASSWORD, "secrets.enc: binding the secret "
				  "references needs the password");
	if (!plain)
		return 0; /* no secrets: every reference is missing */
	if ((rc = appkg_bindings_set_secrets(j->b, plain, len)))
		return appkg_fail(j->e, rc, "secrets.json: %s", appkg_bindings_error(j->b));
	if ((rc = appkg_secrets_names(plain, len, &j->secret_names, &j->nsecret_names)))
		return appkg_fail(j->e, rc, "secrets.json: not an object of strings");
	return 0;
}

static int compare_name(const void *key, const void *item)
{
	return strcmp(key, *(char *const *)item);
}

static int has_name(char *const *names, size_t n, const char *name)
{
	return n && bsearch(name, names, n, sizeof(*names), compare_name);
}

/* A secret reference that secrets.json lacks: named once, with the first resource using it. */
static int note_missing(struct job *j, const char *name, const char *path)
{
	char **grown;

	if (has_name(j->secret_names, j->nsecret_names, name))
		return 0;
	for (size_t i = 0; i < j->nmissing; i++)
		if (!strcmp(j->missing[i], name))
			return 0;
	if (!j->missing_path && !(j->missing_path = strdup(path)))
		return -1;
	if (!(grown = realloc(j->missing, (j->nmissing + 1) * sizeof(*grown))))
		return -1;
	j->missing = grown;
	return (j->missing[j->nmissing] = strdup(name)) ? (j->nmissing++, 0) : -1;
}

struct scan {
	struct job *j;
	const char *path;
	size_t placeholders, secrets;
	int oom;
};

static void on_placeholder(void *ctx, const struct appkg_placeholder *p)
{
	struct scan *s = ctx;

	s->placeholders++;
	if (p->kind != APPKG_PLACEHOLDER_SECRET)
		return;
	s->secrets++;
	if (s->j->bind_flags && note_missing(s->j, p->name, s->path))
		s->oom = 1;
}

/* Write one resource bound, mode 0600 when a secret went into it. Once a missing secret is
 * known nothing more is written (the tree will be removed); the others are still named. */
static int write_bound(struct job *j, const char *path, const void *data, size_t len)
{
	struct scan s = {.j = j, .path = path};
	struct appkg_problem p;
	char *out = NULL;
	size_t out_len = 0;
	int rc = appkg_placeholders_scan(data, len, on_placeholder, &s);

	if (rc < 0) /* the reader scanned it already: defence in depth */
		return appkg_fail(j->e, rc, "%s: %s", path,
				  appkg_last_problem(&p) == 0 && p.message ? p.message : "bad placeholder");
	if (s.oom)
		return appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (j->nmissing)
		return 0;
	if (!s.placeholders)
		return write_member(j, path, data, len, 0644);
	if ((rc = appkg_bind(j->b, data, len, j->bind_flags, &out, &out_len)) < 0)
		return appkg_fail(j->e, rc, "%s: %s", path, appkg_bindings_error(j->b));
	if (!j->bind_flags)
		j->secrets_left += s.secrets;
	rc = write_member(j, path, out, out_len, j->bind_flags && s.secrets ? 0600 : 0644);
	appkg_bound_free(out, out_len);
	return rc;
}

/* A resource, bound when the tree is. */
static int write_resource(struct job *j, const char *path, const void *data, size_t len)
{
	return j->b ? write_bound(j, path, data, len) : write_member(j, path, data, len, 0644);
}

/* After the pass: every secret reference secrets.json lacks, in one message. */
static int check_missing(struct job *j)
{
	struct buf names = {0};
	int rc = 0;

	for (size_t i = 0; i < j->nmissing && !rc; i++)
		rc = (i && append_text(&names, ", ")) || append_text(&names, "'") ||
		     append_text(&names, j->missing[i]) || append_text(&names, "'");
	if (j->nmissing && (rc || buf_append(&names, "", 1)))
		rc = appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	else if (j->nmissing)
		rc = appkg_fail(j->e, APPKG_ERR_UNBOUND, "secret%s %s %s not in secrets.json (%s "
				"by %s)%s", j->nmissing > 1 ? "s" : "", (char *)names.data,
				j->nmissing > 1 ? "are" : "is", j->nmissing > 1 ? "first used" : "used",
				j->missing_path, appkg_reader_has_secrets(j->r) ? "" : ": the package has "
				"no secrets");
	buf_free(&names);
	return rc;
}

/* The manifest.json of the tree, in canonical form: the package's, listing only the chosen
 * resources with a selection, and with "bound_for" when bound (spec section 20.2). */
static int write_manifest(struct job *j)
{
	json_t *root = json_deep_copy(j->m->root), *list = json_array(), *entry;
	const char *env = j->o->bindings ? appkg_bindings_environment(j->o->bindings) : NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = 0;

	for (size_t i = 0; root && list && i < j->m->nres && !rc; i++)
		if (!j->chosen || j->chosen[i])
			rc = !(entry = resources_entry(j->r, i)) || json_array_append_new(list, entry);
	if (!rc && root && j->o->bindings)
		rc = json_object_set_new(root, "bound_for", json_string(env ? env : ""));
	if (!rc && root && list && !json_object_set(root, "resources", list))
		text = json_canonical(root, &len);
	json_decref(list);
	json_decref(root);
	if (!text)
		return appkg_fail(j->e, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = write_member(j, MANIFEST_PATH, text, len, 0644);
	free(text);
	return rc;
}

/* One member in package order. A bound tree gets a manifest of its own and no signature
 * (the signature covers the package's manifest). */
static int write_next(struct job *j, const struct appkg_member *mb, const void *data)
{
	if (!j->o->bindings)
		return write_member(j, mb->path, data, (size_t)mb->size, 0644);
	if (!strcmp(mb->path, MANIFEST_PATH))
		return write_manifest(j);
	if (!strcmp(mb->path, SIGNATURE_PATH))
		return 0;
	if (!strncmp(mb->path, "resources/", 10))
		return write_resource(j, mb->path, data, (size_t)mb->size);
	return write_member(j, mb->path, data, (size_t)mb->size, 0644);
}

static int write_all(struct job *j)
{
	struct appkg_member mb;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(j->r, &mb, &data)) == 1)
		if (write_next(j, &mb, data))
			return j->e->code;
	return rc;
}

static int copy_member(struct job *j, const char *path, int resource)
{
	const void *data;
	size_t len;
	int rc = appkg_reader_read(j->r, path, &data, &len);

	if (rc)
		return j->e->code = rc; /* the read left its message on the handle */
	return resource ? write_resource(j, path, data, len) : write_member(j, path, data, len, 0644);
}

static int write_selection(struct job *j)
{
	if (write_manifest(j))
		return j->e->code;
	for (size_t i = 0; i < j->m->nres; i++)
		if (j->chosen[i] && copy_member(j, j->m->res[i].path, 1))
			return j->e->code;
	return j->m->has_secrets ? copy_member(j, "secrets.enc", 0) : 0;
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
	return check_dest(j) || select_resources(j) || prepare_bindings(j) ? j->e->code : 0;
}

static void finish(struct job *j)
{
	for (size_t i = 0; i < j->nmissing; i++)
		free(j->missing[i]);
	free(j->missing);
	free(j->missing_path);
	appkg_secret_names_free(j->secret_names, j->nsecret_names);
	free(j->tmp);
	free(j->chosen);
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
	if (options && options->secrets_left)
		*options->secrets_left = 0;
	if ((rc = start(&j)) || (rc = decrypt(&j, &plain, &plain_len)) ||
	    (rc = prepare_secrets(&j, plain, plain_len)))
		goto out;
	if ((j.tmpfd = io_temp_dir_beside(dest, "unpack", &j.tmp, j.e)) < 0) {
		rc = j.tmpfd;
		goto out;
	}
	rc = j.chosen ? write_selection(&j) : write_all(&j);
	if (!rc)
		rc = check_missing(&j);
	if (!rc && plain)
		rc = write_member(&j, "secrets.json", plain, plain_len, 0600);
	if (!rc)
		rc = install(&j);
	if (rc)
		io_remove_tree(j.tmp);
	close(j.tmpfd);
	if (!rc && options && options->secrets_left)
		*options->secrets_left = j.secrets_left;
out:
	appkg_secure_free(plain, plain_len);
	finish(&j);
	return rc;
}
