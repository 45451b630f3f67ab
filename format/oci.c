/* SPDX-License-Identifier: MIT */
/*
 * The registry client (spec section 22): its handle and options, the reference grammar
 * (oci://HOST[:PORT]/REPO[:TAG][@sha256:HEX]), authentication (HTTP basic, and the bearer
 * challenge: WWW-Authenticate, a token from the realm, the request again), the login check and
 * the tag list. Credentials and tokens live in guarded memory and are wiped when replaced or
 * freed; no message and no log line ever holds one. The artifact itself (push, pull, remote
 * inspection) is ociartifact.c; the transport ocihttp.c.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

#define MAX_REFERENCE 1024
#define MAX_REPOSITORY 255
#define MAX_TOKEN 8192

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void init_curl(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

appkg_oci *appkg_oci_new(void)
{
	struct appkg_oci *c = calloc(1, sizeof(*c));

	pthread_once(&curl_once, init_curl);
	if (!c)
		return NULL;
	c->fd = -1;
	c->chunk_size = 8u << 20;
	if (!(c->curl = curl_easy_init())) {
		free(c);
		return NULL;
	}
	return c;
}

static void secret_free(char **p, size_t *len)
{
	if (*p) {
		sodium_memzero(*p, len ? *len : strlen(*p));
		sodium_free(*p);
	}
	*p = NULL;
	if (len)
		*len = 0;
}

/* A copy of n bytes in guarded memory, NUL-terminated. */
static char *secret_copy(const char *s, size_t n)
{
	char *p = sodium_malloc(n + 1);

	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void appkg_oci_free(appkg_oci *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	if (c->temp_path && !c->committed)
		unlink(c->temp_path);
	free(c->temp_path), free(c->dest);
	secret_free(&c->password, &c->password_len);
	secret_free(&c->auth_header, &c->auth_header_len);
	free(c->username), free(c->ca_file);
	free(c->host), free(c->repository), free(c->tag), free(c->digest);
	curl_slist_free_all(c->resolve);
	buf_free(&c->config);
	free(c->signature);
	curl_easy_cleanup(c->curl);
	free(c);
}

const char *appkg_oci_error(const appkg_oci *c)
{
	return c ? c->err.msg : "";
}

static int no_memory(struct appkg_oci *c)
{
	return appkg_fail(&c->err, APPKG_ERR_NO_MEMORY, "out of memory");
}

int appkg_oci_set_options(appkg_oci *c, const struct appkg_oci_options *o)
{
	struct curl_slist *n;

	if (!c || !o || (o->password && !o->username))
		return c ? appkg_fail(&c->err, APPKG_ERR_INVALID_ARGUMENT, "a password needs a user name")
			 : APPKG_ERR_INVALID_ARGUMENT;
	if (o->username && (!(c->username = strdup(o->username)) ||
			    !(c->password = secret_copy(o->password ? o->password : "",
							 o->password ? o->password_len : 0))))
		return no_memory(c);
	c->password_len = o->password ? o->password_len : 0;
	if (o->ca_file && !(c->ca_file = strdup(o->ca_file)))
		return no_memory(c);
	c->plain_http = o->plain_http;
	for (size_t i = 0; i < o->resolve_count; i++) {
		if (!(n = curl_slist_append(c->resolve, o->resolve[i])))
			return no_memory(c);
		c->resolve = n;
	}
	if (o->chunk_size)
		c->chunk_size = o->chunk_size;
	c->log = o->log, c->log_ctx = o->log_ctx;
	c->progress = o->progress, c->progress_ctx = o->progress_ctx;
	return 0;
}

/* ---- references ---- */

int oci_digest_ok(const char *s)
{
	if (!s || strncmp(s, "sha256:", 7) || strlen(s) != OCI_DIGEST_LEN)
		return 0;
	for (s += 7; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

int oci_tag_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > 128 || !(isalnum((unsigned char)s[0]) || s[0] == '_') || !isascii(s[0]))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isascii((unsigned char)s[i]) ||
		    !(isalnum((unsigned char)s[i]) || strchr("._-", s[i])))
			return 0;
	return 1;
}

