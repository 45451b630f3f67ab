/* SPDX-License-Identifier: MIT */
/*
 * Package reader. Opening reads only the seek table, the member index and frame 0 (the
 * manifest), and checks them against each other; members are then read one frame at a time,
 * either in order (appkg_reader_next, which also checks that the entries tile the frames and
 * that the archive ends properly) or at random through the index (appkg_reader_read).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "internal.h"
#include "signature.h"

#define MAX_TRUSTED_KEYS 16

struct appkg_reader {
	struct appkg_err err;
	int fd, own_fd;
	const unsigned char *mem;
	uint64_t size;
	int opened;
	struct container c;
	ZSTD_DCtx *dctx;
	struct buf frame, compressed, signature;
	struct buf frame0;         /* frame 0 as decoded, which holds the manifest */
	struct buf manifest_bytes; /* the manifest inside frame0 (not an allocation of its own) */
	int64_t frame_no; /* frame held in `frame`, or -1 */
	size_t find_next; /* the index entry after the one appkg_reader_find found last */
	int64_t tiled_frame; /* the last frame a random read found tiled (step 13), or -1 */
	int64_t mtime;       /* of the manifest's header, which every header repeats (§5.2), or -1 */
	struct manifest m;
	struct appkg_key *keys[MAX_TRUSTED_KEYS];
	size_t nkeys;
	appkg_problem_fn on_problem; /* report-and-continue mode (appkg-verify) */
	appkg_problem_callback on_problem_data; /* the same, problems as data */
	void *problem_ctx;
	struct resources *resources; /* listing state of resources.c, or NULL */
	int listed; /* the manifest loaded: m.res may be searched */
	int seq_bad;       /* sequential: the current frame did not decode; skip its members */
	uint32_t next;     /* sequential: next index entry */
	int64_t seq_frame; /* sequential: frame of the previous member, or -1 */
	int skip_json;     /* digests only: the caller validates the JSON later */
	uint64_t next_pos; /* sequential: position in that frame */
	appkg_progress_fn progress_fn; /* appkg_reader_set_progress */
	void *progress_ctx;
	uint32_t progress_seen; /* index entries counted so far */
	uint64_t progress_done, progress_total;
	int64_t checked_frame; /* the frame in `frame` whose members have all passed, or -1 */
	uint32_t checked_first; /* its first index entry */
	struct buf checked_offs; /* where each member's data begins in it (uint32_t each) */
	struct ahead *ahead;   /* appkg_reader_set_readahead, or NULL */
	struct stat opened_as; /* the package file when it was opened (reader_file_changed) */
	struct manifest_job *manifest_job; /* digest and validation at open, or NULL */
};

/* Work of the open done on a second thread (the open is most of what a mount does before it
 * is ready, and a commit opens the package it wrote): frame 0 is decoded while the index's
 * names are checked, then the manifest's digest taken and its JSON validated while its entries
 * are read. Each outcome is told in the order the checks had when they ran one after the
 * other. */
struct job {
	pthread_t thread;
	int threaded;
};

struct manifest_job {
	struct job job;
	const unsigned char *data;
	size_t len;
	unsigned char digest[APPKG_DIGEST_BYTES];
	struct appkg_err err; /* of the validation */
};

/* Read-ahead (appkg_reader_set_readahead): while the caller uses the members of one frame,
 * threads of the reader decode the frames after it and check each whole (tiling, and every
 * member as entry_at checks it: header, path, size, digest, JSON, placeholders), each with its
 * own decoder and buffers, reading only what does not change after open (the index, the
 * manifest, the package bytes). A frame that passed is handed over by swapping buffers, and its
 * members are then served without being checked again; one that failed anything is dropped, and
 * the read that wants it decodes and checks it as before, so that the message is the same. */
#define AHEAD_MAX_THREADS 8
#define AHEAD_BUDGET (8u << 20) /* decoded bytes asked for beyond the next frame */

enum slot_state { SLOT_FREE, SLOT_WANTED, SLOT_DOING, SLOT_READY, SLOT_FAILED };

struct slot {
	int64_t frame; /* the frame held or asked for, or -1 */
	enum slot_state state;
	struct buf data, compressed;
	struct buf offs; /* where each member's data begins, as the check found it (uint32_t) */
	uint32_t first;  /* the frame's first index entry */
	ZSTD_DCtx *dctx;
	struct appkg_err err;
};

struct ahead {
	pthread_t thread[AHEAD_MAX_THREADS];
	int threads; /* slots in use, one per thread */
	int started; /* threads running */
	pthread_mutex_t lock;
	pthread_cond_t work; /* a slot was asked for, or quit */
	pthread_cond_t done; /* a slot was prepared */
	int quit;
	struct slot slot[AHEAD_MAX_THREADS];
};

appkg_reader *appkg_reader_new(void)
{
	appkg_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->fd = -1;
	r->frame_no = -1;
	r->tiled_frame = -1;
	r->mtime = -1;
	r->seq_frame = -1;
	r->checked_frame = -1;
	r->dctx = ZSTD_createDCtx();
	if (!r->dctx) {
		free(r);
		return NULL;
	}
	return r;
}

static void ahead_stop(appkg_reader *r);
static int manifest_job_end(appkg_reader *r);

void appkg_reader_free(appkg_reader *r)
{
	if (!r)
		return;
	ahead_stop(r);
	manifest_job_end(r);
	if (r->own_fd)
		close(r->fd);
	container_free(&r->c);
	ZSTD_freeDCtx(r->dctx);
	buf_free(&r->frame);
	buf_free(&r->compressed);
	buf_free(&r->frame0);
	buf_free(&r->signature);
	buf_free(&r->checked_offs);
	manifest_free(&r->m);
	for (size_t i = 0; i < r->nkeys; i++)
		sig_key_free(r->keys[i]);
	resources_free(r->resources);
	free(r);
}

const char *appkg_reader_error(const appkg_reader *r)
{
	return r->err.msg; /* kept after a failed appkg_reader_read, which clears the code */
}

void appkg_reader_set_problem_handler(appkg_reader *r, appkg_problem_fn fn, void *ctx)
{
	r->on_problem = fn;
	r->on_problem_data = NULL;
	r->problem_ctx = ctx;
}

void appkg_reader_set_problem_callback(appkg_reader *r, appkg_problem_callback fn, void *ctx)
{
	r->on_problem = NULL;
	r->on_problem_data = fn;
	r->problem_ctx = ctx;
}

static const char *problem_member(const appkg_reader *r);

/* After a failure recorded on r->err: with a problem handler, report it and carry on (return
 * 0); without, the failure is final (return its code). */
static int problem(appkg_reader *r)
{
	struct appkg_problem p;

	if ((!r->on_problem && !r->on_problem_data) || r->err.code == APPKG_ERR_NO_MEMORY)
		return r->err.code;
	if (r->on_problem) {
		r->on_problem(r->problem_ctx, r->err.code, r->err.msg);
	} else {
		problem_fill(&r->err, problem_member(r), &p);
		r->on_problem_data(r->problem_ctx, &p);
	}
	r->err.code = 0;
	r->err.msg[0] = '\0';
	r->err.line = r->err.column = 0;
	return 0;
}

