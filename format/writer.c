/* SPDX-License-Identifier: MIT */
/*
 * Package writer. Resources are validated and digested when added (on several threads when
 * a directory is added); finish builds the manifest (which must come first and holds every
 * digest), then streams the members again in sorted order into frames of whole tar entries,
 * each file read again into its frame and checked against its digest, and ends with the
 * end-of-archive frame, the member index and the seek table. Memory holds two frames per
 * thread plus the index, never the payload, nor the manifest whole (writer_frame0.c). Frames
 * are compressed independently, so threads change speed, not bytes. When resources come in
 * path order (a directory walk), each is framed and its frame compressed as it is added
 * instead, so that each file is read once (the stream section below).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "internal.h"
#include "signature.h"
#include "writer.h"

static void stream_add(appkg_writer *w, const void *data, size_t len);
static void stream_stop(appkg_writer *w);
static void stream_free(appkg_writer *w);

static uint64_t default_mtime(void)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return 0;
	v = strtoull(s, &end, 10);
	return *end || v >= (1ull << 33) ? 0 : v;
}

appkg_writer *appkg_writer_new(void)
{
	appkg_writer *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->level = 3;
	w->threads = 1;
	w->mtime = default_mtime();
	w->fd = -1;
	return w;
}

/* The strings of members come from blocks of STRINGS_BLOCK bytes, not an allocation each: a
 * commit of 100,000 members made as many mallocs, and as many frees when the members were
 * dropped, whose fastbin chunks free then merged one by one. Each member's strings start
 * after a pointer to their block, which counts them and goes with the last (a member larger
 * than a quarter of a block has one of its own). The writer holds a count on the block it
 * fills. */
#define STRINGS_BLOCK 65536

struct strings_block {
	size_t used, cap; /* bytes of data handed out, and its size */
	size_t refs;      /* members whose strings are here, and the writer while it fills it */
	_Alignas(struct strings_block *) char data[];
};

static void strings_put(struct strings_block *b)
{
	if (b && --b->refs == 0)
		free(b);
}

/* Room for len bytes of strings, after the pointer to their block; NULL when out of memory. */
static char *strings_take(appkg_writer *w, size_t len)
{
	const size_t ptr = sizeof(struct strings_block *);
	size_t need = (ptr + len + ptr - 1) / ptr * ptr; /* the next one stays aligned */
	int own = need > STRINGS_BLOCK / 4;
	struct strings_block *b = w->strings;

	if (own || !b || b->cap - b->used < need) {
		size_t cap = own ? need : STRINGS_BLOCK - sizeof(*b);
		if (!(b = malloc(sizeof(*b) + cap)))
			return NULL;
		*b = (struct strings_block){.cap = cap, .refs = !own};
		if (!own) {
			strings_put(w->strings);
			w->strings = b;
		}
	}
	memcpy(b->data + b->used, &b, ptr);
	b->refs++;
	b->used += need;
	return b->data + b->used - need + ptr;
}

static void strings_free(char *s)
{
	struct strings_block *b;

	if (s) {
		memcpy(&b, s - sizeof(b), sizeof(b));
		strings_put(b);
	}
}

void writer_member_free(struct writer_member *m)
{
	strings_free(m->fs_path ? m->fs_path : m->type); /* all four (member_strings) */
	free(m->mem);
	json_decref(m->uses);
	json_decref(m->secret_refs);
}

void appkg_writer_free(appkg_writer *w)
{
	if (!w)
		return;
	stream_free(w);
	for (size_t i = 0; i < w->n; i++)
		writer_member_free(&w->members[i]);
	free(w->members);
	strings_put(w->strings);
	json_decref(w->user);
	buf_free(&w->user_text);
	for (size_t i = 0; i < w->nrejected; i++)
		free(w->rejected[i]);
	free(w->rejected);
	for (size_t i = 0; i < w->nonly; i++)
		free(w->only[i]);
	free(w->only);
	buf_free(&w->secrets);
	sig_key_free(w->sign_key);
	buf_free(&w->signature);
	free(w->frames);
	free(w->index);
	buf_free(&w->cur);
	writer_copy_free(w);
	writer_pool_free(w->pool);
	while (w->nspare)
		ZSTD_freeCCtx(w->spare_cctx[--w->nspare]);
	free(w);
}

const char *appkg_writer_error(const appkg_writer *w)
{
	return w->err.msg;
}

struct appkg_err *writer_err(appkg_writer *w)
{
	return &w->err;
}

/* A rejected resource is not added, but the handle stays usable so that a caller can report
 * every bad input in one run: keep the message, clear the code. */
static int soft(appkg_writer *w, int code)
{
	if (code != APPKG_ERR_NO_MEMORY)
		w->err.code = 0;
	return code;
}

static int writable(appkg_writer *w)
{
	if (w->err.code)
		return w->err.code;
	return w->finished ? appkg_fail(&w->err, APPKG_ERR_STATE, "writer already finished") : 0;
}

int appkg_writer_set_level(appkg_writer *w, int level)
{
	if (writable(w))
		return w->err.code;
	if (level < 1 || level > 19)
		return APPKG_ERR_INVALID_ARGUMENT;
	w->level = level;
	return 0;
}

int appkg_writer_set_threads(appkg_writer *w, int threads)
{
	if (writable(w))
		return w->err.code;
	if (threads < 1 || threads > MAX_THREADS)
		return APPKG_ERR_INVALID_ARGUMENT;
	w->threads = threads;
	return 0;
}

int appkg_writer_set_mtime(appkg_writer *w, uint64_t mtime)
{
	if (writable(w))
		return w->err.code;
	if (mtime >= (1ull << 33)) /* 11 octal digits */
		return APPKG_ERR_INVALID_ARGUMENT;
	w->mtime = mtime;
	return 0;
}

int appkg_writer_set_verify(appkg_writer *w, int verify)
{
	if (writable(w))
		return w->err.code;
	w->verify = verify != 0;
	return 0;
}

int appkg_writer_set_copy_frames(appkg_writer *w, int copy)
{
	if (writable(w))
		return w->err.code;
	w->copy_frames = copy != 0;
	return 0;
}

int appkg_writer_set_manifest(appkg_writer *w, const char *json, size_t len)
{
	json_t *v;

	if (writable(w))
		return w->err.code;
	if (len > APPKG_MAX_MANIFEST_SIZE)
		return soft(w, appkg_fail(&w->err, APPKG_ERR_LIMIT_MEMBER_SIZE,
					  "manifest.json: too large"));
	v = json_parse_strict(json, len, &w->err, MANIFEST_PATH);
	if (!v)
		return soft(w, w->err.code);
	if (!json_is_object(v)) {
		json_decref(v);
		return soft(w, appkg_fail(&w->err, APPKG_ERR_MANIFEST_JSON,
					  "manifest.json: not a JSON object"));
	}
	if (json_object_get(v, "bound_for")) { /* spec §20.2 */
		json_decref(v);
		return soft(w, appkg_fail(&w->err, APPKG_ERR_MANIFEST_SCHEMA, "manifest.json: bound_for: "
					  "a bound tree is for import, not a package source; pack the "
					  "unbound directory"));
	}
	w->user_text.len = 0;
	if (buf_append(&w->user_text, json, len)) {
		json_decref(v);
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	json_decref(w->user);
	w->user = v;
	return 0;
}

int appkg_writer_set_prune(appkg_writer *w, int prune)
{
	if (writable(w))
		return w->err.code;
	w->prune = prune != 0;
	return 0;
}

int appkg_writer_set_selection(appkg_writer *w, const char *const *selectors, size_t count)
{
	char **only;

	if (writable(w))
		return w->err.code;
	if (!count || !selectors)
		return appkg_fail(&w->err, APPKG_ERR_INVALID_ARGUMENT, "select: no selection");
	stream_stop(w); /* members will be dropped: frames are laid out at finish */
	if (!(only = calloc(count, sizeof(*only))))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; i < w->nonly; i++)
		free(w->only[i]);
	free(w->only);
	w->only = only;
	w->nonly = count;
	for (size_t i = 0; i < count; i++)
		if (!selectors[i] || !(only[i] = strdup(selectors[i])))
			return appkg_fail(&w->err, selectors[i] ? APPKG_ERR_NO_MEMORY
						: APPKG_ERR_INVALID_ARGUMENT, "select: bad selector");
	return 0;
}

