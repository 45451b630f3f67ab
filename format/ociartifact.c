/* SPDX-License-Identifier: MIT */
/*
 * A package as an OCI artifact (spec section 22): the image manifest (built canonically on
 * push, checked field by field on pull), its descriptors, the blob upload (HEAD first, then
 * POST and a monolithic PUT, or POST, PATCH chunks with Content-Range and a closing PUT), and
 * the pull: manifest (its digest checked against the reference), config blob (size, sha256),
 * layer streamed into a temporary file beside the destination (size and sha256 as it arrives,
 * a longer body cut off), and the config compared with the package's own manifest.json. The
 * registry names nothing on the file system: the temporary's name comes from the destination.
 */
#include <errno.h>
#include <fcntl.h>
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
#define ANNOTATION_SIGNATURE "dev.appkg.signature"

struct descriptor {
	char digest[OCI_DIGEST_LEN + 1];
	uint64_t size;
};

static int no_memory(struct appkg_oci *c)
{
	return appkg_fail(&c->err, APPKG_ERR_NO_MEMORY, "out of memory");
}

static void sha256_text(char out[OCI_DIGEST_LEN + 1], const unsigned char hash[32])
{
	memcpy(out, "sha256:", 7);
	hex_encode(out + 7, hash, 32);
}

static void digest_of(char out[OCI_DIGEST_LEN + 1], const void *p, size_t n)
{
	unsigned char h[crypto_hash_sha256_BYTES];

	crypto_hash_sha256(h, p, n);
	sha256_text(out, h);
}

/* ---- the image manifest ---- */

static int lie(struct appkg_oci *c, const char *what)
{
	return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the image manifest %s", what);
}

static int parse_descriptor(struct appkg_oci *c, json_t *d, const char *media_type,
			    uint64_t max, struct descriptor *out)
{
	json_t *size = json_object_get(d, "size");
	const char *mt = json_string_value(json_object_get(d, "mediaType"));
	const char *digest = json_string_value(json_object_get(d, "digest"));

	if (!json_is_object(d) || !mt || strcmp(mt, media_type))
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the image manifest is not an appkg "
				  "artifact (a descriptor is not of type %s)", media_type);
	if (!oci_digest_ok(digest))
		return lie(c, "has a descriptor digest that is not sha256: and 64 lowercase hex");
	if (!json_is_integer(size) || json_integer_value(size) < 0 ||
	    (uint64_t)json_integer_value(size) > max)
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the image manifest has a descriptor "
				  "size that is negative or above %llu", (unsigned long long)max);
	memcpy(out->digest, digest, OCI_DIGEST_LEN + 1);
	out->size = (uint64_t)json_integer_value(size);
	return 0;
}

static int take_signature(struct appkg_oci *c, json_t *doc)
{
	json_t *ann = json_object_get(doc, "annotations");
	const char *sig = json_string_value(json_object_get(ann, ANNOTATION_SIGNATURE));

	if (ann && !json_is_object(ann))
		return lie(c, "has annotations that are not an object");
	if (!sig)
		return 0;
	if (strlen(sig) > APPKG_MAX_SIGNATURE_SIZE)
		return lie(c, "has a signature annotation over the signature size limit");
	return (c->signature = strdup(sig)) ? 0 : no_memory(c);
}

/* Check a parsed image manifest: an appkg artifact, one config and one layer. */
static int check_manifest(struct appkg_oci *c, json_t *doc, struct descriptor *config,
			  struct descriptor *layer)
{
	const char *mt = json_string_value(json_object_get(doc, "mediaType"));
	const char *at = json_string_value(json_object_get(doc, "artifactType"));
	json_t *layers = json_object_get(doc, "layers");
	int rc;

	if (!json_is_object(doc) || json_integer_value(json_object_get(doc, "schemaVersion")) != 2 ||
	    !json_is_integer(json_object_get(doc, "schemaVersion")))
		return lie(c, "is not an OCI image manifest (schemaVersion 2)");
	if (mt && strcmp(mt, MT_MANIFEST))
		return lie(c, "is not an OCI image manifest (mediaType)");
	if (at && strcmp(at, MT_ARTIFACT))
		return lie(c, "is not an appkg artifact (artifactType)");
	if ((rc = parse_descriptor(c, json_object_get(doc, "config"), MT_CONFIG,
				   APPKG_MAX_MANIFEST_SIZE, config)))
		return rc;
	if (!json_is_array(layers) || json_array_size(layers) != 1)
		return lie(c, "does not have exactly one layer");
	if ((rc = parse_descriptor(c, json_array_get(layers, 0), MT_LAYER, APPKG_MAX_OCI_LAYER,
				   layer)))
		return rc;
	if (layer->size == 0)
		return lie(c, "has an empty layer");
	return take_signature(c, doc);
}