static int lower_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static int component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (!n || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
		return 0;
	while (i < n) {
		if (lower_alnum(s[i])) {
			i++;
			continue;
		}
		size_t k = i;
		while (k < n && s[k] == '-')
			k++;
		if (k == i) /* '.', '_' or "__" */
			k = i + (s[i] == '.' ? 1 : s[i] == '_' ? (i + 1 < n && s[i + 1] == '_' ? 2 : 1) : 0);
		if (k == i || k >= n || !lower_alnum(s[k]))
			return 0;
		i = k;
	}
	return 1;
}

static int repository_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (n == 0 || n > MAX_REPOSITORY)
		return 0;
	for (size_t i = 0; i <= n; i++)
		if (i == n || s[i] == '/') {
			if (!component_ok(s + start, i - start))
				return 0;
			start = i + 1;
		}
	return 1;
}

static int port_ok(const char *p, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* HOST[:PORT]: a DNS name or IPv4 address ([A-Za-z0-9.-]), or [IPv6]. */
static int host_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || n > 255)
		return 0;
	if (s[0] == '[') {
		for (i = 1; i < n && s[i] != ']'; i++)
			if (!isxdigit((unsigned char)s[i]) && s[i] != ':' && s[i] != '.')
				return 0;
		if (i == n || i == 1)
			return 0;
		i++;
	} else {
		for (; i < n && s[i] != ':'; i++)
			if (!isascii((unsigned char)s[i]) ||
			    !(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
				return 0;
		if (i == 0 || s[0] == '.' || s[0] == '-' || s[i - 1] == '.' || s[i - 1] == '-')
			return 0;
	}
	return i == n || (s[i] == ':' && port_ok(s + i + 1, n - i - 1));
}

static int bad_reference(struct appkg_oci *c, const char *what)
{
	return appkg_fail(&c->err, APPKG_ERR_REFERENCE, "not a registry reference: %s (expected "
			  "oci://HOST[:PORT]/REPOSITORY[:TAG][@sha256:DIGEST])", what);
}

static void clear_reference(struct appkg_oci *c)
{
	free(c->host), free(c->repository), free(c->tag), free(c->digest);
	c->host = c->repository = c->tag = c->digest = NULL;
}

int appkg_oci_set_registry(appkg_oci *c, const char *host)
{
	if (!c || !host)
		return APPKG_ERR_INVALID_ARGUMENT;
	clear_reference(c);
	if (!host_ok(host, strlen(host)))
		return bad_reference(c, "bad host");
	return (c->host = strdup(host)) ? 0 : no_memory(c);
}

/* REPO[:TAG][@DIGEST] of a reference, after "oci://HOST/". */
static int parse_name(struct appkg_oci *c, const char *s)
{
	const char *at = strchr(s, '@'), *end = at ? at : s + strlen(s);
	const char *slash = memrchr(s, '/', (size_t)(end - s)), *colon;

	colon = memchr(slash ? slash : s, ':', (size_t)(end - (slash ? slash : s)));
	if (at && !oci_digest_ok(at + 1))
		return bad_reference(c, "the digest is not sha256: and 64 lowercase hex digits");
	if (!repository_ok(s, (size_t)((colon ? colon : end) - s)))
		return bad_reference(c, "bad repository name (lowercase letters, digits, "
				     "separators . _ __ - and /)");
	if (!(c->repository = strndup(s, (size_t)((colon ? colon : end) - s))))
		return no_memory(c);
	if (colon && !(c->tag = strndup(colon + 1, (size_t)(end - colon - 1))))
		return no_memory(c);
	if (colon && !oci_tag_ok(c->tag))
		return bad_reference(c, "bad tag");
	if (at && !(c->digest = strdup(at + 1)))
		return no_memory(c);
	return 0;
}

int appkg_oci_set_reference(appkg_oci *c, const char *reference)
{
	const char *host, *slash;
	int rc;

	if (!c || !reference)
		return APPKG_ERR_INVALID_ARGUMENT;
	clear_reference(c);
	if (strncmp(reference, "oci://", 6))
		return bad_reference(c, "no oci:// scheme");
	if (strlen(reference) > MAX_REFERENCE)
		return bad_reference(c, "too long");
	host = reference + 6;
	if (!(slash = strchr(host, '/')) || !slash[1])
		return bad_reference(c, "no repository");
	if (!host_ok(host, (size_t)(slash - host)))
		return bad_reference(c, "bad host");
	if (!(c->host = strndup(host, (size_t)(slash - host))))
		return no_memory(c);
	if ((rc = parse_name(c, slash + 1)))
		clear_reference(c);
	return rc;
}

int appkg_oci_set_tag(appkg_oci *c, const char *tag)
{
	if (!c)
		return APPKG_ERR_INVALID_ARGUMENT;
	if (!oci_tag_ok(tag))
		return appkg_fail(&c->err, APPKG_ERR_REFERENCE, "not a valid tag (letters, digits, "
				  "'_', '.', '-', at most 128, not starting with '.' or '-')");
	free(c->tag);
	return (c->tag = strdup(tag)) ? 0 : no_memory(c);
}

const char *appkg_oci_host(const appkg_oci *c) { return c ? c->host : NULL; }
const char *appkg_oci_repository(const appkg_oci *c) { return c ? c->repository : NULL; }
const char *appkg_oci_tag(const appkg_oci *c) { return c ? c->tag : NULL; }
const char *appkg_oci_digest(const appkg_oci *c) { return c ? c->digest : NULL; }

const char *appkg_oci_manifest_digest(const appkg_oci *c)
{
	return c && c->manifest_digest[0] ? c->manifest_digest : NULL;
}

uint64_t appkg_oci_bytes_received(const appkg_oci *c)
{
	return c ? c->bytes_received : 0;
}

char *oci_url(const struct appkg_oci *c, const char *kind, const char *ref)
{
	size_t n = strlen(c->host) + (c->repository ? strlen(c->repository) : 0) +
		   (kind ? strlen(kind) : 0) +
		   (ref ? strlen(ref) : 0) + 32;
	char *u = malloc(n);

	if (u && c->repository && kind)
		snprintf(u, n, "%s://%s/v2/%s/%s%s%s", c->plain_http ? "http" : "https", c->host,
			 c->repository, kind, ref ? "/" : "", ref ? ref : "");
	else if (u)
		snprintf(u, n, "%s://%s/v2/", c->plain_http ? "http" : "https", c->host);
	return u;
}

/* ---- authentication ---- */

/* "Authorization: " + value, in guarded memory, replacing the previous one. */
static int set_auth(struct appkg_oci *c, const char *kind, const char *value, size_t len)
{
	size_t n = strlen("Authorization: ") + strlen(kind) + 1 + len + 1;
	char *h = sodium_malloc(n);

	if (!h)
		return no_memory(c);
	snprintf(h, n, "Authorization: %s %.*s", kind, (int)len, value);
	secret_free(&c->auth_header, &c->auth_header_len);
	c->auth_header = h;
	c->auth_header_len = n - 1;
	return 0;
}

static int set_basic(struct appkg_oci *c)
{
	size_t ulen = strlen(c->username), n = ulen + 1 + c->password_len;
	size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	char *plain = sodium_malloc(n + 1), *enc = sodium_malloc(b64);
	int rc;

	if (!plain || !enc) {
		rc = no_memory(c);
	} else {
		memcpy(plain, c->username, ulen);
		plain[ulen] = ':';
		memcpy(plain + ulen + 1, c->password, c->password_len);
		sodium_bin2base64(enc, b64, (unsigned char *)plain, n, sodium_base64_VARIANT_ORIGINAL);
		rc = set_auth(c, "Basic", enc, strlen(enc));
	}
	if (plain)
		sodium_memzero(plain, n + 1), sodium_free(plain);
	if (enc)
		sodium_memzero(enc, b64), sodium_free(enc);
	return rc;
}

static int needs_credentials(struct appkg_oci *c, long status)
{
	if (status == 403)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY_AUTH, "the registry denied access (403)");
	if (c->username)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY_AUTH, "the registry refused the "
				  "credentials (%ld)", status);
	return appkg_fail(&c->err, APPKG_ERR_REGISTRY_AUTH, "the registry requires credentials "
			  "(%ld): use appkg login or --username with --password-stdin", status);
}