static int source_read(void *ctx, void *buf, size_t len, uint64_t off, struct appkg_err *e)
{
	appkg_reader *r = ctx;

	if (off > r->size || len > r->size - off)
		return appkg_fail(e, APPKG_ERR_TRUNCATED, "package ends early");
	if (r->mem) {
		memcpy(buf, r->mem + off, len);
		return 0;
	}
	return io_pread_all(r->fd, buf, len, off, e);
}

static int ahead_take(appkg_reader *r, uint32_t f);

/* Decode frame f into r->frame, a failure told on e. */
static int decode_frame(appkg_reader *r, uint32_t f, struct appkg_err *e)
{
	const struct frame_info *fi = &r->c.frames[f];
	int rc;

	r->compressed.len = 0;
	if (r->mem) {
		rc = frame_decode(r->dctx, r->mem + fi->offset, fi->csize, &r->frame, fi->dsize, e);
	} else if (fi->csize > FRAME_CHUNK) {
		rc = frame_decode_from(r->dctx, source_read, r, fi->offset, fi->csize, &r->compressed,
				       &r->frame, fi->dsize, e);
		r->compressed.len = 0;
	} else if (buf_reserve(&r->compressed, fi->csize)) {
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	} else if (source_read(r, r->compressed.data, fi->csize, fi->offset, e)) {
		return e->code;
	} else {
		r->compressed.len = fi->csize;
		rc = frame_decode(r->dctx, r->compressed.data, fi->csize, &r->frame, fi->dsize, e);
	}
	if (rc) {
		char why[APPKG_MSG_MAX];
		memcpy(why, e->msg, sizeof(why));
		snprintf(e->msg, sizeof(e->msg), "frame %u: %.480s", f, why);
	}
	return rc;
}

static int load_frame(appkg_reader *r, uint32_t f)
{
	if (r->frame_no == f)
		return 0;
	if (ahead_take(r, f))
		return 0;
	r->frame_no = -1;
	r->checked_frame = -1;
	if (decode_frame(r, f, &r->err))
		return r->err.code;
	r->frame_no = f;
	return 0;
}

static uint64_t kind_limit(int kind)
{
	switch (kind) {
	case MEMBER_MANIFEST: return APPKG_MAX_MANIFEST_SIZE;
	case MEMBER_SIGNATURE: return APPKG_MAX_SIGNATURE_SIZE;
	case MEMBER_SECRETS: return APPKG_MAX_SECRETS_BLOB;
	default: return APPKG_MAX_RESOURCE_SIZE;
	}
}

/* Without a password: the blob's format, KDF bounds and binding to this package. */
static int check_secrets_header(appkg_reader *r, const void *blob, size_t len)
{
	struct secrets_header h;
	const char *id = json_string_value(json_object_get(r->m.root, "package_id"));

	if (secrets_parse_header(blob, len, &h, &r->err))
		return r->err.code;
	if (!id || strcmp(id, h.package_id) != 0)
		return appkg_fail(&r->err, APPKG_ERR_SECRETS_BINDING, "secrets.enc: bound to package_id "
				  "\"%s\", not this package's", h.package_id);
	return 0;
}

/* Check the parsed headers t against the index entry x. */
static int head_check(const appkg_reader *r, const struct index_entry *x,
		      const struct tar_entry *t, struct appkg_err *e)
{
	if (r->mtime >= 0 && t->mtime != (uint64_t)r->mtime)
		return appkg_fail(e, APPKG_ERR_TAR_HEADER, "%s: tar mtime %llu differs from "
				  "manifest.json's %llu", t->path, (unsigned long long)t->mtime,
				  (unsigned long long)r->mtime);
	if (t->path_len != x->path_len || memcmp(t->path, x->path, x->path_len) != 0)
		return appkg_fail(e, APPKG_ERR_INDEX, "%s: index names %s at this position", t->path,
				  x->path);
	if (t->size != x->size)
		return appkg_fail(e, APPKG_ERR_SIZE_MISMATCH, "%s: size %llu, index says %llu", x->path,
				  (unsigned long long)t->size, (unsigned long long)x->size);
	return 0;
}

/* Check the parsed entry t, its data at data, against the index entry x; known is the digest
 * of the data when the caller has it already (the read-ahead's batches), or NULL. */
static int member_check(const appkg_reader *r, const struct index_entry *x,
			const struct tar_entry *t, const unsigned char *data, int skip_json,
			const unsigned char *known, struct appkg_err *e)
{
	unsigned char digest[APPKG_DIGEST_BYTES];

	if (head_check(r, x, t, e))
		return e->code;
	if (!known)
		digest_bytes(digest, data, t->size);
	if (memcmp(known ? known : digest, x->digest, sizeof(digest)) != 0)
		return appkg_fail(e, APPKG_ERR_DIGEST_MISMATCH, "%s: digest mismatch", x->path);
	if (x->kind == MEMBER_RESOURCE && !skip_json)
		return json_check_resource(data, t->size, e, x->path) ||
		       manifest_check_placeholders(&r->m, x->path, data, t->size, e) ? e->code : 0;
	return 0;
}

/* Parse the headers of the entry at pos of a decoded frame. */
static int entry_parse(const struct buf *frame, uint64_t pos, struct tar_entry *t,
		       struct appkg_err *e)
{
	t->total = 0; /* stays 0 when the headers do not parse: the entry's length is unknown */
	if (tar_parse_entry(frame->data + pos, frame->len - pos, t, e)) {
		t->total = 0;
		return e->code;
	}
	return 0;
}

/* Parse the headers of the entry at pos of a decoded frame and check them against the index
 * entry x. */
static int entry_head(const appkg_reader *r, const struct buf *frame,
		      const struct index_entry *x, uint64_t pos, struct tar_entry *t,
		      struct appkg_err *e)
{
	return entry_parse(frame, pos, t, e) || head_check(r, x, t, e) ? e->code : 0;
}

/* Parse the entry at pos of a decoded frame and check it against the index entry x. */
static int entry_check(const appkg_reader *r, const struct buf *frame,
		       const struct index_entry *x, uint64_t pos, struct tar_entry *t,
		       int skip_json, struct appkg_err *e)
{
	if (entry_parse(frame, pos, t, e))
		return e->code;
	return member_check(r, x, t, frame->data + pos + t->data_off, skip_json, NULL, e);
}

/* Parse the entry at the index position of r->frame and check it against the index entry. */
static int entry_at(appkg_reader *r, const struct index_entry *x, uint64_t pos,
		    struct tar_entry *t)
{
	if (entry_check(r, &r->frame, x, pos, t, r->skip_json, &r->err))
		return r->err.code;
	if (x->kind == MEMBER_SECRETS)
		return check_secrets_header(r, r->frame.data + pos + t->data_off, t->size);
	return 0;
}

