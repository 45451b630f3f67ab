/* SPDX-License-Identifier: MIT */
/*
 * libappkg: read and write .appkg packages (spec/appkg-format.md).
 *
 * A package is a zstd-compressed tar of manifest.json, resources/<type>/<name>.json and an
 * optional encrypted secrets.enc, with a seek table and a member index so that one member can be
 * read without decompressing the rest. This header is the whole public interface.
 *
 * Conventions. Calls return 0 (or a count) on success and a negative code from errors.h on
 * failure; the message with context stays on the handle (appkg_reader_error). After a fatal
 * error a handle refuses further calls with the same code. Getters return borrowed pointers,
 * valid until the next call on the same handle; setters copy. _free(NULL) does nothing.
 * The library never prints, never exits and never writes outside the paths it is given.
 */
#ifndef APPKG_H
#define APPKG_H

#include <stddef.h>
#include <stdint.h>

#include "errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define APPKG_VERSION "0.1.0"
#define APPKG_FORMAT_MAJOR 1 /* format_version this library writes: "1.0" */
#define APPKG_FORMAT_MINOR 0
#define APPKG_DIGEST_BYTES 32 /* BLAKE2b-256 */

/* Argon2id cost presets for new secrets (libsodium's INTERACTIVE, MODERATE, SENSITIVE). */
enum appkg_kdf_level {
	APPKG_KDF_KEEP = 0, /* reuse the previous package's parameters, else MODERATE */
	APPKG_KDF_INTERACTIVE = 1,
	APPKG_KDF_MODERATE = 2,
	APPKG_KDF_SENSITIVE = 3,
};

/* One member of a package, as the member index describes it. */
struct appkg_member {
	const char *path;             /* "resources/pages/home.json"; borrowed */
	uint64_t size;                /* data size in bytes */
	const unsigned char *digest;  /* APPKG_DIGEST_BYTES bytes; borrowed */
	uint32_t frame;               /* data frame holding the member */
	uint32_t offset;              /* offset of its first tar header in the frame */
};

/* ---- names (spec section "Names") ------------------------------------------------------- */

/* Check one path component in file-name form (a <type> or a <name> without ".json").
 * max_bytes is APPKG's type or name limit. Returns 0 or an APPKG_ERR_NAME_* code. */
APPKG_API int appkg_name_check(const char *component, size_t max_bytes);

/* Encode a logical resource name (any UTF-8 text) to its file-name form. Returns a malloc'd
 * string the caller frees, or NULL on invalid UTF-8 or allocation failure. */
APPKG_API char *appkg_name_encode(const char *logical);

/* Decode a file-name form component to the logical name; malloc'd, or NULL if malformed. */
APPKG_API char *appkg_name_decode(const char *component);

/* ---- directory layout (spec section "Unpacked directories") ---------------------------- */

/* What a path of an unpacked directory is. */
enum appkg_path_kind {
	APPKG_PATH_SIDE = 0,     /* not part of the package: ignored by pack, never committed */
	APPKG_PATH_MANIFEST,     /* manifest.json */
	APPKG_PATH_SIGNATURE,    /* manifest.json.minisig */
	APPKG_PATH_SECRETS_JSON, /* secrets.json, the plaintext that is sealed into secrets.enc */
	APPKG_PATH_SECRETS_ENC,  /* secrets.enc */
	APPKG_PATH_RESOURCE,     /* resources/<type>/<name>.json */
	APPKG_PATH_DIRECTORY,    /* resources or resources/<type>: a directory that holds members */
};

/* Classify path, relative to the top of an unpacked directory ("resources/pages/home.json"),
 * as a file or, when is_dir, a directory. Side files: any path with a component that starts
 * with '.' (.git/, .gitignore, .DS_Store, vim's .x.json.swp), files whose name does not end in
 * ".json" (README.md, x.json~, 4913), and anything below a top-level directory other than
 * resources/. Returns an APPKG_PATH_* kind, APPKG_ERR_TAR_MEMBER for a ".json" file or a
 * directory where no member can be (resources/x.json, notes.json, resources/t/sub/), or
 * APPKG_ERR_INVALID_ARGUMENT for an empty or absolute path. The components of a resource path
 * are not checked here: appkg_name_check does that. */
APPKG_API int appkg_path_classify(const char *path, int is_dir);

/* ---- reader ----------------------------------------------------------------------------- */

typedef struct appkg_reader appkg_reader;

/* A new reader handle, or NULL if out of memory. */
APPKG_API appkg_reader *appkg_reader_new(void);