/* The value of parameter key in a challenge (key="value" or key=token), malloc'd, or NULL. */
static char *challenge_param(const char *ch, const char *key)
{
	size_t k = strlen(key);
	const char *p = ch;

	while ((p = strcasestr(p, key))) {
		int start = p == ch || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
		const char *v = p + k, *end;
		p += k;
		if (!start || *v != '=')
			continue;
		v++;
		if (*v == '"') {
			end = strchr(++v, '"');
		} else {
			end = v + strcspn(v, ", \t");
		}
		return end && end - v <= 2048 ? strndup(v, (size_t)(end - v)) : NULL;
	}
	return NULL;
}

/* Append "&key=escaped" (or "?" first) to url. */
static int append_query(struct appkg_oci *c, char **url, const char *key, const char *value)
{
	char *esc = value ? curl_easy_escape(c->curl, value, 0) : NULL, *n;
	size_t len;

	if (!value)
		return 0;
	if (!esc)
		return no_memory(c);
	len = strlen(*url) + strlen(key) + strlen(esc) + 3;
	if ((n = malloc(len)))
		snprintf(n, len, "%s%c%s=%s", *url, strchr(*url, '?') ? '&' : '?', key, esc);
	curl_free(esc);
	if (!n)
		return no_memory(c);
	free(*url);
	*url = n;
	return 0;
}

