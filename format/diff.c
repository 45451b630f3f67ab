/* SPDX-License-Identifier: MIT */
/*
 * appkg_diff_compare: what changed between two packages, as data (spec §19.2), for the diff
 * tool and for an importer's preview. The manifests are parsed whole; resources are matched by
 * path, which both manifests keep sorted and which is a function of type and logical name, so
 * one merge walk pairs them. A resource is read only when its digest differs. Secrets are
 * compared by name: each value is hashed with a key drawn for this comparison, in guarded
 * memory, so no value and no stable digest of one is kept; without both plaintexts only the
 * sealed blobs can be compared.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct change {
	int kind, subject;
	char *type, *name, *pointer, *old_value, *new_value;
};

/* The secrets of one input: names sorted, each with a keyed hash of its value. */
struct secret {
	char *name;
	unsigned char hash[crypto_generichash_BYTES];
};
struct secret_set {
	int present; /* the input has secrets */
	int known;   /* their plaintext was available */
	struct secret *v;
	size_t n;
	unsigned char blob_digest[APPKG_DIGEST_BYTES];
	int has_blob;
};

struct appkg_diff {
	struct change *v;
	size_t n, cap, value_max;
	int done, failed_input;
	char msg[APPKG_MSG_MAX];
	unsigned char key[crypto_generichash_KEYBYTES];
};

appkg_diff *appkg_diff_new(void)
{
	appkg_diff *d = calloc(1, sizeof(*d));

	if (d) {
		d->value_max = 60;
		d->failed_input = -1;
	}
	return d;
}

int appkg_diff_set_value_max(appkg_diff *d, size_t bytes)
{
	if (bytes < 8)
		return APPKG_ERR_INVALID_ARGUMENT;
	d->value_max = bytes;
	return 0;
}

void appkg_diff_free(appkg_diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].type);
		free(d->v[i].name);
		free(d->v[i].pointer);
		free(d->v[i].old_value);
		free(d->v[i].new_value);
	}
	free(d->v);
	sodium_memzero(d->key, sizeof(d->key));
	free(d);
}

size_t appkg_diff_count(const appkg_diff *d)
{
	return d->n;
}

int appkg_diff_change(const appkg_diff *d, size_t i, struct appkg_change *out)
{
	const struct change *c;

	if (i >= d->n)
		return APPKG_ERR_NOT_FOUND;
	c = &d->v[i];
	*out = (struct appkg_change){c->kind, c->subject, c->type, c->name, c->pointer,
				     c->old_value, c->new_value};
	return 0;
}

const char *appkg_diff_error(const appkg_diff *d)
{
	return d->msg;
}

int appkg_diff_failed_input(const appkg_diff *d)
{
	return d->failed_input;
}

static int fail(appkg_diff *d, int input, int code, const char *message)
{
	d->failed_input = input;
	snprintf(d->msg, sizeof(d->msg), "%s", message);
	return code;
}

static char *copy(const char *s, int *bad)
{
	char *c = s ? strdup(s) : NULL;

	if (s && !c)
		*bad = 1;
	return c;
}

int diff_add(appkg_diff *d, int kind, int subject, const char *type, const char *name,
	     const char *pointer, json_t *old_value, json_t *new_value)
{
	struct change *c;
	int bad = 0;

	if (d->n == d->cap) {
		size_t cap = d->cap ? 2 * d->cap : 32;
		struct change *v = realloc(d->v, cap * sizeof(*v));
		if (!v)
			return APPKG_ERR_NO_MEMORY;
		d->v = v;
		d->cap = cap;
	}
	c = &d->v[d->n++];
	*c = (struct change){.kind = kind, .subject = subject};
	c->type = copy(type, &bad);
	c->name = copy(name, &bad);
	c->pointer = copy(pointer, &bad);
	if (old_value && !(c->old_value = diff_value_text(old_value, d->value_max)))
		bad = 1;
	if (new_value && !(c->new_value = diff_value_text(new_value, d->value_max)))
		bad = 1;
	return bad ? APPKG_ERR_NO_MEMORY : 0;
}

/* ---- manifests ----------------------------------------------------------------------- */

static json_t *load_manifest(appkg_diff *d, int input, appkg_reader *r, int *rc)
{
	const char *text;
	size_t len;
	json_t *m;

	if ((*rc = appkg_reader_manifest(r, &text, &len)))
		return fail(d, input, *rc, appkg_reader_error(r)), NULL;
	m = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!json_is_object(m)) {
		json_decref(m);
		*rc = fail(d, input, APPKG_ERR_MANIFEST_JSON, "manifest.json: cannot be parsed");
		return NULL;
	}
	return m;
}

