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
 * The library never prints, never exits and never writes outside the paths it is given. It
 * initialises libsodium itself when it is loaded: a caller needs nothing but this header.
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

/* A problem as data, so that no caller takes a message apart: what a problem callback,
 * appkg_reader_problem and appkg_last_problem give. */
struct appkg_problem {
	int code;              /* APPKG_ERR_* */
	const char *member;    /* the member it is about ("resources/pages/home.json",
				* "secrets.enc"), or for a call without a handle the file it is about
				* (one of the paths the call was given); NULL when it is about no one
				* member (a frame, the seek table, the package as a whole) */
	unsigned line, column; /* where in that member's JSON, from 1; 0 for other problems */
	const char *message;   /* the whole message, as appkg_reader_error gives it */
	const char *detail;    /* the message without its leading "member: " and "line L column
				* C: " ("digest mismatch"), for a caller that prints the member itself */
};

/* Report-and-continue mode as appkg_reader_set_problem_handler, with each problem as data. One
 * handler at a time: setting either replaces the other. The problem's strings are valid during
 * the call. Set it before opening. */
typedef void (*appkg_problem_callback)(void *ctx, const struct appkg_problem *problem);
APPKG_API void appkg_reader_set_problem_callback(appkg_reader *r, appkg_problem_callback fn, void *ctx);

/* Describe as data the failure code that a call on r just returned: out gets code, and the
 * member, JSON position and message recorded on r. Strings are borrowed until the next call
 * on r. Returns code. */
APPKG_API int appkg_reader_problem(const appkg_reader *r, int code, struct appkg_problem *out);

/* Free the handle and everything it returned that was borrowed. */
APPKG_API void appkg_reader_free(appkg_reader *r);

/* Signatures (minisign format, spec section "Signature"). Trust a minisign public key file for
 * appkg_reader_check_signature; up to 16 keys. */
APPKG_API int appkg_reader_add_trusted_key(appkg_reader *r, const char *pubkey_path);

/* Check manifest.json.minisig against the trusted keys and the exact manifest bytes. Returns 0
 * when valid, with key_id (17 bytes: 16 hex digits) and trusted (256 bytes) filled;
 * 1 when the package is signed but no trusted key was added: key_id names the key the
 * signature says made it, and nothing was checked; APPKG_ERR_NOT_FOUND when the package is
 * unsigned; APPKG_ERR_SIGNATURE when the signature is malformed, made by an untrusted key, or
 * does not match the manifest (stale after an edit). A bad signature does not fail the
 * handle: its message stays (appkg_reader_error) and the other calls go on working. */
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
 * for resources that are added, matched by path, and an entry whose resource is not added is a
 * problem unless pruned (appkg_writer_set_prune). A manifest that does not parse is refused;
 * the handle stays usable, so that the resources can still be checked. */
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

/* Carry an existing manifest.json.minisig over unchanged. It is taken to sign the manifest given
 * to set_manifest (as unpack leaves them side by side), so finish writes it only when the
 * manifest it writes is byte-identical to that one; otherwise the signature would be stale and
 * finish leaves it out (appkg_writer_signature_dropped then returns 1). */
APPKG_API int appkg_writer_set_signature_blob(appkg_writer *w, const void *sig, size_t len);

/* After finish: 1 if the signature given to set_signature_blob was left out because the
 * manifest changed, else 0. */
APPKG_API int appkg_writer_signature_dropped(const appkg_writer *w);

/* 1 if the minisign secret key file needs a password, 0 if not, or an error code. */
APPKG_API int appkg_secret_key_encrypted(const char *seckey_path);

/* Make a minisign-compatible key pair (the secret key encrypted with password, or not when
 * password is NULL). Files are never overwritten. On error, message (if not NULL, 256 bytes)
 * says why. */
APPKG_API int appkg_keygen(const char *pubkey_path, const char *seckey_path, const char *password,
		 size_t password_len, char *message);

/* Carry an existing secrets.enc over unchanged (no password needed). */
APPKG_API int appkg_writer_set_secrets_blob(appkg_writer *w, const void *blob, size_t len);

/* The secrets.enc the package will hold, as set_secrets sealed it or set_secrets_blob gave it
 * (borrowed until the next call on w); APPKG_ERR_NOT_FOUND when there are no secrets. */
APPKG_API int appkg_writer_secrets_blob(const appkg_writer *w, const void **blob, size_t *len);

