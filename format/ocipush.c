/* SPDX-License-Identifier: MIT */
/*
 * Push a package as an OCI artifact (spec section 22): the config blob (the exact bytes of its
 * manifest.json) and the layer (the exact bytes of the file), each only when HEAD says the
 * registry lacks it; small blobs in one PUT after the POST that opens the upload, larger ones
 * in PATCH chunks with Content-Range; then the image manifest, serialised canonically (keys
 * sorted, no whitespace) so that the same package always gives the same manifest digest.
 * Nothing time-dependent goes in: created is the package's own "created" field, if any.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

#define MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_ARTIFACT "application/vnd.appkg.package.v1"
#define MT_CONFIG "application/vnd.appkg.manifest.v1+json"
#define MT_LAYER "application/vnd.appkg.package.v1.tar+zstd"

struct blob {
	char digest[OCI_DIGEST_LEN + 1];
	struct oci_source src; /* the bytes: memory or a range of a file */
};

static int no_memory(struct appkg_oci *c)
{
	return appkg_fail(&c->err, APPKG_ERR_NO_MEMORY, "out of memory");
}

static int unexpected(struct appkg_oci *c, const char *what, long status)
{
	if (status == 404)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY_NOT_FOUND, "%s: not found (404)", what);
	return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s: the registry answered %ld", what, status);
}

/* The upload URL of a Location header, resolved against the URL that answered. */
static int upload_url(struct appkg_oci *c, const struct oci_response *resp, char **url)
{
	CURLU *u = curl_url();
	char *s = NULL, *scheme = NULL;
	int rc = 0;

	free(*url);
	*url = NULL;
	if (!resp->location)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob upload: no Location header");
	else if (!u || curl_url_set(u, CURLUPART_URL, resp->url, 0) ||
		 curl_url_set(u, CURLUPART_URL, resp->location, 0) ||
		 curl_url_get(u, CURLUPART_URL, &s, 0) || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob upload: a bad Location header");
	else if (strcmp(scheme, "https") && (strcmp(scheme, "http") || !c->plain_http))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob upload: Location on %s refused",
				scheme);
	else if (!(*url = strdup(s)))
		rc = no_memory(c);
	curl_free(s), curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/* url + "?digest=" or "&digest=" */
static char *with_digest(const char *url, const char *digest)
{
	size_t n = strlen(url) + strlen(digest) + 16;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s%cdigest=%s", url, strchr(url, '?') ? '&' : '?',
			 digest); /* ':' is allowed in a query */
	return s;
}

/* 1 when the registry has the blob, 0 when not, or a code. */
static int blob_exists(struct appkg_oci *c, const char *digest)
{
	struct oci_response resp = {0};
	struct http_request rq = {.method = "HEAD"};
	char *url = oci_url(c, "blobs", digest);
	int rc;

	if (!url)
		return no_memory(c);
	rq.url = url;
	rc = oci_request(c, &rq, &resp);
	if (!rc)
		rc = resp.status == 200;
	http_response_free(&resp);
	free(url);
	return rc;
}

static int send_to(struct appkg_oci *c, const char *method, const char *url, struct oci_source *src,
		   const char *range, struct oci_response *resp)
{
	struct http_request rq = {.method = method, .url = url, .body = src, .content_range = range,
				  .content_type = src ? "application/octet-stream" : NULL,
				  .progress = src != NULL};

	return oci_request(c, &rq, resp);
}

/* The registry's Range after a PATCH ("0-LAST", some send "bytes=0-LAST") must cover exactly
 * what was sent so far; a registry that lost or invented bytes is refused. */
static int check_range(struct appkg_oci *c, const struct oci_response *resp, uint64_t end)
{
	const char *r = resp->range;
	unsigned long long first, last;
	char tail;

	if (!r)
		return 0;
	if (!strncmp(r, "bytes=", 6))
		r += 6;
	if (sscanf(r, "%llu-%llu%c", &first, &last, &tail) != 2 || first != 0 || last + 1 != end)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob upload: the registry's Range "
				  "does not match the %llu bytes sent", (unsigned long long)end);
	return 0;
}

/* A chunk size the upload session asks for (OCI-Chunk-Min-Length), up to 1 GiB. */
static void take_min_chunk(struct appkg_oci *c, const struct oci_response *resp)
{
	unsigned long long min = resp->chunk_min ? strtoull(resp->chunk_min, NULL, 10) : 0;

	if (min > c->chunk_size && min <= (1ull << 30))
		c->chunk_size = min;
}

