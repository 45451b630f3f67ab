/* SPDX-License-Identifier: MIT */
/*
 * Placeholders in resources (spec section 20): finding them, and binding a document. A
 * placeholder is "[[appkg:" then "input:NAME", "secret:NAME" or "literal", then "]]", in the
 * decoded value of a JSON string, so a \u escape cannot hide one. The walk is one forward pass
 * over the bytes, with no recursion and no tree: a string token is decoded only when its raw
 * text holds "[[appkg:" or a \u escape, and line and column come from a cursor that only moves
 * forward, so a document with 100,000 placeholders costs one pass. The walk checks only what
 * concerns placeholders; binding validates the document first, so its output is valid JSON.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PREFIX "[[appkg:"
#define PREFIX_LEN 8

/* ---- strings ---- */

static int hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The code unit of a \uXXXX escape at p[i] (p[i] == '\\'), or -1 when it is not one. */
static long hex_escape(const unsigned char *p, size_t n, size_t i)
{
	long v = 0;

	if (n - i < 6 || p[i + 1] != 'u')
		return -1;
	for (size_t k = 2; k < 6; k++) {
		int d = hex_digit(p[i + k]);
		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

static size_t put_utf8(unsigned char *out, unsigned long u)
{
	if (u < 0x80) {
		out[0] = (unsigned char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (unsigned char)(0xc0 | u >> 6);
		out[1] = (unsigned char)(0x80 | (u & 63));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (unsigned char)(0xe0 | u >> 12);
		out[1] = (unsigned char)(0x80 | (u >> 6 & 63));
		out[2] = (unsigned char)(0x80 | (u & 63));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | u >> 18);
	out[1] = (unsigned char)(0x80 | (u >> 12 & 63));
	out[2] = (unsigned char)(0x80 | (u >> 6 & 63));
	out[3] = (unsigned char)(0x80 | (u & 63));
	return 4;
}

/* One unit of string content at p[i] (i < n): an escape, or one raw byte. Its decoded bytes
 * (at most 4, never more than the unit's raw length) go to out; *next is the index after it.
 * Lenient, for text nobody validated: a lone surrogate decodes to U+FFFD, a bad escape to the
 * character after the backslash. */
static size_t string_unit(const unsigned char *p, size_t n, size_t i, unsigned char out[4],
			  size_t *next)
{
	static const char simple[] = "\"\\/bfnrt", decoded[] = "\"\\/\b\f\n\r\t";
	long u, lo;
	const char *k;

	*next = i + 1;
	if (p[i] != '\\') {
		out[0] = p[i];
		return 1;
	}
	if (i + 1 >= n) {
		out[0] = '\\';
		return 1;
	}
	*next = i + 2;
	if ((u = hex_escape(p, n, i)) < 0) {
		k = p[i + 1] ? strchr(simple, p[i + 1]) : NULL;
		out[0] = k ? (unsigned char)decoded[k - simple] : p[i + 1];
		return 1;
	}
	*next = i + 6;
	if (u >= 0xd800 && u <= 0xdbff && (lo = hex_escape(p, n, i + 6)) >= 0xdc00 && lo <= 0xdfff) {
		*next = i + 12;
		return put_utf8(out, 0x10000 + ((unsigned long)(u - 0xd800) << 10) + (unsigned long)(lo - 0xdc00));
	}
	if (u >= 0xd800 && u <= 0xdfff)
		u = 0xfffd;
	return put_utf8(out, (unsigned long)u);
}

/* Index past the string token that opens at p[i] (a '"'), or n when it is not closed; *body_end
 * is where its content ends (its closing quote, or n). */
static size_t string_end(const unsigned char *p, size_t n, size_t i, size_t *body_end)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\') {
			i++;
		} else if (p[i] == '"') {
			*body_end = i;
			return i + 1;
		}
	}
	*body_end = n;
	return n;
}