/* GET the image manifest by digest or tag; its digest goes to c->manifest_digest. */
static int fetch_manifest(struct appkg_oci *c, struct descriptor *config, struct descriptor *layer)
{
	struct buf body = {0};
	struct oci_sink sink = {.mem = &body, .max = APPKG_MAX_OCI_MANIFEST, .fd = -1};
	struct http_request rq = {.method = "GET", .accept = MT_MANIFEST, .sink = &sink};
	struct oci_response resp = {0};
	struct appkg_err e = {0};
	json_t *doc = NULL;
	char *url = oci_url(c, "manifests", c->digest ? c->digest : c->tag);
	int rc;

	if (!url)
		return no_memory(c);
	rq.url = url;
	if ((rc = oci_request(c, &rq, &resp)))
		goto out;
	if (resp.status == 404) {
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY_NOT_FOUND, "manifest not found (404)");
		goto out;
	}
	if (resp.status != 200) {
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the manifest request answered %ld",
				resp.status);
		goto out;
	}
	digest_of(c->manifest_digest, body.data, body.len);
	if (c->digest && strcmp(c->digest, c->manifest_digest)) {
		rc = lie(c, "does not match the digest of the reference");
		goto out;
	}
	if (resp.docker_digest && strcmp(resp.docker_digest, c->manifest_digest)) {
		rc = lie(c, "does not match the registry's Docker-Content-Digest");
		goto out;
	}
	if (!(doc = json_parse_strict(body.data, body.len, &e, "image manifest"))) {
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "%s", e.msg);
		goto out;
	}
	rc = check_manifest(c, doc, config, layer);
out:
	json_decref(doc);
	http_response_free(&resp);
	buf_free(&body);
	free(url);
	return rc;
}

/* GET a blob into sink; the sink checks the bound, this the status and the size. */
static int fetch_blob(struct appkg_oci *c, const struct descriptor *d, struct oci_sink *sink)
{
	struct http_request rq = {.method = "GET", .sink = sink, .progress = !sink->mem};
	struct oci_response resp = {0};
	char *url = oci_url(c, "blobs", d->digest);
	int rc;

	if (!url)
		return no_memory(c);
	rq.url = url;
	rc = oci_request(c, &rq, &resp);
	if (!rc && resp.status == 404)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY_NOT_FOUND, "blob %s not found (404)",
				d->digest);
	else if (!rc && resp.status != 200)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob %s: the registry answered %ld",
				d->digest, resp.status);
	else if (!rc && (sink->mem ? sink->mem->len : sink->got) != d->size)
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "blob %s: %llu bytes received, the "
				"descriptor says %llu (truncated)", d->digest,
				(unsigned long long)(sink->mem ? sink->mem->len : sink->got),
				(unsigned long long)d->size);
	http_response_free(&resp);
	free(url);
	return rc;
}

static int fetch_config_blob(struct appkg_oci *c, const struct descriptor *d)
{
	struct oci_sink sink = {.mem = &c->config, .max = d->size, .fd = -1};
	char got[OCI_DIGEST_LEN + 1];
	int rc;

	c->config.len = 0;
	if ((rc = fetch_blob(c, d, &sink)))
		return rc;
	digest_of(got, c->config.data, c->config.len);
	if (strcmp(got, d->digest))
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "config blob: sha256 mismatch (the "
				  "registry sent other bytes than the manifest names)");
	return 0;
}

int appkg_oci_fetch_config(appkg_oci *c, const char **config, size_t *len, const char **signature)
{
	struct descriptor cd, ld;
	struct appkg_err e = {0};
	json_t *doc;
	int rc;

	if (!c || !c->repository || (!c->tag && !c->digest))
		return c ? appkg_fail(&c->err, APPKG_ERR_REFERENCE, "the reference needs a :TAG or "
				      "an @sha256: digest") : APPKG_ERR_INVALID_ARGUMENT;
	if ((rc = fetch_manifest(c, &cd, &ld)) || (rc = fetch_config_blob(c, &cd)))
		return rc;
	if (!(doc = json_parse_strict(c->config.data, c->config.len, &e, "config blob")) ||
	    !json_is_object(doc))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the config blob is not the package's "
				"manifest.json (not a JSON object)");
	json_decref(doc);
	if (rc)
		return rc;
	*config = (const char *)c->config.data;
	*len = c->config.len;
	if (signature)
		*signature = c->signature;
	return 0;
}