static int find_entry(const appkg_reader *r, const char *path, size_t len)
{
	size_t lo = 0, hi = r->c.nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct index_entry *x = &r->c.entries[mid];
		int c = memcmp(x->path, path, x->path_len < len ? x->path_len : len);
		if (c == 0)
			c = x->path_len < len ? -1 : x->path_len > len;
		if (c == 0)
			return (int)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* Frame 0 was decoded and checked at open; its members are kept (manifest, signature). */
static void frame0_member(appkg_reader *r, const struct index_entry *x, const void **data,
			  size_t *len)
{
	const struct buf *b = x->kind == MEMBER_MANIFEST ? &r->manifest_bytes : &r->signature;

	*data = b->data;
	*len = b->len;
}

/* Step 13 for one decoded frame f, i being one of its entries: its entries follow each other
 * from offset 0 to the frame's end, so that no bytes hide between or after them. Their data is
 * checked when they are read. */
static int frame_tiled(const appkg_reader *r, const struct buf *frame, uint32_t i,
		       struct appkg_err *e)
{
	const uint32_t f = r->c.entries[i].frame;
	uint64_t pos = 0;
	struct tar_entry t;

	while (i > 0 && r->c.entries[i - 1].frame == f)
		i--;
	for (; i < r->c.nentries && r->c.entries[i].frame == f; i++) {
		if (r->c.entries[i].offset != pos)
			return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: entries do not tile frame %u",
					  r->c.entries[i].path, f);
		if (tar_parse_entry(frame->data + pos, frame->len - pos, &t, e))
			return e->code;
		pos += t.total;
	}
	if (pos != frame->len)
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "frame %u: bytes after the last member", f);
	return 0;
}

/* Step 13 for the one frame a random read uses (the frame in r->frame). */
static int check_tiling(appkg_reader *r, uint32_t i)
{
	const uint32_t f = r->c.entries[i].frame;

	if (r->tiled_frame == f)
		return 0;
	if (frame_tiled(r, &r->frame, i, &r->err))
		return r->err.code;
	r->tiled_frame = f;
	return 0;
}

/* ---- read-ahead (struct ahead) ---- */