size_t json_string_decode(const unsigned char *p, size_t n, size_t i, unsigned char *out,
			  size_t *end)
{
	size_t last, len = 0, next;
	unsigned char b[4];

	*end = string_end(p, n, i, &last);
	for (i++; i < last; i = next) {
		size_t k = string_unit(p, last, i, b, &next);
		if (out)
			memcpy(out + len, b, k);
		len += k;
	}
	return len;
}

int placeholder_name_ok(const char *name, size_t len)
{
	if (len < 1 || len > PLACEHOLDER_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		int alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		int digit = c >= '0' && c <= '9';
		if (!alpha && (i == 0 || (!digit && c != '_' && c != '-' && c != '.')))
			return 0;
	}
	return 1;
}

/* ---- the walk ---- */

struct walk {
	const unsigned char *p;
	size_t n;
	struct appkg_err *e;
	size_t at;             /* position cursor: byte index, its line and that line's start */
	unsigned line;
	size_t line_start;
	struct buf text;       /* the decoded value of the current string */
	size_t raw, dec;       /* its mapping cursor: raw index and decoded offset */
	size_t body_end;       /* where its content ends */
	struct ph_item *items; /* its placeholders */
	size_t nitems, cap;
	size_t total;
	int positions; /* fill line and column of every placeholder (binding needs them only for a
			* message) */
};

/* Line and column (bytes, from 1) of byte i; i never goes back within one walk. */
static void position(struct walk *w, size_t i, unsigned *line, unsigned *column)
{
	for (; w->at < i; w->at++) {
		if (w->p[w->at] == '\n') {
			w->line++;
			w->line_start = w->at + 1;
		}
	}
	*line = w->line;
	*column = (unsigned)(i - w->line_start + 1);
}

/* The raw index of decoded offset k of the current string token (content from body to
 * body_end): units are stepped on from the last mapped one, so that a string's placeholders
 * cost one pass over it. */
static size_t raw_index(struct walk *w, size_t k)
{
	unsigned char b[4];
	size_t next;

	while (w->dec < k && w->raw < w->body_end) {
		w->dec += string_unit(w->p, w->body_end, w->raw, b, &next);
		w->raw = next;
	}
	return w->raw;
}

/* Quote text (len bytes) for a message: up to its first "]]", or its first 60 bytes. */
static int shown_length(const unsigned char *text, size_t len)
{
	const unsigned char *end = memmem(text + 1, len - 1, "]]", 2);
	size_t n = end ? (size_t)(end - text) + 2 : len;

	if (n > 60) {
		n = 60;
		while (n > 0 && (text[n] & 0xc0) == 0x80)
			n--; /* a whole character */
	}
	return (int)n;
}

static int fail_at(struct walk *w, size_t raw, const char *fmt, const unsigned char *text,
		   size_t len)
{
	unsigned line, column;
	int shown = shown_length(text, len);

	position(w, raw, &line, &column);
	if (w->e->code)
		return w->e->code;
	w->e->line = line;
	w->e->column = column;
	return appkg_fail(w->e, APPKG_ERR_PLACEHOLDER, fmt, line, column, shown,
			  (const char *)text, (size_t)shown < len && text[shown - 1] != ']' ? "..." : "");
}

static int bad_placeholder(struct walk *w, size_t raw, const unsigned char *text, size_t len)
{
	return fail_at(w, raw,
		       "line %u column %u: '%.*s%s' is not a placeholder: '[[appkg:' starts one, "
		       "then 'input:NAME', 'secret:NAME' or 'literal', then ']]' (spec §20.1)",
		       text, len);
}

/* Parse the placeholder at text[k] (which starts with the prefix) into it; 0 when it does not
 * follow the grammar. */