static int token_ok(const char *t)
{
	size_t n = t ? strlen(t) : 0;

	if (n == 0 || n > MAX_TOKEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

/* The token of a realm's answer: {"token": ...} or {"access_token": ...}. */
static int take_token(struct appkg_oci *c, const struct buf *body, const char *realm)
{
	struct appkg_err e = {0};
	json_t *doc = json_parse_strict(body->data, body->len, &e, "token response");
	const char *t = doc ? json_string_value(json_object_get(doc, "token")) : NULL;
	int rc;

	if (!t && doc)
		t = json_string_value(json_object_get(doc, "access_token"));
	if (!token_ok(t))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: the token response holds no usable "
				"token", realm);
	else
		rc = set_auth(c, "Bearer", t, strlen(t));
	if (t)
		sodium_memzero((char *)t, strlen(t));
	if (body->data)
		sodium_memzero(body->data, body->len);
	json_decref(doc);
	return rc;
}

/* Bearer: GET realm?service=&scope= (with basic credentials when there are some). */
static int fetch_token(struct appkg_oci *c, const char *challenge)
{
	char *realm = challenge_param(challenge, "realm"), *service, *scope, *url;
	struct buf body = {0};
	struct oci_sink sink = {.mem = &body, .max = APPKG_MAX_OCI_TOKEN, .fd = -1};
	struct http_request rq = {.method = "GET", .accept = "application/json", .sink = &sink,
				  .auth_first_hop = 1};
	struct oci_response resp = {0};
	int rc;

	if (!realm || (strncmp(realm, "https://", 8) && (strncmp(realm, "http://", 7) || !c->plain_http))) {
		free(realm);
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "bearer challenge without a usable "
				  "https realm");
	}
	service = challenge_param(challenge, "service");
	scope = challenge_param(challenge, "scope");
	url = strdup(realm);
	rc = url ? append_query(c, &url, "service", service) : no_memory(c);
	if (!rc)
		rc = append_query(c, &url, "scope", scope);
	secret_free(&c->auth_header, &c->auth_header_len);
	if (!rc && c->username)
		rc = set_basic(c);
	rq.url = url;
	if (!rc)
		rc = http_send(c, &rq, c->username != NULL, &resp);
	if (!rc && (resp.status == 401 || resp.status == 403))
		rc = needs_credentials(c, resp.status);
	else if (!rc && resp.status != 200)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: the token request answered %ld",
				realm, resp.status);
	else if (!rc)
		rc = take_token(c, &body, realm);
	http_response_free(&resp);
	buf_free(&body);
	free(realm), free(service), free(scope), free(url);
	return rc;
}

static int answer_challenge(struct appkg_oci *c, const char *challenge, long status)
{
	if (challenge && !strncasecmp(challenge, "Bearer ", 7))
		return fetch_token(c, challenge + 7);
	if ((!challenge || !strncasecmp(challenge, "Basic", 5)) && c->username)
		return set_basic(c);
	return needs_credentials(c, status);
}