/* The first index entry of frame f (entries are in frame order), or nentries. */
static uint32_t first_entry(const appkg_reader *r, uint32_t f)
{
	uint32_t lo = 0, hi = r->c.nentries;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (r->c.entries[mid].frame < f)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

#define AHEAD_BATCH 16 /* members digested together, on eight lanes where the CPU has them */

/* Frame f in the slot, from its first entry i, a batch of members at a time: the entries tile
 * it (as frame_tiled checks), and each passes member_check, the digests of a batch computed
 * together (blake2b_256_many: the same digests, several members in step). Each header is
 * parsed once, and where its data begins is kept for the reading thread (checked_entry). Only
 * resources: 0 when every member passed. */
static int ahead_check(const appkg_reader *r, struct slot *a, uint32_t i, uint32_t f)
{
	unsigned char digest[AHEAD_BATCH][APPKG_DIGEST_BYTES];
	struct tar_entry t[AHEAD_BATCH];
	const void *data[AHEAD_BATCH];
	size_t len[AHEAD_BATCH], n;
	uint64_t pos = 0;

	a->first = i;
	a->offs.len = 0;
	while (i < r->c.nentries && r->c.entries[i].frame == f) {
		for (n = 0; n < AHEAD_BATCH && i + n < r->c.nentries &&
			    r->c.entries[i + n].frame == f; n++) {
			const struct index_entry *x = &r->c.entries[i + n];
			uint32_t off;
			if (x->kind != MEMBER_RESOURCE || x->offset != pos ||
			    tar_parse_entry(a->data.data + pos, a->data.len - pos, &t[n], &a->err))
				return -1;
			off = (uint32_t)t[n].data_off;
			if (buf_append(&a->offs, &off, sizeof(off)))
				return -1;
			data[n] = a->data.data + pos + t[n].data_off;
			len[n] = (size_t)t[n].size;
			pos += t[n].total;
		}
		blake2b_256_many(digest, data, len, n);
		for (size_t k = 0; k < n; k++, i++)
			if (member_check(r, &r->c.entries[i], &t[k], data[k], 0, digest[k], &a->err))
				return -1;
	}
	return pos == a->data.len ? 0 : -1;
}

/* Decode frame f into the slot and check it whole; 0 when every member passed. Only frames of
 * resources are taken (secrets.enc has checks of its own, made by the reading thread). */
static int ahead_prepare(const appkg_reader *r, struct slot *a, uint32_t f)
{
	const struct frame_info *fi = &r->c.frames[f];
	uint32_t i = first_entry(r, f);

	a->err = (struct appkg_err){0};
	if (i >= r->c.nentries || r->c.entries[i].frame != f)
		return -1;
	if (r->mem ? frame_decode(a->dctx, r->mem + fi->offset, fi->csize, &a->data, fi->dsize,
				  &a->err)
		   : frame_decode_from(a->dctx, source_read, (void *)r, fi->offset, fi->csize,
				       &a->compressed, &a->data, fi->dsize, &a->err))
		return -1;
	return ahead_check(r, a, i, f);
}

/* The slot asked for earliest in the package, or NULL. */
static struct slot *first_wanted(struct ahead *a)
{
	struct slot *best = NULL;

	for (int k = 0; k < a->threads; k++)
		if (a->slot[k].state == SLOT_WANTED && (!best || a->slot[k].frame < best->frame))
			best = &a->slot[k];
	return best;
}

static void *ahead_run(void *arg)
{
	appkg_reader *r = arg;
	struct ahead *a = r->ahead;
	struct slot *s;
	int ok;

	pthread_mutex_lock(&a->lock);
	while (!a->quit) {
		if (!(s = first_wanted(a))) {
			pthread_cond_wait(&a->work, &a->lock);
			continue;
		}
		s->state = SLOT_DOING;
		pthread_mutex_unlock(&a->lock);
		ok = ahead_prepare(r, s, (uint32_t)s->frame) == 0;
		pthread_mutex_lock(&a->lock);
		s->state = ok ? SLOT_READY : SLOT_FAILED;
		pthread_cond_broadcast(&a->done);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

static struct slot *slot_of(struct ahead *a, int64_t f)
{
	for (int k = 0; k < a->threads; k++)
		if (a->slot[k].state != SLOT_FREE && a->slot[k].frame == f)
			return &a->slot[k];
	return NULL;
}

/* Frame f from the read-ahead, when it has it checked (waiting while it is being prepared):
 * 1 and f in r->frame with all its members passed, or 0. A frame asked for but not begun is
 * dropped: the caller decodes it sooner than a thread would. */
static int ahead_take(appkg_reader *r, uint32_t f)
{
	struct ahead *a = r->ahead;
	struct slot *s;
	struct buf held;
	int taken = 0;

	if (!a)
		return 0;
	pthread_mutex_lock(&a->lock);
	while ((s = slot_of(a, f)) && s->state == SLOT_DOING)
		pthread_cond_wait(&a->done, &a->lock);
	if (s && s->state == SLOT_READY) {
		held = r->frame;
		r->frame = s->data;
		s->data = held;
		held = r->checked_offs;
		r->checked_offs = s->offs;
		s->offs = held;
		r->checked_first = s->first;
		taken = 1;
	}
	if (s)
		s->state = SLOT_FREE;
	pthread_mutex_unlock(&a->lock);
	if (taken) {
		r->frame_no = f;
		r->tiled_frame = f;
		r->checked_frame = f;
		r->compressed.len = 0; /* r->compressed is not this frame's */
	}
	return taken;
}

/* A slot for frame g: a free one, else one holding a frame before `from` that no thread is
 * working on (no longer wanted: reading has moved on). */
static struct slot *slot_for(struct ahead *a, int64_t from)
{
	struct slot *s = NULL;

	for (int k = 0; k < a->threads; k++) {
		struct slot *c = &a->slot[k];
		if (c->state == SLOT_FREE)
			return c;
		if (c->state != SLOT_DOING && c->frame < from && (!s || c->frame < s->frame))
			s = c;
	}
	return s;
}

/* Ask for the frames from f on to be prepared, one per thread, within AHEAD_BUDGET beyond f,
 * and never the end-of-archive frame. */
static void ahead_ask(appkg_reader *r, uint32_t f)
{
	struct ahead *a = r->ahead;
	uint64_t bytes = 0;
	struct slot *s;
	int asked = 0;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	for (uint32_t g = f; g + 1 < r->c.nframes && g < f + (uint32_t)a->threads; g++) {
		bytes += r->c.frames[g].dsize;
		if (g > f && bytes > AHEAD_BUDGET)
			break;
		if (slot_of(a, g))
			continue;
		if (!(s = slot_for(a, f)))
			break;
		s->frame = g;
		s->state = SLOT_WANTED;
		asked = 1;
	}
	if (asked)
		pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
}

static void ahead_free(struct ahead *a)
{
	for (int k = 0; k < AHEAD_MAX_THREADS; k++) {
		buf_free(&a->slot[k].data);
		buf_free(&a->slot[k].compressed);
		buf_free(&a->slot[k].offs);
		ZSTD_freeDCtx(a->slot[k].dctx);
	}
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->work);
	pthread_cond_destroy(&a->done);
	free(a);
}

static void ahead_stop(appkg_reader *r)
{
	struct ahead *a = r->ahead;

	if (!a)
		return;
	pthread_mutex_lock(&a->lock);
	a->quit = 1;
	pthread_cond_broadcast(&a->work);
	pthread_mutex_unlock(&a->lock);
	for (int k = 0; k < a->started; k++)
		pthread_join(a->thread[k], NULL);
	ahead_free(a);
	r->ahead = NULL;
}

static struct ahead *ahead_new(int threads)
{
	struct ahead *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->work, NULL);
	pthread_cond_init(&a->done, NULL);
	a->threads = threads;
	for (int k = 0; k < threads; k++) {
		a->slot[k].frame = -1;
		if (!(a->slot[k].dctx = ZSTD_createDCtx())) {
			ahead_free(a);
			return NULL;
		}
	}
	return a;
}

int appkg_reader_set_readahead(appkg_reader *r, int threads)
{
	struct ahead *a;

	if (threads > AHEAD_MAX_THREADS)
		threads = AHEAD_MAX_THREADS;
	if (r->ahead && r->ahead->threads == threads)
		return 0;
	ahead_stop(r);
	if (threads <= 0)
		return 0;
	if (!(a = ahead_new(threads)))
		return APPKG_ERR_NO_MEMORY;
	r->ahead = a;
	for (; a->started < threads; a->started++) {
		if (pthread_create(&a->thread[a->started], NULL, ahead_run, r) != 0) {
			ahead_stop(r);
			return APPKG_ERR_NO_MEMORY;
		}
	}
	return 0;
}

/* Entry x of the frame the read-ahead checked whole (r->checked_frame), without parsing its
 * headers again: where its data begins, as the check's parse found it; its size, which the
 * check matched with the index; its length, up to the next entry or the frame's end (the
 * check found them tiled). */
static void checked_entry(const appkg_reader *r, const struct index_entry *x, struct tar_entry *t)
{
	const uint32_t i = (uint32_t)(x - r->c.entries);
	const uint32_t *offs = (const uint32_t *)(const void *)r->checked_offs.data;
	const int last = i + 1 == r->c.nentries || r->c.entries[i + 1].frame != x->frame;

	t->data_off = offs[i - r->checked_first];
	t->size = x->size;
	t->total = (last ? r->frame.len : r->c.entries[i + 1].offset) - x->offset;
}

static int read_entry(appkg_reader *r, uint32_t i, const void **data, size_t *len)
{
	const struct index_entry *x = &r->c.entries[i];
	struct tar_entry t;

	if (x->frame == 0 && r->manifest_bytes.data) {
		frame0_member(r, x, data, len);
		return 0;
	}

	if (load_frame(r, x->frame))
		return r->err.code;
	ahead_ask(r, x->frame + 1);
	if (r->checked_frame == x->frame) /* every member passed when the frame was taken */
		checked_entry(r, x, &t);
	else if (check_tiling(r, i) || entry_at(r, x, x->offset, &t)) {
		return r->err.code;
	}
	*data = r->frame.data + x->offset + t.data_off;
	*len = (size_t)t.size;
	return 0;
}

/* Resources in the index but not the manifest, or the reverse, with a problem each. */
static int listing_gap(appkg_reader *r, const char *path, int unlisted)
{
	if (unlisted)
		appkg_fail(&r->err, APPKG_ERR_MEMBER_UNLISTED, "%s: not in the manifest", path);
	else
		appkg_fail(&r->err, APPKG_ERR_MEMBER_MISSING, "%s: listed in the manifest but not in "
			   "the package", path);
	return problem(r);
}

static int compare_entry(appkg_reader *r, const struct index_entry *x, uint64_t size,
			 const unsigned char *digest)
{
	if (size != x->size)
		appkg_fail(&r->err, APPKG_ERR_SIZE_MISMATCH, "%s: size differs from the manifest", x->path);
	else if (memcmp(digest, x->digest, APPKG_DIGEST_BYTES) != 0)
		appkg_fail(&r->err, APPKG_ERR_DIGEST_MISMATCH, "%s: digest mismatch", x->path);
	return r->err.code ? problem(r) : 0;
}

/* Limits and frame 0 for one index entry: failures here are final. */
static int check_placement(const struct index_entry *x, struct appkg_err *e)
{
	if (x->size > kind_limit(x->kind))
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE, "%s: %llu bytes, over the limit",
				  x->path, (unsigned long long)x->size);
	if ((x->kind == MEMBER_RESOURCE || x->kind == MEMBER_SECRETS) == (x->frame == 0))
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: frame 0 holds the manifest and its "
				  "signature, and only them", x->path);
	return 0;
}

