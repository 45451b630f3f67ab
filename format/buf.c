/* SPDX-License-Identifier: MIT */
/* Growable byte buffers, little-endian integers, hex and the package digest (BLAKE2b-256). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int buf_reserve(struct buf *b, size_t extra)
{
	size_t cap;
	unsigned char *p;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len)
		return APPKG_ERR_NO_MEMORY;
	cap = b->cap ? b->cap : 4096;
	while (cap - b->len < extra)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return APPKG_ERR_NO_MEMORY;
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_reserve_exact(struct buf *b, size_t extra)
{
	unsigned char *p;

	if (extra <= b->cap - b->len)
		return 0;
	if (extra > SIZE_MAX / 2 - b->len || !(p = realloc(b->data, b->len + extra)))
		return APPKG_ERR_NO_MEMORY;
	b->data = p;
	b->cap = b->len + extra;
	return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n))
		return APPKG_ERR_NO_MEMORY;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_append_zeros(struct buf *b, size_t n)
{
	if (buf_reserve(b, n))
		return APPKG_ERR_NO_MEMORY;
	memset(b->data + b->len, 0, n);
	b->len += n;
	return 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

void put_le32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

void put_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (v >> (8 * i)) & 0xff;
}

uint16_t get_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint64_t get_le64(const unsigned char *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

/* Lowercase hex digits only (a digest is written so); -1 for anything else. */
static const signed char hex_values[256] = {
	['0'] = 1, ['1'] = 2, ['2'] = 3, ['3'] = 4, ['4'] = 5, ['5'] = 6, ['6'] = 7, ['7'] = 8,
	['8'] = 9, ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14, ['e'] = 15,
	['f'] = 16,
}; /* the value plus one, so that 0 means "not a digit" */

int hex_decode(unsigned char *out, size_t n, const char *in)
{
	const unsigned char *p = (const unsigned char *)in;

	for (size_t i = 0; i < n; i++) {
		int hi = hex_values[p[2 * i]] - 1, lo;
		if (hi < 0 || (lo = hex_values[p[2 * i + 1]] - 1) < 0)
			return -1; /* a NUL ends the string early here too */
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return p[2 * n] == '\0' ? 0 : -1;
}

void digest_bytes(unsigned char out[APPKG_DIGEST_BYTES], const void *p, size_t n)
{
	blake2b_256(out, p, n); /* crypto_generichash(out, 32, p, n, NULL, 0), faster */
}