/* ---- pull ---- */

/* A temporary beside dest, mode 0600, or an unlinked one in $TMPDIR when dest is NULL. */
static int open_temp(struct appkg_oci *c, const char *dest)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];

	if (dest) {
		if ((c->fd = io_temp_beside(dest, &c->temp_path, &c->err)) < 0)
			return c->fd;
		if (!(c->dest = strdup(dest)))
			return no_memory(c);
		return fchmod(c->fd, 0600) ? appkg_fail(&c->err, appkg_errno_code(errno), "%s: %s",
							c->temp_path, strerror(errno)) : 0;
	}
	snprintf(path, sizeof(path), "%s/appkg-pull-XXXXXX", dir && *dir ? dir : "/tmp");
	if ((c->fd = mkstemp(path)) < 0)
		return appkg_fail(&c->err, appkg_errno_code(errno), "cannot create a temporary file "
				  "in %s: %s", dir && *dir ? dir : "/tmp", strerror(errno));
	unlink(path);
	return 0;
}

/* The layer, streamed into the temporary: exactly its size, then its sha256. */
static int fetch_layer(struct appkg_oci *c, const struct descriptor *d)
{
	struct oci_sink sink = {.fd = c->fd, .expect = d->size};
	unsigned char hash[crypto_hash_sha256_BYTES];
	char got[OCI_DIGEST_LEN + 1];
	int rc;

	crypto_hash_sha256_init(&sink.sha);
	if ((rc = fetch_blob(c, d, &sink)))
		return rc;
	crypto_hash_sha256_final(&sink.sha, hash);
	sha256_text(got, hash);
	if (strcmp(got, d->digest))
		return appkg_fail(&c->err, APPKG_ERR_REGISTRY, "layer: sha256 mismatch (the registry "
				  "sent other bytes than the manifest names)");
	return 0;
}

/* The config blob must be the exact bytes of the package's manifest.json. */
static int compare_config(struct appkg_oci *c)
{
	appkg_reader *r = appkg_reader_new();
	const char *json;
	size_t len;
	int rc;

	if (!r)
		return no_memory(c);
	if ((rc = appkg_reader_open_fd(r, c->fd)) || (rc = appkg_reader_manifest(r, &json, &len)))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the layer is not a package: %s",
				appkg_reader_error(r));
	else if (len != c->config.len || memcmp(json, c->config.data, len))
		rc = appkg_fail(&c->err, APPKG_ERR_REGISTRY, "the config blob differs from the "
				"package's manifest.json: the image manifest lies");
	appkg_reader_free(r);
	if (!rc && lseek(c->fd, 0, SEEK_SET) != 0)
		rc = appkg_fail(&c->err, APPKG_ERR_IO, "cannot rewind the download");
	return rc;
}

int appkg_oci_pull(appkg_oci *c, const char *dest, int *fd)
{
	struct descriptor cd, ld;
	int rc;

	if (!c || !fd || c->fd >= 0)
		return c ? appkg_fail(&c->err, APPKG_ERR_STATE, "one pull per handle")
			 : APPKG_ERR_INVALID_ARGUMENT;
	*fd = -1;
	if (!c->repository || (!c->tag && !c->digest))
		return appkg_fail(&c->err, APPKG_ERR_REFERENCE, "the reference needs a :TAG or an "
				  "@sha256: digest");
	if ((rc = fetch_manifest(c, &cd, &ld)) || (rc = fetch_config_blob(c, &cd)))
		return rc;
	if ((rc = open_temp(c, dest)) < 0 || (rc = fetch_layer(c, &ld)) || (rc = compare_config(c)))
		return rc;
	*fd = c->fd;
	return 0;
}

/* The process's umask without changing it (Linux /proc), else 022. */
static mode_t current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned mask = 022;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &mask) == 1)
			break;
	if (f)
		fclose(f);
	return (mode_t)mask;
}

int appkg_oci_pull_commit(appkg_oci *c)
{
	int rc;

	if (!c || c->fd < 0 || c->committed)
		return c ? appkg_fail(&c->err, APPKG_ERR_STATE, "nothing pulled to commit")
			 : APPKG_ERR_INVALID_ARGUMENT;
	if (!c->temp_path)
		return 0;
	if (fchmod(c->fd, 0644 & ~current_umask()))
		return appkg_fail(&c->err, appkg_errno_code(errno), "%s: %s", c->temp_path,
				  strerror(errno));
	rc = io_commit(c->fd, c->temp_path, c->dest, &c->err);
	c->fd = -1; /* io_commit closed it */
	if (!rc)
		c->committed = 1;
	return rc;
}