void appkg_writer_set_problem_handler(appkg_writer *w, appkg_problem_fn fn, void *ctx)
{
	w->problem_fn = fn;
	w->problem_ctx = ctx;
}

/* A problem found outside this file (appkg_writer_add_directory): to the handler, its message
 * kept on w, the handle usable. Returns code. */
int writer_problem(appkg_writer *w, int code, const char *message)
{
	if (message != w->err.msg)
		snprintf(w->err.msg, sizeof(w->err.msg), "%s", message);
	if (w->problem_fn)
		w->problem_fn(w->problem_ctx, code, w->err.msg);
	return soft(w, code);
}

/* A resource the caller tried to add but that was refused: it exists, so the manifest check
 * must not call its entry absent. Returns rc, the handle kept usable. */
static int rejected(appkg_writer *w, const char *type, const char *name, int rc)
{
	char *path;

	if (rc == APPKG_ERR_NO_MEMORY || rc == APPKG_ERR_STATE)
		return soft(w, rc);
	if (w->nrejected == w->rejected_cap) {
		size_t cap = w->rejected_cap ? 2 * w->rejected_cap : 16;
		char **p = realloc(w->rejected, cap * sizeof(*p));
		if (!p)
			return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		w->rejected = p;
		w->rejected_cap = cap;
	}
	if (!(path = resource_path_make(type, name)))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	w->rejected[w->nrejected++] = path;
	return soft(w, rc);
}

static int grow_members(appkg_writer *w)
{
	size_t cap = w->cap ? 2 * w->cap : 256;
	void *p = realloc(w->members, cap * sizeof(*w->members));

	if (!p)
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	w->members = p;
	w->cap = cap;
	return 0;
}

/* The strings of a member in one piece of a strings block, not four allocations (a package
 * may have 100,000 members): fs_path (when given), type, name and path, in that order, so
 * that the piece starts at fs_path when there is one and at type otherwise
 * (writer_member_free). A source file DIR/resources/TYPE/NAME.json, as a directory walk
 * gives, ends with the path: the path is then that tail of fs_path, not a copy. pl, tl and nl
 * count each string's NUL. 0, or -1 when out of memory. */
static int member_strings(appkg_writer *w, struct writer_member *m, const char *path, size_t pl,
			  const char *type, size_t tl, const char *name, size_t nl,
			  const char *fs_path)
{
	size_t fl = fs_path ? strlen(fs_path) + 1 : 0;
	int tail = fl > pl && fs_path[fl - pl - 1] == '/' && !memcmp(fs_path + fl - pl, path, pl);
	char *b = strings_take(w, fl + tl + nl + (tail ? 0 : pl));

	if (!b)
		return -1;
	if (fs_path)
		memcpy(b, fs_path, fl);
	m->fs_path = fs_path ? b : NULL;
	m->type = memcpy(b + fl, type, tl);
	m->name = memcpy(b + fl + tl, name, nl);
	m->path = tail ? b + fl - pl : memcpy(b + fl + tl + nl, path, pl);
	return 0;
}

/* "resources/TYPE/NAME.json" into b, or NULL when it would not fit in cap bytes: what
 * resource_path_make makes, without an allocation and a format for every file. */
char *writer_resource_path(char *b, size_t cap, const char *type, const char *name)
{
	size_t tl = strlen(type), nl = strlen(name);

	if (tl + nl + sizeof("resources//.json") > cap)
		return NULL;
	memcpy(b, "resources/", 10);
	memcpy(b + 10, type, tl);
	b[10 + tl] = '/';
	memcpy(b + 11 + tl, name, nl);
	memcpy(b + 11 + tl + nl, ".json", 6);
	return b;
}

/* Check the names, make room, and fill the path (and the type, name and source file) of a new
 * member. */
