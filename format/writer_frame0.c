/* SPDX-License-Identifier: MIT */
/*
 * Frame 0 of a package being written: the manifest (and the signature's entry), compressed
 * as it is made, and their entries in the index.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameProgression */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "internal.h"
#include "writer.h"

/* ---- frame 0: the manifest, compressed as it is made ----
 * The manifest of a large package is the largest thing a pack would hold (27 MiB for 100,000
 * resources), so it is never held whole. Once measured, it is made again piece by piece (and
 * checked as it is made, manifest_text_start) into a mapping that holds frame 0 at fixed
 * addresses, while a thread of its own (or the maker itself, without threads) compresses it
 * with ZSTD_c_stableInBuffer and writes it. The text is digested (blake2b.c, twice the speed
 * of libsodium's) by the side that has the time: from level 3 on (pack) the compression is
 * the longer half, and the maker digests each piece as it puts it in; below (a commit's
 * frame 0 is level 1) the compressing side digests before it compresses. On L (28 MB of
 * text), CPU: making 30-40 ms (80-90 with pack's self-check), digest 20, compression 80 at
 * level 3 and 30-50 at levels 1 and 2.
 * libzstd compresses the same blocks from the same window as ZSTD_compress2 of the whole
 * frame, so the bytes are the same (spec §3.2). Each part of the mapping the window has
 * passed is handed back and made inaccessible, so that a read libzstd made there would fault
 * instead of reading zeros: the window (8 MiB) and what the making runs ahead are all that is
 * held. */

#define FRAME0_AHEAD (4u << 20)  /* how far the making may run ahead of the compression */
#define FRAME0_BLOCK (128u << 10) /* libzstd's block: it compresses whole ones until the end */

