/* SPDX-License-Identifier: MIT */
/*
 * Canonical tar entries (spec section "Tar layer"). The writer emits one fixed form of ustar
 * header, preceded by a pax header holding only a "path" record when the path is not short
 * ASCII. The reader accepts exactly that form: it parses the few variable fields, rebuilds the
 * header and compares every byte, so no link, device, sparse entry, GNU extension, odd mode or
 * owner can pass. This strictness is why reading does not go through libarchive's tolerant tar
 * reader (see README, "Dependencies").
 */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define PAX_NAME "PaxHeader"

static uint64_t pad512(uint64_t n)
{
	return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

static int needs_pax(const char *path, size_t len)
{
	if (len > 100)
		return 1;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)path[i] >= 0x80)
			return 1;
	return 0;
}

static void octal(unsigned char *field, size_t width, uint64_t v)
{
	/* width-1 digits, then NUL */
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (unsigned char)('0' + (v & 7));
	field[width - 1] = '\0';
}

/* Build the canonical 512-byte header for a name field, size, mtime and type. */
static void make_header(unsigned char h[TAR_BLOCK], const char *name, size_t name_len,
			uint64_t size, uint64_t mtime, char type)
{
	unsigned sum = 0;

	memset(h, 0, TAR_BLOCK);
	memcpy(h, name, name_len < 100 ? name_len : 100);
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	octal(h + 124, 12, size);
	octal(h + 136, 12, mtime);
	h[156] = (unsigned char)type;
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	memcpy(h + 329, "0000000", 8);
	memcpy(h + 337, "0000000", 8);
	memset(h + 148, ' ', 8);
	/* the sum of every byte: past the type (157) only the magic, version, owner and group
	 * (257 to 345) are not zero */
	for (size_t i = 0; i < 157; i++)
		sum += h[i];
	for (size_t i = 257; i < 345; i++)
		sum += h[i];
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

/* "<len> path=<path>\n", where len counts the whole record including its own digits. */
static size_t pax_record(char *out, size_t cap, const char *path, size_t len)
{
	size_t body = strlen(" path=") + len + 1, total = body + 1;

	while ((size_t)snprintf(NULL, 0, "%zu", total) + body != total)
		total++;
	return (size_t)snprintf(out, cap, "%zu path=%.*s\n", total, (int)len, path);
}

uint64_t tar_entry_bytes(const char *path, uint64_t size)
{
	size_t len = strlen(path);
	uint64_t n = TAR_BLOCK + pad512(size);

	if (needs_pax(path, len)) {
		char rec[APPKG_MAX_PATH_BYTES + 32];
		n += TAR_BLOCK + pad512(pax_record(rec, sizeof(rec), path, len));
	}
	return n;
}

int tar_put_header(struct buf *b, const char *path, uint64_t size, uint64_t mtime)
{
	size_t len = strlen(path);
	unsigned char h[TAR_BLOCK];

	if (len > APPKG_MAX_PATH_BYTES)
		return APPKG_ERR_NAME_LENGTH;
	if (needs_pax(path, len)) {
		char rec[APPKG_MAX_PATH_BYTES + 32];
		size_t n = pax_record(rec, sizeof(rec), path, len);
		make_header(h, PAX_NAME, strlen(PAX_NAME), n, mtime, 'x');
		if (buf_append(b, h, TAR_BLOCK) || buf_append(b, rec, n) ||
		    buf_append_zeros(b, pad512(n) - n))
			return APPKG_ERR_NO_MEMORY;
	}
	make_header(h, path, len, size, mtime, '0');
	return buf_append(b, h, TAR_BLOCK) ? APPKG_ERR_NO_MEMORY : 0;
}

int tar_put_padding(struct buf *b, uint64_t size)
{
	return buf_append_zeros(b, pad512(size) - size) ? APPKG_ERR_NO_MEMORY : 0;
}

static int is_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Strict octal: width-1 digits then NUL. */
static int parse_octal(const unsigned char *f, size_t width, uint64_t *v)
{
	*v = 0;
	for (size_t i = 0; i < width - 1; i++) {
		if (f[i] < '0' || f[i] > '7')
			return -1;
		*v = *v << 3 | (uint64_t)(f[i] - '0');
	}
	return f[width - 1] == '\0' ? 0 : -1;
}

static const char *type_name(unsigned char t)
{
	switch (t) {
	case '1': return "hard link";
	case '2': return "symbolic link";
	case '3': return "character device";
	case '4': return "block device";
	case '5': return "directory";
	case '6': return "fifo";
	case 'S': return "sparse file";
	case 'L': case 'K': return "GNU long name record";
	case 'g': return "pax global header";
	default: return "unsupported entry type";
	}
}

/* Check one header block: checksum, type, then byte equality with the canonical form. */
static int check_header(const unsigned char *h, char want, uint64_t *size, uint64_t *mtime,
			struct appkg_err *e, const char *where)
{
	unsigned sum = 0;
	uint64_t stored;
	unsigned char canon[TAR_BLOCK];
	size_t name_len;

	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	if (parse_octal(h + 148, 7, &stored) || h[155] != ' ' || stored != sum)
		return appkg_fail(e, APPKG_ERR_TAR_CHECKSUM, "%s: tar header checksum mismatch", where);
	if (h[156] != (unsigned char)want) {
		int code = (h[156] == 'x' || h[156] == 'g' || h[156] == 'L' || h[156] == 'K')
				   ? APPKG_ERR_TAR_PAX : APPKG_ERR_TAR_TYPE;
		if (h[156] == '0' || h[156] == 'x')
			code = APPKG_ERR_TAR_HEADER;
		return appkg_fail(e, code, "%s: %s", where,
				  code == APPKG_ERR_TAR_HEADER ? "unexpected tar header" : type_name(h[156]));
	}
	if (parse_octal(h + 124, 12, size) || parse_octal(h + 136, 12, mtime))
		return appkg_fail(e, APPKG_ERR_TAR_HEADER, "%s: bad size or mtime field", where);
	name_len = strnlen((const char *)h, 100);
	make_header(canon, (const char *)h, name_len, *size, *mtime, want);
	if (memcmp(canon, h, TAR_BLOCK) != 0)
		return appkg_fail(e, APPKG_ERR_TAR_HEADER, "%s: tar header not in canonical form "
				  "(mode, owner, magic or unused fields)", where);
	return 0;
}

/* Parse the single canonical pax record; copies the path into t. */
static int parse_pax(const unsigned char *d, uint64_t n, struct tar_entry *t, struct appkg_err *e)
{
	char rec[APPKG_MAX_PATH_BYTES + 32];
	const char *eq = memchr(d, '=', n);
	size_t len;

	if (n > sizeof(rec) || !eq || (size_t)(eq - (const char *)d) < 6 ||
	    memcmp(eq - 5, " path", 5) != 0)
		return appkg_fail(e, APPKG_ERR_TAR_PAX, "pax header: only one path record is allowed");
	len = n - (size_t)(eq + 1 - (const char *)d) - 1;
	if (len > APPKG_MAX_PATH_BYTES || memchr(eq + 1, '\0', len))
		return appkg_fail(e, APPKG_ERR_NAME_LENGTH, "pax header: path too long or has NUL");
	if (pax_record(rec, sizeof(rec), eq + 1, len) != n || memcmp(rec, d, n) != 0)
		return appkg_fail(e, APPKG_ERR_TAR_PAX, "pax header: not a single canonical path record");
	memcpy(t->path, eq + 1, len);
	t->path[len] = '\0';
	t->path_len = len;
	return 0;
}

int tar_parse_entry(const unsigned char *p, size_t avail, struct tar_entry *t, struct appkg_err *e)
{
	uint64_t size, pax_mtime = 0, off = 0;
	int pax;

	if (avail < TAR_BLOCK)
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "tar entry cut at a frame end");
	if (is_zero(p, TAR_BLOCK))
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "end-of-archive block before the last frame");
	pax = p[156] == 'x';
	if (pax) {
		if (check_header(p, 'x', &size, &pax_mtime, e, "pax header"))
			return e->code;
		if (size > avail - TAR_BLOCK || size == 0)
			return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "pax header: data cut at a frame end");
		if (memcmp(p, PAX_NAME, sizeof(PAX_NAME)) != 0)
			return appkg_fail(e, APPKG_ERR_TAR_PAX, "pax header: unexpected name");
		if (parse_pax(p + TAR_BLOCK, size, t, e))
			return e->code;
		off = TAR_BLOCK + pad512(size);
		if (off > avail || !is_zero(p + TAR_BLOCK + size, pad512(size) - size))
			return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: bad pax padding", t->path);
		if (off + TAR_BLOCK > avail)
			return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: header cut at a frame end", t->path);
	}
	if (check_header(p + off, '0', &t->size, &t->mtime, e, pax ? t->path : "tar header"))
		return e->code;
	if (pax && pax_mtime != t->mtime) /* §5.2: one mtime in every header, pax included */
		return appkg_fail(e, APPKG_ERR_TAR_HEADER, "%s: pax header mtime %llu differs from the "
				  "entry's %llu", t->path, (unsigned long long)pax_mtime,
				  (unsigned long long)t->mtime);
	if (!pax) {
		t->path_len = strnlen((const char *)p, 100);
		memcpy(t->path, p, t->path_len);
		t->path[t->path_len] = '\0';
	}
	if (needs_pax(t->path, t->path_len) != pax ||
	    strnlen((const char *)p + off, 100) != (t->path_len < 100 ? t->path_len : 100) ||
	    memcmp(p + off, t->path, t->path_len < 100 ? t->path_len : 100) != 0)
		return appkg_fail(e, APPKG_ERR_TAR_PAX, "%s: name and pax path disagree", t->path);
	t->data_off = off + TAR_BLOCK;
	if (t->size > avail - t->data_off || pad512(t->size) > avail - t->data_off)
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: data cut at a frame end", t->path);
	t->total = t->data_off + pad512(t->size);
	if (!is_zero(p + t->data_off + t->size, pad512(t->size) - t->size))
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "%s: non-zero padding", t->path);
	return 0;
}

int tar_check_end(const unsigned char *p, size_t len, struct appkg_err *e)
{
	if (len != TAR_END_BYTES || !is_zero(p, len))
		return appkg_fail(e, APPKG_ERR_TAR_LAYOUT, "last frame is not the end-of-archive marker");
	return 0;
}
