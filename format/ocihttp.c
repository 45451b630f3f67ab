/* SPDX-License-Identifier: MIT */
/*
 * The registry client's transport over libcurl (spec section 22.5). One request at a time on
 * one easy handle. Every response is hostile: a body goes to a bounded sink (memory with a
 * maximum, or a file that must receive exactly the descriptor's size, hashed with SHA-256 as it
 * arrives) and a transfer that goes past its bound is cut off; a transfer slower than 1 KiB/s for
 * 30 s (a stall, or a body that drips) and a connection that takes over 10 s fail. Redirects are followed here, not by curl, so that the
 * Authorization header is attached only to requests for the registry's own scheme, host and
 * port (never to a storage host a blob redirect names), at most APPKG_MAX_OCI_REDIRECTS times,
 * and never from https to plain http. 429, 5xx and broken connections are retried
 * APPKG_MAX_OCI_RETRIES times after 0.2, 0.4 and 0.8 s (or Retry-After, up to 5 s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

#define CONNECT_TIMEOUT 10L
#define STALL_SECONDS 30L
#define STALL_BYTES_PER_SECOND 1024L
#define MAX_HEADER_VALUE 8192

struct transfer {
	struct appkg_oci *c;
	const struct http_request *rq;
	struct oci_response *resp;
	int error_over;
};

void http_response_free(struct oci_response *resp)
{
	free(resp->location);
	free(resp->www_authenticate);
	free(resp->content_type);
	free(resp->docker_digest);
	free(resp->link);
	free(resp->range);
	free(resp->chunk_min);
	free(resp->url);
	buf_free(&resp->error_body);
	*resp = (struct oci_response){0};
}

/* Headers of the previous response in a chain (1xx, a redirect) are forgotten. */
static void clear_headers(struct oci_response *resp)
{
	free(resp->location), free(resp->www_authenticate), free(resp->content_type);
	free(resp->docker_digest), free(resp->link), free(resp->range), free(resp->chunk_min);
	resp->location = resp->www_authenticate = resp->content_type = NULL;
	resp->docker_digest = resp->link = resp->range = resp->chunk_min = NULL;
	resp->retry_after = 0;
}

static void keep_header(char **slot, const char *v, size_t n)
{
	if (*slot || n > MAX_HEADER_VALUE) /* the first wins; an absurd one is dropped */
		return;
	if ((*slot = malloc(n + 1))) {
		memcpy(*slot, v, n);
		(*slot)[n] = '\0';
	}
}

/* Retry-After in seconds (digits only; an HTTP date is ignored), capped at 5: the wait is
 * bounded whatever the registry asks. */
static unsigned retry_seconds(const char *v, size_t n)
{
	unsigned s = 0;

	if (n == 0 || strspn(v, "0123456789") < n)
		return 0;
	for (size_t i = 0; i < n && s < 5; i++)
		s = s * 10 + (unsigned)(v[i] - '0');
	return s > 5 ? 5 : s;
}

static size_t on_header(char *line, size_t size, size_t n, void *ctx)
{
	struct oci_response *resp = ((struct transfer *)ctx)->resp;
	static const char *const names[] = {"location", "www-authenticate", "content-type",
					    "docker-content-digest", "link", "range",
					    "oci-chunk-min-length", "retry-after"};
	char **slots[] = {&resp->location, &resp->www_authenticate, &resp->content_type,
			  &resp->docker_digest, &resp->link, &resp->range, &resp->chunk_min, NULL};
	size_t len = size * n;

	if (len >= 5 && !memcmp(line, "HTTP/", 5)) {
		clear_headers(resp);
		return len;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t k = strlen(names[i]);
		const char *v = line + k + 1, *end = line + len;
		if (len <= k || line[k] != ':' || strncasecmp(line, names[i], k))
			continue;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
			end--;
		if (slots[i])
			keep_header(slots[i], v, (size_t)(end - v));
		else
			resp->retry_after = retry_seconds(v, (size_t)(end - v));
	}
	return len;
}

