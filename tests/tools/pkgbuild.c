/* SPDX-License-Identifier: MIT */
/*
 * Package assembly shared by the test generators (see pkgbuild.h). Everything is deterministic:
 * the same calls give the same bytes.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <zstd.h>

#include "pkgbuild.h"

void pkg_die(const char *what)
{
	fprintf(stderr, "pkgbuild: %s\n", what);
	exit(1);
}

size_t member_len(const struct member *m)
{
	return m->len ? m->len : strlen(m->data);
}

void pkg_frame_bytes(struct pkg *p, const void *z, size_t zlen, uint32_t dsize)
{
	if (p->nframes == PKG_MAX_FRAMES)
		pkg_die("too many frames");
	p->frames[p->nframes++] = (struct frame_info){.offset = p->file.len, .csize = (uint32_t)zlen,
						      .dsize = dsize};
	buf_append(&p->file, z, zlen);
}

void pkg_frame(struct pkg *p, const void *raw, size_t len, int flip)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	struct buf out = {0};
	struct appkg_err e = {0};

	ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1);
	if (frame_encode(c, raw, len, &out, &e))
		pkg_die(e.msg);
	if (flip)
		out.data[out.len / 2] ^= 0x10;
	pkg_frame_bytes(p, out.data, out.len, (uint32_t)len);
	buf_free(&out);
	ZSTD_freeCCtx(c);
}

static unsigned default_mode(char type)
{
	switch (type) {
	case '2': return S_IFLNK | 0777;
	case '3': return S_IFCHR | 0644;
	case '4': return S_IFBLK | 0644;
	case '5': return S_IFDIR | 0755;
	case '6': return S_IFIFO | 0644;
	case 'S': return S_IFREG | 04755;
	default: return S_IFREG | 0644;
	}
}

/* A tar entry written by libarchive (pax restricted unless told), for the forms canonical tar
 * lacks. Its end-of-archive marker is dropped. */
static void libarchive_entry(struct buf *b, const struct member *m)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t len = m->with_data ? member_len(m) : 0, used = 0;
	size_t cap = 65536 + 3 * strlen(m->path) + 2 * len;
	unsigned char *mem = calloc(1, cap);

	if (!mem)
		pkg_die("out of memory");
	if (m->format)
		archive_write_set_format(a, m->format);
	else
		archive_write_set_format_pax_restricted(a);
	archive_write_set_bytes_per_block(a, 0);
	archive_write_open_memory(a, mem, cap, &used);
	archive_entry_set_pathname(e, m->path);
	archive_entry_set_mode(e, m->mode ? m->mode : default_mode(m->type));
	if (m->type == '1')
		archive_entry_set_hardlink(e, m->data);
	if (m->type == '2')
		archive_entry_set_symlink(e, m->data);
	if (m->type == '3' || m->type == '4')
		archive_entry_set_rdev(e, makedev(1, 3));
	if (m->xattr)
		archive_entry_xattr_add_entry(e, m->xattr, "v", 1);
	if (m->with_data)
		archive_entry_set_size(e, (la_int64_t)len);
	archive_write_header(a, e);
	if (len && archive_write_data(a, m->data, len) < 0)
		pkg_die(archive_error_string(a));
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	buf_append(b, mem, used - TAR_END_BYTES);
	free(mem);
}

void pkg_tar_entry(struct buf *tar, const struct member *m)
{
	size_t len = member_len(m);

	if (m->type != '0') {
		libarchive_entry(tar, m);
		return;
	}
	tar_put_header(tar, m->path, len, 0);
	buf_append(tar, m->data, len);
	tar_put_padding(tar, len);
}

void pkg_index_add(struct pkg *p, const char *path, uint32_t frame, uint32_t offset,
		   const void *data, size_t len)
{
	struct index_entry *x = &p->index[p->nindex++];

	x->path = (char *)path;
	x->path_len = (uint32_t)strlen(path);
	x->frame = frame;
	x->offset = offset;
	x->size = len;
	digest_bytes(x->digest, data, len);
}

void pkg_member(struct pkg *p, const struct member *m, int flip)
{
	struct buf tar = {0};
	size_t len = m->type == '0' ? member_len(m) : 0;

	if (p->nindex == PKG_MAX_FRAMES)
		pkg_die("too many members");
	pkg_tar_entry(&tar, m);
	pkg_index_add(p, m->index_path ? m->index_path : m->path, p->nframes, 0,
		      m->type != '0' ? "" : m->digest_of ? m->digest_of : m->data, len);
	pkg_frame(p, tar.data, tar.len, flip);
	buf_free(&tar);
}

char *pkg_manifest(const struct member *m, size_t n, const char *extra)
{
	struct buf b = {0};
	char line[1024], hex[65];
	unsigned char d[32];
	int first = 1;

	snprintf(line, sizeof(line), "{\"format\":\"appkg\",\"format_version\":\"1.0\","
		 "\"digest_algorithm\":\"blake2b-256\",\"name\":\"vector\"%s,\"resources\":[", extra);
	buf_append(&b, line, strlen(line));
	for (size_t i = 0; i < n; i++) {
		const char *path = m[i].index_path ? m[i].index_path : m[i].path;
		const char *t = path + 10, *slash;
		if (strncmp(path, "resources/", 10) || !(slash = strchr(t, '/')))
			continue;
		size_t len = m[i].type != '0' ? 0 : member_len(&m[i]);
		digest_bytes(d, m[i].type != '0' ? "" : m[i].digest_of ? m[i].digest_of : m[i].data, len);
		hex_encode(hex, d, 32);
		snprintf(line, sizeof(line), "%s{\"type\":\"%.*s\",\"name\":\"%.*s\",\"path\":\"%s\","
			 "\"size\":%zu,\"digest\":\"%s\",\"mode\":\"create\",\"depends_on\":[]}",
			 first ? "" : ",", (int)(slash - t), t, (int)(strlen(slash + 1) - 5), slash + 1,
			 path, len, hex);
		buf_append(&b, line, strlen(line));
		first = 0;
	}
	buf_append(&b, "]}\n", 4);
	return (char *)b.data;
}

void pkg_members(struct pkg *p, const struct member *m, size_t n, const char *manifest,
		 int flip_member)
{
	char *gen = manifest ? NULL : pkg_manifest(m, n, "");
	struct member man = {MANIFEST_PATH, manifest ? manifest : gen, '0', NULL};

	pkg_member(p, &man, 0);
	for (size_t i = 0; i < n; i++)
		pkg_member(p, &m[i], flip_member == (int)i);
	free(gen);
}

void pkg_finish(struct pkg *p)
{
	index_encode(&p->file, p->index, p->nindex);
	seek_table_encode(&p->file, p->frames, p->nframes);
}

void pkg_close(struct pkg *p, long tail)
{
	unsigned char end[TAR_END_BYTES] = {0};

	pkg_frame(p, end, sizeof(end), 0);
	pkg_finish(p);
	if (tail > 0)
		buf_append(&p->file, "garbage", 7);
	if (tail < 0)
		p->file.len -= (size_t)-tail;
}

void pkg_write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
		pkg_die(path);
}
