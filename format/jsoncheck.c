/* SPDX-License-Identifier: MIT */
/*
 * Validation of resource documents without building them (spec section "JSON documents"):
 * RFC 8259 grammar, UTF-8, nesting at most APPKG_MAX_JSON_DEPTH, no duplicate keys, and an
 * object at the top. Pack and verify read every resource, so this runs over the whole payload;
 * it allocates only the keys of the objects currently open, never a tree (Jansson is kept for
 * the manifest, which is edited as a tree).
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "internal.h"

struct key {
	size_t off, len; /* in the input, or in the arena when escaped */
	uint64_t hash; /* of the (decoded) bytes: most unequal keys differ here */
	int in_arena;
};

struct scan {
	const unsigned char *p;
	size_t n, i;
	struct key *keys;
	size_t nkeys, cap;
	struct buf arena; /* decoded keys that had escapes */
	size_t *table, table_cap; /* duplicate check of large objects */
	const char *why;
	int marks; /* a string's raw text holds "[[appkg:" or "\\u" */
	int escaped; /* the last string scanned held an escape (push_key resets it) */
};

static int err(struct scan *s, const char *why)
{
	if (!s->why)
		s->why = why;
	return -1;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Bytes are compared eight at a time in a 64-bit word; the first byte of interest is then
 * found from the lowest flagged byte of a mask, which is the first byte in memory on a
 * little-endian CPU and the last on a big-endian one. */
static size_t first_flagged(uint64_t mask)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	return (size_t)__builtin_clzll(mask) >> 3;
#else
	return (size_t)__builtin_ctzll(mask) >> 3;
#endif
}

#ifdef __SSE2__
/* SSE2 is part of x86-64, so these need no runtime check. Sixteen bytes suit the documents
 * pack sees: pretty-printed, with most strings and runs of indentation shorter than that, so
 * a token is usually settled by one block. Bit k of a mask stands for byte k. */

/* The bytes that are not JSON whitespace. */
static unsigned not_ws16(const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
					       _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
				  _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
					       _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));

	return ~(unsigned)_mm_movemask_epi8(ws) & 0xffff;
}

/* The bytes that end a plain run of string content (string_stop): a signed compare with 0x20
 * catches both the control characters and every byte >= 0x80. */
static unsigned stops16(const unsigned char *p)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8('"'))),
				 _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')),
					      _mm_cmpeq_epi8(v, _mm_set1_epi8('['))));

	return (unsigned)_mm_movemask_epi8(m);
}
#endif

/* The end of a run of whitespace that starts at i. The cursor is a local and the scanner's
 * hot paths pass it by value: a store through s would have to be repeated at each byte,
 * since the bytes read may alias it. A run (a newline and indentation) is stepped over
 * sixteen bytes at a time with SSE2, else spaces eight at a time: the first byte that is not
 * a space is the first non-zero byte of the word XOR eight spaces. Bounds are written
 * i + k <= n: the helpers that walk a document already checked may call with i past n. */
static size_t ws_run_end(const unsigned char *p, size_t i, size_t n)
{
	uint64_t v, x;

#ifdef __SSE2__
	for (unsigned m; i + 16 <= n; i += 16)
		if ((m = not_ws16(p + i)))
			return i + (size_t)__builtin_ctz(m);
#endif
	while (i < n) {
		if (p[i] == ' ') {
			i++;
			while (i + 8 <= n) {
				memcpy(&v, p + i, 8);
				x = v ^ (ONES * ' ');
				if (x) {
					i += first_flagged(x);
					break;
				}
				i += 8;
			}
		} else if (p[i] == '\n' || p[i] == '\t' || p[i] == '\r') {
			i++;
		} else {
			break;
		}
	}
	return i;
}

/* No whitespace, the one space after a ':', or a newline and indentation shorter than a block
 * are the common cases, settled inline: each place that skips whitespace then has branches of
 * its own, which predict well. */
