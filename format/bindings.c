/* SPDX-License-Identifier: MIT */
/*
 * The bindings handle (spec sections 20.2 and 20.4): the values one target environment gives
 * a package's inputs, read from a bindings file (ENV.json), the defaults of a package's
 * inputs, and the plaintext secrets for secret references, kept in guarded memory and wiped
 * at free. A bindings file is checked strictly before anything is allocated for it (size,
 * UTF-8, depth, duplicate keys: jsoncheck.c), then read with a forward walk over its bytes, so
 * a value keeps its exact text (a number is never rounded) and nothing recurses.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/* One input's value: its compact JSON text, and a string's decoded value. */
struct binding {
	char *name;
	char *json;
	size_t json_len;
	unsigned char *text; /* a string's value; NULL for other values */
	size_t text_len;
};

/* A secret in the guarded pool: offsets of its NUL-terminated name and of its value. */
struct secret_ref {
	size_t name, value, value_len;
};

struct appkg_bindings {
	struct appkg_err err;
	char *environment;
	struct binding *v; /* the document's inputs, sorted by name */
	size_t n;
	struct binding *defaults; /* appkg_bindings_use_defaults, sorted by name */
	size_t ndefaults;
	unsigned char *pool; /* sodium_malloc: the secrets' names and values */
	struct secret_ref *secrets; /* sorted by name */
	size_t nsecrets;
};

appkg_bindings *appkg_bindings_new(void)
{
	return calloc(1, sizeof(appkg_bindings));
}

static void bindings_clear(struct binding *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].json);
		free(v[i].text);
	}
	free(v);
}

static void reset_error(appkg_bindings *b)
{
	memset(&b->err, 0, sizeof(b->err));
}

/* ---- reading a document json_validate accepted ---- */

struct doc {
	const unsigned char *p;
	size_t n;
	appkg_bindings *b;
};

static size_t skip_ws(const struct doc *d, size_t i)
{
	while (i < d->n && (d->p[i] == ' ' || d->p[i] == '\t' || d->p[i] == '\n' || d->p[i] == '\r'))
		i++;
	return i;
}

/* Past the value at i: brackets are counted and strings stepped over, so nothing recurses. */
static size_t skip_value(const struct doc *d, size_t i)
{
	size_t depth = 0;

	if (i < d->n && d->p[i] != '{' && d->p[i] != '[' && d->p[i] != '"') {
		while (i < d->n && !strchr(",}] \t\n\r", d->p[i]))
			i++; /* a number or a literal */
		return i;
	}
	while (i < d->n) {
		unsigned char c = d->p[i];
		if (c == '"') {
			json_string_decode(d->p, d->n, i, NULL, &i);
		} else {
			depth += c == '{' || c == '[';
			depth -= c == '}' || c == ']';
			i++;
		}
		if (!depth)
			break;
	}
	return i;
}

/* The string token at i, decoded and NUL-terminated (malloc'd), or NULL. */
static char *decode_string(const struct doc *d, size_t i)
{
	size_t end, len = json_string_decode(d->p, d->n, i, NULL, &end);
	char *s = malloc(len + 1);

	if (s) {
		json_string_decode(d->p, d->n, i, (unsigned char *)s, &end);
		s[len] = '\0';
	}
	return s;
}

static int fail_at(const struct doc *d, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An APPKG_ERR_BINDINGS failure at byte at of the document. */
static int fail_at(const struct doc *d, size_t at, const char *fmt, ...)
{
	char what[APPKG_MSG_MAX];
	unsigned line = 1, column = 1;
	va_list ap;

	for (size_t i = 0; i < at && i < d->n; i++, column++)
		if (d->p[i] == '\n')
			line++, column = 0;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!d->b->err.code) {
		d->b->err.line = line;
		d->b->err.column = column;
	}
	return appkg_fail(&d->b->err, APPKG_ERR_BINDINGS, "line %u column %u: %s", line, column, what);
}

typedef int (*member_fn)(const struct doc *d, void *ctx, size_t key, size_t value, size_t end);

