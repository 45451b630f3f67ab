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

#include "internal.h"

struct key {
	size_t off, len; /* in the input, or in the arena when escaped */
	int in_arena;
};

struct scan {
	const unsigned char *p;
	size_t n, i;
	int depth;
	struct key *keys;
	size_t nkeys, cap;
	struct buf arena; /* decoded keys that had escapes */
	size_t *table, table_cap; /* duplicate check of large objects */
	const char *why;
	int marks; /* a string's raw text holds "[[appkg:" or "\\u" */
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

/* The cursor is copied to a local in the loops that run over every byte: a store through s
 * would have to be repeated at each byte, since the bytes read may alias it. Runs of spaces
 * (indentation) are stepped over eight bytes at a time: the first byte that is not a space
 * is the first non-zero byte of the word XOR eight spaces. */
static void skip_ws(struct scan *s)
{
	const unsigned char *p = s->p;
	size_t i = s->i, n = s->n;
	uint64_t v, x;

	while (i < n) {
		if (p[i] == ' ') {
			i++;
			while (n - i >= 8) {
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
	s->i = i;
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
	static const char simple[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
	unsigned char x = s->i + 1 < s->n ? s->p[s->i + 1] : 0;
	const char *k = x ? strchr(simple, x) : NULL;

	if (x == 'u' || (x == '\\' && s->i + 2 < s->n && s->p[s->i + 2] == 'u'))
		s->marks = 1; /* raw "\\u": the placeholder scan decodes such strings */
	if (x == 'u')
		return unicode_escape(s, out);
	if (!k)
		return err(s, "invalid escape");
	if (out && buf_append(out, decoded + (k - simple), 1))
		return err(s, "out of memory");
	s->i += 2;
	return 0;
}

/* A string at s->i (the opening quote). With out, its decoded bytes are appended there. */
static int string(struct scan *s, struct buf *out)
{
	const unsigned char *p = s->p;
	size_t n = s->n, i = s->i + 1;
	int len;

	for (;;) {
		if (!out) { /* the common case: plain ASCII, eight bytes at a time */
			uint64_t v, stops;
			while (n - i >= 8) {
				memcpy(&v, p + i, 8);
				if ((stops = stops_in_word(v))) {
					i += first_flagged(stops);
					break;
				}
				i += 8;
			}
			while (i < n && !string_stop[p[i]])
				i++;
		}
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

static int digits(struct scan *s)
{
	size_t start = s->i;

	while (s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9')
		s->i++;
	return s->i > start ? 0 : err(s, "invalid number");
}

static int number(struct scan *s)
{
	if (s->p[s->i] == '-')
		s->i++;
	if (s->i < s->n && s->p[s->i] == '0')
		s->i++;
	else if (digits(s))
		return -1;
	if (s->i < s->n && s->p[s->i] == '.') {
		s->i++;
		if (digits(s))
			return -1;
	}
	if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
			s->i++;
		if (digits(s))
			return -1;
	}
	return 0;
}

static int literal(struct scan *s, const char *word)
{
	size_t n = strlen(word);

	if (s->n - s->i < n || memcmp(s->p + s->i, word, n) != 0)
		return err(s, "invalid token");
	s->i += n;
	return 0;
}

static const unsigned char *key_bytes(const struct scan *s, const struct key *k)
{
	return k->in_arena ? s->arena.data + k->off : s->p + k->off;
}

static uint64_t key_hash(const unsigned char *p, size_t n)
{
	uint64_t h = 14695981039346656037ull; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static int key_equal(const struct scan *s, const struct key *a, const struct key *b)
{
	return a->len == b->len && memcmp(key_bytes(s, a), key_bytes(s, b), a->len) == 0;
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
		size_t slot = key_hash(key_bytes(s, &keys[a]), keys[a].len) & (size - 1);
		for (; s->table[slot] != SIZE_MAX; slot = (slot + 1) & (size - 1))
			if (key_equal(s, &keys[s->table[slot]], &keys[a]))
				return err(s, "duplicate object key");
		s->table[slot] = a;
	}
	return 0;
}

static int push_key(struct scan *s)
{
	size_t start = s->i + 1, end;
	struct key *k;

	if (s->nkeys == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		void *p = realloc(s->keys, cap * sizeof(*s->keys));
		if (!p)
			return err(s, "out of memory");
		s->keys = p;
		s->cap = cap;
	}
	if (string(s, NULL))
		return -1;
	end = s->i - 1;
	k = &s->keys[s->nkeys++];
	k->in_arena = memchr(s->p + start, '\\', end - start) != NULL;
	k->off = start;
	k->len = end - start;
	if (k->in_arena) { /* compare escaped keys by what they decode to */
		k->off = s->arena.len;
		s->i = start - 1;
		if (string(s, &s->arena))
			return -1;
		k->len = s->arena.len - k->off;
	}
	return 0;
}

static int value(struct scan *s);

static void scan_free(struct scan *s)
{
	free(s->keys);
	free(s->table);
	buf_free(&s->arena);
}

static int object(struct scan *s)
{
	size_t first = s->nkeys;

	s->i++;
	skip_ws(s);
	if (s->i < s->n && s->p[s->i] == '}') {
		s->i++;
		return 0;
	}
	for (;;) {
		if (s->i >= s->n || s->p[s->i] != '"')
			return err(s, "expected a string key");
		if (push_key(s))
			return -1;
		skip_ws(s);
		if (s->i >= s->n || s->p[s->i] != ':')
			return err(s, "expected ':'");
		s->i++;
		if (value(s))
			return -1;
		skip_ws(s);
		if (s->i < s->n && s->p[s->i] == ',') {
			s->i++;
			skip_ws(s);
			continue;
		}
		if (s->i < s->n && s->p[s->i] == '}') {
			s->i++;
			break;
		}
		return err(s, "expected ',' or '}'");
	}
	if (check_duplicates(s, first))
		return -1;
	s->nkeys = first;
	return 0;
}

static int array(struct scan *s)
{
	s->i++;
	skip_ws(s);
	if (s->i < s->n && s->p[s->i] == ']') {
		s->i++;
		return 0;
	}
	for (;;) {
		if (value(s))
			return -1;
		skip_ws(s);
		if (s->i < s->n && s->p[s->i] == ',') {
			s->i++;
			continue;
		}
		if (s->i < s->n && s->p[s->i] == ']') {
			s->i++;
			return 0;
		}
		return err(s, "expected ',' or ']'");
	}
}

static int value(struct scan *s)
{
	int rc;

	skip_ws(s);
	if (s->i >= s->n)
		return err(s, "unexpected end of input");
	switch (s->p[s->i]) {
	case '{':
	case '[':
		if (++s->depth > APPKG_MAX_JSON_DEPTH)
			return err(s, "nested too deep");
		rc = s->p[s->i] == '{' ? object(s) : array(s);
		s->depth--;
		return rc;
	case '"': return string(s, NULL);
	case 't': return literal(s, "true");
	case 'f': return literal(s, "false");
	case 'n': return literal(s, "null");
	default:
		if (s->p[s->i] == '-' || (s->p[s->i] >= '0' && s->p[s->i] <= '9'))
			return number(s);
		return err(s, "invalid token");
	}
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