/* A copy of object o without the given keys (the fields the writer computes). */
static json_t *without(json_t *o, const char *const *keys)
{
	json_t *c = json_copy(o);

	for (; c && *keys; keys++)
		json_object_del(c, *keys);
	return c;
}

static int compare_values(appkg_diff *d, int subject, const char *type, const char *name,
			  json_t *a, json_t *b)
{
	struct diff_ctx c = {.d = d, .subject = subject, .type = type, .name = name};
	int rc = a && b ? diff_values(&c, a, b) : APPKG_ERR_NO_MEMORY;

	buf_free(&c.pointer);
	return rc;
}

/* Top-level fields the user wrote: everything but what pack computes or draws (the format's
 * constants, created_by, package_id, which a fresh pack draws anew) and the resource list and
 * secrets description, which have their own steps. */
static int compare_package(appkg_diff *d, json_t *ma, json_t *mb)
{
	static const char *const skip[] = {"format", "format_version", "digest_algorithm",
					   "created_by", "package_id", "resources", "secrets", NULL};
	json_t *a = without(ma, skip), *b = without(mb, skip);
	int rc = compare_values(d, APPKG_DIFF_PACKAGE, NULL, NULL, a, b);

	json_decref(a);
	json_decref(b);
	return rc;
}

/* ---- resources ----------------------------------------------------------------------- */

static const char *field(json_t *entry, const char *key)
{
	return json_string_value(json_object_get(entry, key));
}

static json_t *read_resource(appkg_diff *d, int input, appkg_reader *r, const char *path, int *rc)
{
	const void *data;
	size_t len;
	json_t *v;

	if ((*rc = appkg_reader_read(r, path, &data, &len)))
		return fail(d, input, *rc, appkg_reader_error(r)), NULL;
	v = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (!v)
		*rc = 1; /* valid to the format, beyond Jansson (an integer past 64 bits) */
	return v;
}

/* The content of a resource whose digest differs. */
static int compare_content(appkg_diff *d, appkg_reader *ra, appkg_reader *rb, json_t *ea,
			   json_t *eb)
{
	const char *type = field(eb, "type"), *name = field(eb, "name");
	json_t *a, *b = NULL;
	int rc;

	a = read_resource(d, 0, ra, field(ea, "path"), &rc);
	if (rc <= 0 && a)
		b = read_resource(d, 1, rb, field(eb, "path"), &rc);
	if (rc == 1) /* not comparable value by value: the whole document changed */
		rc = diff_add(d, APPKG_CHANGE_CHANGED, APPKG_DIFF_VALUE, type, name, "", NULL, NULL);
	else if (!rc)
		rc = compare_values(d, APPKG_DIFF_VALUE, type, name, a, b);
	json_decref(a);
	json_decref(b);
	return rc;
}

/* A resource in both: its values, then its entry's attributes. The RESOURCE change goes
 * first and is taken back when nothing below it changed. */
static int compare_resource(appkg_diff *d, const struct appkg_diff_input *ia,
			    const struct appkg_diff_input *ib, json_t *ea, json_t *eb)
{
	static const char *const skip[] = {"type", "name", "path", "size", "digest", NULL};
	const char *type = field(eb, "type"), *name = field(eb, "name");
	size_t mark = d->n;
	json_t *a, *b;
	int rc = diff_add(d, APPKG_CHANGE_CHANGED, APPKG_DIFF_RESOURCE, type, name, NULL, NULL, NULL);

	if (!rc && !json_equal(json_object_get(ea, "digest"), json_object_get(eb, "digest")))
		rc = compare_content(d, ia->reader, ib->reader, ea, eb);
	if (!rc) {
		a = without(ea, skip);
		b = without(eb, skip);
		rc = compare_values(d, APPKG_DIFF_ENTRY, type, name, a, b);
		json_decref(a);
		json_decref(b);
	}
	if (!rc && d->n == mark + 1) {
		d->n = mark; /* unchanged: drop the header (its strings too) */
		free(d->v[mark].type);
		free(d->v[mark].name);
	}
	return rc;
}

static int compare_resources(appkg_diff *d, const struct appkg_diff_input *ia,
			     const struct appkg_diff_input *ib, json_t *ma, json_t *mb)
{
	json_t *la = json_object_get(ma, "resources"), *lb = json_object_get(mb, "resources");
	size_t i = 0, j = 0, na = json_array_size(la), nb = json_array_size(lb);
	int rc = 0;

	while (!rc && (i < na || j < nb)) {
		json_t *ea = json_array_get(la, i), *eb = json_array_get(lb, j);
		int cmp = i == na ? 1 : j == nb ? -1 : strcmp(field(ea, "path"), field(eb, "path"));
		if (cmp < 0)
			rc = diff_add(d, APPKG_CHANGE_REMOVED, APPKG_DIFF_RESOURCE, field(ea, "type"),
				      field(ea, "name"), NULL, NULL, NULL), i++;
		else if (cmp > 0)
			rc = diff_add(d, APPKG_CHANGE_ADDED, APPKG_DIFF_RESOURCE, field(eb, "type"),
				      field(eb, "name"), NULL, NULL, NULL), j++;
		else
			rc = compare_resource(d, ia, ib, ea, eb), i++, j++;
	}
	return rc;
}

