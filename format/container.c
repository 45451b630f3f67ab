/* SPDX-License-Identifier: MIT */
/*
 * Container layer (spec section "Container"): zstd data frames ending on tar-entry
 * boundaries, a member index in a skippable frame, and a seek table in zstd's seekable format
 * at the very end. Everything read here is bounded by format/limits.h before it is allocated.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_getFrameHeader windowSize, ZSTD_c_useRowMatchFinder,
				  * ZSTD_c_stableInBuffer */
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "internal.h"

#define FOOTER_BYTES 9u
#define SKIP_HEADER 8u
#define INDEX_ENTRY_FIXED 50u
#define ROW_MATCH_FINDER_FROM 16384u /* §3.2: frames larger than this use it */

void container_free(struct container *c)
{
	free(c->frames);
	free(c->entries);
	free(c->names);
	memset(c, 0, sizeof(*c));
}

/* Frame offsets from the seek table entries; *total is the decompressed size of them all. */
static int fill_frames(struct container *c, const unsigned char *tab, uint32_t n, uint64_t *total,
		       struct appkg_err *e)
{
	uint64_t off = 0, doff = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct frame_info *f = &c->frames[i];
		f->csize = get_le32(tab + 8 * i);
		f->dsize = get_le32(tab + 8 * i + 4);
		f->offset = off;
		f->doffset = doff;
		off += f->csize;
		doff += f->dsize;
		if (f->csize == 0 || f->dsize == 0 || f->dsize > APPKG_MAX_FRAME_SIZE)
			return appkg_fail(e, APPKG_ERR_FRAME_SIZE, "frame %u: size %u/%u out of range", i,
					  f->csize, f->dsize);
	}
	c->nframes = n;
	c->data_end = off;
	*total = doff;
	return 0;
}

