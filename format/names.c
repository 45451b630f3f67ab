/* SPDX-License-Identifier: MIT */
/*
 * Member-name rules (spec section "Names"). A <type> or <name> component is stored in
 * file-name form: NFC UTF-8 where every character a file name cannot safely hold is written as
 * %XX escapes of its UTF-8 bytes. The mapping is one-to-one: a component is valid only if it is
 * exactly the encoding of its decoding. Unicode data comes from libunistring.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicase.h>
#include <uninorm.h>
#include <unistr.h>

#include "internal.h"

int name_char_control(uint32_t c)
{
	if (c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f))
		return 1;
	return c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069); /* bidi controls: names must read as they sort */
}

/* Characters escaped anywhere in a component. */
static int must_escape(ucs4_t c)
{
	if (name_char_control(c))
		return 1;
	return c < 0x80 && strchr("%/\\:*?\"<>|", (int)c) != NULL;
}

static int append_escaped(struct buf *b, const uint8_t *p, int n)
{
	static const char digits[] = "0123456789ABCDEF";

	for (int i = 0; i < n; i++) {
		char esc[3] = {'%', digits[p[i] >> 4], digits[p[i] & 15]};
		if (buf_append(b, esc, 3))
			return -1;
	}
	return 0;
}

/* A printable ASCII character that is never escaped (must_escape's ASCII side). */
static int ascii_plain(unsigned char c)
{
	switch (c) {
	case '%': case '/': case '\\': case ':': case '*': case '?': case '"': case '<': case '>':
	case '|':
		return 0;
	default:
		return c >= 0x20 && c < 0x7f;
	}
}

/* An ASCII component that encodes to itself: no character escaped anywhere, no '.' first,
 * no '.' or ' ' last. Such a name (nearly every name) is checked and encoded without
 * libunistring or an allocation per character. */
static int ascii_as_is(const char *s, size_t len)
{
	if (len == 0 || s[0] == '.' || s[len - 1] == '.' || s[len - 1] == ' ')
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!ascii_plain((unsigned char)s[i]))
			return 0;
	return 1;
}