static int parse_one(const unsigned char *text, size_t len, size_t k, struct ph_item *it)
{
	size_t r = k + PREFIX_LEN, name = 0, nlen = 0;

	if (len - r >= 7 && !memcmp(text + r, "literal", 7)) {
		it->kind = APPKG_PLACEHOLDER_LITERAL;
		r += 7;
	} else {
		if (len - r >= 6 && !memcmp(text + r, "input:", 6)) {
			it->kind = APPKG_PLACEHOLDER_INPUT;
			r += 6;
		} else if (len - r >= 7 && !memcmp(text + r, "secret:", 7)) {
			it->kind = APPKG_PLACEHOLDER_SECRET;
			r += 7;
		} else {
			return 0;
		}
		name = r;
		while (r < len && r - name <= PLACEHOLDER_NAME_MAX &&
		       placeholder_name_ok((const char *)text + name, r - name + 1))
			r++;
		nlen = r - name;
		if (!placeholder_name_ok((const char *)text + name, nlen))
			return 0;
	}
	if (len - r < 2 || text[r] != ']' || text[r + 1] != ']')
		return 0;
	it->off = k;
	it->len = r + 2 - k;
	it->name = nlen ? (const char *)text + name : NULL;
	it->name_len = nlen;
	return 1;
}

static int push_item(struct walk *w, const struct ph_item *it)
{
	if (w->nitems == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 16;
		void *v = realloc(w->items, cap * sizeof(*w->items));
		if (!v)
			return appkg_fail(w->e, APPKG_ERR_NO_MEMORY, "out of memory");
		w->items = v;
		w->cap = cap;
	}
	w->items[w->nitems++] = *it;
	return 0;
}