/* Every index member against the manifest, in one merge walk over the two sorted lists. */
static int check_listing(appkg_reader *r)
{
	const struct manifest *m = &r->m;
	size_t j = 0;
	int secrets = 0;

	r->listed = 1;
	for (uint32_t i = 0; i < r->c.nentries; i++) {
		const struct index_entry *x = &r->c.entries[i];
		if (check_placement(x, &r->err))
			return r->err.code;
		if (x->kind == MEMBER_SECRETS) {
			secrets = 1;
			if (!m->has_secrets ? listing_gap(r, x->path, 1)
					    : compare_entry(r, x, m->secrets_size, m->secrets_digest))
				return r->err.code;
		}
		if (x->kind != MEMBER_RESOURCE)
			continue;
		/* a path the manifest shares with the index is the same string */
		while (j < m->nres && m->res[j].path != x->path && strcmp(m->res[j].path, x->path) < 0)
			if (listing_gap(r, m->res[j++].path, 0))
				return r->err.code;
		if (j < m->nres && (m->res[j].path == x->path || !strcmp(m->res[j].path, x->path))) {
			if (compare_entry(r, x, m->res[j].size, m->res[j].digest))
				return r->err.code;
			j++;
		} else if (listing_gap(r, x->path, 1)) {
			return r->err.code;
		}
	}
	while (j < m->nres)
		if (listing_gap(r, m->res[j++].path, 0))
			return r->err.code;
	if (m->has_secrets && !secrets && listing_gap(r, SECRETS_PATH, 0))
		return r->err.code;
	return 0;
}

static int check_names(appkg_reader *r)
{
	const char **paths = malloc((r->c.nentries + 1) * sizeof(*paths));
	int rc;

	if (!paths)
		return appkg_fail(&r->err, APPKG_ERR_NO_MEMORY, "out of memory");
	for (uint32_t i = 0; i < r->c.nentries; i++)
		paths[i] = r->c.entries[i].path;
	rc = names_check_collisions(paths, r->c.nentries, &r->err);
	free(paths);
	return rc;
}

/* Frame 0: the manifest, then perhaps its signature, and nothing else. Both are kept, so
 * that no later read decodes this frame (which holds the largest member) again. */
/* A decoder that decoded a frame larger than its window (only frame 0 can be) keeps that
 * window, up to 8 MiB, for good: the frames after it need a fresh one. */
static int drop_window(appkg_reader *r)
{
	if (r->c.frames[0].dsize <= FRAME_CHUNK)
		return 0;
	ZSTD_freeDCtx(r->dctx);
	if (!(r->dctx = ZSTD_createDCtx()))
		return appkg_fail(&r->err, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

/* fn(arg) on a thread of its own, or here when there is none. */
static void job_start(struct job *j, void *(*fn)(void *), void *arg)
{
	j->threaded = pthread_create(&j->thread, NULL, fn, arg) == 0;
	if (!j->threaded)
		fn(arg);
}

static void job_wait(struct job *j)
{
	if (j->threaded)
		pthread_join(j->thread, NULL);
	j->threaded = 0;
}

struct frame0_job {
	struct job job;
	appkg_reader *r;
	int rc;
	struct appkg_err err;
};

static void *frame0_run(void *arg)
{
	struct frame0_job *f = arg;

	f->rc = decode_frame(f->r, 0, &f->err);
	return NULL;
}

/* Frame 0's entries placed by the index, then frame 0 decoded on a thread (into r->frame) while
 * the caller goes on; the index gives the sizes: a manifest over its limit costs no decoding
 * (§15 step 6). */
static void frame0_start(appkg_reader *r, struct frame0_job *f)
{
	size_t cap = (size_t)r->c.frames[0].dsize + 1;

	*f = (struct frame0_job){.r = r};
	for (uint32_t i = 0; i < r->c.nentries && r->c.entries[i].frame == 0; i++)
		if ((f->rc = check_placement(&r->c.entries[i], &f->err)))
			return;
	/* its buffer: exactly its size and a byte for the manifest's NUL */
	buf_free(&r->frame);
	if (!(r->frame.data = malloc(cap))) {
		f->rc = appkg_fail(&f->err, APPKG_ERR_NO_MEMORY, "out of memory");
		return;
	}
	r->frame.cap = cap;
	job_start(&f->job, frame0_run, f);
}

/* frame0_start's outcome, once the checks before it passed. */
static int frame0_end(appkg_reader *r, struct frame0_job *f)
{
	job_wait(&f->job);
	if (f->rc) {
		r->err = f->err;
		return r->err.code;
	}
	r->frame_no = 0;
	return 0;
}

static void *manifest_run(void *arg)
{
	struct manifest_job *j = arg;

	digest_bytes(j->digest, j->data, j->len);
	manifest_validate(j->data, j->len, &j->err);
	return NULL;
}

/* The manifest's digest and validation (len bytes at data, which stay until manifest_job_end)
 * on a thread. */
static int manifest_job_start(appkg_reader *r, const unsigned char *data, size_t len)
{
	struct manifest_job *j = calloc(1, sizeof(*j));

	if (!j)
		return appkg_fail(&r->err, APPKG_ERR_NO_MEMORY, "out of memory");
	j->data = data;
	j->len = len;
	r->manifest_job = j;
	job_start(&j->job, manifest_run, j);
	return 0;
}

/* The manifest's digest and validation done: a digest mismatch is the failure of the open,
 * whatever came after it; a manifest that is not valid JSON is, when the rest of frame 0
 * (failed, read first) passed; else the failure, if any, is reading the manifest's. */
static int manifest_job_end(appkg_reader *r)
{
	struct manifest_job *j = r->manifest_job;
	const struct index_entry *x;
	int frame0_ok;

	if (!j)
		return r->err.code;
	x = &r->c.entries[0];
	job_wait(&j->job);
	frame0_ok = r->manifest_bytes.data != NULL;
	r->manifest_job = NULL;
	if (memcmp(j->digest, x->digest, APPKG_DIGEST_BYTES) != 0) {
		r->err = (struct appkg_err){0};
		appkg_fail(&r->err, APPKG_ERR_DIGEST_MISMATCH, "%s: digest mismatch", x->path);
	} else if (frame0_ok && j->err.code) {
		r->err = j->err;
	}
	free(j);
	return r->err.code;
}

/* Frame 0, decoded: the manifest, then perhaps its signature, and nothing else. */
static int read_frame0(appkg_reader *r)
{
	struct tar_entry t;
	size_t pos, man_off, man_len;

	if (entry_head(r, &r->frame, &r->c.entries[0], 0, &t, &r->err) ||
	    manifest_job_start(r, r->frame.data + t.data_off, (size_t)t.size))
		return r->err.code;
	r->mtime = (int64_t)t.mtime; /* < 2^33: 11 octal digits */
	man_off = t.data_off;
	man_len = (size_t)t.size;
	pos = t.total;
	if (r->c.nentries > 1 && r->c.entries[1].frame == 0) {
		if (entry_at(r, &r->c.entries[1], pos, &t))
			return r->err.code;
		if (buf_append(&r->signature, r->frame.data + pos + t.data_off, t.size))
			return appkg_fail(&r->err, APPKG_ERR_NO_MEMORY, "out of memory");
		pos += t.total;
	}
	if (pos != r->frame.len || (r->c.nentries > 2 && r->c.entries[2].frame == 0))
		return appkg_fail(&r->err, APPKG_ERR_TAR_LAYOUT, "frame 0 holds the manifest and its "
				  "signature, and only them");
	/* keep the manifest where it was decoded, NUL-terminated over its padding or the
	 * signature's header (copied above, the frame is read no more) or the byte kept free */
	r->frame.data[man_off + man_len] = '\0';
	r->frame0 = r->frame;
	r->manifest_bytes = (struct buf){r->frame.data + man_off, man_len, man_len};
	r->frame = (struct buf){0};
	r->frame_no = -1;
	return drop_window(r);
}

/* Step 14, when the package is opened: the last frame is the end-of-archive marker. */
static int check_end(appkg_reader *r)
{
	if (load_frame(r, r->c.nframes - 1) || tar_check_end(r->frame.data, r->frame.len, &r->err))
		return problem(r);
	return 0;
}

static int open_common(appkg_reader *r)
{
	struct frame0_job f;

	if (r->opened)
		return appkg_fail(&r->err, APPKG_ERR_STATE, "reader already open");
	r->opened = 1;
	if (container_open(&r->c, source_read, r, r->size, &r->err))
		return r->err.code;
	frame0_start(r, &f);
	if (check_names(r)) {
		job_wait(&f.job);
		return r->err.code;
	}
	/* the manifest is read while its JSON is validated: manifest_job_end tells which failure
	 * came first */
	if (frame0_end(r, &f) == 0 && read_frame0(r) == 0)
		manifest_read(&r->m, r->manifest_bytes.data, r->manifest_bytes.len, &r->c, &r->err);
	if (manifest_job_end(r) || check_listing(r) || check_end(r))
		return r->err.code;
	return 0;
}

int appkg_reader_open_memory(appkg_reader *r, const void *buf, size_t len)
{
	r->mem = buf;
	r->size = len;
	return open_common(r);
}

/* What a file that is not a package file is, for the message. */
static const char *file_kind(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode)
	       ? "a character device" : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode)
	       ? "a socket" : "not a regular file";
}