/* PATCH the blob in chunks; *url follows each Location. */
static int send_chunks(struct appkg_oci *c, struct blob *b, char **url, struct oci_response *resp)
{
	uint64_t total = b->src.len, off = 0;
	char range[64];
	int rc = 0;

	while (off < total && !rc) {
		struct oci_source chunk = b->src;
		chunk.off = b->src.off + off;
		chunk.len = total - off < c->chunk_size ? total - off : c->chunk_size;
		if (chunk.mem)
			chunk.mem += off, chunk.off = off;
		snprintf(range, sizeof(range), "%llu-%llu", (unsigned long long)off,
			 (unsigned long long)(off + chunk.len - 1));
		if ((rc = send_to(c, "PATCH", *url, &chunk, range, resp)))
			break;
		if (resp->status != 202)
			return unexpected(c, "blob upload (PATCH)", resp->status);
		off += chunk.len;
		if (!(rc = check_range(c, resp, off)))
			rc = upload_url(c, resp, url);
	}
	return rc;
}

static int upload_blob(struct appkg_oci *c, struct blob *b)
{
	struct oci_response resp = {0};
	char *url = oci_url(c, "blobs/uploads/", NULL), *put = NULL;
	int chunked, rc;

	if (!url)
		return no_memory(c);
	c->progress_total = b->src.len;
	if ((rc = send_to(c, "POST", url, NULL, NULL, &resp)))
		goto out;
	if (resp.status != 202) {
		rc = unexpected(c, "blob upload (POST)", resp.status);
		goto out;
	}
	take_min_chunk(c, &resp);
	chunked = b->src.len > c->chunk_size;
	if ((rc = upload_url(c, &resp, &url)) || (chunked && (rc = send_chunks(c, b, &url, &resp))))
		goto out;
	if (!(put = with_digest(url, b->digest))) {
		rc = no_memory(c);
		goto out;
	}
	struct oci_source empty = {.mem = (const unsigned char *)"", .fd = -1};
	if ((rc = send_to(c, "PUT", put, chunked ? &empty : &b->src, NULL, &resp)))
		goto out;
	if (resp.status != 201 && resp.status != 204)
		rc = unexpected(c, "blob upload (PUT)", resp.status);
	else if (resp.docker_digest && strcmp(resp.docker_digest, b->digest))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob upload: the registry stored another "
				"digest than the one sent");
out:
	http_response_free(&resp);
	free(url), free(put);
	return rc;
}

static int push_blob(struct appkg_oci *c, struct blob *b)
{
	int rc = blob_exists(c, b->digest);

	return rc < 0 ? rc : rc == 1 ? 0 : upload_blob(c, b);
}

/* ---- the package and the image manifest ---- */

struct package {
	appkg_reader *r;
	int fd;
	uint64_t size;
	struct blob config, layer;
	char *signature; /* manifest.json.minisig text, or NULL */
	char *title;     /* the file's base name */
	char *manifest;  /* a copy of manifest.json: the reader's pointer is borrowed */
};