/* The string token at p[start..end): decode it, and collect its placeholders. */
static int string_token(struct walk *w, size_t start, size_t end, int is_key)
{
	const unsigned char *text, *hit;
	size_t len, stop, k = 0;
	struct ph_item it;

	w->text.len = 0;
	w->nitems = 0;
	if (buf_reserve(&w->text, end - start + 1))
		return appkg_fail(w->e, APPKG_ERR_NO_MEMORY, "out of memory");
	len = json_string_decode(w->p, w->n, start, w->text.data, &stop);
	string_end(w->p, w->n, start, &w->body_end);
	w->raw = start + 1;
	w->dec = 0;
	text = w->text.data;
	w->text.len = len;
	while ((hit = memmem(text + k, len - k, PREFIX, PREFIX_LEN))) {
		k = (size_t)(hit - text);
		size_t at = raw_index(w, k);
		if (is_key)
			return fail_at(w, at,
				       "line %u column %u: '%.*s%s' is a placeholder in an object key; "
				       "they are valid only in string values (spec §20.1)",
				       text + k, len - k);
		if (!parse_one(text, len, k, &it))
			return bad_placeholder(w, at, text + k, len - k);
		it.at = at;
		it.line = it.column = 0;
		if (w->positions)
			position(w, at, &it.line, &it.column);
		if (push_item(w, &it))
			return w->e->code;
		k += it.len;
	}
	return 0;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* A string token's placeholders, if it may hold any, to fn. */
static int visit_string(struct walk *w, size_t start, size_t end, ph_string_fn fn, void *ctx)
{
	const unsigned char *body = w->p + start + 1;
	size_t blen = end > start + 1 ? end - start - 1 : 0, j = end;
	struct ph_string s;
	int rc;

	if (!memmem(body, blen, PREFIX, PREFIX_LEN) && !memmem(body, blen, "\\u", 2))
		return 0;
	while (j < w->n && is_space(w->p[j]))
		j++;
	if ((rc = string_token(w, start, end, j < w->n && w->p[j] == ':')))
		return rc;
	if (!w->nitems)
		return 0;
	if (w->nitems > (size_t)INT32_MAX - w->total)
		return appkg_fail(w->e, APPKG_ERR_LIMIT_MEMBER_SIZE, "too many placeholders");
	w->total += w->nitems;
	s = (struct ph_string){start, end, w->text.data, w->text.len, w->items, w->nitems};
	rc = fn ? fn(ctx, &s) : 0;
	if (rc < 0 && !w->e->code)
		return appkg_fail(w->e, rc, "%s", appkg_error_name(rc));
	return rc < 0 ? w->e->code : 0;
}

static int walk(const void *json, size_t len, ph_string_fn fn, void *ctx, struct appkg_err *e,
		int positions)
{
	struct walk w = {.p = json, .n = len, .e = e, .line = 1, .positions = positions};
	int rc = 0;

	/* only a raw prefix or a \u escape can make one */
	if (!memmem(json, len, PREFIX, PREFIX_LEN) && !memmem(json, len, "\\u", 2))
		return 0;
	for (size_t i = 0; i < len && !rc;) {
		if (w.p[i] == '"') {
			size_t body, end = string_end(w.p, len, i, &body);
			rc = visit_string(&w, i, end, fn, ctx);
			i = end;
		} else if (w.p[i] == '[' && len - i >= PREFIX_LEN && !memcmp(w.p + i, PREFIX, PREFIX_LEN)) {
			rc = fail_at(&w, i,
				     "line %u column %u: placeholder outside a JSON string (%.*s%s): "
				     "placeholders are valid only inside strings (spec §20.1)",
				     w.p + i, len - i);
		} else {
			i++;
		}
	}
	buf_free(&w.text);
	free(w.items);
	return rc ? rc : (int)w.total;
}

int placeholders_walk(const void *json, size_t len, ph_string_fn fn, void *ctx,
		      struct appkg_err *e)
{
	return walk(json, len, fn, ctx, e, 1);
}

/* ---- the public scan ---- */

struct scan_ctx {
	appkg_placeholder_fn fn;
	void *ctx;
};

static int scan_string(void *ctx, const struct ph_string *s)
{
	struct scan_ctx *c = ctx;
	char name[PLACEHOLDER_NAME_MAX + 1];

	for (size_t i = 0; c->fn && i < s->count; i++) {
		const struct ph_item *it = &s->items[i];
		struct appkg_placeholder p = {it->kind, it->name ? name : NULL, it->line, it->column,
					      s->count == 1 && it->len == s->len};
		memcpy(name, it->name ? it->name : "", it->name_len);
		name[it->name_len] = '\0';
		c->fn(c->ctx, &p);
	}
	return 0;
}

int appkg_placeholders_scan(const char *json, size_t len, appkg_placeholder_fn fn, void *ctx)
{
	struct appkg_err e = {0};
	struct scan_ctx c = {fn, ctx};
	int rc;

	if (!json && len)
		rc = appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "no document");
	else
		rc = placeholders_walk(json ? json : "", len, scan_string, &c, &e);
	problem_set_last(&e, NULL, 0);
	return rc;
}

/* ---- binding ---- */

/* An output buffer that wipes what it leaves behind when it grows: a bound document may hold
 * a secret, and realloc would free a copy unwiped. */
struct out {
	unsigned char *p;
	size_t len, cap;
	size_t high; /* the most bytes it ever held: what a wipe must cover */
};

static void out_wipe(struct out *o)
{
	if (o->p) {
		sodium_memzero(o->p, o->len > o->high ? o->len : o->high);
		free(o->p);
	}
	o->p = NULL;
	o->len = o->cap = o->high = 0;
}

static int out_reserve(struct out *o, size_t extra)
{
	size_t cap;
	unsigned char *p;

	if (extra < o->cap - o->len)
		return 0;
	if (extra > SIZE_MAX / 4 - o->len)
		return APPKG_ERR_NO_MEMORY;
	cap = o->cap ? o->cap : 256;
	while (cap - o->len <= extra)
		cap *= 2;
	if (!(p = malloc(cap)))
		return APPKG_ERR_NO_MEMORY;
	size_t len = o->len;
	if (len)
		memcpy(p, o->p, len);
	out_wipe(o);
	o->p = p;
	o->len = o->high = len;
	o->cap = cap;
	return 0;
}