static size_t sink_write(struct oci_sink *s, const char *p, size_t len)
{
	if (s->mem) {
		if (s->mem->len + len > s->max || buf_append(s->mem, p, len)) {
			s->over = s->mem->len + len > s->max;
			return 0;
		}
		return len;
	}
	if (s->got + len > s->expect) {
		s->over = 1;
		return 0;
	}
	for (size_t done = 0; done < len;) {
		ssize_t w = write(s->fd, p + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			s->io_failed = errno ? errno : EIO;
			return 0;
		}
		done += (size_t)w;
	}
	crypto_hash_sha256_update(&s->sha, (const unsigned char *)p, len);
	s->got += len;
	return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ctx)
{
	struct transfer *t = ctx;
	size_t len = size * n;
	long status = 0;

	t->c->bytes_received += len;
	curl_easy_getinfo(t->c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300 && t->rq->sink)
		return sink_write(t->rq->sink, p, len);
	if (status >= 200 && status < 300)
		return len; /* a body nobody asked for (a PUT's echo): counted, dropped */
	if (t->resp->error_body.len + len > APPKG_MAX_OCI_ERROR_BODY) {
		t->error_over = 1;
		return 0;
	}
	return buf_append(&t->resp->error_body, p, len) ? 0 : len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ctx)
{
	struct oci_source *src = ((struct transfer *)ctx)->rq->body;
	size_t want = size * n;
	uint64_t left = src->len - src->pos;
	ssize_t r;

	if (want > left)
		want = (size_t)left;
	if (!want)
		return 0;
	if (src->mem) {
		memcpy(p, src->mem + src->pos, want);
		src->pos += want;
		return want;
	}
	do
		r = pread(src->fd, p, want, (off_t)(src->off + src->pos));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return CURL_READFUNC_ABORT;
	src->pos += (uint64_t)r;
	return (size_t)r;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct transfer *t = ctx;
	struct appkg_oci *c = t->c;

	if (!t->rq->progress || !c->progress)
		return 0;
	if (t->rq->sink && t->rq->sink->fd >= 0 && !t->rq->sink->mem)
		c->progress(c->progress_ctx, t->rq->sink->got, t->rq->sink->expect, 0, 1);
	else if (t->rq->body && c->progress_total)
		c->progress(c->progress_ctx, t->rq->body->off + (uint64_t)ulnow, c->progress_total,
			    0, 1);
	(void)dltotal, (void)dlnow, (void)ultotal;
	return 0;
}

static void sink_reset(struct oci_sink *s)
{
	if (!s)
		return;
	s->got = 0;
	s->over = s->io_failed = 0;
	if (s->mem) {
		s->mem->len = 0;
		return;
	}
	crypto_hash_sha256_init(&s->sha);
	if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0)
		s->io_failed = errno;
}

/* Scheme, host and port of url (port filled in from the scheme); 0 or -1. */
static int origin_of(const char *url, char **scheme, char **host, char **port)
{
	CURLU *u = curl_url();
	int rc = -1;

	*scheme = *host = *port = NULL;
	if (u && !curl_url_set(u, CURLUPART_URL, url, 0) &&
	    !curl_url_get(u, CURLUPART_SCHEME, scheme, 0) &&
	    !curl_url_get(u, CURLUPART_HOST, host, 0) &&
	    !curl_url_get(u, CURLUPART_PORT, port, CURLU_DEFAULT_PORT))
		rc = 0;
	curl_url_cleanup(u);
	return rc;
}

int http_same_origin(const struct appkg_oci *c, const char *url)
{
	char base[600], *s1, *h1, *p1, *s2, *h2, *p2;
	int same = 0;

	snprintf(base, sizeof(base), "%s://%s/", c->plain_http ? "http" : "https", c->host);
	if (!origin_of(base, &s1, &h1, &p1) && !origin_of(url, &s2, &h2, &p2))
		same = !strcasecmp(s1, s2) && !strcasecmp(h1, h2) && !strcmp(p1, p2);
	else
		s2 = h2 = p2 = NULL;
	curl_free(s1), curl_free(h1), curl_free(p1), curl_free(s2), curl_free(h2), curl_free(p2);
	return same;
}

/* Wipe a header list that may hold a credential, then free it. */
static void headers_free(struct curl_slist *h)
{
	for (struct curl_slist *x = h; x; x = x->next)
		sodium_memzero(x->data, strlen(x->data));
	curl_slist_free_all(h);
}

static struct curl_slist *add_header(struct curl_slist *h, const char *name, const char *value,
				     int *failed)
{
	char line[1024];
	struct curl_slist *n;

	if (!value)
		return h;
	snprintf(line, sizeof(line), "%s: %s", name, value);
	if (!(n = curl_slist_append(h, line)))
		*failed = 1;
	return n ? n : h;
}

