/* SPDX-License-Identifier: MIT */
/*
 * The commit: the edited tree becomes a package again. Which files are committed:
 * manifest.json, manifest.json.minisig, secrets.json (or secrets.enc when mounted without a
 * password) at the top, and resources/<type>/<name>.json. Names starting with '.' and names not
 * ending in ".json" are side files (editor swap and backup files, temporary files) and are never
 * committed; any other ".json" file is a problem. Every problem is reported before anything is
 * written; the package is then written beside the target, verified and renamed over it by the
 * library (appkg_writer_finish_path). Unchanged files are copied from the package as they are.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

enum kind { SIDE_FILE, MISPLACED, MANIFEST, SIGNATURE, SECRETS_JSON, SECRETS_ENC, RESOURCE };

struct commit {
	appkg_writer *w; /* NULL while only looking for changes */
	int status;      /* worst exit status so far */
	size_t files, same;
	size_t report_len;
};

typedef void (*visit_fn)(struct commit *c, struct node *n, const char *path, enum kind k);

void commit_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(LOG_NOTICE, "%s", line);
	fprintf(stderr, "appkg-mount: %s\n", line);
	if (fs.log_path && (f = fopen(fs.log_path, "a"))) {
		fprintf(f, "%ld appkg-mount: %s\n", (long)time(NULL), line);
		fclose(f);
	}
}

static int has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

static enum kind classify(const char *path, const char *leaf)
{
	const char *slash;

	if (!strcmp(path, MANIFEST_FILE))
		return MANIFEST;
	if (!strcmp(path, SIGNATURE_FILE))
		return SIGNATURE;
	if (!strcmp(path, SECRETS_FILE))
		return fs.password ? SECRETS_JSON : MISPLACED;
	if (!strcmp(path, SECRETS_BLOB))
		return fs.password ? SIDE_FILE : SECRETS_ENC;
	if (leaf[0] == '.' || !has_suffix(leaf, ".json"))
		return SIDE_FILE;
	if (strncmp(path, RESOURCES_DIR "/", sizeof(RESOURCES_DIR)) != 0)
		return MISPLACED;
	slash = strchr(path + sizeof(RESOURCES_DIR), '/');
	if (!slash || path[sizeof(RESOURCES_DIR)] == '.' || strchr(slash + 1, '/'))
		return MISPLACED;
	return RESOURCE;
}

/* Call fn for every file below dir; path holds dir's path (len bytes) and has room. */
static void walk(struct commit *c, struct node *dir, char *path, size_t len, visit_fn fn)
{
	for (size_t i = 0; i < dir->nkids; i++) {
		struct node *n = dir->kids[i];
		size_t l = strlen(n->name);
		if (len + l + 2 > PATH_MAX)
			continue; /* cannot be a resource path (names are at most 300 bytes) */
		memcpy(path + len, n->name, l + 1);
		if (S_ISDIR(n->mode)) {
			path[len + l] = '/';
			path[len + l + 1] = '\0';
			walk(c, n, path, len + l + 1, fn);
		} else {
			fn(c, n, path, classify(path, n->name));
		}
	}
}

static void walk_tree(struct commit *c, visit_fn fn)
{
	char path[PATH_MAX] = "";

	walk(c, fs.root, path, 0, fn);
}

static void problem(struct commit *c, int status, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (status > c->status)
		c->status = status;
	n = snprintf(fs.report + c->report_len, sizeof(fs.report) - c->report_len, "'%s': %s\n",
		     fs.output, line);
	if (n > 0 && c->report_len + (size_t)n < sizeof(fs.report))
		c->report_len += (size_t)n;
}

/* ---- is there anything to commit? ---- */

static int same_bytes(struct node *n, const char *path)
{
	struct appkg_member m;
	unsigned char digest[APPKG_DIGEST_BYTES];

	if (!n->changed)
		return n->member && !strcmp(n->member, path);
	if (appkg_reader_find(fs.reader, path, &m) || m.size != n->size)
		return 0;
	crypto_generichash(digest, sizeof(digest), n->data, n->size, NULL, 0);
	return !memcmp(digest, m.digest, sizeof(digest));
}

/* secrets.json holds what was decrypted at mount (or at the last commit)? */
static int secrets_unchanged(const struct node *n)
{
	return n->size == fs.secrets_plain_len &&
	       !sodium_memcmp(n->data, fs.secrets_plain, n->size);
}

static void count_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	if (k == SIDE_FILE)
		return;
	c->files++;
	if (k == SECRETS_JSON)
		c->same += secrets_unchanged(n);
	else if (k != MISPLACED)
		c->same += same_bytes(n, path);
}

static int tree_changed(void)
{
	struct commit c = {0};

	walk_tree(&c, count_file);
	return c.files != c.same || c.files != appkg_reader_member_count(fs.reader);
}

/* ---- building the new package ---- */

static void writer_problem(struct commit *c, int rc)
{
	problem(c, appkg_error_class(rc), "%s", appkg_writer_error(c->w));
}