/* Decrypt a secrets.enc blob on its own (the file unpack leaves beside secrets.json), to check a
 * password before sealing with it or to compare the blob with secrets.json. The KDF parameters
 * are checked before the KDF runs. On success *plain holds the exact bytes it sealed, in guarded
 * memory the caller releases with appkg_secure_free(*plain, *plain_len). Returns 0,
 * APPKG_ERR_AUTH on a wrong password (or a damaged blob), or another code; message (if not
 * NULL, 256 bytes) says why. */
APPKG_API int appkg_secrets_decrypt(const void *blob, size_t len, const char *password,
                                    size_t password_len, char **plain, size_t *plain_len,
                                    char *message);

/* Manifest entries whose resource was not added: by default each is a problem
 * (APPKG_ERR_MEMBER_MISSING, naming the added resource with the same digest when there is one,
 * as after a rename), so that no mode, depends_on or id is lost silently. With prune set they
 * are dropped. */
APPKG_API int appkg_writer_set_prune(appkg_writer *w, int prune);

/* Report-and-continue, as for readers: appkg_writer_check and finish call fn with each problem
 * of the manifest (every bad field, entry without a resource and dangling depends_on), and
 * then return the code of the first, whose message stays on the handle. Without fn only that
 * first problem is seen. */
APPKG_API void appkg_writer_set_problem_handler(appkg_writer *w, appkg_problem_fn fn, void *ctx);

/* Check the manifest against the resources added so far, as finish will, and report every
 * problem. A resource whose add_* call failed counts as present (its own problem was returned
 * then). Returns 0 or the code of the first problem; the handle stays usable. */
APPKG_API int appkg_writer_check(appkg_writer *w);

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

/* ---- resources (spec section "Manifest") ----------------------------------------------- */

/* One resource as the manifest lists it. Every string is borrowed from the reader and valid
 * until the next appkg_reader_resource call on it (or appkg_reader_free). */
struct appkg_resource {
	const char *path;      /* "resources/queries/invoices%2Fopen.json" */
	const char *type;      /* "queries" */
	const char *name;      /* logical name: "invoices/open" */
	const char *file_name; /* the name in file-name form, without ".json": "invoices%2Fopen" */
	const char *mode;      /* import mode: "create", "update", "overwrite", "merge" or "skip" */
	const char *id;        /* the entry's "id", or NULL when it has none */
	const char *const *depends_on; /* depends_on_count entries "<type>/<file-name form>" */
	size_t depends_on_count;
	uint64_t size;                /* bytes of the resource file */
	const unsigned char *digest;  /* APPKG_DIGEST_BYTES bytes */
};

/* Resources in manifest order (sorted by path), without the caller parsing JSON. The count
 * is 0 when r is not open or has failed. appkg_reader_resource fills out for resource i (0 <=
 * i < count), APPKG_ERR_NOT_FOUND past the end. Nothing is decompressed: the attributes come
 * from the manifest read at open, and one entry is parsed at a time however large it is. */
APPKG_API size_t appkg_reader_resource_count(appkg_reader *r);
APPKG_API int appkg_reader_resource(appkg_reader *r, size_t i, struct appkg_resource *out);

/* Find a resource by one of the forms people write it in: the member path that tar lists
 * ("resources/queries/invoices%2Fopen.json"), TYPE/NAME in file-name form
 * ("queries/invoices%2Fopen") or TYPE/NAME with the logical name ("queries/invoices/open").
 * The file-name form is tried before the logical one. Sets *index for appkg_reader_resource;
 * APPKG_ERR_NOT_FOUND (with a message naming the selector) when nothing matches. */
APPKG_API int appkg_reader_resource_find(appkg_reader *r, const char *selector, size_t *index);

/* ---- extracting a package (spec section "Unpacked directories") ------------------------- */

struct appkg_extract_options {
	int force;            /* replace a DEST that is not empty (atomic swap) */
	const char *password; /* non-NULL: also decrypt secrets.enc into secrets.json, mode 0600 */
	size_t password_len;
	const char *const *only; /* only_count selectors (appkg_reader_resource_find forms), or
				  * NULL for every member */
	size_t only_count;
};

/* Write the package open in r as an unpacked directory dest: manifest.json, its signature,
 * resources/<type>/<name>.json, secrets.enc, and with a password secrets.json. Everything goes
 * into a new temporary directory beside dest (".DEST.unpack-PID-XXXXXXXX"), each file created
 * with O_EXCL | O_NOFOLLOW below it, each member verified as it is written; the secrets are
 * decrypted before anything is written. Only when every member has verified is the directory
 * synced and renamed to dest, or with force swapped with an existing dest (renameat2
 * RENAME_EXCHANGE) whose old tree is then removed. On any failure nothing is left: dest is as
 * it was. dest must be absent or an empty directory unless force (APPKG_ERR_EXISTS).
 * With a selection, only the selected resources are written, with a manifest.json that lists
 * just them (so the directory packs into a valid package) and secrets.enc as it is; the
 * signature is left out (it signed the whole manifest). A selected resource whose depends_on
 * names one not selected is refused (APPKG_ERR_INVALID_ARGUMENT), as is a selector that names
 * nothing (APPKG_ERR_NOT_FOUND). r must be freshly opened, without a problem handler.
 * options may be NULL. The message stays on r (appkg_reader_error, appkg_reader_problem). */