/* A bound resource is still a resource: at most APPKG_MAX_RESOURCE_SIZE bytes (and its NUL),
 * so that one value repeated by many placeholders cannot grow it without bound. */
#define BOUND_MAX ((size_t)APPKG_MAX_RESOURCE_SIZE + 1)

static int out_put(struct out *o, const void *p, size_t n)
{
	if (o->len > BOUND_MAX || n > BOUND_MAX - o->len)
		return APPKG_ERR_LIMIT_MEMBER_SIZE;
	if (out_reserve(o, n))
		return APPKG_ERR_NO_MEMORY;
	if (n)
		memcpy(o->p + o->len, p, n);
	o->len += n;
	return 0;
}

/* s (n bytes of UTF-8) as a JSON string: '"', '\' and controls escaped, the rest kept. */
static int put_json_string(struct out *o, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *d;

	if (o->len > BOUND_MAX || n + 2 > BOUND_MAX - o->len)
		return APPKG_ERR_LIMIT_MEMBER_SIZE;
	if (n > SIZE_MAX / 8 || out_reserve(o, 6 * n + 2))
		return APPKG_ERR_NO_MEMORY;
	d = o->p + o->len;
	*d++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*d++ = c;
			continue;
		}
		*d++ = '\\';
		switch (c) {
		case '"': *d++ = '"'; break;
		case '\\': *d++ = '\\'; break;
		case '\b': *d++ = 'b'; break;
		case '\f': *d++ = 'f'; break;
		case '\n': *d++ = 'n'; break;
		case '\r': *d++ = 'r'; break;
		case '\t': *d++ = 't'; break;
		default:
			memcpy(d, "u00", 3);
			d[3] = (unsigned char)hex[c >> 4];
			d[4] = (unsigned char)hex[c & 15];
			d += 5;
		}
	}
	*d++ = '"';
	o->len = (size_t)(d - o->p);
	return o->len > BOUND_MAX ? APPKG_ERR_LIMIT_MEMBER_SIZE : 0;
}

/* A failure of out_put or put_json_string, on the handle. */
static int out_fail(struct appkg_err *e, int rc)
{
	if (rc == APPKG_ERR_LIMIT_MEMBER_SIZE)
		return appkg_fail(e, rc, "bound, over the %u-byte limit of a resource",
				  APPKG_MAX_RESOURCE_SIZE);
	return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
}

struct bind {
	const unsigned char *p;
	size_t copied; /* bytes of p already in o */
	struct out o, text;
	ph_lookup_fn lookup;
	void *ctx;
	int flags;
	struct appkg_err *e;
	int replaced;
};

/* The value of item it, or an UNBOUND failure; 0 for a secret left as it is. */
static int value_of(struct bind *b, const struct ph_item *it, struct ph_value *v)
{
	const char *what = it->kind == APPKG_PLACEHOLDER_INPUT ? "input" : "secret";

	memset(v, 0, sizeof(*v));
	if (it->kind == APPKG_PLACEHOLDER_LITERAL)
		return 1;
	if (it->kind == APPKG_PLACEHOLDER_SECRET && !(b->flags & APPKG_BIND_SECRETS))
		return 0;
	if (b->lookup(b->ctx, it->kind, it->name, it->name_len, v) > 0)
		return 1;
	struct walk w = {.p = b->p, .n = it->at + 1, .line = 1}; /* where, for the message only */
	unsigned line, column;
	position(&w, it->at, &line, &column);
	if (!b->e->code) {
		b->e->line = line;
		b->e->column = column;
	}
	return appkg_fail(b->e, APPKG_ERR_UNBOUND, "line %u column %u: %s '%.*s' has no value (%s)",
			  line, column, what, (int)it->name_len, it->name,
			  it->kind == APPKG_PLACEHOLDER_INPUT ? "not in the bindings, no default"
							      : "not in the secrets given");
}