static int add_resource(struct commit *c, struct node *n, const char *path)
{
	const char *type = path + sizeof(RESOURCES_DIR), *slash = strchr(type, '/');
	char *t = strndup(type, (size_t)(slash - type));
	char *name = strndup(n->name, strlen(n->name) - 5);
	int rc = APPKG_ERR_NO_MEMORY;

	if (t && name) {
		if (!n->changed && n->member && !strcmp(n->member, path))
			rc = appkg_writer_add_copy(c->w, t, name, fs.reader);
		else if ((rc = node_load(n)) == 0)
			rc = appkg_writer_add_resource(c->w, t, name, n->data, n->size);
		else
			rc = APPKG_ERR_IO;
	}
	free(t);
	free(name);
	return rc;
}

/* The secrets.enc the package has now (copied: reader data is borrowed). */
static int original_blob(void **blob, size_t *len)
{
	const void *data;
	int rc = appkg_reader_read(fs.reader, SECRETS_BLOB, &data, len);

	if (rc)
		return rc;
	if (!(*blob = malloc(*len ? *len : 1)))
		return APPKG_ERR_NO_MEMORY;
	memcpy(*blob, data, *len);
	return 0;
}

static int add_secrets(struct commit *c, struct node *n, enum kind k)
{
	void *blob = NULL;
	size_t len;
	int rc = original_blob(&blob, &len);

	if (rc == 0) {
		if (k == SECRETS_ENC || secrets_unchanged(n))
			rc = appkg_writer_set_secrets_blob(c->w, blob, len);
		else
			rc = appkg_writer_set_secrets(c->w, (const char *)n->data, n->size, fs.password,
						      fs.password_len, APPKG_KDF_KEEP, blob, len);
	} else if (rc == APPKG_ERR_NOT_FOUND && k == SECRETS_JSON) { /* secrets added */
		rc = appkg_writer_set_secrets(c->w, (const char *)n->data, n->size, fs.password,
					      fs.password_len, APPKG_KDF_KEEP, NULL, 0);
	}
	free(blob);
	return rc;
}

static void add_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	int rc = 0;

	switch (k) {
	case SIDE_FILE:
	case MANIFEST:
		return; /* the manifest goes first, before this walk */
	case MISPLACED:
		problem(c, 1, "%s: not committed: resources are resources/<type>/<name>.json", path);
		return;
	case SIGNATURE:
		rc = node_load(n) ? APPKG_ERR_IO
				  : appkg_writer_set_signature_blob(c->w, n->data, n->size);
		break;
	case SECRETS_JSON:
	case SECRETS_ENC:
		rc = add_secrets(c, n, k);
		break;
	case RESOURCE:
		rc = add_resource(c, n, path);
		break;
	}
	if (rc)
		writer_problem(c, rc);
}

static int start_writer(struct commit *c)
{
	struct node *m = dir_find(fs.root, MANIFEST_FILE, strlen(MANIFEST_FILE));
	int rc;

	if (!(c->w = appkg_writer_new()))
		return APPKG_ERR_NO_MEMORY;
	appkg_writer_set_level(c->w, fs.level);
	appkg_writer_set_threads(c->w, fs.threads);
	appkg_writer_set_verify(c->w, 1);
	appkg_writer_set_prune(c->w, 1); /* an unlinked resource drops its manifest entry */
	if (!m || S_ISDIR(m->mode)) {
		problem(c, 1, "manifest.json: missing");
		return 0;
	}
	if (node_load(m))
		rc = APPKG_ERR_IO;
	else
		rc = appkg_writer_set_manifest(c->w, (const char *)m->data, m->size);
	if (rc)
		writer_problem(c, rc);
	return 0;
}

/* ---- after a commit: serve the new package ---- */

static appkg_reader *next_reader;

static void relink_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	struct appkg_member m;

	if (k != SIDE_FILE && k != MISPLACED && k != SECRETS_JSON &&
	    !appkg_reader_find(next_reader, path, &m)) {
		n->member = m.path;
		n->changed = 0;
		if (n->opens == 0)
			node_drop_data(n);
	} else if (n->member) { /* a side file still backed by the old package */
		node_load(n);
		n->member = NULL;
		n->changed = 1;
	}
}

static int keep_secrets_copy(void)
{
	struct node *s = dir_find(fs.root, SECRETS_FILE, strlen(SECRETS_FILE));

	sodium_free(fs.secrets_plain);
	fs.secrets_plain = NULL;
	fs.secrets_plain_len = 0;
	if (!fs.password || !s || S_ISDIR(s->mode))
		return 0;
	if (!(fs.secrets_plain = sodium_malloc(s->size ? s->size : 1)))
		return APPKG_ERR_NO_MEMORY;
	memcpy(fs.secrets_plain, s->data, s->size);
	fs.secrets_plain_len = s->size;
	return 0;
}

/* The package was replaced: read from the new one, and what was edited is now in it. */
static int switch_package(struct commit *c)
{
	int rc;

	if (!(next_reader = appkg_reader_new()))
		return APPKG_ERR_NO_MEMORY;
	if ((rc = appkg_reader_open_path(next_reader, fs.package))) {
		problem(c, appkg_error_class(rc), "%s", appkg_reader_error(next_reader));
		appkg_reader_free(next_reader);
		return rc;
	}
	walk_tree(c, relink_file);
	appkg_reader_free(fs.reader);
	fs.reader = next_reader;
	return keep_secrets_copy();
}