int appkg_reader_open_fd(appkg_reader *r, int fd)
{
	static const unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD}; /* §3.2, frame 0 */
	struct stat st;

	if (fstat(fd, &st) != 0)
		return appkg_fail(&r->err, appkg_errno_code(errno), "cannot stat: %s",
				  strerror(errno));
	if (S_ISDIR(st.st_mode))
		return appkg_fail(&r->err, APPKG_ERR_SOURCE, "is a directory, not a package");
	if (!S_ISREG(st.st_mode)) { /* a stream: copied first, within APPKG_MAX_SPOOL_SIZE */
		int spooled = io_spool(fd, APPKG_MAX_SPOOL_SIZE, zstd_magic, sizeof(zstd_magic),
				       &r->err);
		if (spooled < 0)
			return spooled;
		r->own_fd = 1;
		fd = spooled;
		if (fstat(fd, &st) != 0)
			return appkg_fail(&r->err, APPKG_ERR_IO, "cannot stat the package");
	}
	r->fd = fd;
	r->size = (uint64_t)st.st_size;
	r->opened_as = st;
	return open_common(r);
}

/* A package named by path must be a regular file: opened without blocking (a FIFO with no
 * writer would hang open(2)) and refused before a byte is read if it is anything else, so a
 * symbolic link to /dev/zero is not copied without end. */
int appkg_reader_open_path(appkg_reader *r, const char *path)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), rc;
	struct stat st;

	if (fd < 0)
		return appkg_fail(&r->err, appkg_errno_code(errno), "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = appkg_fail(&r->err, appkg_errno_code(errno), "cannot stat: %s",
				strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = appkg_fail(&r->err, APPKG_ERR_SOURCE, "%s, not a package file",
				file_kind(st.st_mode));
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		rc = appkg_fail(&r->err, APPKG_ERR_IO, "cannot clear O_NONBLOCK: %s",
				strerror(errno));
	else
		rc = appkg_reader_open_fd(r, fd);
	if (r->fd == fd)
		r->own_fd = 1;
	else
		close(fd); /* failed early */
	return rc;
}

static int ready(appkg_reader *r)
{
	if (r->err.code)
		return r->err.code;
	return r->opened ? 0 : appkg_fail(&r->err, APPKG_ERR_STATE, "reader not open");
}

int appkg_reader_manifest(appkg_reader *r, const char **json, size_t *len)
{
	if (ready(r))
		return r->err.code;
	*json = (const char *)r->manifest_bytes.data;
	*len = r->manifest_bytes.len;
	return 0;
}

const char *appkg_reader_meta(appkg_reader *r, const char *field)
{
	return ready(r) ? NULL : json_string_value(json_object_get(r->m.root, field));
}

size_t appkg_reader_member_count(const appkg_reader *r)
{
	return r->opened && !r->err.code ? r->c.nentries : 0;
}

static void fill_member(const struct index_entry *x, struct appkg_member *out)
{
	out->path = x->path;
	out->size = x->size;
	out->digest = x->digest;
	out->frame = x->frame;
	out->offset = x->offset;
}

int appkg_reader_member(appkg_reader *r, size_t i, struct appkg_member *out)
{
	if (ready(r))
		return r->err.code;
	if (i >= r->c.nentries)
		return APPKG_ERR_NOT_FOUND;
	fill_member(&r->c.entries[i], out);
	return 0;
}

/* Moving to another frame: the one before must have been used up exactly. */
static int enter_frame(appkg_reader *r, const struct index_entry *x)
{
	if (r->seq_frame >= 0 && !r->seq_bad && (!x || x->frame != r->seq_frame) &&
	    r->next_pos != r->c.frames[r->seq_frame].dsize) {
		appkg_fail(&r->err, APPKG_ERR_TAR_LAYOUT, "frame %u: bytes after the last member",
			   (unsigned)r->seq_frame);
		if (problem(r))
			return r->err.code;
	}
	if (!x || r->seq_frame == x->frame)
		return 0;
	r->seq_frame = x->frame;
	r->next_pos = 0;
	r->seq_bad = load_frame(r, x->frame) != 0;
	ahead_ask(r, x->frame + 1);
	return r->seq_bad ? problem(r) : 0;
}

