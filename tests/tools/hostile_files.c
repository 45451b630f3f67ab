/* SPDX-License-Identifier: MIT */
/*
 * mkhostile, third part: whole files that are not appkg packages (plain tar, gzip, double zstd,
 * zip and cpio in zstd, concatenations, an empty file), and the big inputs, streamed through
 * zstd so that generating them stays fast: 512 MiB of whitespace as a manifest, a stock
 * .tar.zst of a million members.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>

#include "hostile.h"

/* ---- whole files that are not appkg packages ---- */

/* A good package of the manifest and one resource, not yet closed. */
static void good_pkg(struct pkg *p)
{
	static const struct member home = HOME;

	pkg_members(p, &home, 1, NULL, -1);
}

/* The tar stream of a good package (manifest and one resource), uncompressed. */
static void good_tar(struct buf *tar)
{
	static const struct member home = HOME;
	char *man = pkg_manifest(&home, 1, "");

	pkg_tar_entry(tar, &(struct member){MANIFEST_PATH, man, '0'});
	pkg_tar_entry(tar, &home);
	buf_append_zeros(tar, TAR_END_BYTES);
	free(man);
}

/* The same two files as zip, cpio or gzipped tar, written by libarchive. */
static void libarchive_file(struct buf *out, int format, int gzip)
{
	static const struct member home = HOME;
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0, cap = 1u << 20;

	buf_reserve(out, cap);
	archive_write_set_format(a, format);
	if (gzip) {
		archive_write_add_filter_gzip(a);
		archive_write_set_options(a, "gzip:!timestamp");
	}
	archive_write_open_memory(a, out->data, cap, &used);
	archive_entry_set_pathname(e, home.path);
	archive_entry_set_mode(e, S_IFREG | 0644);
	archive_entry_set_size(e, (la_int64_t)member_len(&home));
	archive_write_header(a, e);
	archive_write_data(a, home.data, member_len(&home));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	out->len = used;
}

enum fkind { F_EMPTY, F_SHORT, F_TAR, F_TAR_ZST, F_GZIP, F_DOUBLE_ZSTD, F_ZIP_ZST, F_CPIO_ZST,
	     F_CONCAT_PKG, F_CONCAT_FRAMES, F_FRAME_GARBAGE, F_PKG_THEN_FRAME };

static void file_case(const char *name, enum fkind kind)
{
	struct buf tar = {0}, out = {0}, tmp = {0};
	struct pkg p = {0};

	good_tar(&tar);
	good_pkg(&p);
	pkg_close(&p, 0);
	switch (kind) {
	case F_EMPTY: break;
	case F_SHORT: buf_append(&out, "\xb1\xea\x92\x8f", 4); break;
	case F_TAR: buf_append(&out, tar.data, tar.len); break;
	case F_TAR_ZST: compress_into(&out, tar.data, tar.len, 3); break;
	case F_GZIP: libarchive_file(&out, ARCHIVE_FORMAT_TAR_USTAR, 1); break;
	case F_DOUBLE_ZSTD: compress_into(&out, p.file.data, p.file.len, 3); break;
	case F_ZIP_ZST:
	case F_CPIO_ZST:
		libarchive_file(&tmp, kind == F_ZIP_ZST ? ARCHIVE_FORMAT_ZIP : ARCHIVE_FORMAT_CPIO_SVR4_NOCRC, 0);
		compress_into(&out, tmp.data, tmp.len, 3);
		break;
	case F_CONCAT_PKG:
		buf_append(&out, p.file.data, p.file.len);
		buf_append(&out, p.file.data, p.file.len);
		break;
	case F_CONCAT_FRAMES:
	case F_FRAME_GARBAGE:
		compress_into(&out, tar.data, tar.len, 3);
		if (kind == F_CONCAT_FRAMES)
			compress_into(&out, tar.data, tar.len, 3);
		else
			buf_append(&out, garbage, sizeof(garbage));
		break;
	case F_PKG_THEN_FRAME:
		buf_append(&out, p.file.data, p.file.len);
		compress_into(&out, tar.data, tar.len, 3);
		break;
	}
	emit(name, kind == F_CONCAT_PKG ? "-207" : "-200", 0, out.data, out.len);
	buf_free(&tar);
	buf_free(&out);
	buf_free(&tmp);
	buf_free(&p.file);
}