/* ---- secrets ------------------------------------------------------------------------- */

static void secrets_free(struct secret_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].name);
	free(s->v);
}

static int secret_cmp(const void *a, const void *b)
{
	return strcmp(((const struct secret *)a)->name, ((const struct secret *)b)->name);
}

static unsigned hex_value(unsigned char c)
{
	return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static size_t put_utf8(unsigned char *o, unsigned long cp)
{
	if (cp < 0x80)
		return o[0] = (unsigned char)cp, 1;
	if (cp < 0x800)
		return o[0] = (unsigned char)(0xC0 | cp >> 6), o[1] = (unsigned char)(0x80 | (cp & 0x3F)), 2;
	if (cp < 0x10000)
		return o[0] = (unsigned char)(0xE0 | cp >> 12),
		       o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F)),
		       o[2] = (unsigned char)(0x80 | (cp & 0x3F)), 3;
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decode the JSON string at p[*i] (its opening quote), in a document secrets_check_json
 * accepted, into out (room for as many bytes as the source has); *i ends past the closing
 * quote. Returns the decoded length. */
static size_t decode_string(const unsigned char *p, size_t n, size_t *i, unsigned char *out)
{
	size_t o = 0, k = *i + 1;

	while (k < n && p[k] != '"') {
		if (p[k] != '\\') {
			out[o++] = p[k++];
			continue;
		}
		if (k + 1 >= n)
			break;
		unsigned char e = p[k + 1];
		k += 2;
		if (e != 'u') {
			out[o++] = e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'n' ? '\n'
				 : e == 'r' ? '\r' : e == 't' ? '\t' : e;
			continue;
		}
		unsigned long cp = 0;
		for (int h = 0; h < 4 && k < n; h++)
			cp = cp << 4 | hex_value(p[k++]);
		if (cp >= 0xD800 && cp < 0xDC00 && k + 6 <= n && p[k] == '\\' && p[k + 1] == 'u') {
			unsigned long lo = 0;
			for (int h = 2; h < 6; h++)
				lo = lo << 4 | hex_value(p[k + h]);
			cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			k += 6;
		}
		o += put_utf8(out + o, cp);
	}
	*i = k + 1;
	return o;
}

static void skip_ws(const unsigned char *p, size_t n, size_t *i)
{
	while (*i < n && (p[*i] == ' ' || p[*i] == '\t' || p[*i] == '\n' || p[*i] == '\r' ||
			  p[*i] == ',' || p[*i] == ':' || p[*i] == '{' || p[*i] == '}'))
		(*i)++;
}

/* Names and keyed value hashes of a plaintext secrets.json. The decoded value lives in guarded
 * memory and is wiped at once. */
static int scan_secrets(appkg_diff *d, const char *json, size_t len, struct secret_set *s)
{
	const unsigned char *p = (const unsigned char *)json;
	unsigned char *value = sodium_malloc(len + 1);
	char *name;
	size_t i = 0, cap = 0, vlen;

	if (!value)
		return APPKG_ERR_NO_MEMORY;
	for (skip_ws(p, len, &i); i < len && p[i] == '"'; skip_ws(p, len, &i)) {
		if (s->n == cap) {
			struct secret *v = realloc(s->v, (cap = cap ? 2 * cap : 16) * sizeof(*v));
			if (!v)
				break;
			s->v = v;
		}
		vlen = decode_string(p, len, &i, value);
		name = strndup((const char *)value, vlen);
		if (!name)
			break;
		skip_ws(p, len, &i);
		vlen = decode_string(p, len, &i, value);
		crypto_generichash(s->v[s->n].hash, sizeof(s->v[s->n].hash), value, vlen, d->key,
				   sizeof(d->key));
		sodium_memzero(value, vlen);
		s->v[s->n++].name = name;
	}
	sodium_free(value);
	if (i < len && p[i] == '"')
		return APPKG_ERR_NO_MEMORY;
	if (s->n)
		qsort(s->v, s->n, sizeof(*s->v), secret_cmp);
	return 0;
}

/* What can be known of one input's secrets: the plaintext given, else the one its password
 * opens, else only the sealed blob's digest. */
static int load_secrets(appkg_diff *d, int input, const struct appkg_diff_input *in,
			struct secret_set *s)
{
	struct appkg_member blob;
	struct appkg_err e = {0};
	char *plain = NULL;
	size_t plain_len = 0;
	int rc = 0;