APPKG_API int appkg_extract(appkg_reader *r, const char *dest, const struct appkg_extract_options *options);

/* ---- files without a package: signatures, sealed secrets -------------------------------- */

/* Sign the file at path as `minisign -S` does, writing path.minisig (replaced atomically)
 * with the minisign secret key file seckey_path (password NULL for an unencrypted key) and the
 * trusted comment (one line of at most 255 bytes; NULL: "file:<base name of path>"). The file
 * is read whole, up to 1 GiB. Returns 0 or an error code (appkg_last_problem says which file
 * and why). */
APPKG_API int appkg_sign_file(const char *path, const char *seckey_path, const char *password,
			      size_t password_len, const char *trusted_comment);

/* Check the minisign signature file sig_path (NULL: path.minisig) over the file at path with
 * the public key file pubkey_path. 0 when valid, with key_id (17 bytes: 16 hex digits) and
 * trusted (256 bytes: the trusted comment) filled when not NULL; APPKG_ERR_SIGNATURE when it
 * is malformed, made with another key or does not match. */
APPKG_API int appkg_check_file_signature(const char *path, const char *sig_path, const char *pubkey_path,
					 char *key_id, char *trusted);

/* Seal secrets (the bytes of a secrets.json: an object of strings) into a secrets.enc blob,
 * as appkg_writer_set_secrets does, without making a package. previous (a secrets.enc, or NULL)
 * lends its salt, KDF parameters (with APPKG_KDF_KEEP) and package_id, so that the same content
 * and password give the same bytes. package_id binds the blob to a package: NULL takes the
 * previous blob's, or a new random one. On success *blob is malloc'd (the caller frees it) and
 * holds *blob_len bytes. The password and plaintext are not kept. */
APPKG_API int appkg_secrets_seal(const char *json, size_t len, const char *password, size_t password_len,
				 enum appkg_kdf_level level, const void *previous, size_t previous_len,
				 const char *package_id, void **blob, size_t *blob_len);

/* The outcome of the last call without a handle made by this thread (appkg_keygen,
 * appkg_secret_key_encrypted, appkg_sign_file, appkg_check_file_signature, appkg_secrets_seal)
 * as data; returns its code, 0 after a success. Strings are valid until the next such call on
 * this thread; member is a copy of the path the problem is about: one the call was given, or the
 * signature file appkg_sign_file writes). */
APPKG_API int appkg_last_problem(struct appkg_problem *out);

/* ---- progress and secrets parameters ---------------------------------------------------- */

/* Progress of a long call, for a progress display: bytes_done of bytes_total (the members'
 * data sizes, uncompressed) and members_done of members_total so far. Called from the thread
 * that made the call, after each member (the last call has done == total; with several threads
 * the last frames may still be compressing then); it must not call back into the handle. The
 * library never decides whether or how to show it. */
typedef void (*appkg_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total,
				  size_t members_done, size_t members_total);

/* Report the progress of appkg_writer_finish_path / finish_fd (every member written, copies
 * included) to fn; NULL turns it off. */
APPKG_API void appkg_writer_set_progress(appkg_writer *w, appkg_progress_fn fn, void *ctx);

/* Report the progress of sequential reading (appkg_reader_next, and so appkg_extract of a
 * whole package and a full verification) to fn; random reads are not counted. NULL turns it
 * off. */
APPKG_API void appkg_reader_set_progress(appkg_reader *r, appkg_progress_fn fn, void *ctx);

/* The Argon2id preset a secrets.enc blob was sealed with: APPKG_KDF_INTERACTIVE, _MODERATE or
 * _SENSITIVE, or APPKG_KDF_KEEP (0) for parameters that match no preset; a negative code for a
 * blob whose header does not parse. Lets a caller re-seal at the same cost with a fresh salt. */
APPKG_API int appkg_secrets_kdf_level(const void *blob, size_t len);

/* ---- memory ----------------------------------------------------------------------------- */

/* Wipe and release memory returned by appkg_reader_secrets. NULL is a no-op. */
APPKG_API void appkg_secure_free(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