static struct writer_member *new_member(appkg_writer *w, const char *type, const char *name,
					const char *fs_path)
{
	struct writer_member *m;
	char local[2 * 256 + 32], *path, *made = NULL;
	size_t tl = strlen(type), nl = strlen(name), pl;
	int rc;

	if (writable(w))
		return NULL;
	if (tl + nl + sizeof("resources//.json") <= sizeof(local)) { /* writer_resource_path */
		path = local;
		memcpy(path, "resources/", 10);
		memcpy(path + 10, type, tl);
		path[10 + tl] = '/';
		memcpy(path + 11 + tl, name, nl);
		memcpy(path + 11 + tl + nl, ".json", 6);
		pl = tl + nl + sizeof("resources//.json") - 1;
	} else if ((path = made = resource_path_make(type, name))) {
		pl = strlen(path);
	} else {
		appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	if ((rc = member_path_check(path, pl, &w->err)) != MEMBER_RESOURCE) {
		/* e.g. "resources/x/y.json" is fine, "secrets.enc" given as a type is not */
		if (rc >= 0)
			appkg_fail(&w->err, APPKG_ERR_TAR_MEMBER, "%s: not a resource path", path);
		free(made);
		return NULL;
	}
	if (w->n + 3 > APPKG_MAX_MEMBERS) { /* manifest, signature and secrets count too */
		appkg_fail(&w->err, APPKG_ERR_LIMIT_MEMBERS, "%s: more than %u members", path,
			   APPKG_MAX_MEMBERS);
		free(made);
		return NULL;
	}
	if (w->n == w->cap && grow_members(w)) {
		free(made);
		return NULL;
	}
	m = &w->members[w->n];
	memset(m, 0, sizeof(*m));
	rc = member_strings(w, m, path, pl + 1, type, tl + 1, name, nl + 1, fs_path);
	free(made);
	if (rc) {
		appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	return m;
}

/* Each placeholder of a resource being added: the inputs it uses, its secret references. */
struct found {
	struct writer_member *m;
	int failed;
};

static void found_one(void *ctx, const struct appkg_placeholder *p)
{
	struct found *f = ctx;
	struct writer_member *m = f->m;

	m->placeholders = 1;
	if (p->kind == APPKG_PLACEHOLDER_INPUT) {
		if (!m->uses && !(m->uses = json_object()))
			f->failed = 1;
		else if (json_object_set_new(m->uses, p->name, json_true()))
			f->failed = 1;
	} else if (p->kind == APPKG_PLACEHOLDER_SECRET) {
		if (!m->secret_refs && !(m->secret_refs = json_array()))
			f->failed = 1;
		else if (json_array_append_new(m->secret_refs, json_pack("[sII]", p->name,
						(json_int_t)p->line, (json_int_t)p->column)))
			f->failed = 1;
	}
}

/* Find the placeholders of a resource (spec §20.1): one that breaks the grammar or stands
 * outside a string is refused with its line, column and the rule, before the JSON check
 * would call it only invalid JSON. */
static int scan(struct appkg_err *e, struct writer_member *m, const void *data, size_t len,
		const char *subject)
{
	struct found f = {.m = m};
	struct appkg_problem p;
	int rc = appkg_placeholders_scan(data, len, found_one, &f);

	if (f.failed)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (rc == APPKG_ERR_NO_MEMORY)
		return appkg_fail(e, rc, "out of memory");
	if (rc != APPKG_ERR_PLACEHOLDER)
		return 0; /* any other JSON problem is the JSON check's to report */
	appkg_last_problem(&p);
	appkg_fail(e, rc, "%s: %s", subject, p.message);
	e->line = p.line;
	e->column = p.column;
	return rc;
}

/* The checks of a resource's bytes: its placeholders, then the JSON check. The JSON check runs
 * first and tells whether any string may hold a placeholder: when none may, the scan would
 * find nothing and is left out; when the document is invalid, the scan still reports first. */
int writer_check_bytes(struct appkg_err *e, struct writer_member *m, const void *data,
		       size_t len, const char *subject)
{
	struct appkg_err json = {0};
	int marks;

	if (json_check_resource_marks(data, len, &json, subject, &marks)) {
		if (!scan(e, m, data, len, subject))
			*e = json;
		return e->code;
	}
	return marks ? scan(e, m, data, len, subject) : 0;
}

/* Validate a resource's bytes and record its size and digest. */
static int admit(appkg_writer *w, struct writer_member *m, const void *data, size_t len,
		 const char *subject)
{
	if (writer_check_bytes(&w->err, m, data, len, subject))
		return w->err.code;
	m->size = len;
	digest_bytes(m->digest, data, len);
	w->n++;
	return 0;
}

/* Progress of the adds (appkg_writer_set_progress): totals not known yet. */
static void progress_added(appkg_writer *w, uint64_t bytes)
{
	w->progress_done += bytes;
	if (w->progress_fn)
		w->progress_fn(w->progress_ctx, w->progress_done, 0, w->n, 0);
}

/* Add p's file as a member: the name checked first, as if the file had not been read yet,
 * then what writer_prepare_one found (found now, when no thread has). The bytes stay in
 * p->data, for the job to reuse or the caller to free. */
int writer_add_prepared(appkg_writer *w, struct writer_prepared *p)
{
	struct writer_member *m = new_member(w, p->type, p->name, p->fs_path);
	int rc;

	if (!m)
		return rejected(w, p->type, p->name, w->err.code);
	if (!p->done) {
		writer_prepare_one(p);
		p->done = 1;
	}
	if (p->err) {
		w->err = *p->err;
	} else {
		m->size = p->m.size;
		memcpy(m->digest, p->m.digest, sizeof(m->digest));
		m->uses = p->m.uses;
		m->secret_refs = p->m.secret_refs;
		m->placeholders = p->m.placeholders;
		p->m.uses = p->m.secret_refs = NULL;
		w->n++;
		stream_add(w, p->data.data, p->data.len);
		progress_added(w, m->size);
	}
	if (w->err.code && m == &w->members[w->n])
		writer_member_free(m);
	rc = w->err.code;
	return rc ? rejected(w, p->type, p->name, rc) : 0;
}

int appkg_writer_add_file(appkg_writer *w, const char *type, const char *name, const char *fs_path)
{
	struct writer_prepared p = {.type = type, .name = name, .fs_path = fs_path, .dirfd = -1};
	int rc = writer_add_prepared(w, &p);

	writer_prepared_free(&p);
	return rc;
}

int appkg_writer_add_resource(appkg_writer *w, const char *type, const char *name,
			      const void *data, size_t len)
{
	struct writer_member *m = new_member(w, type, name, NULL);

	if (!m)
		return rejected(w, type, name, w->err.code);
	m->mem = malloc(len ? len : 1);
	if (!m->mem) {
		writer_member_free(m);
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	memcpy(m->mem, data, len);
	if (admit(w, m, data, len, m->path)) {
		writer_member_free(m);
		return rejected(w, type, name, w->err.code);
	}
	stream_add(w, m->mem, len);
	progress_added(w, len);
	return 0;
}

/* A resource copied from a format 2 package is scanned like any other (its source read it
 * against its own inputs); a format 1 package holds no placeholders, only text. */
static int scan_copy(appkg_writer *w, struct writer_member *m, appkg_reader *r)
{
	const struct manifest *sm = reader_manifest_view(r);
	const void *data;
	size_t len;
	int rc;

	if (!sm || sm->major < 2)
		return 0;
	if ((rc = appkg_reader_read(r, m->path, &data, &len)))
		return appkg_fail(&w->err, rc, "%s", appkg_reader_error(r));
	return scan(&w->err, m, data, len, m->path);
}

int appkg_writer_add_copy(appkg_writer *w, const char *type, const char *name, appkg_reader *r)
{
	struct writer_member *m;
	struct appkg_member from;
	int rc;

	stream_stop(w); /* its frames may be copied whole at finish */
	if (!(m = new_member(w, type, name, NULL)))
		return rejected(w, type, name, w->err.code);
	rc = appkg_reader_find(r, m->path, &from);
	if (rc) {
		appkg_fail(&w->err, rc, "%s: not in the source package", m->path);
		writer_member_free(m);
		return rejected(w, type, name, rc);
	}
	m->src = r;
	m->size = from.size;
	memcpy(m->digest, from.digest, APPKG_DIGEST_BYTES);
	if (scan_copy(w, m, r)) {
		writer_member_free(m);
		return rejected(w, type, name, w->err.code);
	}
	w->n++;
	return 0;
}

/* The package_id new secrets are bound to: the manifest's, the previous blob's, or random. */
static void choose_package_id(appkg_writer *w, const struct secrets_header *prev)
{
	const char *id = json_string_value(json_object_get(w->user, "package_id"));
	unsigned char rnd[16];

	if (id) {
		snprintf(w->package_id, sizeof(w->package_id), "%s", id);
	} else if (prev) {
		snprintf(w->package_id, sizeof(w->package_id), "%s", prev->package_id);
	} else {
		randombytes_buf(rnd, sizeof(rnd));
		hex_encode(w->package_id, rnd, sizeof(rnd));
	}
}

static int name_into(void *ctx, const char *key)
{
	return json_object_set_new(ctx, key, json_true()) ? -1 : 0;
}

/* Every secret reference must name a key of secrets.json (spec §20.3): each one that does not
 * is a problem of its own. Only the names are taken from the plaintext. */
static int check_secret_refs(appkg_writer *w, const char *json, size_t len)
{
	json_t *names = json_object(), *ref;
	char msg[APPKG_MSG_MAX];
	int rc = 0;
	size_t j;

	if (!names || json_object_keys(json, len, name_into, names)) {
		json_decref(names);
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	for (size_t i = 0; i < w->n; i++)
		json_array_foreach(w->members[i].secret_refs, j, ref) {
			const char *name = json_string_value(json_array_get(ref, 0));
			if (!name || json_object_get(names, name))
				continue;
			snprintf(msg, sizeof(msg), "%s: line %lld column %lld: secret %s is not in "
				 "secrets.json", w->members[i].path,
				 (long long)json_integer_value(json_array_get(ref, 1)),
				 (long long)json_integer_value(json_array_get(ref, 2)), name);
			w->err.line = (unsigned)json_integer_value(json_array_get(ref, 1));
			w->err.column = (unsigned)json_integer_value(json_array_get(ref, 2));
			rc = writer_problem(w, APPKG_ERR_UNBOUND, msg);
		}
	json_decref(names);
	return rc;
}

int appkg_writer_set_secrets(appkg_writer *w, const char *json, size_t len, const char *password,
			     size_t password_len, enum appkg_kdf_level level, const void *previous,
			     size_t previous_len)
{
	struct secrets_header prev;

	if (writable(w))
		return w->err.code;
	if (!w->user)
		return appkg_fail(&w->err, APPKG_ERR_STATE, "set the manifest before the secrets");
	if (secrets_check_json(json, len, &w->err) || check_secret_refs(w, json, len))
		return w->err.code ? w->err.code : APPKG_ERR_UNBOUND;
	if (previous && secrets_parse_header(previous, previous_len, &prev, &w->err))
		return w->err.code;
	choose_package_id(w, previous ? &prev : NULL);
	if (secrets_encrypt(&w->secrets, json, len, password, password_len, level,
			    previous ? &prev : NULL, w->package_id, &w->err))
		return w->err.code;
	w->has_secrets = 1;
	return 0;
}

int appkg_writer_set_secrets_blob(appkg_writer *w, const void *blob, size_t len)
{
	struct secrets_header h;

	if (writable(w))
		return w->err.code;
	if (secrets_parse_header(blob, len, &h, &w->err))
		return w->err.code;
	w->secrets.len = 0;
	if (buf_append(&w->secrets, blob, len))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	snprintf(w->package_id, sizeof(w->package_id), "%s", h.package_id);
	w->has_secrets = 1;
	return 0;
}

int appkg_writer_secrets_blob(const appkg_writer *w, const void **blob, size_t *len)
{
	if (!w->has_secrets)
		return APPKG_ERR_NOT_FOUND;
	*blob = w->secrets.data;
	*len = w->secrets.len;
	return 0;
}

int appkg_writer_set_signing_key(appkg_writer *w, const char *seckey_path, const char *password,
				 size_t password_len)
{
	if (writable(w))
		return w->err.code;
	sig_key_free(w->sign_key);
	w->sign_key = NULL;
	if (sig_load_secret(&w->sign_key, seckey_path, password, password_len, &w->err))
		return soft(w, w->err.code);
	w->has_signature = 1;
	return 0;
}

int appkg_writer_set_signature_blob(appkg_writer *w, const void *sig, size_t len)
{
	if (writable(w))
		return w->err.code;
	if (len > APPKG_MAX_SIGNATURE_SIZE)
		return soft(w, appkg_fail(&w->err, APPKG_ERR_LIMIT_MEMBER_SIZE,
					  "manifest.json.minisig: over %u bytes", APPKG_MAX_SIGNATURE_SIZE));
	w->signature.len = 0;
	if (buf_append(&w->signature, sig, len))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	w->has_signature = 1;
	return 0;
}

/* "appkg package <name> <version>, signed <time>": one printable line. */
static void trusted_comment(appkg_writer *w, char *out, size_t cap)
{
	const char *name = json_string_value(json_object_get(w->user, "name"));
	const char *version = json_string_value(json_object_get(w->user, "version"));
	const char *epoch = getenv("SOURCE_DATE_EPOCH");
	unsigned long long when = epoch && *epoch ? strtoull(epoch, NULL, 10)
						  : (unsigned long long)time(NULL);

	snprintf(out, cap, "appkg package %.100s %.40s, signed %llu", name ? name : "",
		 version ? version : "(no version)", when);
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

/* The signature, decided once the manifest is measured (it rides in frame 0, whose size comes
 * first): a carried one is kept only when the manifest is the very text it signed (same), a
 * new one is made over the text. */
static int sign_manifest(appkg_writer *w, const void *text, size_t len, int same)
{
	char comment[256];

	if (!w->has_signature)
		return 0;
	if (!w->sign_key && !same) {
		w->signature_dropped = 1; /* it signed another manifest: it would be stale */
		return 0;
	}
	if (!w->sign_key)
		return 0;
	trusted_comment(w, comment, sizeof(comment));
	w->signature.len = 0;
	return sig_sign(&w->signature, w->sign_key, text, len, comment, &w->err);
}

/* ---- finish: frames, compression, index ----
 *
 * Frames go through a pipeline. Finish lays each frame out (tar headers, padding, the bytes of
 * the members it has in memory) and queues it; a thread reads the resource files the frame
 * still lacks straight into their place, checks each against the size and digest taken when
 * it was added (a file changed since is refused), and compresses the frame; finish writes the
 * frames in order. Without threads (-T 1) finish does that work itself. A frame's bytes depend
 * on its members only, so the threads change speed, not output. At most nslots frames are in
 * flight, which bounds the memory. Each thread compresses with a zstd context of its own,
 * which finish's threads take over from the stream's. Frame 0, the manifest, is made, checked,
 * digested, compressed and written apart (writer_frame0.c), before the pipeline goes on. */

static int pending_add(struct pending_list *l, const struct writer_member *m, size_t offset)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;
		void *p = realloc(l->p, cap * sizeof(*l->p));
		if (!p)
			return -1;
		l->p = p;
		l->cap = cap;
	}
	l->p[l->n++] = (struct pending){.m = m, .offset = offset};
	return 0;
}

/* Read up to n bytes of fd into dst; *got says how many came before the end of the file. */
static int read_full(int fd, unsigned char *dst, size_t n, size_t *got)
{
	ssize_t r;

	*got = 0;
	while (*got < n) {
		r = read(fd, dst + *got, n - *got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -1 : 0;
		*got += (size_t)r;
	}
	return 0;
}

/* Read m's file into dst, m->size bytes, and make sure it is what was validated: the same
 * size (no byte more) and the same digest. */
static int fill_one(const struct writer_member *m, unsigned char *dst, struct appkg_err *e)
{
	int fd = open(m->fs_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	unsigned char digest[APPKG_DIGEST_BYTES], extra;
	struct stat st;
	size_t got = 0, more = 0;
	int rc = 0;

	if (fd < 0)
		return appkg_fail(e, appkg_errno_code(errno), "%s: cannot open: %s", m->fs_path,
				  strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != m->size)
		rc = APPKG_ERR_SOURCE; /* gone, replaced or resized: changed */
	else if (read_full(fd, dst, m->size, &got) || read_full(fd, &extra, 1, &more))
		rc = appkg_fail(e, appkg_errno_code(errno), "%s: read: %s", m->fs_path,
				strerror(errno));
	close(fd);
	if (rc == 0 && got == m->size && more == 0) {
		digest_bytes(digest, dst, got);
		if (memcmp(digest, m->digest, sizeof(digest)) == 0)
			return 0;
	}
	return e->code ? e->code : appkg_fail(e, APPKG_ERR_SOURCE, "%s: changed while packing",
					      m->fs_path);
}

/* A thread's work on one frame: its files read in, then compression with cctx (a copied
 * frame has its bytes already). */
static void fill_and_compress(struct slot *s, ZSTD_CCtx *cctx)
{
	for (size_t i = 0; i < s->pending.n && !s->err.code; i++)
		fill_one(s->pending.p[i].m, s->in.data + s->pending.p[i].offset, &s->err);
	if (!s->err.code && !s->copied && !cctx)
		appkg_fail(&s->err, APPKG_ERR_NO_MEMORY, "zstd: cannot set up compression");
	else if (!s->err.code && !s->copied)
		frame_encode(cctx, s->in.data, s->in.len, &s->out, &s->err);
}

/* Each thread compresses with an encoder of its own, made on it: fewer encoders than slots,
 * whose tables stay in that CPU's cache from one frame to the next. */
static void *worker(void *arg)
{
	appkg_writer *w = arg;
	ZSTD_CCtx *cctx = NULL;
	struct slot *s;

	pthread_mutex_lock(&w->lock);
	if (w->nspare && w->spare_level == w->level)
		cctx = w->spare_cctx[--w->nspare]; /* left by a thread of the stream */
	pthread_mutex_unlock(&w->lock);
	if (!cctx)
		cctx = frame_encoder_new(w->level);
	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->taken == w->queued && !w->stop)
			pthread_cond_wait(&w->cond, &w->lock);
		if (w->stop)
			break; /* finished, or failed: what is left would not be written */
		s = &w->slots[w->taken++ % w->nslots];
		pthread_mutex_unlock(&w->lock);
		fill_and_compress(s, cctx);
		pthread_mutex_lock(&w->lock);
		s->done = 1;
		pthread_cond_broadcast(&w->cond);
	}
	if (cctx && (!w->nspare || w->spare_level == w->level) && w->nspare < MAX_THREADS) {
		w->spare_level = w->level;
		w->spare_cctx[w->nspare++] = cctx;
		cctx = NULL;
	}
	pthread_mutex_unlock(&w->lock);
	ZSTD_freeCCtx(cctx);
	return NULL;
}

/* Slots for the frames in flight and the threads: none for -T 1 (one slot, with the encoder
 * finish uses), else one per -T with two slots each, so that a thread finds a frame ready
 * while finish writes. */
static int slots_init(appkg_writer *w)
{
	int workers = w->threads > 1 ? w->threads : 0;

	w->nslots = workers ? 2 * (uint32_t)workers : 1;
	w->stop = 0;
	w->queued = w->taken = w->written = 0;
	w->slots = calloc(w->nslots, sizeof(*w->slots));
	w->workers = calloc((size_t)workers + 1, sizeof(*w->workers));
	if (!w->slots || !w->workers) {
		free(w->slots);
		w->slots = NULL; /* slots_free: no lock to destroy */
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	/* a thread that cannot start leaves its share to the others, or to finish itself */
	while (w->nworkers < workers &&
	       pthread_create(&w->workers[w->nworkers], NULL, worker, w) == 0)
		w->nworkers++;
	if (!w->nworkers && !(w->slots[0].cctx = frame_encoder_new(w->level)))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "zstd: cannot set up compression");
	return 0;
}

static void slots_free(appkg_writer *w)
{
	if (!w->slots) {
		free(w->workers);
		w->workers = NULL;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->stop = 1;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	for (int i = 0; i < w->nworkers; i++)
		pthread_join(w->workers[i], NULL);
	w->nworkers = 0;
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	for (uint32_t i = 0; i < w->nslots; i++) {
		ZSTD_freeCCtx(w->slots[i].cctx);
		buf_free(&w->slots[i].in);
		buf_free(&w->slots[i].out);
		free(w->slots[i].pending.p);
	}
	free(w->slots);
	free(w->workers);
	free(w->cur_pending.p);
	w->slots = NULL;
	w->workers = NULL;
	w->cur_pending = (struct pending_list){0};
}

/* Write the oldest frame in flight, once it is ready (made ready here without threads). */
static int write_next(appkg_writer *w)
{
	struct slot *s = &w->slots[w->written % w->nslots];
	struct frame_info *f = &w->frames[w->written];

	if (w->nworkers) {
		pthread_mutex_lock(&w->lock);
		while (!s->done)
			pthread_cond_wait(&w->cond, &w->lock);
		s->done = 0;
		pthread_mutex_unlock(&w->lock);
	} else {
		fill_and_compress(s, w->slots[0].cctx);
	}
	w->written++;
	if (s->err.code)
		return appkg_fail(&w->err, s->err.code, "%s", s->err.msg);
	if (s->out.len > UINT32_MAX)
		return appkg_fail(&w->err, APPKG_ERR_FRAME_SIZE, "compressed frame too large");
	f->csize = (uint32_t)(s->whole.len ? s->whole.len : s->out.len);
	f->offset = f == w->frames ? 0 : f[-1].offset + f[-1].csize; /* for writer_copy_verify */
	if (s->whole.len)
		return writer_copy_whole(w, s);
	if (writer_copy_flush(w) || io_write_all(w->fd, s->out.data, s->out.len, w->out_name, &w->err))
		return w->err.code;
	return 0;
}

/* Write every frame still in flight. */
static int flush_slots(appkg_writer *w)
{
	while (w->written < w->queued)
		if (write_next(w))
			return w->err.code;
	return writer_copy_flush(w);
}

/* Room for one more frame in w->frames. */
int writer_grow_frames(appkg_writer *w)
{
	uint32_t cap = w->frames_cap ? 2 * w->frames_cap : 64;
	void *p;

	if (w->nframes < w->frames_cap)
		return 0;
	if (!(p = realloc(w->frames, cap * sizeof(*w->frames))))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	w->frames = p;
	w->frames_cap = cap;
	return 0;
}

/* End the current frame: queue it, once a slot is free, for a thread to finish. */
static int cut_frame(appkg_writer *w)
{
	struct slot *s;
	struct buf tmp;
	struct pending_list pl;

	if (w->cur.len == 0)
		return 0;
	if (writer_grow_frames(w))
		return w->err.code;
	while (w->queued - w->written >= w->nslots)
		if (write_next(w))
			return w->err.code;
	w->frames[w->nframes++] = (struct frame_info){.dsize = (uint32_t)w->cur.len};
	s = &w->slots[w->queued % w->nslots];
	memset(&s->err, 0, sizeof(s->err));
	/* a frame made of the same members as one of the source package: take its bytes */
	if (w->copy_frames) {
		if ((s->copied = writer_copy_cut(w, s)) < 0)
			return w->err.code;
	} else {
		s->copied = w->cur_src && reader_frame_copy(w->cur_src, w->cur.data, w->cur.len, &s->out);
	}
	w->cur_src = NULL;
	w->cur_members = 0;
	tmp = s->in;
	s->in = w->cur;
	w->cur = tmp;
	w->cur.len = 0;
	pl = s->pending;
	s->pending = w->cur_pending;
	w->cur_pending = pl;
	w->cur_pending.n = 0;
	if (!w->nworkers) {
		w->queued++;
		return write_next(w);
	}
	pthread_mutex_lock(&w->lock);
	w->queued++;
	/* one frame for one thread: only threads wait here now (finish is this caller), and
	 * waking them all would send all but one back to sleep */
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

/* Does the member start a new frame? It does when it would take the current one past the
 * target size (spec: "Frame grouping"); the manifest's signature always joins frame 0. */
static int starts_frame(appkg_writer *w, const char *path, uint64_t size)
{
	if (w->copy_frames && w->nframes > 0)
		return writer_copy_starts_frame(w, path, size);
	return strcmp(path, SIGNATURE_PATH) != 0 && w->cur.len > 0 &&
	       w->cur.len + tar_entry_bytes(path, size) > APPKG_FRAME_TARGET;
}

/* The index entry of a member about to go into the current frame, which is cut first when the
 * member starts a new one. */
static int start_entry(appkg_writer *w, const char *path, uint64_t size,
		       const unsigned char *digest)
{
	struct index_entry *x = &w->index[w->nindex++];

	if (starts_frame(w, path, size) && cut_frame(w))
		return w->err.code;
	w->cur_members++;
	x->path = (char *)path;
	x->path_len = (uint32_t)strlen(path);
	x->frame = w->nframes;
	x->offset = (uint32_t)w->cur.len;
	x->size = size;
	memcpy(x->digest, digest, APPKG_DIGEST_BYTES);
	if (w->copy_frames)
		writer_copy_note(w, x);
	return 0;
}

/* Append one member entry to the current frame. The data is given, or, with from, left for the
 * frame's thread to read from from's file. */
static int put_entry(appkg_writer *w, const char *path, const void *data, uint64_t size,
		     const unsigned char *digest, const struct writer_member *from)
{
	int rc;

	if (start_entry(w, path, size, digest))
		return w->err.code;
	rc = tar_put_header(&w->cur, path, size, w->mtime);
	if (!rc && from) {
		rc = pending_add(&w->cur_pending, from, w->cur.len) || buf_reserve(&w->cur, size);
		w->cur.len += rc ? 0 : size;
	} else if (!rc) {
		rc = buf_append(&w->cur, data, size);
	}
	if (rc || tar_put_padding(&w->cur, size))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

static int put_member(appkg_writer *w, const char *path, const void *data, uint64_t size,
		      const unsigned char *digest)
{
	return put_entry(w, path, data, size, digest, NULL);
}

/* A member copied from a package. The frame is cut before the source decodes the member's
 * frame, while it still holds the one the current frame may be a copy of. */
static int put_copy(appkg_writer *w, const struct writer_member *m)
{
	const void *data;
	size_t len;
	int rc;

	if (starts_frame(w, m->path, m->size) && cut_frame(w))
		return w->err.code;
	rc = w->verify ? reader_read_digest_only(m->src, m->path, &data, &len)
		       : appkg_reader_read(m->src, m->path, &data, &len);
	if (rc)
		return appkg_fail(&w->err, rc, "%s", appkg_reader_error(m->src));
	if (w->cur_members == 0)
		w->cur_src = m->src;
	else if (w->cur_src != m->src)
		w->cur_src = NULL;
	return put_member(w, m->path, data, len, m->digest);
}

/* A resource from memory, from a package, or from its file: read again by the frame's thread,
 * which makes sure it is what was validated. */
static int put_resource(appkg_writer *w, const struct writer_member *m)
{
	if (m->mem)
		return put_member(w, m->path, m->mem, m->size, m->digest);
	if (m->src)
		return w->copy_frames ? writer_copy_put(w, m) : put_copy(w, m);
	w->cur_src = NULL;
	return put_entry(w, m->path, NULL, m->size, m->digest, m);
}

int writer_put_later(appkg_writer *w, const struct writer_member *m)
{
	uint64_t n = tar_entry_bytes(m->path, m->size);

	if (start_entry(w, m->path, m->size, m->digest))
		return w->err.code;
	if (pending_add(&w->cur_pending, m, w->cur.len) || buf_reserve(&w->cur, n))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	w->cur.len += n;
	return 0;
}

/* ---- the stream: resources framed as they are added ----
 *
 * While the resources come in path order (a directory walk adds them so), each one is put
 * into its frame when it is added, from the bytes just read, checked and digested, and each
 * full frame is compressed (on the threads) into a temporary file: every file is read once,
 * and the package holds the very bytes that were checked and digested. finish writes frame
 * 0 (the manifest, which needs every digest), copies the compressed frames after it and goes
 * on with the frame still open. Resource frames start at frame 1 and depend only on the
 * resources in order, as at finish, so the output is the same byte for byte. What breaks the
 * order (a name out of order or added twice, a member copied from a package, a selection, a
 * change of mtime or level) stops the stream: what it held is dropped, and finish reads
 * those files again and checks them against their digests, as without a stream. */

struct stream_at {
	uint32_t frame, offset; /* a member's frame, counted from the first resource frame */
};

struct stream {
	int stopped, ready; /* ready: ended at finish, to be spliced after frame 0 */
	FILE *tmp;          /* the compressed frames */
	uint64_t mtime;
	int level;
	size_t n, cap;      /* members streamed: w->members[0..n) */
	struct stream_at *at;
	struct frame_info *frames; /* once ready: the full frames in tmp, and the open one */
	uint32_t nframes;
	struct buf cur;
	int cur_members;
	pthread_t closer;   /* closing tmp once copied (stream_let_go) */
	int closing;
};

static void stream_free(appkg_writer *w)
{
	struct stream *st = w->stream;

	if (!st)
		return;
	if (st->tmp && !st->ready) {
		slots_free(w);
		w->fd = -1;
		w->nframes = 0;
		w->cur.len = 0;
		w->cur_members = 0;
	}
	if (st->closing)
		pthread_join(st->closer, NULL);
	if (st->tmp)
		fclose(st->tmp);
	free(st->at);
	free(st->frames);
	buf_free(&st->cur);
	free(st);
	w->stream = NULL;
}

/* No stream for this writer from now on: finish lays every frame out. */
static void stream_stop(appkg_writer *w)
{
	if (w->stream && w->stream->stopped)
		return; /* stopped already (each of 100,000 copies stops it) */
	stream_free(w);
	w->stream = calloc(1, sizeof(*w->stream)); /* NULL: tried again, stopped again */
	if (w->stream)
		w->stream->stopped = 1;
}

static int stream_start(appkg_writer *w)
{
	struct stream *st = calloc(1, sizeof(*st));

	if (!st)
		return -1;
	w->stream = st;
	st->mtime = w->mtime;
	st->level = w->level;
	if (!(st->tmp = tmpfile()))
		return -1;
	w->fd = fileno(st->tmp);
	return slots_init(w);
}

/* Member i into the open frame, as put_entry would put it at finish. */
static int stream_put(appkg_writer *w, struct stream *st, size_t i, const void *data, size_t len)
{
	const char *path = w->members[i].path, *out_name = w->out_name;
	int rc;

	if (st->n == st->cap) {
		size_t cap = st->cap ? 2 * st->cap : 256;
		void *p = realloc(st->at, cap * sizeof(*st->at));
		if (!p)
			return -1;
		st->at = p;
		st->cap = cap;
	}
	w->out_name = "temporary file";
	rc = starts_frame(w, path, len) && cut_frame(w);
	w->out_name = out_name;
	if (rc)
		return -1;
	st->at[i] = (struct stream_at){w->nframes, (uint32_t)w->cur.len};
	w->cur_members++;
	if (tar_put_header(&w->cur, path, len, w->mtime) || buf_append(&w->cur, data, len) ||
	    tar_put_padding(&w->cur, len))
		return -1;
	st->n++;
	return 0;
}

/* The member just added (w->members[w->n - 1], its bytes data), into the stream. */
static void stream_add(appkg_writer *w, const void *data, size_t len)
{
	struct stream *st = w->stream;
	struct appkg_err saved = w->err;
	size_t i = w->n - 1;

	if (st && st->stopped)
		return;
	if (!st && (i != 0 || w->only || w->copy_frames || stream_start(w))) {
		w->err = saved;
		stream_stop(w);
		return;
	}
	st = w->stream;
	if (i != st->n || w->mtime != st->mtime || w->level != st->level ||
	    (i && strcmp(w->members[i - 1].path, w->members[i].path) >= 0) ||
	    stream_put(w, st, i, data, len)) {
		w->err = saved;
		stream_stop(w);
	}
}

/* At finish, before the manifest: every full frame written to the temporary file, the frames
 * and the open one kept for stream_splice, the threads stopped; or the stream stopped when it
 * does not hold every member as finish would lay them out. */
static void stream_end(appkg_writer *w)
{
	struct stream *st = w->stream;
	struct appkg_err saved = w->err;

	if (!st || st->stopped)
		return;
	if (st->n != w->n || w->only || w->mtime != st->mtime || w->level != st->level ||
	    flush_slots(w) || fflush(st->tmp)) {
		w->err = saved;
		stream_stop(w);
		return;
	}
	slots_free(w);
	w->fd = -1;
	st->frames = w->frames;
	st->nframes = w->nframes;
	st->cur = w->cur;
	st->cur_members = w->cur_members;
	w->frames = NULL;
	w->nframes = w->frames_cap = 0;
	w->cur = (struct buf){0};
	w->cur_members = 0;
	st->ready = 1;
}

/* Copy the compressed frames of the temporary file to the output. */
static int stream_copy(appkg_writer *w, struct stream *st)
{
	uint64_t total = 0;

	for (uint32_t i = 0; i < st->nframes; i++)
		total += st->frames[i].csize;
	return io_copy_range(fileno(st->tmp), 0, total, w->fd, w->out_name, &w->err);
}

static void *close_file(void *f)
{
	fclose(f);
	return NULL;
}

/* The temporary file, once copied: its last close frees every page of it (30 ms for the 75 MB
 * of 100,000 resources), on a thread of its own while finish writes the rest and syncs it.
 * stream_free waits for it. With -T 1, or no thread, stream_free closes it. */
static void stream_let_go(appkg_writer *w, struct stream *st)
{
	if (w->threads > 1 && pthread_create(&st->closer, NULL, close_file, st->tmp) == 0) {
		st->closing = 1;
		st->tmp = NULL;
	}
}

/* After frame 0: the streamed frames follow it, their members go into the index, and the
 * open frame becomes the current one. Returns how many members are in, or -1. */
static long stream_splice(appkg_writer *w)
{
	struct stream *st = w->stream;
	uint32_t base;

	if (!st || !st->ready)
		return 0;
	if (flush_slots(w))
		return -1;
	base = w->nframes;
	if (w->frames_cap < base + st->nframes + 2) {
		void *p = realloc(w->frames, (base + st->nframes + 2) * sizeof(*w->frames));
		if (!p)
			return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory"), -1;
		w->frames = p;
		w->frames_cap = base + st->nframes + 2;
	}
	if (st->nframes) /* else st->frames is NULL */
		memcpy(w->frames + base, st->frames, st->nframes * sizeof(*w->frames));
	w->nframes += st->nframes;
	for (uint32_t i = base; i < w->nframes; i++) /* where they land in the output */
		w->frames[i].offset = w->frames[i - 1].offset + w->frames[i - 1].csize;
	pthread_mutex_lock(&w->lock);
	w->queued = w->taken = w->written = w->nframes;
	pthread_mutex_unlock(&w->lock);
	if (stream_copy(w, st))
		return -1;
	stream_let_go(w, st);
	for (size_t i = 0; i < st->n; i++) {
		struct index_entry *x = &w->index[w->nindex++];
		const struct writer_member *m = &w->members[i];
		x->path = m->path;
		x->path_len = (uint32_t)strlen(m->path);
		x->frame = base + st->at[i].frame;
		x->offset = st->at[i].offset;
		x->size = m->size;
		memcpy(x->digest, m->digest, APPKG_DIGEST_BYTES);
	}
	buf_free(&w->cur);
	w->cur = st->cur;
	w->cur_members = st->cur_members;
	st->cur = (struct buf){0};
	return (long)st->n;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct writer_member *)a)->path, ((const struct writer_member *)b)->path);
}

/* The members by path. A directory walk adds them in that order already: qsort would only
 * take a copy of the whole array (glibc sorts by merging), 11 MiB for 100,000 members. */
static void sort_by_path(appkg_writer *w)
{
	for (size_t i = 1; i < w->n; i++)
		if (member_cmp(&w->members[i - 1], &w->members[i]) > 0) {
			qsort(w->members, w->n, sizeof(*w->members), member_cmp);
			return;
		}
}

static int string_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The user's manifest against the members: every problem to the handler, the first on w. */
static int check_manifest(appkg_writer *w)
{
	struct user_check c = {.m = w->members, .n = w->n, .rejected = w->rejected,
			       .nrejected = w->nrejected, .prune = w->prune,
			       .fn = w->problem_fn, .ctx = w->problem_ctx};

	sort_by_path(w);
	if (w->nrejected > 1)
		qsort(w->rejected, w->nrejected, sizeof(*w->rejected), string_cmp);
	if (w->only && w->user && writer_apply_selection(w))
		return w->err.code;
	c.n = w->n;
	return manifest_check_user(w->user, &c, &w->err);
}

int appkg_writer_check(appkg_writer *w)
{
	if (writable(w))
		return w->err.code;
	if (!w->user)
		return soft(w, appkg_fail(&w->err, APPKG_ERR_STATE, "no manifest set"));
	return soft(w, check_manifest(w));
}

int appkg_writer_signature_dropped(const appkg_writer *w)
{
	return w->signature_dropped;
}

static int sort_members(appkg_writer *w)
{
	const char **paths;
	int rc;

	sort_by_path(w);
	for (size_t i = 1; i < w->n; i++)
		if (!strcmp(w->members[i - 1].path, w->members[i].path))
			return appkg_fail(&w->err, APPKG_ERR_TAR_DUPLICATE, "%s: added twice",
					  w->members[i].path);
	paths = malloc((w->n + 1) * sizeof(*paths));
	if (!paths)
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; i < w->n; i++)
		paths[i] = w->members[i].path;
	rc = names_check_collisions(paths, w->n, &w->err);
	free(paths);
	return rc;
}

/* A selection keeps only the inputs its resources use. */
static void drop_unused_inputs(appkg_writer *w)
{
	json_t *inputs = json_object_get(w->user, "inputs"), *v;
	const char *name;
	void *tmp;

	json_object_foreach_safe(inputs, tmp, name, v) {
		int used = 0;
		for (size_t i = 0; i < w->n && !used; i++)
			used = json_object_get(w->members[i].uses, name) != NULL;
		if (!used)
			json_object_del(inputs, name);
	}
}

/* Pass one of the manifest: its size (the tar header and frame 0's pledged size come first),
 * and the signature, which rides in frame 0 after it. Without a signature the text is
 * measured, not made; with one, it is made and let go piece by piece (only a new signature
 * needs it whole, and holds it for that). */
static int measure_manifest(appkg_writer *w, size_t *len)
{
	struct manifest_text t;
	struct buf whole = {0};
	int same = w->has_signature && !w->sign_key, rc;
	const void *piece;
	size_t k;

	if (w->only)
		drop_unused_inputs(w);
	*len = 0;
	rc = manifest_text_start(&t, w->user, w->members, w->n,
				 w->has_secrets ? w->secrets.data : NULL, w->secrets.len,
				 w->package_id, 0, &w->err);
	if (!rc && !w->has_signature)
		rc = manifest_text_length(&t, len, &w->err);
	while (!rc && (rc = manifest_text_next(&t, &piece, &k, &w->err)) == 1) {
		same = same && *len + k <= w->user_text.len &&
		       !memcmp(w->user_text.data + *len, piece, k);
		*len += k;
		rc = w->sign_key && buf_append(&whole, piece, k)
			     ? appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory") : 0;
	}
	manifest_text_free(&t);
	if (!rc && *len > APPKG_MAX_MANIFEST_SIZE)
		rc = appkg_fail(&w->err, APPKG_ERR_LIMIT_MEMBER_SIZE, "manifest.json: too large");
	if (!rc)
		rc = sign_manifest(w, whole.data, *len, same && *len == w->user_text.len);
	buf_free(&whole);
	return rc;
}

/* Progress (appkg_writer_set_progress): the manifest, each resource and the secrets count as
 * members with their data sizes; the signature rides with the manifest. */
static void progress_start(appkg_writer *w, size_t manifest_len)
{
	w->progress_done = 0;
	w->progress_members = 0;
	w->progress_total = manifest_len + (w->has_secrets ? w->secrets.len : 0);
	for (size_t i = 0; i < w->n; i++)
		w->progress_total += w->members[i].size;
}

static void progress_step(appkg_writer *w, uint64_t bytes)
{
	w->progress_done += bytes;
	w->progress_members++;
	if (w->progress_fn)
		w->progress_fn(w->progress_ctx, w->progress_done, w->progress_total,
			       w->progress_members, w->n + 1 + (size_t)w->has_secrets);
}

void appkg_writer_set_progress(appkg_writer *w, appkg_progress_fn fn, void *ctx)
{
	w->progress_fn = fn;
	w->progress_ctx = ctx;
}

static int write_members(appkg_writer *w, size_t len)
{
	unsigned char digest[APPKG_DIGEST_BYTES];
	struct buf tail = {0};
	long streamed;
	int rc;

	progress_start(w, len);
	if (writer_frame0(w, len, digest))
		return w->err.code;
	/* the index only now, not beside frame 0's window (6 MiB for 100,000 members) */
	if (!(w->index = calloc(w->n + 3, sizeof(*w->index))))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	writer_index_frame0(w, len, digest);
	pthread_mutex_lock(&w->lock); /* frame 0 is written: the pipeline goes on from frame 1 */
	w->queued = w->taken = w->written = w->nframes;
	pthread_mutex_unlock(&w->lock);
	progress_step(w, len);
	if ((streamed = stream_splice(w)) < 0)
		return w->err.code;
	for (size_t i = 0; i < (size_t)streamed; i++)
		progress_step(w, w->members[i].size);
	for (size_t i = (size_t)streamed; i < w->n; i++) {
		if (put_resource(w, &w->members[i]))
			return w->err.code;
		progress_step(w, w->members[i].size);
	}
	if (w->has_secrets) {
		digest_bytes(digest, w->secrets.data, w->secrets.len);
		if (put_member(w, SECRETS_PATH, w->secrets.data, w->secrets.len, digest))
			return w->err.code;
		progress_step(w, w->secrets.len);
	}
	if (cut_frame(w) || buf_append_zeros(&w->cur, TAR_END_BYTES) || cut_frame(w) ||
	    flush_slots(w))
		return w->err.code ? w->err.code : appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = index_encode(&tail, w->index, w->nindex) ||
	     seek_table_encode(&tail, w->frames, w->nframes);
	if (rc)
		rc = appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	else
		rc = io_write_all(w->fd, tail.data, tail.len, w->out_name, &w->err);
	buf_free(&tail);
	return rc;
}

/* The memory the adds freed (read-ahead buffers of the threads, the walk's lists), handed
 * back before frame 0 is made: with 100,000 resources that is some 10 MiB. */
static void trim_heap(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

int appkg_writer_finish_fd(appkg_writer *w, int fd)
{
	size_t len = 0;
	int rc;

	if (writable(w))
		return w->err.code;
	w->finished = 1;
	if (!w->user)
		return appkg_fail(&w->err, APPKG_ERR_STATE, "no manifest set");
	stream_end(w);
	if (sort_members(w) || check_manifest(w))
		return w->err.code;
	writer_pool_free(w->pool); /* no file is read ahead from here on */
	w->pool = NULL;
	trim_heap();
	if (measure_manifest(w, &len))
		return w->err.code;
	w->fd = fd;
	w->out_name = w->out_name ? w->out_name : "output";
	if (slots_init(w))
		rc = appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	else
		rc = write_members(w, len);
	slots_free(w);
	return rc;
}

/* Open the written file again and read every member back, as any reader would. */
static int verify_output(appkg_writer *w, int fd, const char *tmp)
{
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *data;
	int rc;

	if (!r)
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	if (fsync(fd))
		rc = appkg_fail(&w->err, errno == ENOSPC ? APPKG_ERR_NO_SPACE : APPKG_ERR_IO,
				"%s: fsync: %s", tmp, strerror(errno));
	else if ((rc = appkg_reader_open_path(r, tmp)) == 0)
		while ((rc = appkg_reader_next(r, &m, &data)) == 1)
			;
	if (rc < 0 && !w->err.code)
		appkg_fail(&w->err, rc, "%s: written package does not verify: %s", tmp,
			   appkg_reader_error(r));
	appkg_reader_free(r);
	return rc < 0 ? rc : 0;
}

int appkg_writer_finish_path(appkg_writer *w, const char *path)
{
	char *tmp = NULL;
	int fd, rc;

	if (writable(w))
		return w->err.code;
	w->out_name = path;
	fd = io_temp_beside(path, &tmp, &w->err);
	if (fd < 0)
		return fd;
	w->copy.opens_output = w->verify && w->copy_frames;
	rc = appkg_writer_finish_fd(w, fd);
	if (!rc && w->verify)
		rc = w->copy_frames ? writer_copy_verify(w, fd, tmp) : verify_output(w, fd, tmp);
	if (!rc)
		rc = io_commit(fd, tmp, path, &w->err);
	else
		close(fd);
	if (!rc && w->copy.output)
		reader_file_renamed(w->copy.output);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}