static int read_seek_table(struct container *c, pread_fn rd, void *ctx, uint64_t file_size,
			   uint64_t *table_start, struct appkg_err *e)
{
	unsigned char foot[FOOTER_BYTES], head[SKIP_HEADER], *tab = NULL;
	uint64_t size, doff = 0;
	uint32_t n;

	if (file_size < FOOTER_BYTES + SKIP_HEADER)
		return appkg_fail(e, APPKG_ERR_NOT_APPKG, "too short to be an appkg package");
	if (rd(ctx, foot, FOOTER_BYTES, file_size - FOOTER_BYTES, e))
		return e->code;
	if (get_le32(foot + 5) != SEEK_TABLE_MAGIC)
		return appkg_fail(e, APPKG_ERR_NOT_APPKG, "no seek table at the end: not an appkg package");
	n = get_le32(foot);
	if (foot[4] != 0)
		return appkg_fail(e, APPKG_ERR_SEEK_TABLE, "seek table descriptor %u not supported", foot[4]);
	if (n < 2 || n > APPKG_MAX_FRAMES)
		return appkg_fail(e, n < 2 ? APPKG_ERR_SEEK_TABLE : APPKG_ERR_LIMIT_FRAMES,
				  "seek table lists %u frames", n);
	size = SKIP_HEADER + (uint64_t)n * 8 + FOOTER_BYTES;
	if (size > file_size)
		return appkg_fail(e, APPKG_ERR_SEEK_TABLE, "seek table larger than the file");
	*table_start = file_size - size;
	if (rd(ctx, head, SKIP_HEADER, *table_start, e))
		return e->code;
	if (get_le32(head) != SKIPPABLE_SEEK || get_le32(head + 4) != size - SKIP_HEADER)
		return appkg_fail(e, APPKG_ERR_SEEK_TABLE, "seek table frame header mismatch");
	tab = malloc((size_t)n * 8);
	c->frames = calloc(n, sizeof(*c->frames));
	if (!tab || !c->frames) {
		free(tab);
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	if (rd(ctx, tab, (size_t)n * 8, *table_start + SKIP_HEADER, e) ||
	    fill_frames(c, tab, n, &doff, e)) {
		free(tab);
		return e->code;
	}
	free(tab);
	if (c->data_end > *table_start)
		return appkg_fail(e, APPKG_ERR_SEEK_TABLE, "seek table frames overrun the file");
	if (doff > APPKG_MAX_TOTAL_SIZE)
		return appkg_fail(e, APPKG_ERR_LIMIT_TOTAL, "frames expand to %llu bytes, over the limit",
				  (unsigned long long)doff);
	if (doff > APPKG_MAX_EXPANSION * file_size + APPKG_EXPANSION_SLACK)
		return appkg_fail(e, APPKG_ERR_EXPANSION, "frames expand to %llu bytes from %llu",
				  (unsigned long long)doff, (unsigned long long)file_size);
	return 0;
}

/* Entry order: paths strictly ascending; frames contiguous from 0; offsets ascending. */
static int check_entry_order(const struct container *c, uint32_t i, struct appkg_err *e)
{
	const struct index_entry *x = &c->entries[i], *p = i ? &c->entries[i - 1] : NULL;
	size_t n;
	int cmp;

	if (x->frame >= c->nframes - 1 || x->offset >= c->frames[x->frame].dsize)
		return appkg_fail(e, APPKG_ERR_INDEX, "%s: index points outside the frames", x->path);
	if (!p)
		return (x->frame || x->offset || strcmp(x->path, MANIFEST_PATH))
			       ? appkg_fail(e, APPKG_ERR_TAR_ORDER, "first member is not manifest.json")
			       : 0;
	n = p->path_len < x->path_len ? p->path_len : x->path_len;
	cmp = memcmp(p->path, x->path, n);
	if (cmp == 0 && p->path_len == x->path_len)
		return appkg_fail(e, APPKG_ERR_TAR_DUPLICATE, "%s: duplicate member", x->path);
	if (cmp > 0 || (cmp == 0 && p->path_len > x->path_len))
		return appkg_fail(e, APPKG_ERR_TAR_ORDER, "%s: members not in sorted order", x->path);
	if (x->frame != p->frame && x->frame != p->frame + 1)
		return appkg_fail(e, APPKG_ERR_INDEX, "%s: index skips a frame", x->path);
	if (x->frame == p->frame && x->offset <= p->offset)
		return appkg_fail(e, APPKG_ERR_INDEX, "%s: index offsets not ascending", x->path);
	return 0;
}

static int parse_index(struct container *c, const unsigned char *p, size_t len, struct appkg_err *e)
{
	size_t pos = 12, names = 0;
	uint32_t n;

	if (len < 12 || memcmp(p, INDEX_MAGIC, 8) != 0)
		return appkg_fail(e, APPKG_ERR_INDEX, "member index magic missing");
	n = get_le32(p + 8);
	if (n == 0 || n > APPKG_MAX_MEMBERS)
		return appkg_fail(e, n ? APPKG_ERR_LIMIT_MEMBERS : APPKG_ERR_INDEX,
				  "member index lists %u members", n);
	if ((uint64_t)n * INDEX_ENTRY_FIXED > len - 12)
		return appkg_fail(e, APPKG_ERR_INDEX, "member index shorter than its count");
	c->entries = malloc((size_t)n * sizeof(*c->entries)); /* each filled below */
	c->names = malloc(len); /* names plus NULs fit in the payload size */
	if (!c->entries || !c->names)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	for (uint32_t i = 0; i < n; i++) {
		struct index_entry *x = &c->entries[i];
		if (len - pos < INDEX_ENTRY_FIXED)
			return appkg_fail(e, APPKG_ERR_INDEX, "member index truncated");
		x->frame = get_le32(p + pos);
		x->offset = get_le32(p + pos + 4);
		x->size = get_le64(p + pos + 8);
		memcpy(x->digest, p + pos + 16, APPKG_DIGEST_BYTES);
		x->path_len = get_le16(p + pos + 48);
		pos += INDEX_ENTRY_FIXED;
		if (x->path_len > len - pos)
			return appkg_fail(e, APPKG_ERR_INDEX, "member index truncated");
		x->path = c->names + names;
		memcpy(x->path, p + pos, x->path_len);
		x->path[x->path_len] = '\0';
		names += x->path_len + 1;
		pos += x->path_len;
		c->nentries = i + 1;
		x->kind = member_path_check(x->path, x->path_len, e);
		if (x->kind < 0 || check_entry_order(c, i, e))
			return e->code;
	}
	if (pos != len)
		return appkg_fail(e, APPKG_ERR_INDEX, "member index has %zu extra bytes", len - pos);
	if (c->entries[n - 1].frame != c->nframes - 2)
		return appkg_fail(e, APPKG_ERR_INDEX, "frames without members before the end marker");
	return 0;
}

int container_open(struct container *c, pread_fn rd, void *ctx, uint64_t file_size,
		   struct appkg_err *e)
{
	unsigned char head[SKIP_HEADER], *payload;
	uint64_t table_start = 0, len;
	int rc;

	memset(c, 0, sizeof(*c));
	if (read_seek_table(c, rd, ctx, file_size, &table_start, e))
		return e->code;
	if (table_start - c->data_end < SKIP_HEADER)
		return appkg_fail(e, APPKG_ERR_INDEX, "no member index before the seek table");
	if (rd(ctx, head, SKIP_HEADER, c->data_end, e))
		return e->code;
	len = get_le32(head + 4);
	if (get_le32(head) != SKIPPABLE_INDEX)
		return appkg_fail(e, APPKG_ERR_INDEX, "no member index after the last data frame");
	if (c->data_end + SKIP_HEADER + len != table_start)
		return appkg_fail(e, APPKG_ERR_TRAILING_DATA,
				  "bytes between the member index and the seek table");
	payload = malloc(len ? len : 1);
	if (!payload)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = rd(ctx, payload, len, c->data_end + SKIP_HEADER, e);
	if (!rc)
		rc = parse_index(c, payload, len, e);
	free(payload);
	return rc;
}

/* The frame-header rules of §3.2, on the first avail bytes of a frame (at least its header). */
static int frame_header_check(const unsigned char *src, size_t avail, uint32_t dsize,
			      struct appkg_err *e)
{
	ZSTD_frameHeader zfh;

	if (ZSTD_getFrameHeader(&zfh, src, avail) != 0 || zfh.frameType != ZSTD_frame)
		return appkg_fail(e, APPKG_ERR_FRAME, "not a zstd data frame");
	if (zfh.windowSize > (1ull << APPKG_MAX_WINDOW_LOG))
		return appkg_fail(e, APPKG_ERR_FRAME_WINDOW, "zstd window of %llu bytes over the limit",
				  (unsigned long long)zfh.windowSize);
	if (!zfh.checksumFlag || zfh.frameContentSize != dsize)
		return appkg_fail(e, APPKG_ERR_FRAME_SIZE,
				  "frame content size or checksum flag differs from the seek table");
	return 0;
}

static int zstd_fail(size_t r, struct appkg_err *e)
{
	return appkg_fail(e, ZSTD_getErrorCode(r) == ZSTD_error_checksum_wrong
				     ? APPKG_ERR_FRAME_CHECKSUM : APPKG_ERR_FRAME,
			  "zstd: %s", ZSTD_getErrorName(r));
}

static int length_differs(struct appkg_err *e)
{
	return appkg_fail(e, APPKG_ERR_FRAME_SIZE, "frame length differs from the seek table");
}

int frame_decode(void *dctx, const unsigned char *src, size_t csize, struct buf *out,
		 uint32_t dsize, struct appkg_err *e)
{
	size_t r;

	if (frame_header_check(src, csize, dsize, e))
		return e->code;
	if (ZSTD_findFrameCompressedSize(src, csize) != csize)
		return length_differs(e);
	out->len = 0;
	if (buf_reserve(out, dsize))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	r = ZSTD_decompressDCtx(dctx, out->data, dsize, src, csize);
	if (ZSTD_isError(r))
		return zstd_fail(r, e);
	if (r != dsize)
		return appkg_fail(e, APPKG_ERR_FRAME_SIZE, "frame decodes to %zu bytes, not %u", r, dsize);
	out->len = dsize;
	return 0;
}

/* Feed one chunk to the stream decoder; *left is its last hint (0: the frame has ended). */
static int decode_chunk(void *dctx, const unsigned char *src, size_t n, ZSTD_outBuffer *zo,
			size_t *left, struct appkg_err *e)
{
	ZSTD_inBuffer zi = {src, n, 0};

	while (zi.pos < zi.size) {
		size_t in_was = zi.pos, out_was = zo->pos;
		if (*left == 0)
			return length_differs(e);
		*left = ZSTD_decompressStream(dctx, zo, &zi);
		if (ZSTD_isError(*left))
			return zstd_fail(*left, e);
		if (zi.pos == in_was && zo->pos == out_was)
			return appkg_fail(e, APPKG_ERR_FRAME_SIZE, "frame decodes to more than %zu bytes",
					  zo->size);
	}
	return 0;
}

static int decode_chunks(void *dctx, pread_fn rd, void *ctx, uint64_t off, uint32_t csize,
			 struct buf *in, struct buf *out, uint32_t dsize, struct appkg_err *e)
{
	ZSTD_outBuffer zo = {out->data, dsize, 0};
	size_t left = 1;

	for (uint32_t done = 0; done < csize;) {
		size_t n = csize - done < FRAME_CHUNK ? csize - done : FRAME_CHUNK;
		if (rd(ctx, in->data, n, off + done, e) ||
		    (done == 0 && frame_header_check(in->data, n, dsize, e)) ||
		    decode_chunk(dctx, in->data, n, &zo, &left, e))
			return e->code;
		done += (uint32_t)n;
	}
	if (left != 0)
		return length_differs(e);
	if (zo.pos != dsize)
		return appkg_fail(e, APPKG_ERR_FRAME_SIZE, "frame decodes to %zu bytes, not %u", zo.pos,
				  dsize);
	out->len = dsize;
	return 0;
}

/* A frame larger than a chunk (the manifest's, up to 64 MiB) is decoded straight into out,
 * which holds it whole (ZSTD_d_stableOutBuffer): the decoder then keeps no window buffer of
 * its own (up to 8 MiB, touched afresh) to copy out of. Should that fail in any way, the frame
 * is decoded again the usual way, so that what is said of a bad frame stays the same. */
int frame_decode_from(void *dctx, pread_fn rd, void *ctx, uint64_t off, uint32_t csize,
		      struct buf *in, struct buf *out, uint32_t dsize, struct appkg_err *e)
{
	struct appkg_err was = *e;
	int stable;

	out->len = 0;
	in->len = 0;
	/* a frame larger than a chunk gets exactly its size, not the next power of two */
	if ((dsize > FRAME_CHUNK ? buf_reserve_exact(out, dsize) : buf_reserve(out, dsize)) ||
	    buf_reserve(in, FRAME_CHUNK))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
	stable = dsize > FRAME_CHUNK &&
		 !ZSTD_isError(ZSTD_DCtx_setParameter(dctx, ZSTD_d_stableOutBuffer, 1));
	if (stable) {
		int rc = decode_chunks(dctx, rd, ctx, off, csize, in, out, dsize, e);
		ZSTD_DCtx_reset(dctx, ZSTD_reset_session_only);
		ZSTD_DCtx_setParameter(dctx, ZSTD_d_stableOutBuffer, 0);
		if (rc == 0)
			return 0;
		*e = was;
		out->len = 0;
		in->len = 0;
	}
	return decode_chunks(dctx, rd, ctx, off, csize, in, out, dsize, e);
}

/* The compression parameters of spec §3.2, all set explicitly so that the output does not
 * depend on libzstd's defaults: the level, a content checksum, the frame content size (known,
 * as each frame is compressed in one call), window log 23 (libzstd lowers it to fit a smaller
 * frame), no worker threads (appkg's own threads compress whole frames) and no dictionary. */
void *frame_encoder_new(int level)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (c && (ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 1)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog, APPKG_MAX_WINDOW_LOG)) ||
		  ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_nbWorkers, 0)))) {
		ZSTD_freeCCtx(c);
		c = NULL;
	}
	return c;
}