/* fn for each member of the object at i: the indexes of its key token, its value and the
 * value's end. */
static int each_member(const struct doc *d, size_t i, member_fn fn, void *ctx)
{
	int rc = 0;

	for (i = skip_ws(d, i + 1); !rc && i < d->n && d->p[i] == '"';) {
		size_t key = i, value;
		json_string_decode(d->p, d->n, i, NULL, &i);
		value = skip_ws(d, skip_ws(d, i) + 1); /* past the ':' */
		i = skip_value(d, value);
		rc = fn(d, ctx, key, value, i);
		i = skip_ws(d, i);
		if (i < d->n && d->p[i] == ',')
			i = skip_ws(d, i + 1);
	}
	return rc;
}

/* ---- loading a bindings file ---- */

struct load {
	struct binding *v;
	size_t n, cap;
	char *environment;
	int has_inputs;
};

/* The value's text without the whitespace between its tokens. */
static char *compact(const struct doc *d, size_t start, size_t end, size_t *len)
{
	char *s = malloc(end - start + 1);
	size_t o = 0;

	for (size_t i = start; s && i < end;) {
		unsigned char c = d->p[i];
		if (c == '"') {
			size_t stop;
			json_string_decode(d->p, d->n, i, NULL, &stop);
			memcpy(s + o, d->p + i, stop - i);
			o += stop - i;
			i = stop;
			continue;
		}
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			s[o++] = (char)c;
		i++;
	}
	if (s)
		s[o] = '\0';
	*len = o;
	return s;
}

/* A binding from the value text at [start, end) of d. */
static int binding_make(struct binding *x, const struct doc *d, size_t start, size_t end)
{
	size_t stop;

	x->json = compact(d, start, end, &x->json_len);
	if (!x->json)
		return APPKG_ERR_NO_MEMORY;
	if (d->p[start] == '"') {
		x->text_len = json_string_decode(d->p, d->n, start, NULL, &stop);
		if (!(x->text = malloc(x->text_len + 1)))
			return APPKG_ERR_NO_MEMORY;
		json_string_decode(d->p, d->n, start, x->text, &stop);
	}
	return 0;
}