/* The new decoded text of s into b->text, each placeholder by its value. */
static int rewrite_text(struct bind *b, const struct ph_string *s)
{
	size_t seg = 0;
	int rc = 0;

	if (b->text.len > b->text.high)
		b->text.high = b->text.len;
	b->text.len = 0;
	for (size_t i = 0; i < s->count && !rc; i++) {
		const struct ph_item *it = &s->items[i];
		struct ph_value v;
		int has = value_of(b, it, &v);
		if (has < 0)
			return has;
		rc = out_put(&b->text, s->text + seg, it->off - seg);
		if (rc)
			break;
		if (it->kind == APPKG_PLACEHOLDER_LITERAL)
			rc = out_put(&b->text, PREFIX, PREFIX_LEN);
		else if (!has)
			rc = out_put(&b->text, s->text + it->off, it->len);
		else if (v.is_string)
			rc = out_put(&b->text, v.text, v.text_len);
		else
			rc = out_put(&b->text, v.json, v.json_len);
		b->replaced += has;
		seg = it->off + it->len;
	}
	if (!rc)
		rc = out_put(&b->text, s->text + seg, s->len - seg);
	return rc ? out_fail(b->e, rc) : 0;
}

static int bind_string(void *ctx, const struct ph_string *s)
{
	struct bind *b = ctx;
	const struct ph_item *it = &s->items[0];
	size_t changes = 0;
	struct ph_value v;
	int rc, has;

	for (size_t i = 0; i < s->count; i++)
		changes += s->items[i].kind != APPKG_PLACEHOLDER_SECRET || (b->flags & APPKG_BIND_SECRETS);
	if (!changes)
		return 0; /* secret references only, left as they are: the token is kept */
	if ((rc = out_put(&b->o, b->p + b->copied, s->start - b->copied)))
		return out_fail(b->e, rc);
	b->copied = s->end;
	if (s->count == 1 && it->len == s->len && it->kind != APPKG_PLACEHOLDER_LITERAL) {
		/* the whole string: the value as itself (spec §20.2) */
		if ((has = value_of(b, it, &v)) < 0)
			return has;
		b->replaced++;
		rc = v.json ? out_put(&b->o, v.json, v.json_len) : put_json_string(&b->o, v.text, v.text_len);
	} else {
		if ((rc = rewrite_text(b, s)))
			return rc;
		rc = put_json_string(&b->o, b->text.p, b->text.len);
	}
	return rc ? out_fail(b->e, rc) : 0;
}

int placeholders_bind(const void *json, size_t len, ph_lookup_fn lookup, void *ctx, int flags,
		      char **out, size_t *out_len, struct appkg_err *e)
{
	struct bind b = {.p = json, .lookup = lookup, .ctx = ctx, .flags = flags, .e = e};
	struct appkg_err check = {0};
	int rc;

	*out = NULL;
	*out_len = 0;
	if (json_check_resource(json, len, &check, "-")) {
		/* the caller names the document: drop the subject json_validate put first */
		*e = check;
		if (!strncmp(e->msg, "-: ", 3))
			memmove(e->msg, e->msg + 3, strlen(e->msg + 3) + 1);
		return e->code;
	}
	if (out_reserve(&b.o, len + len / 8 + 64)) {
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	rc = walk(json, len, bind_string, &b, e, 0);
	if (rc >= 0 && ((rc = out_put(&b.o, b.p + b.copied, len - b.copied)) ||
			(rc = out_put(&b.o, "", 1))))
		rc = out_fail(e, rc);
out:
	out_wipe(&b.text);
	if (rc < 0) {
		out_wipe(&b.o);
		return rc;
	}
	*out = (char *)b.o.p;
	*out_len = b.o.len - 1; /* a NUL follows, not counted */
	return b.replaced;
}