/* One member in sequence: 1 and the member, 0 when it was skipped after a reported problem. */
static int next_member(appkg_reader *r, const struct index_entry *x, struct appkg_member *out,
		       const void **data)
{
	struct tar_entry t;

	if (x->frame == 0) { /* checked at open, tiling included */
		r->next++;
		r->seq_frame = 0;
		r->next_pos = r->c.frames[0].dsize;
		frame0_member(r, x, data, &(size_t){0});
		fill_member(x, out);
		return 1;
	}
	if (enter_frame(r, x))
		return r->err.code;
	r->next++;
	if (r->seq_bad)
		return 0;
	if (load_frame(r, x->frame)) /* a random read in between may have replaced it */
		return r->err.code;
	if (x->offset != r->next_pos) {
		appkg_fail(&r->err, APPKG_ERR_TAR_LAYOUT, "%s: entries do not tile frame %u", x->path,
			   x->frame);
		if (problem(r))
			return r->err.code;
		r->next_pos = x->offset; /* resynchronise on the index */
	}
	if (r->checked_frame == x->frame) { /* every member passed when the frame was taken */
		checked_entry(r, x, &t);
	} else if (entry_at(r, x, r->next_pos, &t)) {
		r->seq_bad = t.total == 0; /* headers unreadable: the rest of the frame is lost */
		r->next_pos += t.total;
		return problem(r);
	}
	*data = r->frame.data + r->next_pos + t.data_off;
	r->next_pos += t.total;
	fill_member(x, out);
	return 1;
}

void appkg_reader_set_progress(appkg_reader *r, appkg_progress_fn fn, void *ctx)
{
	r->progress_fn = fn;
	r->progress_ctx = ctx;
}

/* Count the entries sequential reading has passed (returned or skipped) and report them. */
static void progress(appkg_reader *r)
{
	uint32_t upto = r->next < r->c.nentries ? r->next : r->c.nentries;

	if (!r->progress_fn || r->progress_seen == upto)
		return;
	if (r->progress_seen == 0)
		for (uint32_t i = 0; i < r->c.nentries; i++)
			r->progress_total += r->c.entries[i].size;
	while (r->progress_seen < upto)
		r->progress_done += r->c.entries[r->progress_seen++].size;
	r->progress_fn(r->progress_ctx, r->progress_done, r->progress_total, upto, r->c.nentries);
}

int appkg_reader_next(appkg_reader *r, struct appkg_member *out, const void **data)
{
	int rc;

	if (ready(r))
		return r->err.code;
	while (r->next < r->c.nentries) {
		rc = next_member(r, &r->c.entries[r->next], out, data);
		progress(r);
		if (rc != 0)
			return rc;
	}
	if (r->next > r->c.nentries)
		return 0;
	r->next++;
	return enter_frame(r, NULL) ? r->err.code : 0;
}

int appkg_reader_read(appkg_reader *r, const char *path, const void **data, size_t *len)
{
	int i, rc;

	if (ready(r))
		return r->err.code;
	i = find_entry(r, path, strlen(path));
	if (i < 0)
		return APPKG_ERR_NOT_FOUND;
	r->err.line = r->err.column = 0;
	rc = read_entry(r, (uint32_t)i, data, len);
	r->err.code = 0; /* a bad member does not spoil the others: keep the message only */
	return rc;
}

int reader_read_digest_only(appkg_reader *r, const char *path, const void **data, size_t *len)
{
	int rc;

	r->skip_json = 1;
	rc = appkg_reader_read(r, path, data, len);
	r->skip_json = 0;
	return rc;
}

int reader_frame_copy(appkg_reader *r, const void *plain, size_t len, struct buf *out)
{
	const struct frame_info *fi;
	struct appkg_err ignored = {0};

	if (r->frame_no < 0 || r->frame.len != len || memcmp(r->frame.data, plain, len) != 0)
		return 0;
	fi = &r->c.frames[r->frame_no];
	out->len = 0;
	if (r->mem)
		return buf_append(out, r->mem + fi->offset, fi->csize) == 0;
	if (r->compressed.len == fi->csize)
		return buf_append(out, r->compressed.data, fi->csize) == 0;
	/* a frame decoded in chunks: read it again, unless it is larger than zstd would make it */
	if (fi->csize > ZSTD_COMPRESSBOUND(len) || buf_reserve(out, fi->csize) ||
	    source_read(r, out->data, fi->csize, fi->offset, &ignored))
		return 0;
	out->len = fi->csize;
	return 1;
}

int reader_frame_bytes(appkg_reader *r, uint32_t f, struct frame_info *fi, struct buf *out)
{
	struct appkg_err e = {0};

	if (ready(r))
		return r->err.code;
	if (f >= r->c.nframes)
		return APPKG_ERR_NOT_FOUND;
	*fi = r->c.frames[f];
	if (!out)
		return 0;
	out->len = 0;
	if (buf_reserve(out, fi->csize))
		return APPKG_ERR_NO_MEMORY;
	if (source_read(r, out->data, fi->csize, fi->offset, &e)) {
		snprintf(r->err.msg, sizeof(r->err.msg), "frame %u: %.480s", f, e.msg);
		return e.code;
	}
	out->len = fi->csize;
	return 0;
}

int reader_frame_read(appkg_reader *r, uint32_t f, struct buf *out, struct appkg_err *e)
{
	const struct frame_info *fi;

	if (!r->opened || f >= r->c.nframes)
		return appkg_fail(e, APPKG_ERR_NOT_FOUND, "frame %u: not in the package", f);
	fi = &r->c.frames[f];
	out->len = 0;
	if (buf_reserve(out, fi->csize))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (source_read(r, out->data, fi->csize, fi->offset, e))
		return e->code;
	out->len = fi->csize;
	return 0;
}

int reader_source_fd(const appkg_reader *r)
{
	return r->opened && !r->mem ? r->fd : -1;
}

int reader_file_changed(appkg_reader *r)
{
	const struct stat *a = &r->opened_as;
	struct stat b;

	if (r->mem)
		return 0;
	if (fstat(r->fd, &b) != 0)
		return 1;
	return a->st_dev != b.st_dev || a->st_ino != b.st_ino || a->st_size != b.st_size ||
	       a->st_mtim.tv_sec != b.st_mtim.tv_sec || a->st_mtim.tv_nsec != b.st_mtim.tv_nsec ||
	       a->st_ctim.tv_sec != b.st_ctim.tv_sec || a->st_ctim.tv_nsec != b.st_ctim.tv_nsec;
}

void reader_file_renamed(appkg_reader *r)
{
	struct stat st;

	if (!r->mem && fstat(r->fd, &st) == 0)
		r->opened_as = st;
}

uint64_t reader_tar_mtime(const appkg_reader *r)
{
	return r->mtime < 0 ? UINT64_MAX : (uint64_t)r->mtime;
}