void file_cases(void)
{
	static const struct {
		const char *name;
		enum fkind kind;
	} t[] = {
		{"raw_empty_file", F_EMPTY}, {"raw_only_footer_magic", F_SHORT},
		{"raw_plain_tar", F_TAR}, {"raw_tar_zst", F_TAR_ZST}, {"raw_tar_gzip", F_GZIP},
		{"raw_double_zstd", F_DOUBLE_ZSTD}, {"raw_zip_in_zstd", F_ZIP_ZST},
		{"raw_cpio_in_zstd", F_CPIO_ZST}, {"concatenated_packages", F_CONCAT_PKG},
		{"raw_concatenated_frames", F_CONCAT_FRAMES}, {"raw_garbage_after_frame", F_FRAME_GARBAGE},
		{"package_then_zstd_frame", F_PKG_THEN_FRAME},
	};

	for (size_t i = 0; i < N(t); i++)
		file_case(t[i].name, t[i].kind);
}

/* ---- big inputs, streamed ---- */

struct stream {
	ZSTD_CCtx *c;
	struct buf out;
};

static void stream_start(struct stream *s, uint64_t pledged)
{
	s->c = ZSTD_createCCtx();
	s->out = (struct buf){0};
	ZSTD_CCtx_setParameter(s->c, ZSTD_c_compressionLevel, 1);
	ZSTD_CCtx_setParameter(s->c, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setPledgedSrcSize(s->c, pledged);
}

static void stream_put(struct stream *s, const void *p, size_t n, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = {p, n, 0};
	size_t left;

	do {
		buf_reserve(&s->out, ZSTD_CStreamOutSize());
		ZSTD_outBuffer o = {s->out.data + s->out.len, ZSTD_CStreamOutSize(), 0};
		left = ZSTD_compressStream2(s->c, &o, &in, end);
		if (ZSTD_isError(left))
			pkg_die(ZSTD_getErrorName(left));
		s->out.len += o.pos;
	} while (in.pos < in.size || (end == ZSTD_e_end && left));
}

/* One frame holding a tar entry of `size` bytes of `fill`; the tar end marker too if raw. */
static void stream_entry(struct stream *s, const char *path, uint64_t size, char fill, int raw)
{
	static char chunk[1u << 20];
	struct buf head = {0};
	uint64_t pad = (TAR_BLOCK - size % TAR_BLOCK) % TAR_BLOCK;

	tar_put_header(&head, path, size, 0);
	stream_start(s, head.len + size + pad + (raw ? TAR_END_BYTES : 0));
	stream_put(s, head.data, head.len, ZSTD_e_continue);
	memset(chunk, fill, sizeof(chunk));
	for (uint64_t left = size; left; left -= left < sizeof(chunk) ? left : sizeof(chunk))
		stream_put(s, chunk, left < sizeof(chunk) ? left : sizeof(chunk), ZSTD_e_continue);
	memset(chunk, 0, TAR_END_BYTES);
	stream_put(s, chunk, pad, ZSTD_e_continue);
	stream_put(s, chunk, raw ? TAR_END_BYTES : 0, ZSTD_e_end);
	ZSTD_freeCCtx(s->c);
	buf_free(&head);
}

/* 512 MiB of whitespace as manifest.json: in a package (frame 0 too big) and as a .tar.zst. */
void whitespace_512mb(void)
{
	uint64_t size = 512ull * MIB;
	struct stream s;
	struct pkg p = {0};

	stream_entry(&s, MANIFEST_PATH, size, ' ', 1);
	emit("raw_manifest_whitespace_512mb", "-200", 0, s.out.data, s.out.len);
	buf_free(&s.out);
	stream_entry(&s, MANIFEST_PATH, size, ' ', 0);
	p.index[p.nindex++] = (struct index_entry){.path = MANIFEST_PATH, .path_len = 13, .size = size};
	pkg_frame_bytes(&p, s.out.data, s.out.len, (uint32_t)(size + TAR_BLOCK));
	emit_pkg("manifest_whitespace_512mb", "-206|-209", &p);
	buf_free(&s.out);
}

/* A stock .tar.zst of a million empty members. */
void million_members_raw(void)
{
	struct stream s;
	struct buf head = {0};
	char path[64];
	const uint32_t n = 1000000;

	stream_start(&s, (uint64_t)n * TAR_BLOCK + TAR_END_BYTES);
	for (uint32_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "resources/pages/%07u.json", i);
		head.len = 0;
		tar_put_header(&head, path, 0, 0);
		stream_put(&s, head.data, head.len, ZSTD_e_continue);
	}
	buf_append_zeros(&head, TAR_END_BYTES);
	stream_put(&s, head.data + TAR_BLOCK, TAR_END_BYTES, ZSTD_e_end);
	ZSTD_freeCCtx(s.c);
	emit("raw_million_members", "-200", 0, s.out.data, s.out.len);
	buf_free(&s.out);
	buf_free(&head);
}