int frame_encode(void *cctx, const unsigned char *src, size_t len, struct buf *out,
		 struct appkg_err *e)
{
	size_t bound = ZSTD_compressBound(len), r;

	out->len = 0;
	if (buf_reserve(out, bound))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	/* libzstd chooses its row-based match finder (levels 4 to 12) by the CPU: with 128-bit
	 * SIMD for frames over 16 KiB, without it only over 128 KiB, and the two give different
	 * bytes. Fix the SIMD choice on every CPU (§3.2); a libzstd without the parameter keeps
	 * its own choice, which changes compressed bytes only, never what they decode to. */
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_useRowMatchFinder,
			       len > ROW_MATCH_FINDER_FROM ? ZSTD_ps_enable : ZSTD_ps_disable);
	r = ZSTD_compress2(cctx, out->data, bound, src, len);
	if (ZSTD_isError(r))
		return appkg_fail(e, APPKG_ERR_FRAME, "zstd: %s", ZSTD_getErrorName(r));
	out->len = r;
	return 0;
}

/* One frame of len bytes compressed in parts (frame 0 of a writer, made as it is compressed):
 * cctx set up as frame_encode would for len bytes, the frame's bytes to sit at fixed addresses
 * while more of them are given to each ZSTD_compressStream2 (ZSTD_c_stableInBuffer). libzstd
 * then compresses the same blocks from the same window as ZSTD_compress2 of the whole: the
 * same bytes (§3.2). */