	if (appkg_reader_find(in->reader, "secrets.enc", &blob) == 0) {
		s->present = s->has_blob = 1;
		memcpy(s->blob_digest, blob.digest, APPKG_DIGEST_BYTES);
	}
	if (in->secrets_json) {
		s->present = s->known = 1;
		if (secrets_check_json(in->secrets_json, in->secrets_json_len, &e))
			return fail(d, input, e.code, e.msg);
		return scan_secrets(d, in->secrets_json, in->secrets_json_len, s);
	}
	if (!s->has_blob || !in->password)
		return 0;
	if ((rc = appkg_reader_secrets(in->reader, in->password, in->password_len, &plain,
				       &plain_len)))
		return fail(d, input, rc, appkg_reader_error(in->reader));
	s->known = 1;
	rc = scan_secrets(d, plain, plain_len, s);
	appkg_secure_free(plain, plain_len);
	return rc;
}

static int secret_change(appkg_diff *d, int kind, const char *name)
{
	return diff_add(d, kind, name ? APPKG_DIFF_SECRET : APPKG_DIFF_SECRETS, NULL, name, NULL,
			NULL, NULL);
}

/* By name when both sides are known (an input without secrets is known and empty); else the
 * secrets as a whole: added, removed, or changed when the sealed blobs differ. */
static int compare_secrets(appkg_diff *d, const struct secret_set *a, const struct secret_set *b)
{
	size_t i = 0, j = 0;
	int rc = 0;

	if (!a->present && !b->present)
		return 0;
	if ((a->known || !a->present) && (b->known || !b->present)) {
		while (!rc && (i < a->n || j < b->n)) {
			int cmp = i == a->n ? 1 : j == b->n ? -1 : strcmp(a->v[i].name, b->v[j].name);
			if (cmp < 0)
				rc = secret_change(d, APPKG_CHANGE_REMOVED, a->v[i++].name);
			else if (cmp > 0)
				rc = secret_change(d, APPKG_CHANGE_ADDED, b->v[j++].name);
			else if (sodium_memcmp(a->v[i++].hash, b->v[j++].hash, sizeof(a->v->hash)))
				rc = secret_change(d, APPKG_CHANGE_CHANGED, a->v[i - 1].name);
		}
		return rc;
	}
	if (!a->present || !b->present)
		return secret_change(d, a->present ? APPKG_CHANGE_REMOVED : APPKG_CHANGE_ADDED, NULL);
	if (a->has_blob && b->has_blob && !memcmp(a->blob_digest, b->blob_digest, APPKG_DIGEST_BYTES))
		return 0;
	return secret_change(d, APPKG_CHANGE_CHANGED, NULL);
}

/* ---- the comparison ------------------------------------------------------------------- */

/* Every member read once and checked (tar header, digest, JSON), so that a damaged input is
 * refused rather than called equal where the digests in its manifest agree with the other's. */
static int verify_input(appkg_diff *d, int input, appkg_reader *r)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	return rc ? fail(d, input, rc, appkg_reader_error(r)) : 0;
}

int appkg_diff_compare(appkg_diff *d, const struct appkg_diff_input *a,
		       const struct appkg_diff_input *b)
{
	struct secret_set sa = {0}, sb = {0};
	json_t *ma = NULL, *mb = NULL;
	int rc;

	if (!a || !b || !a->reader || !b->reader)
		return fail(d, -1, APPKG_ERR_INVALID_ARGUMENT, "no input");
	if (d->done)
		return fail(d, -1, APPKG_ERR_STATE, "this handle has compared already");
	d->done = 1;
	randombytes_buf(d->key, sizeof(d->key));
	/* secrets before the comparison: a wrong password is refused before it */
	if ((rc = verify_input(d, 0, a->reader)) || (rc = verify_input(d, 1, b->reader)) ||
	    (rc = load_secrets(d, 0, a, &sa)) || (rc = load_secrets(d, 1, b, &sb)))
		goto out;
	if (!(ma = load_manifest(d, 0, a->reader, &rc)) || !(mb = load_manifest(d, 1, b->reader, &rc)))
		goto out;
	if ((rc = compare_package(d, ma, mb)) || (rc = compare_resources(d, a, b, ma, mb)) ||
	    (rc = compare_secrets(d, &sa, &sb)))
		goto out;
out:
	if (rc == APPKG_ERR_NO_MEMORY && !d->msg[0])
		fail(d, -1, rc, "out of memory");
	json_decref(ma);
	json_decref(mb);
	secrets_free(&sa);
	secrets_free(&sb);
	sodium_memzero(d->key, sizeof(d->key));
	return rc ? rc : (int)d->n;
}
