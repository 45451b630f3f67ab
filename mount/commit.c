/* SPDX-License-Identifier: MIT */
/*
 * The commit: the edited tree becomes a package again. Which files are committed is the
 * library's rule (appkg_path_classify, the same as pack's): manifest.json,
 * manifest.json.minisig, secrets.json (or secrets.enc when mounted without a password) at the
 * top, and resources/<type>/<name>.json; side files (names starting with '.', names not ending
 * in ".json", anything below another top-level directory) are never committed, and a ".json"
 * file or a directory where no member can be is a problem. Every problem is reported before
 * anything is written; the package is then written beside the target, verified and renamed
 * over it by the library (appkg_writer_finish_path). Unchanged files are copied from the
 * package as they are. A signature is made again with --sign, carried when nothing it covers
 * changed, and otherwise dropped with a note (spec §6).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

enum kind {
	SIDE_FILE,
	MISPLACED,   /* a ".json" file where no member can be */
	BAD_DIR,     /* a directory where no member can be */
	NO_PASSWORD, /* secrets.json in a mount without the password */
	MANIFEST,
	SIGNATURE,
	SECRETS_JSON,
	SECRETS_ENC,
	RESOURCE
};

struct commit {
	appkg_writer *w; /* NULL while only looking for changes */
	int status;      /* worst exit status so far */
	size_t files, same;
	size_t sig_files, sig_same; /* the same for manifest.json.minisig alone */
	int drop_signature;         /* the commit changes what the carried signature covers */
	int dropped_signature;
	char *manifest;             /* the manifest with entries following renames, or NULL */
	size_t manifest_len;
	int slim;                   /* manifest leaves out the entries the writer derives */
	size_t damaged; /* members of the package that do not read back */
	size_t report_len;
	int threads; /* for the writer: fs.threads, or 1 for a commit of a few changes */
};

/* Up to this many files changed, added or removed, a commit writes on one thread. */
#define FEW_CHANGES 8

typedef void (*visit_fn)(struct commit *c, struct node *n, const char *path, enum kind k);