static int input_member(const struct doc *d, void *ctx, size_t key, size_t value, size_t end)
{
	struct load *l = ctx;
	struct binding *x;
	char *name = decode_string(d, key);

	if (!name)
		return appkg_fail(&d->b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!placeholder_name_ok(name, strlen(name))) {
		fail_at(d, key,
			"inputs: '%s' is not an input name: a letter, then up to 63 letters, digits, "
			"'_', '-' or '.' (spec §20.1)",
			name);
		free(name);
		return d->b->err.code;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *v = realloc(l->v, cap * sizeof(*l->v));
		if (!v) {
			free(name);
			return appkg_fail(&d->b->err, APPKG_ERR_NO_MEMORY, "out of memory");
		}
		l->v = v;
		l->cap = cap;
	}
	x = &l->v[l->n++];
	memset(x, 0, sizeof(*x));
	x->name = name;
	if (binding_make(x, d, value, end))
		return appkg_fail(&d->b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

static int top_member(const struct doc *d, void *ctx, size_t key, size_t value, size_t end)
{
	struct load *l = ctx;
	char *name = decode_string(d, key);
	int rc = 0;

	if (!name)
		return appkg_fail(&d->b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!strcmp(name, "inputs")) {
		l->has_inputs = 1;
		if (d->p[value] != '{')
			rc = fail_at(d, value, "inputs: not an object of input names and their values "
					       "(spec §20.4)");
		else
			rc = each_member(d, value, input_member, l);
	} else if (!strcmp(name, "environment")) {
		if (d->p[value] != '"')
			rc = fail_at(d, value, "environment: not a string (spec §20.4)");
		else if (!(l->environment = decode_string(d, value)))
			rc = appkg_fail(&d->b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	} else {
		rc = fail_at(d, key,
			     "unknown field '%s': a bindings file has 'inputs' and 'environment' only "
			     "(spec §20.4)",
			     name);
	}
	free(name);
	return rc;
}

static int binding_order(const void *a, const void *b)
{
	return strcmp(((const struct binding *)a)->name, ((const struct binding *)b)->name);
}

/* json_validate with the message as this handle's: the caller names the file. */
static int validate(appkg_bindings *b, const char *json, size_t len)
{
	struct appkg_err e = {0};

	if (!json_validate(json, len, APPKG_MAX_BINDINGS_SIZE, &e, "-"))
		return 0;
	b->err = e;
	if (!strncmp(b->err.msg, "-: ", 3))
		memmove(b->err.msg, b->err.msg + 3, strlen(b->err.msg + 3) + 1);
	return e.code;
}

int appkg_bindings_load(appkg_bindings *b, const char *json, size_t len)
{
	struct doc d = {(const unsigned char *)json, len, b};
	struct load l = {0};
	size_t start;
	int rc;

	if (!b || (!json && len))
		return APPKG_ERR_INVALID_ARGUMENT;
	reset_error(b);
	if (len > APPKG_MAX_BINDINGS_SIZE)
		return appkg_fail(&b->err, APPKG_ERR_BINDINGS, "%zu bytes, over the %u-byte limit",
				  len, APPKG_MAX_BINDINGS_SIZE);
	if ((rc = validate(b, json ? json : "", len)))
		return rc;
	start = skip_ws(&d, 0);
	rc = each_member(&d, start, top_member, &l);
	if (!rc && !l.has_inputs)
		rc = appkg_fail(&b->err, APPKG_ERR_BINDINGS,
				"no 'inputs' field: a bindings file gives its values there, {} for none "
				"(spec §20.4)");
	if (rc) {
		bindings_clear(l.v, l.n);
		free(l.environment);
		return rc;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), binding_order);
	bindings_clear(b->v, b->n);
	free(b->environment);
	b->v = l.v;
	b->n = l.n;
	b->environment = l.environment;
	return 0;
}

static int read_file(appkg_bindings *b, const char *path, struct buf *out)
{
	/* O_NONBLOCK: a FIFO must not block the open; only a regular file is read */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), rc = 0;
	struct stat st;
	ssize_t r;

	if (fd < 0)
		return appkg_fail(&b->err, appkg_errno_code(errno), "cannot open: %s", strerror(errno));
	if (fstat(fd, &st) != 0)
		rc = appkg_fail(&b->err, appkg_errno_code(errno), "cannot stat: %s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = appkg_fail(&b->err, APPKG_ERR_SOURCE, "not a regular file");
	else if ((uint64_t)st.st_size > APPKG_MAX_BINDINGS_SIZE)
		rc = appkg_fail(&b->err, APPKG_ERR_BINDINGS, "%lld bytes, over the %u-byte limit",
				(long long)st.st_size, APPKG_MAX_BINDINGS_SIZE);
	else if (buf_reserve(out, (size_t)st.st_size + 1))
		rc = appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	while (!rc && (r = read(fd, out->data + out->len, out->cap - out->len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			rc = appkg_fail(&b->err, appkg_errno_code(errno), "read: %s", strerror(errno));
		else if ((out->len += (size_t)r) > APPKG_MAX_BINDINGS_SIZE)
			rc = appkg_fail(&b->err, APPKG_ERR_BINDINGS, "over the %u-byte limit",
					APPKG_MAX_BINDINGS_SIZE);
		else if (out->len == out->cap && buf_reserve(out, 4096))
			rc = appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	close(fd);
	return rc;
}

int appkg_bindings_load_file(appkg_bindings *b, const char *path)
{
	struct buf data = {0};
	int rc;

	if (!b || !path)
		return APPKG_ERR_INVALID_ARGUMENT;
	reset_error(b);
	rc = read_file(b, path, &data);
	if (!rc)
		rc = appkg_bindings_load(b, (const char *)data.data, data.len);
	buf_free(&data);
	return rc;
}

/* ---- lookups ---- */

size_t appkg_bindings_count(const appkg_bindings *b)
{
	return b ? b->n : 0;
}

const char *appkg_bindings_name(const appkg_bindings *b, size_t i)
{
	return b && i < b->n ? b->v[i].name : NULL;
}

/* The binding named name (len bytes) in v (sorted), or NULL. */
static const struct binding *find(const struct binding *v, size_t n, const char *name, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(v[mid].name, name, len);
		if (!c && v[mid].name[len])
			c = 1;
		if (!c)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static const struct binding *value_of(const appkg_bindings *b, const char *name, size_t len)
{
	const struct binding *x = find(b->v, b->n, name, len);

	return x ? x : find(b->defaults, b->ndefaults, name, len);
}

const char *appkg_bindings_value(const appkg_bindings *b, const char *name)
{
	const struct binding *x = b && name ? value_of(b, name, strlen(name)) : NULL;

	return x ? x->json : NULL;
}

const char *appkg_bindings_environment(const appkg_bindings *b)
{
	return b ? b->environment : NULL;
}

/* ---- against a package's inputs ---- */

int appkg_bindings_use_defaults(appkg_bindings *b, appkg_reader *r)
{
	size_t n, k = 0;
	struct binding *v;
	int rc = 0;

	if (!b || !r)
		return APPKG_ERR_INVALID_ARGUMENT;
	reset_error(b);
	n = appkg_reader_input_count(r);
	if (!(v = calloc(n ? n : 1, sizeof(*v))))
		return appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t i = 0; i < n && !rc; i++) {
		struct appkg_input in;
		if ((rc = appkg_reader_input(r, i, &in))) {
			appkg_fail(&b->err, rc, "%s", appkg_reader_error(r));
			break;
		}
		if (!in.default_json)
			continue;
		struct doc d = {(const unsigned char *)in.default_json, strlen(in.default_json), b};
		v[k].name = strdup(in.name);
		if (!v[k++].name || binding_make(&v[k - 1], &d, 0, d.n))
			rc = appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	if (rc) {
		bindings_clear(v, k);
		return rc;
	}
	if (k)
		qsort(v, k, sizeof(*v), binding_order);
	bindings_clear(b->defaults, b->ndefaults);
	b->defaults = v;
	b->ndefaults = k;
	return 0;
}

/* Is name an input of r that some resource uses? Inputs come sorted by name. */
static int input_used(appkg_reader *r, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct appkg_input in;
		int c;
		if (appkg_reader_input(r, mid, &in))
			return 0;
		c = strcmp(in.name, name);
		if (!c)
			return in.used_by_count > 0;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

int appkg_bindings_check(const appkg_bindings *b, appkg_reader *r, appkg_binding_fn fn, void *ctx)
{
	size_t n;
	int unbound = 0, rc;

	if (!b || !r)
		return APPKG_ERR_INVALID_ARGUMENT;
	n = appkg_reader_input_count(r);
	for (size_t i = 0; i < n; i++) {
		struct appkg_input in;
		if ((rc = appkg_reader_input(r, i, &in)))
			return rc;
		if (!in.required || value_of(b, in.name, strlen(in.name)))
			continue;
		struct appkg_binding_problem p = {in.name, 1, in.used_by, in.used_by_count};
		unbound++;
		if (fn)
			fn(ctx, &p);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct appkg_binding_problem p = {b->v[i].name, 0, NULL, 0};
		if (!input_used(r, n, b->v[i].name) && fn)
			fn(ctx, &p);
	}
	return unbound;
}

/* ---- secrets ---- */

struct secrets_load {
	appkg_bindings *b;
	size_t used, cap;
};

static int secret_member(const struct doc *d, void *ctx, size_t key, size_t value, size_t end)
{
	struct secrets_load *s = ctx;
	appkg_bindings *b = s->b;
	struct secret_ref *r;
	size_t stop, len;

	if (b->nsecrets == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		void *v = realloc(b->secrets, cap * sizeof(*b->secrets));
		if (!v)
			return appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
		b->secrets = v;
		s->cap = cap;
	}
	r = &b->secrets[b->nsecrets++];
	/* a decoded string and its NUL take no more than its token: the pool is len + 1 */
	r->name = s->used;
	len = json_string_decode(d->p, d->n, key, b->pool + s->used, &stop);
	b->pool[s->used + len] = '\0';
	s->used += len + 1;
	r->value = s->used;
	r->value_len = json_string_decode(d->p, d->n, value, b->pool + s->used, &stop);
	s->used += r->value_len;
	(void)end;
	return 0;
}

static int secret_order(const void *a, const void *b, void *pool)
{
	return strcmp((const char *)pool + ((const struct secret_ref *)a)->name,
		      (const char *)pool + ((const struct secret_ref *)b)->name);
}

static void secrets_clear(appkg_bindings *b)
{
	if (b->pool)
		sodium_free(b->pool);
	free(b->secrets);
	b->pool = NULL;
	b->secrets = NULL;
	b->nsecrets = 0;
}

int appkg_bindings_set_secrets(appkg_bindings *b, const char *json, size_t len)
{
	struct doc d = {(const unsigned char *)json, len, b};
	struct secrets_load s = {b, 0, 0};
	int rc;

	if (!b || !json)
		return APPKG_ERR_INVALID_ARGUMENT;
	reset_error(b);
	secrets_clear(b);
	if ((rc = secrets_check_json(json, len, &b->err)))
		return rc;
	if (!(b->pool = sodium_malloc(len + 1)))
		return appkg_fail(&b->err, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = each_member(&d, skip_ws(&d, 0), secret_member, &s);
	if (rc) {
		secrets_clear(b);
		return rc;
	}
	if (b->nsecrets)
		qsort_r(b->secrets, b->nsecrets, sizeof(*b->secrets), secret_order, b->pool);
	return 0;
}

static const struct secret_ref *find_secret(const appkg_bindings *b, const char *name, size_t len)
{
	size_t lo = 0, hi = b->nsecrets;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *s = (const char *)b->pool + b->secrets[mid].name;
		int c = strncmp(s, name, len);
		if (!c && s[len])
			c = 1;
		if (!c)
			return &b->secrets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- binding a document ---- */

static int lookup(void *ctx, int kind, const char *name, size_t len, struct ph_value *v)
{
	const appkg_bindings *b = ctx;

	if (kind == APPKG_PLACEHOLDER_SECRET) {
		const struct secret_ref *r = find_secret(b, name, len);
		if (!r)
			return 0;
		v->text = b->pool + r->value;
		v->text_len = r->value_len;
		v->is_string = 1;
		return 1;
	}
	const struct binding *x = value_of(b, name, len);
	if (!x)
		return 0;
	v->json = x->json;
	v->json_len = x->json_len;
	v->text = x->text;
	v->text_len = x->text_len;
	v->is_string = x->text != NULL;
	return 1;
}

int appkg_bind(appkg_bindings *b, const char *json, size_t len, int flags, char **out,
	       size_t *out_len)
{
	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (!b || (!json && len) || !out || !out_len || (flags & ~APPKG_BIND_SECRETS))
		return APPKG_ERR_INVALID_ARGUMENT;
	reset_error(b);
	return placeholders_bind(json ? json : "", len, lookup, b, flags, out, out_len, &b->err);
}

void appkg_bound_free(char *out, size_t len)
{
	if (!out)
		return;
	sodium_memzero(out, len + 1); /* placeholders_bind puts a NUL after the document */
	free(out);
}

const char *appkg_bindings_error(const appkg_bindings *b)
{
	return b ? b->err.msg : "no bindings handle";
}

void appkg_bindings_free(appkg_bindings *b)
{
	if (!b)
		return;
	bindings_clear(b->v, b->n);
	bindings_clear(b->defaults, b->ndefaults);
	free(b->environment);
	secrets_clear(b);
	free(b);
}