/* Open a package. Reads the seek table, the member index and the manifest, and checks them
 * against each other (layout, names, sizes, digests of the index against the manifest); no
 * resource is decompressed. open_path accepts a regular file only (APPKG_ERR_SOURCE for a
 * directory, FIFO or device, refused without blocking or reading; APPKG_ERR_NO_FILE when there
 * is none). open_fd does not take
 * ownership of fd; a descriptor that is not a regular file (a pipe) is first copied to an
 * unlinked temporary file, at most APPKG_MAX_SPOOL_SIZE bytes (1 GiB, APPKG_ERR_LIMIT_TOTAL
 * past it) and only while it starts as a package does (APPKG_ERR_NOT_APPKG). open_memory
 * borrows buf until appkg_reader_free. */
APPKG_API int appkg_reader_open_path(appkg_reader *r, const char *path);
APPKG_API int appkg_reader_open_fd(appkg_reader *r, int fd);
APPKG_API int appkg_reader_open_memory(appkg_reader *r, const void *buf, size_t len);

/* The message of the last error, with context ("resources/a.json: digest mismatch"). */
APPKG_API const char *appkg_reader_error(const appkg_reader *r);

/* The exact bytes of manifest.json (verified against its digest). Borrowed. */
APPKG_API int appkg_reader_manifest(appkg_reader *r, const char **json, size_t *len);

/* Package metadata from the manifest: "name", "version", "description", "package_id", or any
 * other top-level string field. Borrowed; NULL when absent or not a string. */
APPKG_API const char *appkg_reader_meta(appkg_reader *r, const char *field);

/* Members, in package order, from the member index. */
APPKG_API size_t appkg_reader_member_count(const appkg_reader *r);
APPKG_API int appkg_reader_member(appkg_reader *r, size_t i, struct appkg_member *out);

/* The member at path, from the index (nothing is decoded); APPKG_ERR_NOT_FOUND if none. */
APPKG_API int appkg_reader_find(appkg_reader *r, const char *path, struct appkg_member *out);

/* Sequential reading: each call decodes the next member, checks its tar header against the
 * index and its digest against the manifest, and returns 1 with *out filled and *data pointing
 * at its bytes (borrowed until the next call), or 0 after the last member and a verified
 * end of archive. */
APPKG_API int appkg_reader_next(appkg_reader *r, struct appkg_member *out, const void **data);

/* Random access: decode only the frame holding member `path` and return its verified bytes
 * (borrowed until the next call). APPKG_ERR_NOT_FOUND if there is no such member. A member
 * that fails its checks is reported with its code and message but leaves the handle usable. */
APPKG_API int appkg_reader_read(appkg_reader *r, const char *path, const void **data, size_t *len);

/* Random access by resource: type and name in file-name form ("queries", "get%2Fusers"). */
APPKG_API int appkg_reader_read_resource(appkg_reader *r, const char *type, const char *name,
                               const void **data, size_t *len);

/* 1 if the package has secrets.enc, else 0. */
APPKG_API int appkg_reader_has_secrets(appkg_reader *r);

/* Decrypt secrets.enc. Checks the KDF parameters before running the KDF. On success *plain
 * points at the exact bytes of secrets.json in guarded memory that the caller releases with
 * appkg_secure_free(*plain, *len). APPKG_ERR_AUTH on a wrong password. */
APPKG_API int appkg_reader_secrets(appkg_reader *r, const char *password, size_t password_len,
                         char **plain, size_t *len);

/* Report-and-continue mode, for verifiers: fn is called with each problem's code and message,
 * and reading goes on. A member with a problem (size, digest, JSON, secrets header, its tar
 * header) is skipped by appkg_reader_next; a frame that does not decode skips its members;
 * listing mismatches between the index and the manifest are each reported. Problems with the
 * seek table, the index, the manifest itself or a limit still end reading. Set it before
 * opening. */
typedef void (*appkg_problem_fn)(void *ctx, int code, const char *message);
APPKG_API void appkg_reader_set_problem_handler(appkg_reader *r, appkg_problem_fn fn, void *ctx);

/* Free the handle and everything it returned that was borrowed. */
APPKG_API void appkg_reader_free(appkg_reader *r);

/* Signatures (minisign format, spec section "Signature"). Trust a minisign public key file for
 * appkg_reader_check_signature; up to 16 keys. */
APPKG_API int appkg_reader_add_trusted_key(appkg_reader *r, const char *pubkey_path);

/* Check manifest.json.minisig against the trusted keys and the exact manifest bytes. Returns 0
 * when valid, with key_id (17 bytes: 16 hex digits) and trusted (256 bytes) filled;
 * APPKG_ERR_NOT_FOUND when the package is unsigned; APPKG_ERR_SIGNATURE when the signature is
 * malformed, made by an untrusted key, or does not match the manifest (stale after an edit). */