struct frame0 {
	unsigned char *map; /* the frame's dsize bytes */
	size_t map_len, dsize;
	size_t made;        /* bytes made; under lock with a thread */
	int ended, failed;  /* all made, or given up; under lock */
	size_t consumed;    /* bytes libzstd compressed; under lock */
	size_t compressed;  /* the same, kept by the compressing side */
	ZSTD_inBuffer in;   /* what libzstd was given */
	size_t freed;       /* the mapping before this is handed back */
	size_t text_to, digested; /* the manifest text ends at text_to; digested up to */
	int maker_digests;  /* as it makes, else the compressing side, before it compresses */
	struct blake2b_state digest;
	ZSTD_CCtx *cctx;
	void *out;
	size_t out_cap;
	uint64_t csize;
	int fd;
	const char *out_name;
	struct appkg_err err; /* the compressing side's */
	int threaded;
	pthread_t tid;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

/* The mapping before libzstd's window (and a block more) is handed back and made inaccessible,
 * once digested (the maker digests before it hands on). */
static void frame0_let_go(struct frame0 *f)
{
	size_t keep = ((size_t)1 << APPKG_MAX_WINDOW_LOG) + FRAME0_BLOCK;
	size_t page = (size_t)sysconf(_SC_PAGESIZE), to;

	f->compressed = ZSTD_getFrameProgression(f->cctx).consumed;
	if (f->compressed <= keep)
		return;
	to = (f->compressed - keep) / page * page;
	if (to <= f->freed || (!f->maker_digests && to > f->digested))
		return;
	if (madvise(f->map + f->freed, to - f->freed, MADV_DONTNEED) == 0 &&
	    mprotect(f->map + f->freed, to - f->freed, PROT_NONE) == 0)
		f->freed = to;
}

/* Hand libzstd the frame up to avail (all of it once ended): the text in it digested first,
 * unless the maker did, then compressed and written. ZSTD_e_continue never gets the last
 * byte: it would compress a whole last block as one that is not last, and end the frame with
 * an empty block that ZSTD_compress2 does not write. */
static int frame0_compress(struct frame0 *f, size_t avail, int ended)
{
	ZSTD_EndDirective mode = ended ? ZSTD_e_end : ZSTD_e_continue;
	size_t r, to;

	f->in.size = ended ? f->dsize : avail < f->dsize ? avail : f->dsize - 1;
	to = f->in.size < f->text_to ? f->in.size : f->text_to;
	if (!f->maker_digests && to > f->digested) {
		blake2b_256_update(&f->digest, f->map + f->digested, to - f->digested);
		f->digested = to;
	}
	do {
		ZSTD_outBuffer out = {f->out, f->out_cap, 0};
		r = ZSTD_compressStream2(f->cctx, &out, &f->in, mode);
		if (ZSTD_isError(r))
			return appkg_fail(&f->err, APPKG_ERR_FRAME, "zstd: %s", ZSTD_getErrorName(r));
		if (out.pos && io_write_all(f->fd, f->out, out.pos, f->out_name, &f->err))
			return f->err.code;
		f->csize += out.pos;
	} while (ended ? r != 0 : f->in.pos < f->in.size);
	if (!ended)
		frame0_let_go(f);
	return 0;
}

static void *frame0_run(void *arg)
{
	struct frame0 *f = arg;
	size_t avail;
	int ended, rc;

	pthread_mutex_lock(&f->lock);
	for (;;) {
		while (!f->failed && !f->ended && f->made < f->in.size + FRAME0_BLOCK)
			pthread_cond_wait(&f->cond, &f->lock);
		if (f->failed)
			break;
		avail = f->made;
		ended = f->ended;
		pthread_mutex_unlock(&f->lock);
		rc = frame0_compress(f, avail, ended);
		pthread_mutex_lock(&f->lock);
		f->consumed = f->compressed;
		if (rc)
			f->failed = 1;
		pthread_cond_broadcast(&f->cond);
		if (rc || ended)
			break;
	}
	pthread_mutex_unlock(&f->lock);
	return NULL;
}

static int frame0_start(appkg_writer *w, struct frame0 *f, size_t dsize, size_t text_to)
{
	int level = writer_copy_frame0_level(w);

	*f = (struct frame0){.dsize = dsize, .text_to = text_to, .digested = TAR_BLOCK,
			     .maker_digests = level >= 3, .fd = w->fd, .out_name = w->out_name};
	f->map_len = dsize ? dsize : 1;
	f->map = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (f->map == MAP_FAILED) {
		f->map = NULL;
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	f->in.src = f->map;
	f->out_cap = ZSTD_CStreamOutSize();
	blake2b_256_init(&f->digest);
	f->cctx = frame_encoder_new(level);
	if (!(f->out = malloc(f->out_cap)) || !f->cctx || frame_encode_begin(f->cctx, dsize))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "zstd: cannot set up compression");
	/* -T 1 makes and compresses on one thread; a commit that writes on one thread (few
	 * changes: nothing else to compress) still compresses beside the making */
	if (!w->nworkers && !w->copy.opens_output)
		return 0;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->threaded = pthread_create(&f->tid, NULL, frame0_run, f) == 0;
	if (!f->threaded) {
		pthread_cond_destroy(&f->cond);
		pthread_mutex_destroy(&f->lock);
	}
	return 0;
}

/* The compressing side's problem, on w. */
static int frame0_failed(appkg_writer *w, struct frame0 *f)
{
	if (!w->err.code)
		w->err = f->err.code ? f->err : (struct appkg_err){APPKG_ERR_NO_MEMORY, "out of memory", 0, 0};
	return w->err.code;
}

/* The manifest text's part of the len bytes at p, which go to the frame at f->made, into the
 * digest. */
static void frame0_digest(struct frame0 *f, const unsigned char *p, size_t len)
{
	size_t from = f->made > TAR_BLOCK ? f->made : TAR_BLOCK;
	size_t to = f->made + len < f->text_to ? f->made + len : f->text_to;

	if (from < to)
		blake2b_256_update(&f->digest, p + (from - f->made), to - from);
}

/* Append len bytes to the frame (digested, if the maker digests); they go to libzstd as
 * whole blocks are made. */
static int frame0_put(appkg_writer *w, struct frame0 *f, const void *p, size_t len)
{
	int failed;

	if (len > f->dsize - f->made)
		return appkg_fail(&w->err, APPKG_ERR_FRAME, "manifest.json: longer than measured");
	memcpy(f->map + f->made, p, len);
	if (f->maker_digests)
		frame0_digest(f, p, len);
	if (!f->threaded) {
		f->made += len;
		if (f->made >= f->in.size + FRAME0_BLOCK && frame0_compress(f, f->made, 0))
			return frame0_failed(w, f);
		return 0;
	}
	pthread_mutex_lock(&f->lock);
	f->made += len;
	pthread_cond_broadcast(&f->cond);
	while (!f->failed && f->made - f->consumed > FRAME0_AHEAD)
		pthread_cond_wait(&f->cond, &f->lock);
	failed = f->failed;
	pthread_mutex_unlock(&f->lock);
	return failed ? frame0_failed(w, f) : 0;
}

/* Every byte made: the frame ended and written, the text's digest into digest. On a failure
 * of the making (w->err set), the thread is stopped. */
static int frame0_end(appkg_writer *w, struct frame0 *f, unsigned char *digest)
{
	int failed = w->err.code != 0;

	if (!failed && f->made != f->dsize)
		failed = appkg_fail(&w->err, APPKG_ERR_FRAME, "manifest.json: shorter than measured");
	if (f->threaded) {
		pthread_mutex_lock(&f->lock);
		if (failed)
			f->failed = 1;
		f->ended = 1;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
		pthread_join(f->tid, NULL);
		pthread_cond_destroy(&f->cond);
		pthread_mutex_destroy(&f->lock);
		f->threaded = 0;
		if (!failed && f->failed)
			return frame0_failed(w, f);
	} else if (!failed && frame0_compress(f, f->made, 1)) {
		return frame0_failed(w, f);
	}
	if (!failed)
		blake2b_256_final(&f->digest, digest);
	return w->err.code;
}

static void frame0_free(struct frame0 *f)
{
	if (f->map)
		munmap(f->map, f->map_len);
	ZSTD_freeCCtx(f->cctx);
	free(f->out);
}

/* The manifest's entry and the signature's, in the index. */
void writer_index_frame0(appkg_writer *w, size_t len, const unsigned char *digest)
{
	struct index_entry *x = &w->index[w->nindex++];

	*x = (struct index_entry){.path = (char *)MANIFEST_PATH,
				  .path_len = (uint32_t)strlen(MANIFEST_PATH), .size = len};
	memcpy(x->digest, digest, APPKG_DIGEST_BYTES);
	if (!w->has_signature || w->signature_dropped)
		return;
	x = &w->index[w->nindex++];
	*x = (struct index_entry){.path = (char *)SIGNATURE_PATH,
				  .path_len = (uint32_t)strlen(SIGNATURE_PATH),
				  .offset = (uint32_t)tar_entry_bytes(MANIFEST_PATH, len),
				  .size = w->signature.len};
	digest_bytes(x->digest, w->signature.data, w->signature.len);
}

/* Frame 0's parts after the manifest text: its padding, and the signature's entry. */
static int frame0_tail(appkg_writer *w, struct buf *h, size_t len)
{
	h->len = 0;
	if (tar_put_padding(h, len) ||
	    (w->has_signature && !w->signature_dropped &&
	     (tar_put_header(h, SIGNATURE_PATH, w->signature.len, w->mtime) ||
	      buf_append(h, w->signature.data, w->signature.len) ||
	      tar_put_padding(h, w->signature.len))))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

/* Frame 0: the manifest's entry (its text made again, as measured, its digest into digest)
 * and the signature's. */
int writer_frame0(appkg_writer *w, size_t len, unsigned char *digest)
{
	size_t dsize = tar_entry_bytes(MANIFEST_PATH, len), k;
	struct manifest_text t = {0};
	struct buf h = {0};
	struct frame0 f;
	const void *piece;
	int rc;

	if (w->has_signature && !w->signature_dropped)
		dsize += tar_entry_bytes(SIGNATURE_PATH, w->signature.len);
	if (dsize > UINT32_MAX)
		return appkg_fail(&w->err, APPKG_ERR_FRAME_SIZE, "frame 0 too large");
	rc = frame0_start(w, &f, dsize, TAR_BLOCK + len);
	if (!rc && (tar_put_header(&h, MANIFEST_PATH, len, w->mtime) || h.len != TAR_BLOCK))
		rc = appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "manifest.json: cannot write its header");
	if (!rc)
		rc = frame0_put(w, &f, h.data, h.len) ||
		     manifest_text_start(&t, w->user, w->members, w->n,
					 w->has_secrets ? w->secrets.data : NULL, w->secrets.len,
					 w->package_id, !w->copy.opens_output, &w->err);
	while (!rc && (rc = manifest_text_next(&t, &piece, &k, &w->err)) == 1)
		rc = frame0_put(w, &f, piece, k);
	if (!rc)
		rc = frame0_tail(w, &h, len) || frame0_put(w, &f, h.data, h.len);
	if (!frame0_end(w, &f, digest) && f.csize > UINT32_MAX)
		appkg_fail(&w->err, APPKG_ERR_FRAME_SIZE, "compressed frame too large");
	if (!w->err.code && !writer_grow_frames(w))
		w->frames[w->nframes++] = (struct frame_info){.dsize = (uint32_t)dsize,
							      .csize = (uint32_t)f.csize};
	frame0_free(&f);
	manifest_text_free(&t);
	buf_free(&h);
	return w->err.code;
}
