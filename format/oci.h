/* SPDX-License-Identifier: MIT */
/* The registry client's handle, shared by oci.c (reference, options, authentication, tags),
 * ociartifact.c (descriptors, the image manifest, pull, remote inspection), ocipush.c (push)
 * and ocihttp.c (the libcurl transport: retries, redirects, bounded bodies); nothing here is
 * public. Its internal functions get the library prefix from internal.h's #define lines. */
#ifndef APPKG_OCI_H
#define APPKG_OCI_H

#include <curl/curl.h>
#include <sodium.h>

#include "internal.h"

#define OCI_DIGEST_LEN 71 /* "sha256:" + 64 hex */

/* Where a response body goes: memory (at most max bytes), or a file that must receive exactly
 * expect bytes, hashed as they arrive. Only a 2xx body is kept; others go to a small buffer. */
struct oci_sink {
	struct buf *mem;
	size_t max;
	int fd;
	uint64_t expect;
	crypto_hash_sha256_state sha;
	uint64_t got;
	int over; /* more bytes came than allowed: the transfer was cut off */
	int io_failed;
};

/* A request body: memory, or len bytes of fd from offset off. */
struct oci_source {
	const unsigned char *mem;
	int fd;
	uint64_t off, len, pos;
};

struct oci_response {
	long status;
	char *location, *www_authenticate, *content_type, *docker_digest, *link, *range;
	char *chunk_min; /* OCI-Chunk-Min-Length of an upload session */
	unsigned retry_after; /* seconds, 0 when absent */
	struct buf error_body;
	char *url; /* the URL that answered, after redirects */
};

struct http_request {
	const char *method; /* GET, HEAD, POST, PUT, PATCH */
	const char *url;
	const char *accept, *content_type, *content_range;
	struct oci_source *body;
	struct oci_sink *sink;
	int progress; /* report this transfer to the progress callback */
	int auth_first_hop; /* attach the Authorization header to the first URL whatever its
			     * origin (the token realm the registry's challenge names) */
};

struct appkg_oci {
	struct appkg_err err;
	char *host, *repository, *tag, *digest;
	char *username;
	char *password; /* sodium_malloc'd */
	size_t password_len;
	char *auth_header; /* "Authorization: ..." in sodium_malloc'd memory, or NULL */
	size_t auth_header_len;
	char *ca_file;
	int plain_http;
	struct curl_slist *resolve;
	uint64_t chunk_size;
	appkg_oci_log_fn log;
	void *log_ctx;
	appkg_progress_fn progress;
	void *progress_ctx;
	uint64_t progress_total; /* the size of the blob being uploaded */
	uint64_t bytes_received;
	CURL *curl;
	char manifest_digest[OCI_DIGEST_LEN + 1];
	/* pull and fetch */
	int fd;
	char *temp_path, *dest;
	int committed;
	struct buf config;
	char *signature;
};

/* "sha256:" and 64 lowercase hex digits, nothing else. */
int oci_digest_ok(const char *s);
int oci_tag_ok(const char *s);
/* "https://HOST/v2/REPO/<kind>/<ref>" (http:// with plain_http); malloc'd or NULL. */
char *oci_url(const struct appkg_oci *c, const char *kind, const char *ref);
/* One request to the registry with authentication: on 401 the challenge is answered (basic
 * credentials, or a bearer token fetched from the realm) and the request sent once more.
 * Returns 0 with resp filled (any status but 401/403), or a code with the message on c. */
int oci_request(struct appkg_oci *c, const struct http_request *rq, struct oci_response *resp);

/* One request without authentication handling: retries on 429, 5xx and broken connections,
 * redirects followed (at most APPKG_MAX_OCI_REDIRECTS) with Authorization sent only to the
 * registry's own origin. send_auth: attach c->auth_header when the origin allows it. */
int http_send(struct appkg_oci *c, const struct http_request *rq, int send_auth,
	      struct oci_response *resp);
void http_response_free(struct oci_response *resp);
/* 1 when url is on the registry's scheme, host and port. */
int http_same_origin(const struct appkg_oci *c, const char *url);

#endif