int frame_encode_begin(void *cctx, size_t len)
{
	ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_useRowMatchFinder,
			       len > ROW_MATCH_FINDER_FROM ? ZSTD_ps_enable : ZSTD_ps_disable);
	return ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_stableInBuffer, 1)) ||
	       ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(cctx, len)) ? -1 : 0;
}

int index_encode(struct buf *out, const struct index_entry *entries, uint32_t n)
{
	unsigned char h[SKIP_HEADER + 12], fixed[INDEX_ENTRY_FIXED];
	size_t start = out->len;

	memcpy(h + SKIP_HEADER, INDEX_MAGIC, 8);
	put_le32(h + SKIP_HEADER + 8, n);
	if (buf_append(out, h, sizeof(h)))
		return APPKG_ERR_NO_MEMORY;
	for (uint32_t i = 0; i < n; i++) {
		const struct index_entry *x = &entries[i];
		put_le32(fixed, x->frame);
		put_le32(fixed + 4, x->offset);
		put_le64(fixed + 8, x->size);
		memcpy(fixed + 16, x->digest, APPKG_DIGEST_BYTES);
		put_le16(fixed + 48, (uint16_t)x->path_len);
		if (buf_append(out, fixed, sizeof(fixed)) || buf_append(out, x->path, x->path_len))
			return APPKG_ERR_NO_MEMORY;
	}
	put_le32(out->data + start, SKIPPABLE_INDEX);
	put_le32(out->data + start + 4, (uint32_t)(out->len - start - SKIP_HEADER));
	return 0;
}

int seek_table_encode(struct buf *out, const struct frame_info *frames, uint32_t n)
{
	unsigned char b[SKIP_HEADER];

	put_le32(b, SKIPPABLE_SEEK);
	put_le32(b + 4, n * 8 + FOOTER_BYTES);
	if (buf_append(out, b, SKIP_HEADER))
		return APPKG_ERR_NO_MEMORY;
	for (uint32_t i = 0; i < n; i++) {
		put_le32(b, frames[i].csize);
		put_le32(b + 4, frames[i].dsize);
		if (buf_append(out, b, 8))
			return APPKG_ERR_NO_MEMORY;
	}
	put_le32(b, n);
	b[4] = 0;
	if (buf_append(out, b, 5))
		return APPKG_ERR_NO_MEMORY;
	put_le32(b, SEEK_TABLE_MAGIC);
	return buf_append(out, b, 4) ? APPKG_ERR_NO_MEMORY : 0;
}