APPKG_API int appkg_reader_check_signature(appkg_reader *r, char *key_id, char *trusted);

/* ---- writer ----------------------------------------------------------------------------- */

typedef struct appkg_writer appkg_writer;

/* A new writer handle, or NULL if out of memory. */
APPKG_API appkg_writer *appkg_writer_new(void);

/* zstd level (1..19, default 3), compression threads (default 1) and the mtime stored in the
 * tar headers (default SOURCE_DATE_EPOCH, else 0). The output never depends on threads. */
APPKG_API int appkg_writer_set_level(appkg_writer *w, int level);
APPKG_API int appkg_writer_set_threads(appkg_writer *w, int threads);
APPKG_API int appkg_writer_set_mtime(appkg_writer *w, uint64_t mtime);

/* The manifest the user wrote: a JSON object with at least "name". Generated fields are
 * recomputed at finish; per-resource attributes (id, mode, depends_on, unknown fields) are kept
 * for resources that are added, matched by path. */
APPKG_API int appkg_writer_set_manifest(appkg_writer *w, const char *json, size_t len);

/* Add a resource. type and name are in file-name form; the data must be one JSON object.
 * add_file reads fs_path now (to validate and digest it) and again at finish, and fails there
 * if the file changed. add_resource copies data. */
APPKG_API int appkg_writer_add_file(appkg_writer *w, const char *type, const char *name, const char *fs_path);
APPKG_API int appkg_writer_add_resource(appkg_writer *w, const char *type, const char *name,
                              const void *data, size_t len);

/* Copy resource type/name from the open package r, which must stay open until finish; the
 * data is read (and verified) at finish, so memory does not grow with the payload. */
APPKG_API int appkg_writer_add_copy(appkg_writer *w, const char *type, const char *name, appkg_reader *r);

/* Encrypt secrets (the bytes of secrets.json) now. previous/previous_len is the secrets.enc of
 * the package the directory came from, or NULL: its salt, KDF parameters and package_id are
 * kept so that the same content and password give the same bytes. The password and plaintext
 * are not kept. */
APPKG_API int appkg_writer_set_secrets(appkg_writer *w, const char *json, size_t len, const char *password,
                             size_t password_len, enum appkg_kdf_level level,
                             const void *previous, size_t previous_len);

/* Sign the package with a minisign secret key file (password NULL for an unencrypted key).
 * The trusted comment holds the package name, version and signing time (SOURCE_DATE_EPOCH when
 * set, so that signed packs stay reproducible). */
APPKG_API int appkg_writer_set_signing_key(appkg_writer *w, const char *seckey_path, const char *password,
				 size_t password_len);

/* Carry an existing manifest.json.minisig over unchanged: it stays valid only if the manifest
 * written is byte-identical to the one it signed. */
APPKG_API int appkg_writer_set_signature_blob(appkg_writer *w, const void *sig, size_t len);

/* 1 if the minisign secret key file needs a password, 0 if not, or an error code. */
APPKG_API int appkg_secret_key_encrypted(const char *seckey_path);

/* Make a minisign-compatible key pair (the secret key encrypted with password, or not when
 * password is NULL). Files are never overwritten. On error, message (if not NULL, 256 bytes)
 * says why. */
APPKG_API int appkg_keygen(const char *pubkey_path, const char *seckey_path, const char *password,
		 size_t password_len, char *message);

/* Carry an existing secrets.enc over unchanged (no password needed). */
APPKG_API int appkg_writer_set_secrets_blob(appkg_writer *w, const void *blob, size_t len);

/* With verify set, finish_path re-opens the written temporary file and reads every member
 * back through a reader (layout, digests, JSON) before it replaces path. */
APPKG_API int appkg_writer_set_verify(appkg_writer *w, int verify);

/* Write the package. finish_path writes a temporary file beside path, fsyncs it and renames it
 * over path, then fsyncs the directory: path is either untouched or complete. finish_fd writes
 * to an open descriptor (standard output). The handle accepts no more calls afterwards. */
APPKG_API int appkg_writer_finish_path(appkg_writer *w, const char *path);
APPKG_API int appkg_writer_finish_fd(appkg_writer *w, int fd);

APPKG_API const char *appkg_writer_error(const appkg_writer *w);
APPKG_API void appkg_writer_free(appkg_writer *w);

/* ---- memory ----------------------------------------------------------------------------- */

/* Wipe and release memory returned by appkg_reader_secrets. NULL is a no-op. */
APPKG_API void appkg_secure_free(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