static struct curl_slist *make_headers(struct appkg_oci *c, const struct http_request *rq,
				       int with_auth, int *failed)
{
	struct curl_slist *h = NULL, *n;

	h = add_header(h, "Accept", rq->accept, failed);
	h = add_header(h, "Content-Type", rq->content_type, failed);
	h = add_header(h, "Content-Range", rq->content_range, failed);
	if ((n = curl_slist_append(h, "Expect:"))) /* no 100-continue round trip */
		h = n;
	if (with_auth && c->auth_header) {
		if ((n = curl_slist_append(h, c->auth_header)))
			h = n;
		else
			*failed = 1;
	}
	return h;
}

static void set_method(CURL *k, const struct http_request *rq)
{
	uint64_t len = rq->body ? rq->body->len : 0;

	if (!strcmp(rq->method, "HEAD")) {
		curl_easy_setopt(k, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(rq->method, "POST")) {
		curl_easy_setopt(k, CURLOPT_POST, 1L);
		curl_easy_setopt(k, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(k, CURLOPT_POSTFIELDSIZE, 0L);
	} else if (strcmp(rq->method, "GET")) { /* PUT, PATCH: a body, maybe empty */
		curl_easy_setopt(k, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(k, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
		curl_easy_setopt(k, CURLOPT_CUSTOMREQUEST, rq->method);
	}
}

static void set_options(struct appkg_oci *c, struct transfer *t, const char *url,
			struct curl_slist *headers)
{
	CURL *k = c->curl;

	curl_easy_reset(k);
	curl_easy_setopt(k, CURLOPT_URL, url);
	curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, STALL_BYTES_PER_SECOND);
	curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, STALL_SECONDS);
	curl_easy_setopt(k, CURLOPT_USERAGENT, "appkg/" APPKG_VERSION);
	curl_easy_setopt(k, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(k, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(k, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(k, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(k, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(k, CURLOPT_READDATA, t);
	curl_easy_setopt(k, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(k, CURLOPT_XFERINFODATA, t);
	curl_easy_setopt(k, CURLOPT_NOPROGRESS, 0L);
	if (c->ca_file)
		curl_easy_setopt(k, CURLOPT_CAINFO, c->ca_file);
	if (c->resolve)
		curl_easy_setopt(k, CURLOPT_RESOLVE, c->resolve);
	set_method(k, t->rq);
}

static void log_line(struct appkg_oci *c, const char *method, const char *url, long status,
		     CURLcode cc)
{
	char line[1200];

	if (!c->log)
		return;
	if (cc == CURLE_OK)
		snprintf(line, sizeof(line), "%s %s -> %ld", method, url, status);
	else
		snprintf(line, sizeof(line), "%s %s -> %s", method, url, curl_easy_strerror(cc));
	c->log(c->log_ctx, line);
}

/* A transport failure as a code: TLS, a stall, a body past its bound, or no connection. */
static int transport_error(struct appkg_oci *c, struct transfer *t, CURLcode cc, const char *url)
{
	struct oci_sink *s = t->rq->sink;

	if (s && s->over)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: response body longer than %llu "
				  "bytes: cut off", url, (unsigned long long)(s->mem ? s->max : s->expect));
	if (t->error_over)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: error body longer than %u bytes: "
				  "cut off", url, APPKG_MAX_OCI_ERROR_BODY);
	if (s && s->io_failed)
		return appkg_fail(&c->err, appkg_errno_code(s->io_failed), "cannot write the download: %s",
				  strerror(s->io_failed));
	switch (cc) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
		return appkg_fail(&c->err, APPKG_ERR_TLS, "%s: TLS failure: %s (a private CA: "
				  "--ca-file; a plain-http registry: --plain-http)", url,
				  curl_easy_strerror(cc));
	case CURLE_OPERATION_TIMEDOUT:
		return appkg_fail(&c->err, APPKG_ERR_TRANSPORT, "%s: timed out (under %ld bytes/s for "
				  "%ld s, or no connection in %ld s)", url, STALL_BYTES_PER_SECOND,
				  STALL_SECONDS, CONNECT_TIMEOUT);
	case CURLE_PARTIAL_FILE:
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: truncated response body", url);
	case CURLE_OUT_OF_MEMORY:
		return appkg_fail(&c->err, APPKG_ERR_NO_MEMORY, "out of memory");
	default:
		return appkg_fail(&c->err, APPKG_ERR_TRANSPORT, "%s: %s", url, curl_easy_strerror(cc));
	}
}

static int retryable(CURLcode cc, long status)
{
	if (cc == CURLE_OK)
		return status == 429 || (status >= 500 && status <= 599);
	return cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
	       cc == CURLE_PARTIAL_FILE;
}

/* Send once to url. Returns the curl code; *status is the HTTP status. */
static CURLcode send_once(struct appkg_oci *c, struct transfer *t, const char *url, int with_auth,
			  long *status)
{
	int failed = 0;
	struct curl_slist *headers = make_headers(c, t->rq, with_auth, &failed);
	CURLcode cc;

	if (failed) {
		headers_free(headers);
		return CURLE_OUT_OF_MEMORY;
	}
	if (t->rq->body)
		t->rq->body->pos = 0;
	sink_reset(t->rq->sink);
	buf_free(&t->resp->error_body);
	t->error_over = 0;
	clear_headers(t->resp);
	set_options(c, t, url, headers);
	cc = curl_easy_perform(c->curl);
	*status = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
	headers_free(headers);
	log_line(c, t->rq->method, url, *status, cc);
	return cc;
}

static void backoff(unsigned attempt, unsigned retry_after)
{
	struct timespec ts;
	unsigned ms = 200u << attempt;

	if (retry_after)
		ms = retry_after * 1000; /* at most 5 s (retry_seconds) */
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Send to url with retries. 0 with *status, or a code. */
static int send_retrying(struct appkg_oci *c, struct transfer *t, const char *url, int with_auth,
			 long *status)
{
	CURLcode cc = CURLE_OK;

	for (unsigned attempt = 0;; attempt++) {
		cc = send_once(c, t, url, with_auth, status);
		if ((t->rq->sink && (t->rq->sink->over || t->rq->sink->io_failed)) || t->error_over)
			return transport_error(c, t, cc, url);
		if (!retryable(cc, *status) || attempt == APPKG_MAX_OCI_RETRIES)
			break;
		backoff(attempt, *status == 429 || *status == 503 ? t->resp->retry_after : 0);
	}
	if (cc != CURLE_OK)
		return transport_error(c, t, cc, url);
	if (*status == 429 || *status >= 500)
		return appkg_fail(&c->err, APPKG_ERR_TRANSPORT, "%s: the registry answered %ld after "
				  "%d retries", url, *status, APPKG_MAX_OCI_RETRIES);
	return 0;
}

/* The Location of a redirect, resolved against url; checked: http(s) only, no downgrade. */
static int redirect_target(struct appkg_oci *c, const char *url, const char *location,
			   char **next)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int rc = 0;

	*next = NULL;
	if (!u || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_set(u, CURLUPART_URL, location, 0) ||
	    curl_url_get(u, CURLUPART_URL, next, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: redirect to a bad location", url);
	else if (strcmp(scheme, "https") && (strcmp(scheme, "http") || !c->plain_http))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: redirect to a %s URL refused", url,
				scheme);
	curl_free(scheme);
	curl_url_cleanup(u);
	if (rc) {
		curl_free(*next);
		*next = NULL;
	}
	return rc;
}

static int is_redirect(long status)
{
	return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

int http_send(struct appkg_oci *c, const struct http_request *rq, int send_auth,
	      struct oci_response *resp)
{
	struct transfer t = {.c = c, .rq = rq, .resp = resp};
	int follow = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
	char *url = strdup(rq->url), *next;
	int rc = 0;

	http_response_free(resp);
	for (int hops = 0; url && !rc; hops++) {
		int with_auth = send_auth && ((hops == 0 && rq->auth_first_hop) ||
					       http_same_origin(c, url));
		if ((rc = send_retrying(c, &t, url, with_auth, &resp->status)))
			break;
		if (!follow || !is_redirect(resp->status) || !resp->location)
			break;
		if (hops == APPKG_MAX_OCI_REDIRECTS) {
			rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: more than %d redirects",
					rq->url, APPKG_MAX_OCI_REDIRECTS);
			break;
		}
		if ((rc = redirect_target(c, url, resp->location, &next)))
			break;
		free(url);
		url = strdup(next);
		curl_free(next);
	}
	if (!url && !rc)
		rc = appkg_fail(&c->err, APPKG_ERR_NO_MEMORY, "out of memory");
	resp->url = url;
	return rc;
}