int oci_request(struct appkg_oci *c, const struct http_request *rq, struct oci_response *resp)
{
	int rc = http_send(c, rq, 1, resp);

	if (rc || (resp->status != 401 && resp->status != 403))
		return rc;
	if (resp->status == 403 || (rc = answer_challenge(c, resp->www_authenticate, 401)))
		return rc ? rc : needs_credentials(c, 403);
	if ((rc = http_send(c, rq, 1, resp)))
		return rc;
	if (resp->status == 401 || resp->status == 403)
		return needs_credentials(c, resp->status);
	return 0;
}

/* ---- login check, tags ---- */

int appkg_oci_check_login(appkg_oci *c)
{
	struct oci_response resp = {0};
	struct http_request rq = {.method = "GET"};
	char *url;
	int rc;

	if (!c || !c->host)
		return APPKG_ERR_INVALID_ARGUMENT;
	if (!(url = oci_url(c, NULL, NULL)))
		return no_memory(c);
	rq.url = url;
	rc = oci_request(c, &rq, &resp);
	if (!rc && resp.status != 200)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s answered %ld: not an OCI registry",
				url, resp.status);
	http_response_free(&resp);
	free(url);
	return rc;
}

static int page_tags(struct appkg_oci *c, const struct buf *body, appkg_oci_tag_fn fn, void *ctx)
{
	struct appkg_err e = {0};
	json_t *doc = json_parse_strict(body->data, body->len, &e, "tags list"), *tags, *t;
	size_t i;
	int rc = 0;

	tags = doc ? json_object_get(doc, "tags") : NULL;
	if (!doc || !json_is_object(doc) || (tags && !json_is_array(tags) && !json_is_null(tags)))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the tags list is not {\"tags\": [...]}");
	json_array_foreach(rc ? NULL : tags, i, t) {
		if (!oci_tag_ok(json_string_value(t))) {
			rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the tags list holds a value that is "
					"not a tag");
			break;
		}
		if (fn)
			fn(ctx, json_string_value(t));
	}
	json_decref(doc);
	return rc;
}

/* The next page of a Link header (<URL>; rel="next"), resolved, on the registry's origin. */
static int next_page(struct appkg_oci *c, const struct oci_response *resp, char **url)
{
	const char *l = resp->link, *open, *close;
	CURLU *u;
	char *rel, *next = NULL;
	int rc = 0;

	free(*url);
	*url = NULL;
	if (!l || !strstr(l, "rel=\"next\"") || !(open = strchr(l, '<')) || !(close = strchr(open, '>')))
		return 0;
	if (!(rel = strndup(open + 1, (size_t)(close - open - 1))) || !(u = curl_url())) {
		free(rel);
		return no_memory(c);
	}
	if (curl_url_set(u, CURLUPART_URL, resp->url, 0) || curl_url_set(u, CURLUPART_URL, rel, 0) ||
	    curl_url_get(u, CURLUPART_URL, &next, 0) || !http_same_origin(c, next))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the tags list's Link header is not a "
				"URL of the registry");
	else if (!(*url = strdup(next)))
		rc = no_memory(c);
	curl_free(next);
	curl_url_cleanup(u);
	free(rel);
	return rc;
}

int appkg_oci_tags(appkg_oci *c, appkg_oci_tag_fn fn, void *ctx)
{
	struct buf body = {0};
	struct oci_sink sink = {.mem = &body, .max = APPKG_MAX_OCI_TAGS_PAGE, .fd = -1};
	struct http_request rq = {.method = "GET", .accept = "application/json", .sink = &sink};
	struct oci_response resp = {0};
	char *url;
	int rc = 0;
	unsigned pages = 0;

	if (!c || !c->repository)
		return APPKG_ERR_INVALID_ARGUMENT;
	if (!(url = oci_url(c, "tags/list", NULL)))
		return no_memory(c);
	while (url && !rc) {
		if (++pages > APPKG_MAX_OCI_TAGS_PAGES) {
			rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "more than %u pages of tags",
					APPKG_MAX_OCI_TAGS_PAGES);
			break;
		}
		rq.url = url;
		if ((rc = oci_request(c, &rq, &resp)))
			break;
		if (resp.status == 404)
			rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY_NOT_FOUND, "no such repository (404)");
		else if (resp.status != 200)
			rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the tags list answered %ld",
					resp.status);
		if (!rc && !(rc = page_tags(c, &body, fn, ctx)))
			rc = next_page(c, &resp, &url);
	}
	http_response_free(&resp);
	buf_free(&body);
	free(url);
	return rc;
}