static int hash_file(struct appkg_oci *c, struct package *p, const char *path)
{
	crypto_hash_sha256_state st;
	unsigned char buf[1 << 16], h[crypto_hash_sha256_BYTES];
	ssize_t n;

	crypto_hash_sha256_init(&st);
	while ((n = read(p->fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			crypto_hash_sha256_update(&st, buf, (size_t)n);
	if (n < 0)
		return appkg_fail(&c->err, appkg_errno_code(errno), "%s: %s", path, strerror(errno));
	crypto_hash_sha256_final(&st, h);
	memcpy(p->layer.digest, "sha256:", 7);
	hex_encode(p->layer.digest + 7, h, sizeof(h));
	p->layer.src = (struct oci_source){.fd = p->fd, .len = p->size};
	return 0;
}

static int open_package(struct appkg_oci *c, struct package *p, const char *path)
{
	struct stat st;
	const char *json;
	const void *sig;
	size_t len, sig_len;
	char *copy;
	unsigned char h[crypto_hash_sha256_BYTES];
	int rc;

	if (!(p->r = appkg_reader_new()))
		return no_memory(c);
	if ((rc = appkg_reader_open_path(p->r, path)) || (rc = appkg_reader_manifest(p->r, &json, &len)))
		return appkg_fail(&c->err, rc, "%s", appkg_reader_error(p->r));
	if (!(p->manifest = malloc(len ? len : 1)))
		return no_memory(c);
	memcpy(p->manifest, json, len);
	json = p->manifest;
	crypto_hash_sha256(h, (const unsigned char *)json, len);
	memcpy(p->config.digest, "sha256:", 7);
	hex_encode(p->config.digest + 7, h, sizeof(h));
	p->config.src = (struct oci_source){.mem = (const unsigned char *)json, .fd = -1, .len = len};
	if (appkg_reader_read(p->r, "manifest.json.minisig", &sig, &sig_len) == 0 &&
	    !(p->signature = strndup(sig, sig_len)))
		return no_memory(c);
	if ((p->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(p->fd, &st))
		return appkg_fail(&c->err, appkg_errno_code(errno), "%s: %s", path, strerror(errno));
	p->size = (uint64_t)st.st_size;
	if (!(copy = strdup(path)) || !(p->title = strdup(basename(copy)))) {
		free(copy);
		return no_memory(c);
	}
	free(copy);
	return hash_file(c, p, path);
}

static json_t *descriptor(const char *media_type, const struct blob *b)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", b->digest, "size",
			 (json_int_t)b->src.len);
}

/* A string annotation when the value is a string (json_string refuses bytes that are not
 * UTF-8, so a file name that is not is left out). */
static void annotate(json_t *ann, const char *key, const char *value)
{
	json_t *v = value ? json_string(value) : NULL;

	if (v)
		json_object_set_new(ann, key, v);
}

static char *build_manifest(const struct package *p)
{
	json_t *ann = json_object(), *layer = descriptor(MT_LAYER, &p->layer), *doc, *lann = json_object();
	char *text;

	annotate(lann, "org.opencontainers.image.title", p->title);
	if (json_object_size(lann))
		json_object_set(layer, "annotations", lann);
	annotate(ann, "org.opencontainers.image.title", appkg_reader_meta(p->r, "name"));
	annotate(ann, "org.opencontainers.image.version", appkg_reader_meta(p->r, "version"));
	annotate(ann, "org.opencontainers.image.created", appkg_reader_meta(p->r, "created"));
	annotate(ann, "org.opencontainers.image.source", appkg_reader_meta(p->r, "source"));
	annotate(ann, "dev.appkg.signature", p->signature);
	doc = json_pack("{s:i, s:s, s:s, s:o, s:[o], s:o}", "schemaVersion", 2, "mediaType",
			MT_MANIFEST, "artifactType", MT_ARTIFACT, "config",
			descriptor(MT_CONFIG, &p->config), "layers", layer, "annotations", ann);
	text = doc ? json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(doc);
	json_decref(lann);
	return text;
}

static int put_manifest(struct appkg_oci *c, const char *text)
{
	struct oci_source src = {.mem = (const unsigned char *)text, .fd = -1, .len = strlen(text)};
	struct http_request rq = {.method = "PUT", .body = &src, .content_type = MT_MANIFEST};
	struct oci_response resp = {0};
	char *url = oci_url(c, "manifests", c->tag);
	unsigned char h[crypto_hash_sha256_BYTES];
	int rc;

	if (!url)
		return no_memory(c);
	crypto_hash_sha256(h, src.mem, src.len);
	memcpy(c->manifest_digest, "sha256:", 7);
	hex_encode(c->manifest_digest + 7, h, sizeof(h));
	rq.url = url;
	rc = oci_request(c, &rq, &resp);
	if (!rc && resp.status != 201 && resp.status != 200)
		rc = unexpected(c, "manifest upload (PUT)", resp.status);
	else if (!rc && resp.docker_digest && strcmp(resp.docker_digest, c->manifest_digest))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "manifest upload: the registry stored "
				"another digest than the one sent");
	http_response_free(&resp);
	free(url);
	return rc;
}

int appkg_oci_push(appkg_oci *c, const char *package_path, char *digest)
{
	struct package p = {.fd = -1};
	char *text = NULL;
	int rc;

	if (!c || !package_path || !digest)
		return APPKG_ERR_INVALID_ARGUMENT;
	if (!c->repository || !c->tag)
		return appkg_fail(&c->err, APPKG_ERR_REFERENCE, "push needs a tag");
	if (c->digest)
		return appkg_fail(&c->err, APPKG_ERR_REFERENCE, "push takes a tag, not a digest");
	if ((rc = open_package(c, &p, package_path)))
		goto out;
	if ((rc = push_blob(c, &p.config)) || (rc = push_blob(c, &p.layer)))
		goto out;
	if (!(text = build_manifest(&p))) {
		rc = no_memory(c);
		goto out;
	}
	if (!(rc = put_manifest(c, text)))
		memcpy(digest, c->manifest_digest, OCI_DIGEST_LEN + 1);
out:
	free(text), free(p.signature), free(p.title), free(p.manifest);
	if (p.fd >= 0)
		close(p.fd);
	appkg_reader_free(p.r);
	return rc;
}