char *appkg_name_encode(const char *logical)
{
	size_t len = strlen(logical);
	const uint8_t *s = (const uint8_t *)logical;
	struct buf b = {0};
	size_t i = 0;
	char *copy;

	if (ascii_as_is(logical, len)) {
		if ((copy = malloc(len + 1)))
			memcpy(copy, logical, len + 1);
		return copy;
	}
	if (len == 0 || u8_check(s, len) != NULL)
		return NULL;
	while (i < len) {
		ucs4_t c;
		int n = u8_mbtouc(&c, s + i, len - i);
		int last = i + n == len;
		int esc = must_escape(c) || (i == 0 && c == '.') || (last && (c == '.' || c == ' '));
		if (esc ? append_escaped(&b, s + i, n) : buf_append(&b, s + i, n))
			goto fail;
		i += n;
	}
	if (buf_append(&b, "", 1))
		goto fail;
	return (char *)b.data;
fail:
	buf_free(&b);
	return NULL;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *appkg_name_decode(const char *component)
{
	size_t len = strlen(component), o = 0;
	char *out = malloc(len + 1);

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (component[i] != '%') {
			out[o++] = component[i];
			continue;
		}
		int hi = i + 2 < len ? hex_digit(component[i + 1]) : -1;
		int lo = hi >= 0 ? hex_digit(component[i + 2]) : -1;
		if (lo < 0 || (hi == 0 && lo == 0)) { /* malformed escape, or NUL */
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return out;
}

static uint64_t load8(const char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* ASCII text is valid UTF-8, already NFC, and case-folds byte by byte: the common case skips
 * libunistring. Eight bytes at a time (a commit checks 100,000 paths at least twice). */
static int is_ascii(const char *s, size_t len)
{
	uint64_t any = 0;
	size_t i = 0;

	for (; i + 8 <= len; i += 8)
		any |= load8(s + i);
	for (; i < len; i++)
		any |= (unsigned char)s[i];
	return !(any & 0x8080808080808080ull);
}

static int check_nfc(const uint8_t *s, size_t len)
{
	size_t nfc_len = 0;
	uint8_t *nfc;
	int rc = 0;

	if (u8_check(s, len) != NULL)
		return APPKG_ERR_NAME_UTF8;
	nfc = u8_normalize(UNINORM_NFC, s, len, NULL, &nfc_len);
	if (!nfc)
		return APPKG_ERR_NO_MEMORY;
	if (nfc_len != len || memcmp(nfc, s, len) != 0)
		rc = APPKG_ERR_NAME_NFC;
	free(nfc);
	return rc;
}

int appkg_name_check(const char *component, size_t max_bytes)
{
	size_t len = strlen(component);
	char *logical, *again;
	int rc = 0;

	if (len == 0 || len > max_bytes)
		return APPKG_ERR_NAME_LENGTH;
	if (ascii_as_is(component, len)) /* its own decoding and encoding */
		return 0;
	if (!is_ascii(component, len) && (rc = check_nfc((const uint8_t *)component, len)) != 0)
		return rc;
	if (!strcmp(component, ".") || !strcmp(component, ".."))
		return APPKG_ERR_NAME_CHAR;
	logical = appkg_name_decode(component);
	again = logical ? appkg_name_encode(logical) : NULL;
	if (!again || strcmp(again, component) != 0)
		rc = APPKG_ERR_NAME_CHAR;
	free(logical);
	free(again);
	return rc;
}

static int fail_name(struct appkg_err *e, int rc, const char *path, size_t len)
{
	return appkg_fail(e, rc, "%.*s: %s", (int)len, path, appkg_error_name(rc));
}

/* What is wrong in a component appkg_name_check refused with APPKG_ERR_NAME_CHAR: the first
 * character that must be escaped, and how it is written (":" is "%3A"), or a bad escape. */
static void char_problem(const char *comp, char *out, size_t cap)
{
	const uint8_t *s = (const uint8_t *)comp;
	size_t len = strlen(comp), i = 0;

	snprintf(out, cap, "%s", appkg_error_name(APPKG_ERR_NAME_CHAR));
	if (!strcmp(comp, ".") || !strcmp(comp, "..")) {
		snprintf(out, cap, "'%s' is not a name", comp);
		return;
	}
	while (i < len) {
		ucs4_t c;
		int n = u8_mbtouc(&c, s + i, len - i), last = i + (size_t)n == len;
		struct buf esc = {0};
		if (c == '%') {
			int hi = hex_digit(comp[i + 1]), lo = hi < 0 ? -1 : hex_digit(comp[i + 2]);
			ucs4_t v = lo < 0 ? 0 : (ucs4_t)(hi << 4 | lo); /* no shift of a -1 */
			if (v == 0) {
				snprintf(out, cap, "bad escape '%.3s': escapes are %%XX with uppercase hex "
					 "digits ('%%' itself is written %%25)", comp + i);
				return;
			}
			if (v < 0x80 && !must_escape(v) && !(i == 0 && v == '.') &&
			    !(i + 3 == len && (v == '.' || v == ' '))) {
				snprintf(out, cap, "'%.3s' escapes '%c', which is written as it is", comp + i,
					 (int)v);
				return;
			}
			i += 3;
			continue;
		}
		if (must_escape(c) || (i == 0 && c == '.') || (last && (c == '.' || c == ' '))) {
			if (append_escaped(&esc, s + i, n) == 0 && buf_append(&esc, "", 1) == 0)
				snprintf(out, cap, c >= 0x20 && c < 0x7f ? "'%c' is written %s in a name%s"
					 : "U+%04X is written %s in a name%s", (unsigned)c, (char *)esc.data,
					 c == '.' || c == ' ' ? (i == 0 ? " (first character)"
								    : " (last character)") : "");
			buf_free(&esc);
			return;
		}
		i += (size_t)n;
	}
}

/* Check one component of a resource path, given as a slice. */
static int component_check(const char *p, size_t n, size_t max, const char *path, size_t len,
			   struct appkg_err *e)
{
	char tmp[APPKG_MAX_PATH_BYTES + 1];
	int rc;

	if (n == 0 || n > max)
		return fail_name(e, APPKG_ERR_NAME_LENGTH, path, len);
	if (ascii_as_is(p, n)) /* appkg_name_check's first test, without the copy */
		return 0;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	rc = appkg_name_check(tmp, max);
	if (rc == APPKG_ERR_NAME_CHAR) {
		char why[160];
		char_problem(tmp, why, sizeof(why));
		return appkg_fail(e, rc, "%.*s: %s", (int)len, path, why);
	}
	return rc ? fail_name(e, rc, path, len) : 0;
}

int member_path_check(const char *path, size_t len, struct appkg_err *e)
{
	static const char prefix[] = "resources/", suffix[] = ".json";
	const size_t plen = sizeof(prefix) - 1, slen = sizeof(suffix) - 1;
	const char *type, *name, *slash;

	if (len == 0 || len > APPKG_MAX_PATH_BYTES || memchr(path, '\0', len))
		return fail_name(e, APPKG_ERR_NAME_LENGTH, path, len);
	if (len == strlen(MANIFEST_PATH) && !memcmp(path, MANIFEST_PATH, len))
		return MEMBER_MANIFEST;
	if (len == strlen(SIGNATURE_PATH) && !memcmp(path, SIGNATURE_PATH, len))
		return MEMBER_SIGNATURE;
	if (len == strlen(SECRETS_PATH) && !memcmp(path, SECRETS_PATH, len))
		return MEMBER_SECRETS;
	if (len <= plen + slen + 2 || memcmp(path, prefix, plen) != 0 ||
	    memcmp(path + len - slen, suffix, slen) != 0)
		return appkg_fail(e, APPKG_ERR_TAR_MEMBER, "%.*s: member not allowed by the layout",
				  (int)len, path);
	type = path + plen;
	slash = memchr(type, '/', (size_t)(path + len - type));
	if (!slash)
		return appkg_fail(e, APPKG_ERR_TAR_MEMBER, "%.*s: member not allowed by the layout",
				  (int)len, path);
	name = slash + 1;
	if (memchr(name, '/', (size_t)(path + len - name)))
		return appkg_fail(e, APPKG_ERR_TAR_MEMBER, "%.*s: member not allowed by the layout",
				  (int)len, path);
	if (component_check(type, (size_t)(slash - type), APPKG_MAX_TYPE_BYTES, path, len, e) ||
	    component_check(name, (size_t)(path + len - slen - name), APPKG_MAX_NAME_BYTES, path,
			    len, e))
		return e->code;
	return MEMBER_RESOURCE;
}

void resource_path_split(const char *path, const char **type, size_t *type_len,
			 const char **name, size_t *name_len)
{
	const char *t = path + strlen("resources/");
	const char *slash = strchr(t, '/');

	*type = t;
	*type_len = (size_t)(slash - t);
	*name = slash + 1;
	*name_len = strlen(slash + 1) - strlen(".json");
}

char *resource_path_make(const char *type, const char *name)
{
	size_t n = strlen("resources/") + strlen(type) + 1 + strlen(name) + strlen(".json") + 1;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "resources/%s/%s.json", type, name);
	return p;
}

/* A manifest entry's path against its type and name, for every entry of a manifest loaded: a
 * name that encodes to itself is compared in place, without making the path. */
int resource_path_is(const char *path, const char *type, const char *name)
{
	size_t tl = strlen(type), nl = strlen(name);
	char *enc, *want;
	int same;

	if (appkg_name_check(type, APPKG_MAX_TYPE_BYTES))
		return 0;
	if (ascii_as_is(name, nl)) /* strncmp: path may end anywhere */
		return !strncmp(path, "resources/", 10) && !strncmp(path + 10, type, tl) &&
		       path[10 + tl] == '/' && !strncmp(path + 11 + tl, name, nl) &&
		       !strcmp(path + 11 + tl + nl, ".json");
	enc = appkg_name_encode(name);
	want = enc ? resource_path_make(type, enc) : NULL;
	same = want && !strcmp(want, path);
	free(enc);
	free(want);
	return same;
}

/* ASCII folds byte by byte (A-Z to a-z) into out, which has room for len + 1 bytes. */
static void fold_ascii(const char *path, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++)
		out[i] = path[i] >= 'A' && path[i] <= 'Z' ? (char)(path[i] - 'A' + 'a') : path[i];
	out[len] = '\0';
}

char *name_fold_key(const char *path, size_t len, size_t *key_len)
{
	if (is_ascii(path, len)) {
		char *key = malloc(len + 1);
		if (!key)
			return NULL;
		fold_ascii(path, len, key);
		*key_len = len;
		return key;
	}
	return (char *)u8_casefold((const uint8_t *)path, len, NULL, UNINORM_NFC, NULL, key_len);
}

struct fold {
	char *key;
	size_t len, index;
	int owned; /* key is its own allocation (non-ASCII), not in the shared block */
};

static int fold_cmp(const void *a, const void *b)
{
	const struct fold *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->key, y->key, n);

	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

/* The fold keys of paths: ASCII ones (nearly all) in one block, the others each their own. */
static int fold_keys(const char *const *paths, size_t n, struct fold *f, char **block)
{
	size_t total = 0, at = 0;

	for (size_t i = 0; i < n; i++)
		total += strlen(paths[i]) + 1;
	if (!(*block = malloc(total ? total : 1)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(paths[i]);
		f[i].index = i;
		if (is_ascii(paths[i], len)) {
			f[i].key = *block + at;
			f[i].len = len;
			fold_ascii(paths[i], len, f[i].key);
			at += len + 1;
		} else if ((f[i].key = name_fold_key(paths[i], len, &f[i].len))) {
			f[i].owned = 1;
		} else {
			return -1;
		}
	}
	return 0;
}

static unsigned char fold_byte(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* Is the fold key of a (la bytes) before that of b (lb bytes), both ASCII (compared as
 * fold_cmp compares them)? What they share is stepped over eight bytes at a time first: equal
 * bytes fold alike, and paths in order share most of their bytes with the one before. */
static int folded_before(const char *a, size_t la, const char *b, size_t lb)
{
	size_t n = la < lb ? la : lb, i = 0;

	while (i + 8 <= n && load8(a + i) == load8(b + i))
		i += 8;
	for (; i < n; i++)
		if (fold_byte((unsigned char)a[i]) != fold_byte((unsigned char)b[i]))
			return fold_byte((unsigned char)a[i]) < fold_byte((unsigned char)b[i]);
	return la < lb;
}

/* Paths all ASCII whose fold keys ascend strictly in the order given (a package's index is
 * sorted by bytes, and names in one case keep that order when folded): no two collide, and
 * no key needs making or sorting. */
static int folds_ascend(const char *const *paths, size_t n)
{
	size_t len = 0, prev;

	for (size_t i = 0; i < n; i++) {
		prev = len;
		len = strlen(paths[i]);
		if (!is_ascii(paths[i], len) ||
		    (i > 0 && !folded_before(paths[i - 1], prev, paths[i], len)))
			return 0;
	}
	return 1;
}

int names_check_collisions(const char *const *paths, size_t n, struct appkg_err *e)
{
	struct fold *f;
	char *block = NULL;
	size_t i;
	int rc = 0;

	if (folds_ascend(paths, n))
		return 0;
	if (!(f = calloc(n ? n : 1, sizeof(*f))) || fold_keys(paths, n, f, &block)) {
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	qsort(f, n, sizeof(*f), fold_cmp);
	for (i = 1; i < n && !rc; i++)
		if (fold_cmp(&f[i - 1], &f[i]) == 0)
			rc = appkg_fail(e, APPKG_ERR_NAME_COLLISION, "%s: collides with %s ignoring case",
					paths[f[i].index], paths[f[i - 1].index]);
out:
	for (i = 0; f && i < n; i++)
		if (f[i].owned)
			free(f[i].key);
	free(block);
	free(f);
	return rc;
}
