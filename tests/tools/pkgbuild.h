/* SPDX-License-Identifier: MIT */
/*
 * Package assembly for the test generators (mkvector, mkhostile): members written as canonical
 * tar entries with appkg's own code or, for the forms canonical tar lacks (links, devices, odd
 * modes, GNU and pax extensions), by libarchive as a stock tar writes them; each member in a
 * zstd frame of its own, then the member index and the seek table, which may be told to lie.
 */
#ifndef APPKG_PKGBUILD_H
#define APPKG_PKGBUILD_H

#include <stddef.h>

#include "../../format/internal.h"

#define PKG_MAX_FRAMES 64

struct member {
	const char *path;
	const char *data;       /* content, NUL-terminated unless len is given; for links the
				 * target, which with_data also writes as the link's data */
	char type;              /* '0' canonical; else libarchive: '1' hard link (data: target),
				 * '2' symlink (data: target), '3' char and '4' block device,
				 * '5' directory, '6' fifo, 'S' setuid file, 'R' regular file */
	const char *index_path; /* name the index gives it, when it lies; NULL = path */
	size_t len;             /* data length when it has NUL bytes; 0 = strlen */
	const char *digest_of;  /* the index digest covers these bytes instead (a lie); NULL = data */
	unsigned mode;          /* libarchive entries: st_mode instead of the type's default */
	int format;             /* libarchive entries: ARCHIVE_FORMAT_*; 0 = pax restricted */
	const char *xattr;      /* libarchive entries: an extended attribute to carry */
	int with_data;          /* libarchive entries: write len bytes of data (links included) */
};

struct pkg {
	struct buf file;
	struct frame_info frames[PKG_MAX_FRAMES];
	struct index_entry index[PKG_MAX_FRAMES];
	uint32_t nframes, nindex;
};

__attribute__((noreturn)) void pkg_die(const char *what);
/* Data length of a member as the canonical writer would store it. */
size_t member_len(const struct member *m);
/* Append one zstd frame (content size and checksum on) holding raw; flip one compressed bit. */
void pkg_frame(struct pkg *p, const void *raw, size_t len, int flip);
/* Append an already compressed frame that the seek table lists with dsize. */
void pkg_frame_bytes(struct pkg *p, const void *z, size_t zlen, uint32_t dsize);
/* Append the tar entry of a member (canonical or libarchive) to tar. */
void pkg_tar_entry(struct buf *tar, const struct member *m);
/* An index entry for len bytes of data at (frame, offset). */
void pkg_index_add(struct pkg *p, const char *path, uint32_t frame, uint32_t offset,
		   const void *data, size_t len);
/* A member in a frame of its own, listed in the index. */
void pkg_member(struct pkg *p, const struct member *m, int flip);
/* The manifest listing every resource member under its index path with the index's size and
 * digest, so that only the tar entry can tell; malloc'd. */
char *pkg_manifest(const struct member *m, size_t n, const char *extra);
/* manifest.json (generated when NULL), then each member; member flip_member gets a bit flip. */
void pkg_members(struct pkg *p, const struct member *m, size_t n, const char *manifest,
		 int flip_member);
/* The index and the seek table after the frames written so far. */
void pkg_finish(struct pkg *p);
/* The end-of-archive frame, the index and the seek table; tail > 0 appends "garbage", tail < 0
 * cuts that many bytes off. */
void pkg_close(struct pkg *p, long tail);
void pkg_write_file(const char *path, const void *data, size_t len);

#endif