static inline __attribute__((always_inline)) size_t ws_end(const unsigned char *p, size_t i,
							   size_t n)
{
	if (i < n && p[i] > ' ')
		return i;
	if (i + 1 < n && p[i] == ' ' && p[i + 1] > ' ')
		return i + 1;
#ifdef __SSE2__
	if (i + 16 <= n) {
		unsigned m = not_ws16(p + i);
		if (m)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	return ws_run_end(p, i, n);
}

static void skip_ws(struct scan *s)
{
	s->i = ws_end(s->p, s->i, s->n);
}

/* The bytes of v that end a plain run (string_stop), as a mask of high bits. It may flag a
 * byte that does not (a borrow from a lower byte that does), never the reverse, and the
 * lowest flagged byte is always one that does (a borrow only runs upwards). */
static uint64_t stops_in_word(uint64_t v)
{
	uint64_t q = v ^ (ONES * '"'), b = v ^ (ONES * '\\'), k = v ^ (ONES * '[');

	return ((v - ONES * 0x20) | (q - ONES) | (b - ONES) | (k - ONES) | v) & HIGHS;
}

/* Length of the UTF-8 sequence at p (1..4), or 0 if invalid (overlong, surrogate, > U+10FFFF). */
static int utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return avail >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if (avail < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if (avail < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static int hex4(const unsigned char *p, unsigned *v)
{
	*v = 0;
	for (int k = 0; k < 4; k++) {
		unsigned c = p[k];
		unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			   : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
		if (d > 15)
			return -1;
		*v = *v << 4 | d;
	}
	return 0;
}

/* \uXXXX (and its low surrogate); appends the UTF-8 bytes to out when out is not NULL. */
static int unicode_escape(struct scan *s, struct buf *out)
{
	unsigned u, lo;
	unsigned char b[4];
	int n;

	if (s->n - s->i < 6 || hex4(s->p + s->i + 2, &u))
		return err(s, "invalid \\u escape");
	s->i += 6;
	if (u >= 0xdc00 && u <= 0xdfff)
		return err(s, "lone low surrogate in \\u escape");
	if (u >= 0xd800 && u <= 0xdbff) {
		if (s->n - s->i < 6 || s->p[s->i] != '\\' || s->p[s->i + 1] != 'u' ||
		    hex4(s->p + s->i + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return err(s, "high surrogate without its low half in \\u escape");
		s->i += 6;
		u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (u == 0)
		return err(s, "\\u0000 is not allowed");
	if (!out)
		return 0;
	if (u < 0x80) { b[0] = (unsigned char)u; n = 1; }
	else if (u < 0x800) { b[0] = 0xc0 | u >> 6; b[1] = 0x80 | (u & 63); n = 2; }
	else if (u < 0x10000) { b[0] = 0xe0 | u >> 12; b[1] = 0x80 | (u >> 6 & 63); b[2] = 0x80 | (u & 63); n = 3; }
	else { b[0] = 0xf0 | u >> 18; b[1] = 0x80 | (u >> 12 & 63); b[2] = 0x80 | (u >> 6 & 63); b[3] = 0x80 | (u & 63); n = 4; }
	return buf_append(out, b, (size_t)n) ? err(s, "out of memory") : 0;
}

/* The bytes that end a run of plain string content: the quote, the backslash, '[' (where a
 * placeholder may start), control characters and every non-ASCII byte (UTF-8 is checked). */
static const unsigned char string_stop[256] = {
	[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, ['['] = 1, [0x80 ... 0xff] = 1,
};

/* An escape at s->i; its decoded bytes to out, when out is not NULL. */
static int escape(struct scan *s, struct buf *out)
{
	static const unsigned char decoded[256] = {
		['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f', ['n'] = '\n',
		['r'] = '\r', ['t'] = '\t',
	};
	unsigned char x = s->i + 1 < s->n ? s->p[s->i + 1] : 0;

	if (x == 'u' || (x == '\\' && s->i + 2 < s->n && s->p[s->i + 2] == 'u'))
		s->marks = 1; /* raw "\\u": the placeholder scan decodes such strings */
	if (x == 'u')
		return unicode_escape(s, out);
	if (!decoded[x])
		return err(s, "invalid escape");
	if (out && buf_append(out, &decoded[x], 1))
		return err(s, "out of memory");
	s->i += 2;
	return 0;
}

/* The first byte at or after i that ends a plain run (string_stop), or n: sixteen bytes at a
 * time with SSE2, then eight in a word, then one by one. */
static inline __attribute__((always_inline)) size_t plain_end(const unsigned char *p, size_t i,
								 size_t n)
{
	uint64_t v, stops;

#ifdef __SSE2__
	for (unsigned m; i + 16 <= n; i += 16)
		if ((m = stops16(p + i)))
			return i + (size_t)__builtin_ctz(m);
#endif
	for (; i + 8 <= n; i += 8) {
		memcpy(&v, p + i, 8);
		if ((stops = stops_in_word(v)))
			return i + first_flagged(stops);
	}
	while (i < n && !string_stop[p[i]])
		i++;
	return i;
}

/* The rest of a string whose content before i was plain (i just after the opening quote at
 * the least). With out, its decoded bytes are appended there. s->escaped is set when it holds
 * an escape. */
static int string_from(struct scan *s, size_t i, struct buf *out)
{
	const unsigned char *p = s->p;
	size_t n = s->n, j;
	int len;

	for (;;) {
		j = plain_end(p, i, n);
		if (out && j > i && buf_append(out, p + i, j - i)) {
			s->i = i;
			return err(s, "out of memory");
		}
		i = j;
		if (i >= n)
			break;
		s->i = i;
		if (p[i] == '"') {
			s->i = i + 1;
			return 0;
		}
		if (p[i] < 0x20)
			return err(s, "control character in string");
		if (p[i] == '\\') {
			s->escaped = 1;
			if (escape(s, out))
				return -1;
			i = s->i;
			continue;
		}
		if (p[i] == '[' && n - i >= 8 && !memcmp(p + i, "[[appkg:", 8))
			s->marks = 1;
		if (!(len = utf8_len(p + i, n - i)))
			return err(s, "invalid UTF-8");
		if (out && buf_append(out, p + i, (size_t)len))
			return err(s, "out of memory");
		i += (size_t)len;
	}
	s->i = i;
	return err(s, "unterminated string");
}

/* A string at s->i (the opening quote). */
static int string(struct scan *s, struct buf *out)
{
	return string_from(s, s->i + 1, out);
}

/* A string at *i: plain content up to its closing quote, the common case, is settled inline. */
static inline int string_at(struct scan *s, size_t *i)
{
	size_t j = plain_end(s->p, *i + 1, s->n);

	if (j < s->n && s->p[j] == '"') {
		*i = j + 1;
		return 0;
	}
	s->i = *i;
	if (string_from(s, j, NULL))
		return -1;
	*i = s->i;
	return 0;
}

static size_t digits_end(const unsigned char *p, size_t i, size_t n)
{
	while (i < n && (unsigned)(p[i] - '0') <= 9)
		i++;
	return i;
}

/* A number at *i; an error is placed where a digit was wanted. */
static int number(struct scan *s, size_t *pi)
{
	const unsigned char *p = s->p;
	size_t n = s->n, i = *pi, j;

	if (p[i] == '-')
		i++;
	if (i < n && p[i] == '0')
		i++;
	else if ((j = digits_end(p, i, n)) == i)
		goto bad;
	else
		i = j;
	if (i < n && p[i] == '.') {
		i++;
		if ((j = digits_end(p, i, n)) == i)
			goto bad;
		i = j;
	}
	if (i < n && (p[i] == 'e' || p[i] == 'E')) {
		i++;
		if (i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if ((j = digits_end(p, i, n)) == i)
			goto bad;
		i = j;
	}
	*pi = i;
	return 0;
bad:
	s->i = i;
	return err(s, "invalid number");
}

/* true, false or null at *i. */
static int literal(struct scan *s, size_t *i, const char *word, size_t len)
{
	if (s->n - *i < len || memcmp(s->p + *i, word, len) != 0) {
		s->i = *i;
		return err(s, "invalid token");
	}
	*i += len;
	return 0;
}

static const unsigned char *key_bytes(const struct scan *s, const struct key *k)
{
	return k->in_arena ? s->arena.data + k->off : s->p + k->off;
}

/* A key longer than two words: every word of it counts, mixed, lest keys that differ only in
 * the middle share one hash (a hostile object of many would make the table quadratic). */
static uint64_t long_key_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull ^ n, w;

	for (size_t i = 0; i + 8 < n; i += 8) {
		memcpy(&w, p + i, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	memcpy(&w, p + n - 8, 8);
	return (h ^ w) * 0x9e3779b97f4a7c15ull;
}

/* A hash of a key's bytes, equal for equal keys (which are then compared whole). avail >= n
 * bytes at p may be read. Most keys are short: up to sixteen bytes, its first and last eight
 * cover a key, each taken by one load, masked when the key is shorter than a word, so that
 * no branch depends on the length; the table mixes the bits. */
static inline uint64_t key_hash(const unsigned char *p, size_t n, size_t avail)
{
	uint64_t a = 0, b = 0, head;

	if (n > 16)
		return long_key_hash(p, n);
	if (avail < 8) { /* at the very end of the input */
		memcpy(&a, p, n);
		return a ^ n;
	}
	memcpy(&a, p, 8);
	memcpy(&b, p + (n >= 8 ? n - 8 : 0), 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	head = n >= 8 ? ~0ull : ~(~0ull >> 8 * n);
#else
	head = n >= 8 ? ~0ull : (1ull << 8 * n) - 1;
#endif
	b = n >= 8 ? b : 0;
	return (a & head) ^ (b << 1 | b >> 63) ^ n; /* no multiply here: most objects need no table */
}

static inline int key_equal(const struct scan *s, const struct key *a, const struct key *b)
{
	return a->hash == b->hash && a->len == b->len &&
	       memcmp(key_bytes(s, a), key_bytes(s, b), a->len) == 0;
}

/* Keys [first, nkeys) belong to the object being closed: any two equal? Small objects compare
 * pairwise; larger ones go through an open-addressing table of key indexes. */
static int check_duplicates(struct scan *s, size_t first)
{
	size_t k = s->nkeys - first, size = 16;
	struct key *keys = s->keys + first;

	if (k <= 8) {
		for (size_t a = 0; a < k; a++)
			for (size_t b = a + 1; b < k; b++)
				if (key_equal(s, &keys[a], &keys[b]))
					return err(s, "duplicate object key");
		return 0;
	}
	while (size < 2 * k)
		size *= 2;
	if (size > s->table_cap) {
		free(s->table);
		if (!(s->table = malloc(size * sizeof(*s->table))))
			return err(s, "out of memory");
		s->table_cap = size;
	}
	memset(s->table, 0xff, size * sizeof(*s->table));
	for (size_t a = 0; a < k; a++) {
		uint64_t h = keys[a].hash * 0x9e3779b97f4a7c15ull;
		size_t slot = (size_t)(h ^ h >> 32) & (size - 1);
		for (; s->table[slot] != SIZE_MAX; slot = (slot + 1) & (size - 1))
			if (key_equal(s, &keys[s->table[slot]], &keys[a]))
				return err(s, "duplicate object key");
		s->table[slot] = a;
	}
	return 0;
}

/* The key at s->i (a quote), kept until its object closes. */
static int push_key(struct scan *s)
{
	size_t start = s->i + 1, end, j;
	struct key *k;

	if (s->nkeys == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *p = realloc(s->keys, cap * sizeof(*s->keys));
		if (!p)
			return err(s, "out of memory");
		s->keys = p;
		s->cap = cap;
	}
	j = plain_end(s->p, start, s->n);
	s->escaped = 0;
	if (j < s->n && s->p[j] == '"')
		s->i = j + 1;
	else if (string_from(s, j, NULL))
		return -1;
	end = s->i - 1;
	k = &s->keys[s->nkeys++];
	k->in_arena = s->escaped;
	k->off = start;
	k->len = end - start;
	if (k->in_arena) { /* compare escaped keys by what they decode to */
		k->off = s->arena.len;
		s->i = start - 1;
		if (string(s, &s->arena))
			return -1;
		k->len = s->arena.len - k->off;
		k->hash = key_hash(s->arena.data + k->off, k->len, k->len);
		return 0;
	}
	k->hash = key_hash(s->p + start, k->len, s->n - start);
	return 0;
}

/* A member's key at *i, whitespace and the ':' after it. The input is read through locals:
 * the stores of a key's fields might alias s->p and s->n. */
static inline __attribute__((always_inline)) int member_key(struct scan *s, size_t *pi)
{
	const unsigned char *p = s->p;
	size_t n = s->n, i = *pi, j;

	if (i >= n || p[i] != '"') {
		s->i = i;
		return err(s, "expected a string key");
	}
	j = plain_end(p, i + 1, n);
	if (s->nkeys < s->cap && j < n && p[j] == '"') { /* push_key's common case */
		struct key *k = &s->keys[s->nkeys++];
		k->off = i + 1;
		k->len = j - (i + 1);
		k->hash = key_hash(p + i + 1, j - (i + 1), n - (i + 1));
		k->in_arena = 0;
		i = j + 1;
	} else {
		s->i = i;
		if (push_key(s))
			return -1;
		i = s->i;
	}
	i = ws_end(p, i, n);
	if (i >= n || p[i] != ':') {
		s->i = i;
		return err(s, "expected ':'");
	}
	*pi = i + 1;
	return 0;
}

/* A scalar at *i: string, number or literal. */
static int scalar(struct scan *s, size_t *i)
{
	switch (s->p[*i]) {
	case '"': return string_at(s, i);
	case 't': return literal(s, i, "true", 4);
	case 'f': return literal(s, i, "false", 5);
	case 'n': return literal(s, i, "null", 4);
	default:
		if (s->p[*i] == '-' || (s->p[*i] >= '0' && s->p[*i] <= '9'))
			return number(s, i);
		s->i = *i;
		return err(s, "invalid token");
	}
}

/* Past the value that ends at *i, the containers it closes; returns 1 when a value follows
 * (after a ',' or, in an object, a key), 0 when the outermost container closed. An object's
 * keys are checked for duplicates as it closes. */
static int close_containers(struct scan *s, size_t *first, int *top, size_t *pi)
{
	const unsigned char *p = s->p;
	size_t n = s->n, i = *pi;

	for (; *top; --*top) {
		size_t f = first[*top - 1];
		i = ws_end(p, i, n);
		if (f == SIZE_MAX) { /* an array */
			if (i < n && p[i] == ',') {
				*pi = i + 1;
				return 1;
			}
			if (i < n && p[i] == ']') {
				i++;
				continue;
			}
			s->i = i;
			return err(s, "expected ',' or ']'");
		}
		if (i < n && p[i] == ',') {
			*pi = ws_end(p, i + 1, n);
			return member_key(s, pi) ? -1 : 1;
		}
		if (i < n && p[i] == '}') {
			s->i = ++i;
			if (check_duplicates(s, f))
				return -1;
			s->nkeys = f;
			continue;
		}
		s->i = i;
		return err(s, "expected ',' or '}'");
	}
	*pi = i;
	return 0;
}

/* One value at s->i, whitespace first. Nesting is kept on a stack of its own rather than by
 * recursion, so that the cursor stays in a register across the tokens: per open container,
 * the index of its first key, or SIZE_MAX for an array. */
static int value(struct scan *s)
{
	const unsigned char *p = s->p;
	size_t n = s->n, i = s->i, first[APPKG_MAX_JSON_DEPTH];
	int top = 0, rc;

	for (;;) {
		i = ws_end(p, i, n);
		if (i >= n) {
			s->i = i;
			return err(s, "unexpected end of input");
		}
		if (p[i] == '"') { /* the most common value, tested first */
			if (string_at(s, &i))
				return -1;
		} else if (p[i] == '{' || p[i] == '[') {
			unsigned char close = p[i] == '{' ? '}' : ']';
			if (top == APPKG_MAX_JSON_DEPTH) {
				s->i = i;
				return err(s, "nested too deep");
			}
			i = ws_end(p, i + 1, n);
			if (i < n && p[i] == close) {
				i++; /* empty: ends like a scalar */
			} else if (close == ']') {
				first[top++] = SIZE_MAX;
				continue;
			} else {
				first[top++] = s->nkeys;
				if (member_key(s, &i))
					return -1;
				continue;
			}
		} else if (scalar(s, &i)) {
			return -1;
		}
		if ((rc = close_containers(s, first, &top, &i)) < 0)
			return -1;
		if (!rc) {
			s->i = i;
			return 0;
		}
	}
}

static void scan_free(struct scan *s)
{
	free(s->keys);
	free(s->table);
	buf_free(&s->arena);
}

static int error_code(const char *why)
{
	if (!strcmp(why, "nested too deep"))
		return APPKG_ERR_JSON_DEPTH;
	if (!strcmp(why, "duplicate object key"))
		return APPKG_ERR_JSON_DUPLICATE;
	if (!strcmp(why, "not an object"))
		return APPKG_ERR_JSON_NOT_OBJECT;
	return APPKG_ERR_JSON_SYNTAX;
}

static int validate(const void *data, size_t len, size_t max, struct appkg_err *e,
		    const char *subject, int *marks);

int json_check_resource_marks(const void *data, size_t len, struct appkg_err *e,
			      const char *subject, int *marks)
{
	*marks = 1;
	if (len > APPKG_MAX_RESOURCE_SIZE)
		return appkg_fail(e, APPKG_ERR_RESOURCE_SIZE, "%s: %zu bytes, over the %u-byte limit",
				  subject, len, APPKG_MAX_RESOURCE_SIZE);
	return validate(data, len, APPKG_MAX_RESOURCE_SIZE, e, subject, marks);
}

int json_check_resource(const void *data, size_t len, struct appkg_err *e, const char *subject)
{
	int marks;

	return json_check_resource_marks(data, len, e, subject, &marks);
}

int json_validate(const void *data, size_t len, size_t max, struct appkg_err *e, const char *subject)
{
	int marks;

	return validate(data, len, max, e, subject, &marks);
}

static int validate(const void *data, size_t len, size_t max, struct appkg_err *e,
		    const char *subject, int *marks)
{
	struct scan s = {.p = data, .n = len};
	size_t line = 1, col = 0;

	*marks = 1; /* until a whole document says otherwise */
	if (len > max)
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE, "%s: %zu bytes, over the %zu-byte limit",
				  subject, len, max);
	size_t first;

	skip_ws(&s);
	first = s.i;
	if (s.i >= s.n) {
		err(&s, "expected a JSON object");
	} else if (!value(&s)) { /* any value first, so that depth is reported before type */
		skip_ws(&s);
		if (s.i != s.n)
			err(&s, "extra data after the value");
		else if (s.p[first] != '{') {
			s.i = first; /* where the value starts, not where the text ends */
			err(&s, "not an object");
		}
	}
	scan_free(&s);
	*marks = s.marks;
	if (!s.why)
		return 0;
	for (size_t k = 0; k < s.i && k < s.n; k++) {
		if (s.p[k] == '\n')
			line++, col = 0;
		else
			col++;
	}
	if (!e->code) { /* the position as data too (struct appkg_problem) */
		e->line = (unsigned)line;
		e->column = (unsigned)(col + 1);
	}
	return appkg_fail(e, error_code(s.why), "%s: line %zu column %zu: %s", subject, line, col + 1,
			  s.why);
}

/* ---- spans inside an already valid document (for loading a large manifest entry by entry) */

int json_member_span(const unsigned char *p, size_t n, const char *key, size_t *start,
		     size_t *end)
{
	struct scan s = {.p = p, .n = n};
	size_t klen = strlen(key), kstart;
	int found = 0;

	skip_ws(&s);
	if (s.i >= n || p[s.i] != '{')
		return 0;
	s.i++;
	for (skip_ws(&s); !found && s.i < n && p[s.i] == '"'; skip_ws(&s)) {
		kstart = s.i + 1;
		if (string(&s, NULL))
			break;
		found = s.i - 1 - kstart == klen && !memcmp(p + kstart, key, klen);
		skip_ws(&s);
		if (s.i >= n || p[s.i++] != ':')
			break;
		skip_ws(&s);
		*start = s.i;
		if (value(&s))
			break;
		*end = s.i;
		skip_ws(&s);
		if (s.i < n && p[s.i] == ',')
			s.i++;
	}
	scan_free(&s);
	return found && !s.why;
}

int json_array_elements(const unsigned char *p, size_t n,
			int (*fn)(void *ctx, const unsigned char *el, size_t len), void *ctx)
{
	struct scan s = {.p = p, .n = n};
	int rc = 0;

	skip_ws(&s);
	if (s.i >= n || p[s.i] != '[')
		return -1;
	s.i++;
	for (skip_ws(&s); !rc && s.i < n && p[s.i] != ']'; skip_ws(&s)) {
		size_t start = s.i;
		if (value(&s)) {
			rc = -1;
			break;
		}
		rc = fn(ctx, p + start, s.i - start);
		skip_ws(&s);
		if (s.i < n && p[s.i] == ',')
			s.i++;
	}
	scan_free(&s);
	return rc;
}

int json_values_are_strings(const void *data, size_t len)
{
	struct scan s = {.p = data, .n = len};
	int ok = 1;

	skip_ws(&s);
	s.i++; /* '{' of a document json_validate accepted */
	for (skip_ws(&s); ok && s.i < s.n && s.p[s.i] == '"'; skip_ws(&s)) {
		string(&s, NULL);
		skip_ws(&s);
		s.i++; /* ':' */
		skip_ws(&s);
		ok = s.i < s.n && s.p[s.i] == '"' && string(&s, NULL) == 0;
		skip_ws(&s);
		if (s.i < s.n && s.p[s.i] == ',')
			s.i++;
	}
	scan_free(&s);
	return ok;
}

/* In an object json_validate accepted: call fn with each member's key, decoded (escapes
 * resolved, NUL-terminated; the buffer is reused after the call), in document order. The
 * values are stepped over without being copied, so this suits plaintext secrets. Returns 0,
 * the first non-zero value fn returns, or -1 when out of memory. */
int json_object_keys(const void *data, size_t len, int (*fn)(void *ctx, const char *key), void *ctx)
{
	struct scan s = {.p = data, .n = len};
	struct buf key = {0};
	int rc = 0;

	skip_ws(&s);
	s.i++; /* '{' */
	for (skip_ws(&s); !rc && s.i < s.n && s.p[s.i] == '"'; skip_ws(&s)) {
		key.len = 0;
		if (string(&s, &key) || buf_append(&key, "", 1)) {
			rc = -1;
			break;
		}
		rc = fn(ctx, (const char *)key.data);
		skip_ws(&s);
		s.i++; /* ':' */
		skip_ws(&s);
		if (!rc && string(&s, NULL))
			rc = -1;
		skip_ws(&s);
		if (s.i < s.n && s.p[s.i] == ',')
			s.i++;
	}
	buf_free(&key);
	scan_free(&s);
	return rc;
}