int appkg_reader_find(appkg_reader *r, const char *path, struct appkg_member *out)
{
	const struct index_entry *x;
	size_t len = strlen(path);
	int i;

	if (ready(r))
		return r->err.code;
	/* callers that go in path order (a commit's adds, copies and relinks) look for the entry
	 * after the last one found: one compare instead of a binary search */
	x = r->find_next < r->c.nentries ? &r->c.entries[r->find_next] : NULL;
	if (x && x->path_len == len && !memcmp(x->path, path, len))
		i = (int)r->find_next;
	else if ((i = find_entry(r, path, len)) < 0)
		return APPKG_ERR_NOT_FOUND;
	r->find_next = (size_t)i + 1;
	fill_member(&r->c.entries[i], out);
	return 0;
}

int appkg_reader_read_resource(appkg_reader *r, const char *type, const char *name,
			       const void **data, size_t *len)
{
	char *path = resource_path_make(type, name);
	int rc;

	if (!path)
		return appkg_fail(&r->err, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = appkg_reader_read(r, path, data, len);
	free(path);
	return rc;
}

int appkg_reader_has_secrets(appkg_reader *r)
{
	return ready(r) ? 0 : r->m.has_secrets;
}

int appkg_reader_secrets(appkg_reader *r, const char *password, size_t password_len,
			 char **plain, size_t *len)
{
	struct secrets_header h;
	const void *blob;
	size_t blob_len;
	const char *id;
	int rc;

	if ((rc = appkg_reader_read(r, SECRETS_PATH, &blob, &blob_len)))
		return rc == APPKG_ERR_NOT_FOUND
			       ? appkg_fail(&r->err, rc, "package has no secrets") : rc;
	if (secrets_parse_header(blob, blob_len, &h, &r->err))
		return r->err.code;
	id = json_string_value(json_object_get(r->m.root, "package_id"));
	if (!id || strcmp(id, h.package_id) != 0)
		return appkg_fail(&r->err, APPKG_ERR_SECRETS_BINDING, "secrets.enc: bound to package_id "
				  "\"%s\", not this package's", h.package_id);
	if (secrets_decrypt(blob, blob_len, password, password_len, plain, len, &r->err))
		return r->err.code;
	if (secrets_check_json(*plain, *len, &r->err)) {
		appkg_secure_free(*plain, *len);
		*plain = NULL;
		return r->err.code;
	}
	return 0;
}

int appkg_reader_add_trusted_key(appkg_reader *r, const char *pubkey_path)
{
	if (r->err.code)
		return r->err.code;
	if (r->nkeys == MAX_TRUSTED_KEYS)
		return appkg_fail(&r->err, APPKG_ERR_INVALID_ARGUMENT, "more than %d trusted keys",
				  MAX_TRUSTED_KEYS);
	if (sig_load_public(&r->keys[r->nkeys], pubkey_path, &r->err))
		return r->err.code;
	r->nkeys++;
	return 0;
}

/* A signature that does not check out is reported like a bad member: the message stays, the
 * handle stays usable (its metadata still answers). */
static int signature_fail(appkg_reader *r)
{
	char why[APPKG_MSG_MAX];
	int rc = r->err.code;

	if (strncmp(r->err.msg, SIGNATURE_PATH ": ", strlen(SIGNATURE_PATH) + 2) != 0) {
		memcpy(why, r->err.msg, sizeof(why));
		snprintf(r->err.msg, sizeof(r->err.msg), "%s: %.480s", SIGNATURE_PATH, why);
	}
	if (rc != APPKG_ERR_NO_MEMORY)
		r->err.code = 0;
	return rc;
}

int appkg_reader_check_signature(appkg_reader *r, char *key_id, char *trusted)
{
	const void *sig;
	size_t len, which = 0;
	int rc;

	key_id[0] = trusted[0] = '\0';
	if ((rc = appkg_reader_read(r, SIGNATURE_PATH, &sig, &len)))
		return rc;
	if (r->nkeys == 0) /* nothing to check against: say who signed, fail nothing */
		return sig_signer_id(sig, len, key_id, &r->err) ? signature_fail(r) : 1;
	if (sig_verify(sig, len, r->manifest_bytes.data, r->manifest_bytes.len, r->keys, r->nkeys,
		       &which, trusted, &r->err))
		return signature_fail(r);
	sig_key_id_hex(r->keys[which], key_id);
	return 0;
}

/* ---- problems as data, and what the library's other files need of a reader ---- */

/* The member a message is about: its leading "path: " when path names a member of the index
 * or a resource the manifest lists (member paths never hold ':', spec §4), else NULL. The
 * pointer is the index's or the manifest's own copy, valid as long as r. */
static const char *problem_member(const appkg_reader *r)
{
	const char *colon = strstr(r->err.msg, ": ");
	size_t n = colon ? (size_t)(colon - r->err.msg) : 0;
	int i;

	if (n == 0 || !r->opened)
		return NULL;
	if (r->c.entries && (i = find_entry(r, r->err.msg, n)) >= 0)
		return r->c.entries[i].path;
	for (size_t lo = 0, hi = r->listed ? r->m.nres : 0; lo < hi;) { /* listed, not indexed */
		size_t mid = lo + (hi - lo) / 2, k = strlen(r->m.res[mid].path);
		int c = memcmp(r->m.res[mid].path, r->err.msg, k < n ? k : n);
		if (c == 0 && k == n)
			return r->m.res[mid].path;
		if (c < 0 || (c == 0 && k < n))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (n == strlen(SECRETS_PATH) && !memcmp(r->err.msg, SECRETS_PATH, n))
		return SECRETS_PATH;
	if (n == strlen(MANIFEST_PATH) && !memcmp(r->err.msg, MANIFEST_PATH, n))
		return MANIFEST_PATH;
	return NULL;
}

int appkg_reader_problem(const appkg_reader *r, int code, struct appkg_problem *out)
{
	struct appkg_err e = r->err;

	e.code = code;
	problem_fill(&e, problem_member(r), out);
	out->message = r->err.msg; /* borrowed from r, not from the copy */
	out->detail = r->err.msg + (out->detail - e.msg);
	return code;
}

struct appkg_err *reader_err(appkg_reader *r)
{
	return &r->err;
}

const struct manifest *reader_manifest_view(appkg_reader *r)
{
	return ready(r) ? NULL : &r->m;
}

int reader_reports_problems(const appkg_reader *r)
{
	return r->on_problem || r->on_problem_data;
}

struct resources **reader_resources_slot(appkg_reader *r)
{
	return &r->resources;
}

/* appkg_reader_open_fd on a descriptor the reader then owns and closes (a directory packed
 * into memory); closed at once when the open fails before keeping it. */
int reader_open_owned(appkg_reader *r, int fd)
{
	int rc = appkg_reader_open_fd(r, fd);

	if (r->fd == fd && !r->own_fd)
		r->own_fd = 1;
	else if (r->fd != fd)
		close(fd);
	return rc;
}