/* One line to syslog, to stderr (seen with -f) and to the log file, with an ISO 8601 time. */
void commit_log(const char *fmt, ...)
{
	char line[1024], when[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	syslog(LOG_NOTICE, "%s", line);
	fprintf(stderr, "appkg-mount: %s\n", line);
	if (fs.log_path && (f = fopen(fs.log_path, "a"))) {
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
		fprintf(f, "%s appkg-mount[%ld]: %s\n", when, (long)getpid(), line);
		fclose(f);
	}
}

/* "member: what failed", naming the member when the reader's message does not. */
static void damage_text(char *out, size_t cap, const char *member, const char *message)
{
	size_t l = strlen(member);

	if (!strncmp(message, member, l) && message[l] == ':')
		snprintf(out, cap, "%s", message);
	else
		snprintf(out, cap, "%s: %s", member, message);
}

void commit_bad_read(const char *member, const char *message)
{
	char what[900], line[1024];
	size_t used = strlen(fs.bad_reads);

	damage_text(what, sizeof(what), member, message);
	snprintf(line, sizeof(line), "'%s': %s\n", fs.package, what);
	if (strstr(fs.bad_reads, line))
		return; /* once per member */
	snprintf(fs.bad_reads + used, sizeof(fs.bad_reads) - used, "%s", line);
	commit_log("'%s': %s", fs.package, what);
}

/* The library's layout rule, with what this mount can commit: secrets.json only with the
 * password, secrets.enc only without. */
static enum kind classify(const char *path, int is_dir)
{
	switch (appkg_path_classify(path, is_dir)) {
	case APPKG_PATH_SIDE:
	case APPKG_PATH_DIRECTORY:
		return SIDE_FILE;
	case APPKG_PATH_MANIFEST:
		return MANIFEST;
	case APPKG_PATH_SIGNATURE:
		return SIGNATURE;
	case APPKG_PATH_SECRETS_JSON:
		return fs.password ? SECRETS_JSON : NO_PASSWORD;
	case APPKG_PATH_SECRETS_ENC:
		return fs.password ? SIDE_FILE : SECRETS_ENC;
	case APPKG_PATH_RESOURCE:
		return RESOURCE;
	default:
		return is_dir ? BAD_DIR : MISPLACED;
	}
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
			if (classify(path, 1) == BAD_DIR)
				fn(c, n, path, BAD_DIR);
			path[len + l] = '/';
			path[len + l + 1] = '\0';
			walk(c, n, path, len + l + 1, fn);
		} else {
			fn(c, n, path, classify(path, 0));
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
	int same;

	if (k == SIDE_FILE)
		return;
	if (k == SECRETS_JSON)
		same = secrets_unchanged(n);
	else if (k == MISPLACED || k == BAD_DIR || k == NO_PASSWORD)
		same = 0;
	else
		same = same_bytes(n, path);
	c->files++;
	c->same += same;
	if (k == SIGNATURE) {
		c->sig_files++;
		c->sig_same += same;
	}
}

/* Anything to commit? Also decides whether a carried signature would be stale: it covers the
 * manifest, which changes when any committed file other than the signature does. */
static int tree_changed(struct commit *c)
{
	struct appkg_member m;
	size_t members = appkg_reader_member_count(fs.reader);
	size_t signed_before = appkg_reader_find(fs.reader, SIGNATURE_FILE, &m) == 0;

	walk_tree(c, count_file);
	c->drop_signature = !fs.sign_key && (c->files - c->sig_files != c->same - c->sig_same ||
					     c->files - c->sig_files != members - signed_before);
	/* Frames copied whole need no thread, and handing each to one and back cost more than
	 * the few frames compressed anew gain (M, one edit: 10 ms of 150); each changed, added or
	 * removed file has one such frame at most, besides the manifest's. */
	c->threads = (c->files - c->same) + (members - c->same) > FEW_CHANGES ? fs.threads : 1;
	return c->files != c->same || c->files != members;
}

/* ---- building the new package ---- */

static void writer_problem(struct commit *c, int rc)
{
	const char *message = appkg_writer_error(c->w);

	problem(c, appkg_error_class(rc), "%s", *message ? message : appkg_error_name(rc));
}

/* A member of the package that does not read back (the reader has just said why). */
static void damaged(struct commit *c, const char *member, const char *path)
{
	char what[900];

	damage_text(what, sizeof(what), member, appkg_reader_error(fs.reader));
	if (!strcmp(member, path))
		problem(c, 1, "%s: damaged in the package: rewrite or delete it in the mount", what);
	else
		problem(c, 1, "%s: damaged in the package: rewrite or delete %s in the mount", what,
			path);
}

static int add_resource(struct commit *c, struct node *n, const char *path)
{
	const char *type = path + sizeof(RESOURCES_DIR), *slash = strchr(type, '/');
	size_t tl = (size_t)(slash - type), nl = strlen(n->name) - 5; /* without ".json" */
	char t[PATH_MAX], name[PATH_MAX]; /* path is shorter (walk), and so are its parts */

	memcpy(t, type, tl);
	t[tl] = '\0';
	memcpy(name, n->name, nl);
	name[nl] = '\0';
	if (!n->changed && n->member && !strcmp(n->member, path))
		return appkg_writer_add_copy(c->w, t, name, fs.reader);
	if (node_load(n))
		return APPKG_ERR_IO;
	return appkg_writer_add_resource(c->w, t, name, n->data, n->size);
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

static void add_signature(struct commit *c, struct node *n)
{
	int rc;

	if (fs.sign_key)
		return; /* signed again at finish */
	if (c->drop_signature) {
		c->dropped_signature = 1; /* said once the package is written */
		return;
	}
	rc = node_load(n) ? APPKG_ERR_IO : appkg_writer_set_signature_blob(c->w, n->data, n->size);
	if (rc)
		writer_problem(c, rc);
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
	case BAD_DIR:
		problem(c, 1, "%s/: not committed: a directory where no member can be (resources are "
			      "resources/<type>/<name>.json)", path);
		return;
	case NO_PASSWORD:
		problem(c, 1, "%s: not committed: mounted without the secrets password", path);
		return;
	case SIGNATURE:
		add_signature(c, n);
		return;
	case SECRETS_JSON:
	case SECRETS_ENC:
		rc = add_secrets(c, n, k);
		break;
	case RESOURCE:
		if ((rc = add_resource(c, n, path)) == APPKG_ERR_IO && n->member && !n->data) {
			damaged(c, n->member, path);
			c->damaged++;
			return;
		}
		break;
	}
	if (rc)
		writer_problem(c, rc);
}

static void plan_problem(void *ctx, const char *line)
{
	problem(ctx, 1, "%s", line);
}

/* The writer's progress, for XATTR_PROGRESS: written by the commit, read by other FUSE
 * threads without the lock. */
static _Atomic uint64_t progress[4];

static void on_progress(void *ctx, uint64_t bytes_done, uint64_t bytes_total, size_t members_done,
			size_t members_total)
{
	/* relaxed: four figures a reader may see from two calls apart, as before; a seq_cst
	 * store is a locked instruction, four per member */
	atomic_store_explicit(&progress[0], bytes_done, memory_order_relaxed);
	atomic_store_explicit(&progress[1], bytes_total, memory_order_relaxed);
	atomic_store_explicit(&progress[2], members_done, memory_order_relaxed);
	atomic_store_explicit(&progress[3], members_total, memory_order_relaxed);
}

size_t commit_progress_text(char *out, size_t cap)
{
	int n = snprintf(out, cap, "%llu %llu %llu %llu", (unsigned long long)atomic_load(&progress[0]),
			 (unsigned long long)atomic_load(&progress[1]),
			 (unsigned long long)atomic_load(&progress[2]),
			 (unsigned long long)atomic_load(&progress[3]));

	return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static appkg_writer *new_writer(const struct commit *c)
{
	appkg_writer *w = appkg_writer_new();

	if (w) {
		appkg_writer_set_progress(w, on_progress, NULL);
		appkg_writer_set_level(w, fs.level);
		appkg_writer_set_threads(w, c->threads);
		appkg_writer_set_verify(w, 1);
		appkg_writer_set_copy_frames(w, 1);
	}
	return w;
}

/* A manifest the library refused ends the writer handle; a stand-in lets the files still be
 * checked in the same round. Nothing is written with it. */
static int stand_in(struct commit *c)
{
	static const char manifest[] = "{\"name\": \"-\"}";

	appkg_writer_free(c->w);
	if (!(c->w = new_writer(c)))
		return APPKG_ERR_NO_MEMORY;
	return appkg_writer_set_manifest(c->w, manifest, strlen(manifest));
}

/* The text of manifest.json in the mount: the package's own, which the reader keeps and
 * checked at open, while it is not edited (a copy would be as large again: 25 MB for 100,000
 * resources); else the node's bytes. 0 when it cannot be read. */
static int user_manifest(struct node *m, const char **text, size_t *len)
{
	if (!m->changed && !m->data && m->member && !strcmp(m->member, MANIFEST_FILE) &&
	    !appkg_reader_manifest(fs.reader, text, len))
		return 1;
	if (node_load(m))
		return 0;
	*text = (const char *)m->data;
	*len = m->size;
	return 1;
}

/* The user's manifest, with its entries following the renames and unlinks of the mount, and
 * without those the writer derives unless a carried signature must find the text it signed.
 * The writer parses it once; a manifest that is not JSON goes to the writer as it is, which
 * says why. */
static int set_manifest(struct commit *c, struct node *m)
{
	int carried = !fs.sign_key && !c->drop_signature &&
		      dir_find(fs.root, SIGNATURE_FILE, strlen(SIGNATURE_FILE));
	const char *text;
	size_t len;
	int rc;

	if (!user_manifest(m, &text, &len))
		return APPKG_ERR_IO;
	c->slim = !carried;
	if ((rc = manifest_plan(text, len, c->slim, &c->manifest, &c->manifest_len, plan_problem,
				c)))
		return rc;
	if (c->manifest)
		return appkg_writer_set_manifest(c->w, c->manifest, c->manifest_len);
	return appkg_writer_set_manifest(c->w, text, len);
}

static int start_writer(struct commit *c)
{
	struct node *m = dir_find(fs.root, MANIFEST_FILE, strlen(MANIFEST_FILE));
	int rc;

	if (!(c->w = new_writer(c)))
		return APPKG_ERR_NO_MEMORY;
	if (!m || S_ISDIR(m->mode)) {
		problem(c, 1, "manifest.json: missing");
		return stand_in(c);
	}
	if ((rc = set_manifest(c, m))) {
		if (rc == APPKG_ERR_IO)
			problem(c, 4, "manifest.json: cannot be read");
		else
			writer_problem(c, rc);
		if (rc == APPKG_ERR_NO_MEMORY || (rc = stand_in(c)))
			return rc;
	}
	if (fs.sign_key && (rc = appkg_writer_set_signing_key(c->w, fs.sign_key, fs.key_password,
							      fs.key_password_len)))
		writer_problem(c, rc);
	return 0;
}

/* A file copied from the package as it is, which does not read back. */
static void damaged_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	const void *data;
	size_t len;

	if (k != RESOURCE || n->changed || !n->member || strcmp(n->member, path) ||
	    !appkg_reader_read(fs.reader, path, &data, &len))
		return;
	damaged(c, path, path);
	c->damaged++;
}

/* ---- after a commit: serve the new package ---- */

static appkg_reader *next_reader;
static struct node *dropped_signature;
/* The reader of the package the last commit replaced, for commit_replaced. */
static appkg_reader *replaced;

appkg_reader *commit_replaced(void)
{
	appkg_reader *r = replaced;

	replaced = NULL;
	return r;
}

static void relink_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	struct appkg_member m;

	if (k != SIDE_FILE && k != MISPLACED && k != SECRETS_JSON && !appkg_reader_find(next_reader, path, &m)) {
		n->member = m.path;
		n->changed = 0;
		if (n->opens == 0)
			node_drop_data(n);
	} else if (k == SIGNATURE) { /* dropped as stale: taken out after the walk */
		dropped_signature = n;
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

/* The package was replaced: read from the new one, and what was edited is now in it. The
 * reader that checked it is open on it already (checked), else it is opened here. */
static int switch_package(struct commit *c, appkg_reader *checked)
{
	struct appkg_member m;
	int rc;

	if ((next_reader = checked))
		goto relink;
	if (!(next_reader = appkg_reader_new()))
		return APPKG_ERR_NO_MEMORY;
	if ((rc = appkg_reader_open_path(next_reader, fs.package))) {
		problem(c, appkg_error_class(rc), "%s", appkg_reader_error(next_reader));
		appkg_reader_free(next_reader);
		return rc;
	}
relink:
	dropped_signature = NULL;
	walk_tree(c, relink_file);
	if (dropped_signature) { /* gone from the mount as well (the walk is over the kids) */
		if (dropped_signature->member)
			node_load(dropped_signature); /* an open handle still reads it */
		dropped_signature->member = NULL;
		dir_remove(dropped_signature);
		if (dropped_signature->opens == 0)
			node_free(dropped_signature);
	}
	appkg_reader_free(replaced); /* one not taken (none is: the caller takes each) */
	replaced = fs.reader;
	fs.reader = next_reader;
	if (fs.sign_key && !dir_find(fs.root, SIGNATURE_FILE, strlen(SIGNATURE_FILE)) &&
	    !appkg_reader_find(fs.reader, SIGNATURE_FILE, &m)) /* signed for the first time */
		tree_add_member(m.path, m.size);
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
static const struct commit *recovering; /* the refused commit */
static json_t *recover_missing;         /* package files that could not be read */

static void ignore_line(void *ctx, const char *line)
{
}

static void recover_file(struct commit *c, struct node *n, const char *path, enum kind k)
{
	const char *data;
	char *full = NULL;
	size_t len;

	switch (k) {
	case SIDE_FILE:
	case BAD_DIR:
		return;
	case NO_PASSWORD:
		commit_log("%s: not kept: mounted without the password, and plaintext secrets are "
			   "never written to disk", path);
		return;
	case SECRETS_JSON:
		if (seal_secrets(recover_path, n))
			c->status = 4;
		return;
	default:
		break;
	}
	if (node_load(n)) { /* a member the package cannot give back, or out of memory */
		if (!n->member || json_array_append_new(recover_missing, json_string(path)))
			c->status = 4;
		return;
	}
	data = (const char *)n->data;
	len = n->size;
	if (k == MANIFEST && recovering->manifest && !recovering->slim) {
		data = recovering->manifest; /* with the entries that follow renames */
		len = recovering->manifest_len;
	} else if (k == MANIFEST && recovering->manifest) { /* the same, every entry kept */
		if (manifest_plan(data, len, 0, &full, &len, ignore_line, NULL))
			c->status = 4;
		data = full ? full : (const char *)n->data;
		len = full ? len : n->size;
	}
	if (write_out(recover_path, path, data, len))
		c->status = 4;
	free(full);
}

/* The marker of a directory that lacks files of the package: a ".json" file at the top, which
 * pack refuses, listing them; manifest.json still lists them too. */
static void mark_incomplete(struct commit *c)
{
	json_t *o = json_pack("{s:s, s:O, s:s}", "package", fs.package, "missing", recover_missing,
			      "what to do", "these files of the package could not be read (it is "
			      "damaged). Restore them from a good copy of the package, or remove "
			      "their entries from manifest.json, then delete this file and pack");
	char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;

	if (!text || write_out(recover_path, "RECOVERY-INCOMPLETE.json", text, strlen(text)))
		c->status = 4;
	free(text);
	json_decref(o);
}

/* Write the committed files as an unpacked directory beside the package. */
static void recover(const struct commit *refused)
{
	struct commit c = {0};
	size_t missing;

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
	recovering = refused;
	if (!(recover_missing = json_array()))
		c.status = 4;
	else
		walk_tree(&c, recover_file);
	missing = json_array_size(recover_missing);
	if (missing)
		mark_incomplete(&c);
	json_decref(recover_missing);
	recover_missing = NULL;
	if (c.status)
		commit_log("'%s': some edits could not be written", recover_path);
	else if (missing)
		commit_log("edits kept in '%s', without %zu file%s of the package that could not be "
			   "read (listed in '%s/RECOVERY-INCOMPLETE.json'): restore them or remove "
			   "their manifest entries before appkg-pack", recover_path, missing,
			   missing == 1 ? "" : "s", recover_path);
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
	appkg_reader *checked;
	int rc;

	fs.report[0] = '\0';
	if (fs.read_only || !tree_changed(&c)) { /* the status says if the package read back clean */
		c.status = fs.bad_reads[0] ? APPKG_EXIT_REJECTED : 0;
		c.report_len = (size_t)snprintf(fs.report, sizeof(fs.report), "%s", fs.bad_reads);
		report_status(&c, 0);
		return c.status;
	}
	on_progress(NULL, 0, 0, 0, 0); /* the last commit's figures stay until the next one */
	if ((rc = start_writer(&c)))
		problem(&c, appkg_error_class(rc), "out of memory");
	else
		walk_tree(&c, add_file);
	if (c.status == 0 && (rc = appkg_writer_finish_path(c.w, fs.output))) {
		walk_tree(&c, damaged_file); /* the writer's message may not name the member */
		if (!c.damaged)
			writer_problem(&c, rc);
	} else if (c.status && (c.damaged || fs.bad_reads[0])) {
		walk_tree(&c, damaged_file); /* a damaged package: name every member at once */
	}
	checked = appkg_writer_take_reader(c.w);
	appkg_writer_free(c.w);
	if (c.status == 0 && c.dropped_signature)
		problem(&c, 0, "%s: dropped: the commit changed the manifest it signed (mount with "
			       "--sign SECKEY to sign again)", SIGNATURE_FILE);
	if (c.status == 0 && !strcmp(fs.output, fs.package))
		switch_package(&c, checked);
	else
		appkg_reader_free(checked);
	report_status(&c, c.status != 0);
	log_report();
	if (c.status)
		commit_log("'%s': commit refused; the package was not changed", fs.output);
	else
		commit_log("'%s': committed", fs.output);
	if (c.status && at_unmount)
		recover(&c);
	free(c.manifest);
	return c.status;
}