/* ---- refused at unmount: keep the edits ---- */

static int write_out(const char *dir, const char *path, const void *data, size_t len)
{
	char full[PATH_MAX];
	int fd, rc = 0;

	if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, path) >= sizeof(full))
		return -1;
	for (char *p = full + strlen(dir) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		mkdir(full, 0755);
		*p = '/';
	}
	fd = open(full, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return -1;
	for (size_t done = 0; done < len && rc == 0;) {
		ssize_t k = write(fd, (const char *)data + done, len - done);
		rc = k > 0 ? (done += (size_t)k, 0) : -1;
	}
	if (fsync(fd))
		rc = -1;
	return close(fd) || rc ? -1 : 0;
}

/* secrets.json as an encrypted secrets.enc (same password, salt and package_id), sealed in
 * memory by the library so that the plaintext never touches the disk. */
static int seal_secrets(const char *dir, struct node *n)
{
	struct appkg_problem p;
	void *prev = NULL, *blob = NULL;
	size_t prev_len = 0, len = 0;
	int rc;

	original_blob(&prev, &prev_len);
	rc = appkg_secrets_seal((const char *)n->data, n->size, fs.password, fs.password_len,
				APPKG_KDF_KEEP, prev, prev ? prev_len : 0, NULL, &blob, &len);
	if (rc == 0)
		rc = write_out(dir, SECRETS_BLOB, blob, len) ? APPKG_ERR_IO : 0;
	else if (appkg_last_problem(&p))
		commit_log("%s: edit not kept (plaintext is never written to disk): %s", SECRETS_FILE,
			   p.message);
	free(prev);
	free(blob);
	return rc;
}

static char recover_path[PATH_MAX];

static void recover_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	if (k == SIDE_FILE)
		return;
	if (k == SECRETS_JSON) {
		if (seal_secrets(recover_path, n))
			c->status = 4;
		return;
	}
	if (node_load(n) || write_out(recover_path, path, n->data, n->size))
		c->status = 4;
}

/* Write the committed files as an unpacked directory beside the package. */
static void recover(void)
{
	struct commit c = {0};

	for (int i = 0; i < 1000; i++) {
		snprintf(recover_path, sizeof(recover_path), "%s.edits%s%.0d", fs.package,
			 i ? "." : "", i);
		if (mkdir(recover_path, 0700) == 0)
			break;
		if (errno != EEXIST) {
			commit_log("'%s': cannot keep the edits: %s", recover_path, strerror(errno));
			return;
		}
	}
	walk_tree(&c, recover_file);
	if (c.status)
		commit_log("'%s': some edits could not be written", recover_path);
	else
		commit_log("edits kept in '%s': fix the files and run appkg-pack '%s' -o '%s'",
			   recover_path, recover_path, fs.package);
}

/* ---- the commit ---- */

/* The report's first line: the exit status, and 1 if edits are still waiting for a commit. */
static void report_status(struct commit *c, int edits_pending)
{
	char head[16];
	int n = snprintf(head, sizeof(head), "%d %d\n", c->status, edits_pending);

	memmove(fs.report + n, fs.report, c->report_len + 1 <= sizeof(fs.report) - (size_t)n
						  ? c->report_len + 1 : sizeof(fs.report) - (size_t)n);
	memcpy(fs.report, head, (size_t)n);
	fs.report[sizeof(fs.report) - 1] = '\0';
}

static void log_report(void)
{
	char *line = strchr(fs.report, '\n'), *end;

	while (line && *++line && (end = strchr(line, '\n'))) {
		*end = '\0';
		commit_log("%s", line);
		*end = '\n';
		line = end;
	}
}

int commit_run(int at_unmount)
{
	struct commit c = {0};
	int rc;

	fs.report[0] = '\0';
	if (fs.read_only || !tree_changed()) { /* the status says if the package read back clean */
		c.status = fs.bad_reads[0] ? APPKG_EXIT_REJECTED : 0;
		c.report_len = (size_t)snprintf(fs.report, sizeof(fs.report), "%s", fs.bad_reads);
		report_status(&c, 0);
		return c.status;
	}
	if ((rc = start_writer(&c)))
		problem(&c, appkg_error_class(rc), "out of memory");
	else
		walk_tree(&c, add_file);
	if (c.status == 0 && (rc = appkg_writer_finish_path(c.w, fs.output)))
		writer_problem(&c, rc);
	appkg_writer_free(c.w);
	if (c.status == 0 && !strcmp(fs.output, fs.package))
		switch_package(&c);
	report_status(&c, c.status != 0);
	log_report();
	if (c.status)
		commit_log("'%s': commit refused; the package was not changed", fs.output);
	else
		commit_log("'%s': committed", fs.output);
	if (c.status && at_unmount)
		recover();
	return c.status;
}
