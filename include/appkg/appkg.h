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
#define APPKG_FORMAT_MAJOR 2 /* highest format_version this library reads and writes: "2.0" */
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

/* Read-ahead with `threads` threads (0: off; at most 8). While the members of one frame are
 * read, with appkg_reader_read or appkg_reader_next, the threads decode the frames after it, one
 * each, and check every member of them as a read would; a read in such a frame then takes it
 * whole, checked, and its members are not checked again while it is held. A frame with any
 * member that fails is not taken: its reads decode and check it as without read-ahead, with the
 * same codes, messages and problems. Costs a decoder and a frame of memory per thread (frames
 * past the next are asked for only within 8 MiB); the threads are started here (after any fork)
 * and ended by turning it off or by appkg_reader_free. Calling it again with the same value
 * does nothing. 0, or APPKG_ERR_NO_MEMORY when a thread cannot be made. */
APPKG_API int appkg_reader_set_readahead(appkg_reader *r, int threads);

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

/* The names of the secrets, never their values: decrypt secrets.enc as appkg_reader_secrets
 * does and copy out only the keys of secrets.json; the plaintext stays in guarded memory and is
 * wiped before the call returns. On success *names is a malloc'd array of *count malloc'd,
 * NUL-terminated UTF-8 names, sorted by their bytes (byte-wise strcmp order), which the caller
 * releases with appkg_secret_names_free; an empty secrets.json gives *count 0 and *names NULL.
 * Returns 0, APPKG_ERR_NOT_FOUND when the package has no secrets, APPKG_ERR_AUTH on a wrong
 * password, or another code (the message stays on r); on failure *names is NULL. */
APPKG_API int appkg_reader_secret_names(appkg_reader *r, const char *password, size_t password_len,
					char ***names, size_t *count);

/* The same for the bytes of a secrets.json the caller holds (in guarded memory, say, from
 * appkg_secrets_decrypt): checks that it is an object of strings (APPKG_ERR_SECRETS_JSON, or a
 * JSON or limit code, else 0) and returns its names as above, copying no value. The outcome is
 * kept for appkg_last_problem. */
APPKG_API int appkg_secrets_names(const char *json, size_t len, char ***names, size_t *count);

/* Release what appkg_reader_secret_names or appkg_secrets_names returned. NULL is a no-op. */
APPKG_API void appkg_secret_names_free(char **names, size_t count);

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
 * add_file reads fs_path now (to validate and digest it). While resources are added in path
 * order, with no selection and no copy (appkg_writer_add_copy), each is framed and compressed
 * from the bytes just checked (into an unlinked temporary file until finish), so the package
 * holds exactly those bytes and the file is not read again; otherwise finish reads the file
 * again and fails if it changed. add_resource copies data. */
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

/* With copy set, members added with appkg_writer_add_copy keep the frames they have in their
 * package, and a frame of the output that is one such frame whole (the same members, nothing
 * added, changed or removed in it, the same tar mtime) is copied as its compressed bytes,
 * without decoding; other frames are laid out by the size rule and compressed. This is how a
 * commit costs what changed (appkg-mount); the output may then group members differently from
 * a fresh pack of the same files, which readers accept alike (spec §3.2). A source file that
 * changed on disk since its reader opened it is not copied from whole: its members are decoded
 * and checked. With verify also set, finish_path checks the written file so: every member of a
 * frame compressed anew is read back in full (layout, digests, JSON), and each frame copied
 * whole is read back as stored and compared, by its BLAKE2b-256 digest, with the bytes read from
 * the source while copying; the source must not have changed on disk meanwhile. Returns 0, or
 * APPKG_ERR_STATE once finished. */
APPKG_API int appkg_writer_set_copy_frames(appkg_writer *w, int copy);

/* After a successful appkg_writer_finish_path with copy frames and verify set: the reader that
 * checked the written package, open on it at its final path, which the caller now owns (free it
 * with appkg_reader_free); NULL otherwise, or when taken already. It saves opening the new
 * package again (a mount serving it after a commit). */
APPKG_API appkg_reader *appkg_writer_take_reader(appkg_writer *w);

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

/* ---- selections and merges (spec sections "Selections", "appkg merge --json") ---------- */

/* A selection with its dependencies: each resource that selectors names (count of them, in the
 * forms of appkg_reader_resource_find) and every resource those depend on through depends_on,
 * transitively. chosen must hold appkg_reader_resource_count(r) bytes; each is set to 1 for a
 * resource in the selection, else 0. Returns how many resources are chosen;
 * APPKG_ERR_NOT_FOUND when a selector names nothing, APPKG_ERR_DEPENDENCY when a depends_on
 * entry names no resource ("resources/a/x.json: depends on b/y, which is not there": both
 * ends named; a package that opened has none, the format forbids them). A bad selection leaves
 * the handle usable; the message stays on r. */
APPKG_API int appkg_reader_select(appkg_reader *r, const char *const *selectors, size_t count,
				  unsigned char *chosen);

/* Write only a selection: at check and finish the writer keeps the resources selectors names
 * (forms of appkg_reader_resource_find, matched against the added resources) and everything
 * they depend on through the depends_on of the user manifest, and drops the other resources
 * and their manifest entries. A selector naming nothing is APPKG_ERR_NOT_FOUND; a selected
 * resource whose depends_on names a resource not added is APPKG_ERR_DEPENDENCY, the message
 * naming both (each also goes to the problem handler). The selectors are copied. */
APPKG_API int appkg_writer_set_selection(appkg_writer *w, const char *const *selectors, size_t count);

/* How a merge settles a resource or a secret that its inputs hold differently. */
enum appkg_prefer {
	APPKG_PREFER_NONE = 0, /* refuse: every conflict is reported and nothing is merged */
	APPKG_PREFER_FIRST = 1,
	APPKG_PREFER_LAST = 2,
};

/* One conflict of a merge: a resource (same type and logical name) whose content or manifest
 * attributes differ, or a secret name with different values. Strings are borrowed for the
 * duration of the callback. Never holds a secret value. */
struct appkg_conflict {
	const char *kind;        /* "resource", "secret" or "input" (its declaration: what is
				  * "attributes", name the input's, no path or type) */
	const char *what;        /* "content" (data differs), "attributes" (same data, other mode,
				  * depends_on, id or other entry fields) or "value" (a secret) */
	const char *path;        /* member path of a resource; NULL for a secret */
	const char *type;        /* resource type; NULL for a secret */
	const char *name;        /* logical name of the resource, or the secret's name */
	size_t first, second;    /* the two inputs that disagree (indexes, first < second) */
};
typedef void (*appkg_conflict_fn)(void *ctx, const struct appkg_conflict *conflict);

struct appkg_merge_options {
	enum appkg_prefer prefer;
	const char *name, *version;  /* package fields of the output; NULL: the first input's */
	/* Secrets. With new_password, the secrets of every input that has them are decrypted
	 * (passwords[i], password_lens[i] for input i: passwords may be NULL, or an entry NULL,
	 * for inputs without secrets), merged by name and sealed under new_password with kdf.
	 * Without it, the secrets.enc of the one input that has secrets is carried as it is
	 * (the output takes that input's package_id); two or more inputs with secrets then need
	 * the passwords (APPKG_ERR_NO_PASSWORD). */
	const char *const *passwords;
	const size_t *password_lens;
	const char *new_password;
	size_t new_password_len;
	enum appkg_kdf_level kdf;
	appkg_conflict_fn conflict_fn; /* called for each conflict, settled by prefer or not */
	void *conflict_ctx;
};

/* Fill w, a new writer, with the merge of the n open packages inputs (in order): the union of
 * their resources, matched by type and logical name and copied (appkg_writer_add_copy, so the
 * inputs must stay open until finish) with their manifest entries; the other manifest fields
 * of the first input, name and version as options say; secrets as options say. No signature
 * is carried (the caller may set a signing key). Returns 0; APPKG_ERR_MERGE_CONFLICT after
 * reporting every conflict to conflict_fn when prefer is NONE and any exists, w then unusable;
 * APPKG_ERR_AUTH or APPKG_ERR_NO_PASSWORD for secrets. The message is on w (appkg_writer_error).
 * Decrypted secrets are wiped after use. A selection (appkg_writer_set_selection) may be set
 * on w before or after. */
APPKG_API int appkg_merge(appkg_writer *w, appkg_reader *const *inputs, size_t n,
			  const struct appkg_merge_options *options);

/* ---- extracting a package (spec section "Unpacked directories") ------------------------- */

struct appkg_extract_options {
	int force;            /* replace a DEST that is not empty (atomic swap) */
	const char *password; /* non-NULL: also decrypt secrets.enc into secrets.json, mode 0600 */
	size_t password_len;
	const char *const *only; /* only_count selectors (appkg_reader_resource_find forms), or
				  * NULL for every member */
	size_t only_count;
	struct appkg_bindings *bindings; /* non-NULL: write each resource bound for this environment
				   * (appkg_bind), the tree import-ready, not a package source */
	int bind_secrets;         /* with bindings and password: also replace secret references;
				   * files that then hold a secret are mode 0600 */
	size_t *secrets_left;     /* non-NULL: set to the number of secret references a bound
				   * tree keeps as they are (bindings without bind_secrets) */
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
 * nothing (APPKG_ERR_NOT_FOUND). With bindings the tree is bound for one environment (spec
 * section 20.2): the defaults of r's inputs are taken into bindings (appkg_bindings_use_defaults),
 * each resource of a format 2 package is bound with appkg_bind after it verified, manifest.json
 * gets "bound_for" (the environment, or "") and the signature is left out; every required input
 * of a written resource without a value is found before anything is written, every secret
 * reference secrets.json lacks (bind_secrets) before the tree is named: APPKG_ERR_UNBOUND naming
 * them all; bind_secrets with secrets and no password is APPKG_ERR_NO_PASSWORD. A format 1.x
 * package has no placeholders: its resources are written as they are.
 * r must be freshly opened, without a problem handler.
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

/* Replace the file at path with len bytes of data, atomically, as a package is written: a
 * temporary file beside it (leftovers of killed runs removed), fsync, rename over path, fsync
 * of the directory. The file is mode 0644 less the umask. 0 or an error code. */
APPKG_API int appkg_file_replace(const char *path, const void *data, size_t len);

/* The outcome of the last call without a handle made by this thread (appkg_keygen,
 * appkg_secret_key_encrypted, appkg_sign_file, appkg_check_file_signature, appkg_secrets_seal,
 * appkg_file_replace)
 * as data; returns its code, 0 after a success. Strings are valid until the next such call on
 * this thread; member is a copy of the path the problem is about: one the call was given, or the
 * signature file appkg_sign_file writes). */
APPKG_API int appkg_last_problem(struct appkg_problem *out);

/* ---- unpacked directories as packages (spec section "Unpacked directories") ------------ */

/* Add an unpacked directory to w by the rules pack uses (appkg_path_classify): manifest.json
 * (appkg_writer_set_manifest), every resources/<type>/<name>.json (appkg_writer_add_file),
 * secrets.enc carried over unchanged (appkg_writer_set_secrets_blob) and manifest.json.minisig
 * (appkg_writer_set_signature_blob). Side files are skipped; a misplaced .json file, a symbolic
 * link or special file where a member belongs, an unreadable entry and no manifest.json at all
 * (APPKG_ERR_MEMBER_MISSING) are problems. secrets.json
 * is not read: sealing it needs a password, which is the caller's business. Every problem goes
 * to the writer's problem handler as it is found and reading goes on; returns 0 or the code
 * of the first problem (APPKG_ERR_NO_FILE or APPKG_ERR_IO when dir itself cannot be opened). */
APPKG_API int appkg_writer_add_directory(appkg_writer *w, const char *dir);

/* Open an unpacked directory as a package: it is packed into an anonymous in-memory file (zstd
 * level 1, appkg_writer_add_directory, the user's manifest checked as pack checks it) and
 * opened from there, so every reader call works on it. secrets.json is left out (see
 * appkg_diff_input for comparing it). The first problem's code and message stay on r. */
APPKG_API int appkg_reader_open_directory(appkg_reader *r, const char *dir);

/* ---- comparing two packages (spec section 19.2) ------------------------------------------ */

/* One input of a comparison. */
struct appkg_diff_input {
	appkg_reader *reader;     /* an open package (appkg_reader_open_*); borrowed */
	const char *password;     /* opens the reader's secrets.enc to compare secret names, or NULL */
	size_t password_len;
	const char *secrets_json; /* or the plaintext secrets (a directory's secrets.json), used
				   * instead of secrets.enc; NULL when none */
	size_t secrets_json_len;
};

enum appkg_change_kind {
	APPKG_CHANGE_ADDED = 1,   /* only in B */
	APPKG_CHANGE_REMOVED = 2, /* only in A */
	APPKG_CHANGE_CHANGED = 3, /* in both, different */
};

enum appkg_change_subject {
	APPKG_DIFF_PACKAGE = 1,  /* a top-level manifest field ("/name", "/version") */
	APPKG_DIFF_RESOURCE = 2, /* a resource as a whole (type, name) */
	APPKG_DIFF_VALUE = 3,    /* a value inside a changed resource's JSON */
	APPKG_DIFF_ENTRY = 4,    /* an attribute of its manifest entry ("/mode", "/depends_on/0") */
	APPKG_DIFF_SECRET = 5,   /* one secret, by name (never a value) */
	APPKG_DIFF_SECRETS = 6,  /* the secrets as a whole, when their names could not be compared */
};

/* One change. Strings belong to the appkg_diff handle and live until appkg_diff_free. */
struct appkg_change {
	int kind;                /* APPKG_CHANGE_* */
	int subject;             /* APPKG_DIFF_* */
	const char *type;        /* resource type (file-name form) for RESOURCE, VALUE, ENTRY */
	const char *name;        /* its logical name; for SECRET the secret's name; else NULL */
	const char *pointer;     /* RFC 6901 pointer into the resource (VALUE), its entry (ENTRY) or
				  * the manifest (PACKAGE); a removed value's pointer addresses A,
				  * the others B; else NULL */
	const char *old_value;   /* compact JSON text of the value in A, shortened; NULL when absent
				  * and always for SECRET and SECRETS */
	const char *new_value;   /* the same for B */
};

typedef struct appkg_diff appkg_diff;

/* A new comparison handle, or NULL if out of memory. */
APPKG_API appkg_diff *appkg_diff_new(void);

/* Longest value text in a change, in bytes (default 60, at least 8): a longer one is cut at a
 * character boundary and ends in "...". */
APPKG_API int appkg_diff_set_value_max(appkg_diff *d, size_t bytes);

/* Compare package a with b: manifest fields, resources by type and logical name (added,
 * removed, changed: values by JSON pointer, arrays aligned by longest common subsequence when
 * small enough, else index by index), entry attributes, and secrets (by name when both sides'
 * plaintext is available, else by their sealed blobs). Resources with equal JSON values are
 * equal whatever their bytes. Returns the number of changes (0: equal) or a negative code:
 * APPKG_ERR_AUTH when a password does not open its secrets.enc, or the code of a member that
 * does not read back; appkg_diff_error says why and appkg_diff_failed_input which input. A
 * handle compares once. The readers stay the caller's and are read, not changed. */
APPKG_API int appkg_diff_compare(appkg_diff *d, const struct appkg_diff_input *a,
				 const struct appkg_diff_input *b);

/* The changes, in report order: package fields, then resources by path (each changed resource
 * followed by its values and entry attributes), then secrets. appkg_diff_change fills out for
 * change i, APPKG_ERR_NOT_FOUND past the end. */
APPKG_API size_t appkg_diff_count(const appkg_diff *d);
APPKG_API int appkg_diff_change(const appkg_diff *d, size_t i, struct appkg_change *out);

/* Why the comparison failed, and which input it is about: 0 for a, 1 for b, -1 for neither. */
APPKG_API const char *appkg_diff_error(const appkg_diff *d);
APPKG_API int appkg_diff_failed_input(const appkg_diff *d);

APPKG_API void appkg_diff_free(appkg_diff *d);
/* ---- inputs, placeholders and bindings (spec section 20) -------------------------------- */

/* A resource names a value the target supplies with a placeholder inside a JSON string:
 * [[appkg:input:NAME]] (a value from the target environment), [[appkg:secret:NAME]] (a key of
 * the package's secrets.json) or [[appkg:literal]] (the text "[[appkg:" itself). Packages
 * that hold any are format 2.0 (spec section 12); their manifest lists the inputs. */
enum appkg_placeholder_kind {
	APPKG_PLACEHOLDER_INPUT = 1,
	APPKG_PLACEHOLDER_SECRET = 2,
	APPKG_PLACEHOLDER_LITERAL = 3,
};

/* One placeholder found in a document. Strings are borrowed for the duration of the callback. */
struct appkg_placeholder {
	int kind;              /* APPKG_PLACEHOLDER_* */
	const char *name;      /* the input's or secret's name; NULL for a literal */
	unsigned line, column; /* where it starts in the document's text, from 1 */
	int whole;             /* 1 when it is the whole value of its string */
};
typedef void (*appkg_placeholder_fn)(void *ctx, const struct appkg_placeholder *p);

/* Find every placeholder in the JSON document json/len (a resource), in document order,
 * calling fn (may be NULL) for each. Placeholders are recognised in the decoded value of a
 * string (so a \u escape cannot hide one). Returns the number found, or APPKG_ERR_PLACEHOLDER
 * for "[[appkg:" text that does not match the grammar, stands outside a string or inside an
 * object key; the message has the line, column and the rule (appkg_last_problem). The
 * document's other JSON rules are not checked here. */
APPKG_API int appkg_placeholders_scan(const char *json, size_t len, appkg_placeholder_fn fn,
				      void *ctx);

/* One input of a package, from its manifest's "inputs" (spec section 20.3). Strings are
 * borrowed from the reader until the next appkg_reader_input call on it. */
struct appkg_input {
	const char *name;
	const char *description;       /* NULL when none */
	const char *default_json;      /* the default as compact JSON text; NULL when none */
	int required;                  /* 1: used and without a default, so a target must supply it */
	const char *const *used_by;    /* member paths of the resources that use it */
	size_t used_by_count;
};

/* The package's inputs, sorted by name (0 for a format 1.x package or one without inputs). */
APPKG_API size_t appkg_reader_input_count(appkg_reader *r);
APPKG_API int appkg_reader_input(appkg_reader *r, size_t i, struct appkg_input *out);

/* Values for one target environment: a bindings file (ENV.json, spec section 20.4) and,
 * optionally, the plaintext secrets for secret references. */
typedef struct appkg_bindings appkg_bindings;

APPKG_API appkg_bindings *appkg_bindings_new(void);

/* Load a bindings document (json/len) or file (a regular file of at most 16 MiB). Input names
 * are checked against the grammar; an unknown top-level field is refused (a typo would bind
 * nothing). APPKG_ERR_BINDINGS or a JSON code on a bad document; the message (with line and
 * column) stays on b. A second load replaces the first. */
APPKG_API int appkg_bindings_load(appkg_bindings *b, const char *json, size_t len);
APPKG_API int appkg_bindings_load_file(appkg_bindings *b, const char *path);

/* Number of inputs the document gives and the i-th name (sorted); the value as compact JSON
 * text (the document's, else a default taken by appkg_bindings_use_defaults), or NULL when
 * the input has none. Borrowed until the next load or free. */
APPKG_API size_t appkg_bindings_count(const appkg_bindings *b);
APPKG_API const char *appkg_bindings_name(const appkg_bindings *b, size_t i);
APPKG_API const char *appkg_bindings_value(const appkg_bindings *b, const char *name);

/* The "environment" field of the document, or NULL. */
APPKG_API const char *appkg_bindings_environment(const appkg_bindings *b);

/* Take the defaults of r's inputs: a value the document does not give comes from them. */
APPKG_API int appkg_bindings_use_defaults(appkg_bindings *b, appkg_reader *r);

/* The plaintext of secrets.json (an object of strings), copied into guarded memory and wiped
 * at appkg_bindings_free; needed only for APPKG_BIND_SECRETS. */
APPKG_API int appkg_bindings_set_secrets(appkg_bindings *b, const char *json, size_t len);

/* A check of bindings against a package's inputs, one report per finding. */
struct appkg_binding_problem {
	const char *input;             /* the input's name */
	int unbound;                   /* 1: a required input with no value (an error);
					* 0: a value given for an input the package does not have
					* or that no resource uses (a warning) */
	const char *const *used_by;    /* for an unbound input, the resources that use it */
	size_t used_by_count;
};
typedef void (*appkg_binding_fn)(void *ctx, const struct appkg_binding_problem *p);

/* Check b against the inputs of r and call fn for every finding, all of them. Returns the
 * number of unbound inputs (0: the target supplies everything) or a negative code. */
APPKG_API int appkg_bindings_check(const appkg_bindings *b, appkg_reader *r, appkg_binding_fn fn,
				   void *ctx);

#define APPKG_BIND_SECRETS 1 /* also replace secret references (needs appkg_bindings_set_secrets) */

/* Bind one resource: replace each input placeholder by its value (a string's text, JSON-escaped
 * inside the string; any other JSON value as itself when the placeholder is the whole string,
 * else as its compact JSON text), each literal by "[[appkg:", and with APPKG_BIND_SECRETS each
 * secret reference by the secret; without it secret references are left as they are. Bytes
 * outside the rewritten strings are kept. On success *out (malloc'd, *out_len bytes, valid
 * JSON) is released with appkg_bound_free, which wipes it: it may hold a secret. Returns the
 * number of placeholders replaced, APPKG_ERR_UNBOUND naming the first input (or secret) with
 * no value, APPKG_ERR_PLACEHOLDER, or APPKG_ERR_LIMIT_MEMBER_SIZE when the bound document
 * would exceed 16 MiB; the message stays on b (appkg_bindings_error). */
APPKG_API int appkg_bind(appkg_bindings *b, const char *json, size_t len, int flags, char **out,
			 size_t *out_len);
APPKG_API void appkg_bound_free(char *out, size_t len);

APPKG_API const char *appkg_bindings_error(const appkg_bindings *b);
APPKG_API void appkg_bindings_free(appkg_bindings *b);

/* ---- a plan against the target (spec section 21) ---------------------------------------- */

/* What importing one resource would do to the target. */
enum appkg_action {
	APPKG_ACTION_CREATE = 1,    /* absent in the target: created (modes create, overwrite, merge) */
	APPKG_ACTION_CONFLICT = 2,  /* mode create, and the target has it: left alone, reported */
	APPKG_ACTION_UPDATE = 3,    /* mode update, present and different */
	APPKG_ACTION_OVERWRITE = 4, /* mode overwrite, present and different */
	APPKG_ACTION_MERGE = 5,     /* mode merge, present, and the merge (RFC 7396) changes it */
	APPKG_ACTION_UNCHANGED = 6, /* present and would end up equal */
	APPKG_ACTION_ERROR = 7,     /* mode update and absent, or no way to match it */
	APPKG_ACTION_SKIP = 8,      /* mode skip */
};

/* One resource of the plan. Strings belong to the plan handle. */
struct appkg_plan_item {
	int action;              /* APPKG_ACTION_* */
	const char *path;        /* the package's member path */
	const char *type, *name; /* type (file-name form) and logical name */
	const char *mode;        /* import mode from the manifest */
	const char *match;       /* "name" or "id" (spec section 21.1) */
	const char *id;          /* the entry's id, or NULL */
	const char *target_path; /* the target's resource it matched, or NULL */
	const char *reason;      /* one line for CONFLICT and ERROR, else NULL */
	size_t change_count;     /* changes of UPDATE, OVERWRITE, MERGE (appkg_plan_change) */
};

typedef struct appkg_plan appkg_plan;

APPKG_API appkg_plan *appkg_plan_new(void);

/* Bind inputs (never secrets) before comparing; b is borrowed until appkg_plan_make returns. */
APPKG_API int appkg_plan_set_bindings(appkg_plan *p, appkg_bindings *b);

/* Plan importing package into target (both open; target is what the target holds now, an
 * export opened as a package or with appkg_reader_open_directory). Items come in import
 * order: a topological order of depends_on, ties by path. Returns 0 when applying would
 * change nothing and nothing stands in the way (every item UNCHANGED or SKIP, no unbound
 * input, no cycle), 1 otherwise, or a negative code when an input cannot be read
 * (appkg_plan_error, appkg_plan_failed_input: 0 package, 1 target). */
APPKG_API int appkg_plan_make(appkg_plan *p, appkg_reader *package, appkg_reader *target);

APPKG_API size_t appkg_plan_count(const appkg_plan *p);
APPKG_API int appkg_plan_item(const appkg_plan *p, size_t i, struct appkg_plan_item *out);
APPKG_API int appkg_plan_change(const appkg_plan *p, size_t item, size_t i,
				struct appkg_change *out);

/* Required inputs the bindings do not supply, sorted by name. */
APPKG_API size_t appkg_plan_unbound_count(const appkg_plan *p);
APPKG_API const char *appkg_plan_unbound(const appkg_plan *p, size_t i);

/* Dependency cycles: cycle i lists *count member paths (a -> b -> ... -> a). */
APPKG_API size_t appkg_plan_cycle_count(const appkg_plan *p);
APPKG_API const char *const *appkg_plan_cycle(const appkg_plan *p, size_t i, size_t *count);

APPKG_API const char *appkg_plan_action_name(int action); /* "create", ... */
APPKG_API const char *appkg_plan_error(const appkg_plan *p);
APPKG_API int appkg_plan_failed_input(const appkg_plan *p);
APPKG_API void appkg_plan_free(appkg_plan *p);

/* ---- progress and secrets parameters ---------------------------------------------------- */

/* Progress of a long call, for a progress display: bytes_done of bytes_total (the members'
 * data sizes, uncompressed) and members_done of members_total so far. Called from the thread
 * that made the call, after each member (the last call has done == total; with several threads
 * the last frames may still be compressing then); it must not call back into the handle. The
 * library never decides whether or how to show it. */
typedef void (*appkg_progress_fn)(void *ctx, uint64_t bytes_done, uint64_t bytes_total,
				  size_t members_done, size_t members_total);

/* Report the progress of appkg_writer_finish_path / finish_fd (every member written, copies
 * included) to fn; NULL turns it off. Set before the adds, it also reports each resource file
 * or resource added (appkg_writer_add_file, _add_resource, _add_directory) with the bytes and
 * members added so far and both totals 0 (not known yet): in path order the adds do most of
 * the work (read, check, digest and compress), and finish little more than the manifest. */
APPKG_API void appkg_writer_set_progress(appkg_writer *w, appkg_progress_fn fn, void *ctx);

/* Report the progress of sequential reading (appkg_reader_next, and so appkg_extract of a
 * whole package and a full verification) to fn; random reads are not counted. NULL turns it
 * off. */
APPKG_API void appkg_reader_set_progress(appkg_reader *r, appkg_progress_fn fn, void *ctx);

/* The Argon2id preset a secrets.enc blob was sealed with: APPKG_KDF_INTERACTIVE, _MODERATE or
 * _SENSITIVE, or APPKG_KDF_KEEP (0) for parameters that match no preset; a negative code for a
 * blob whose header does not parse. Lets a caller re-seal at the same cost with a fresh salt. */
APPKG_API int appkg_secrets_kdf_level(const void *blob, size_t len);

/* ---- OCI registries (spec section 22) --------------------------------------------------- */

/* A registry client: one reference (oci://HOST[:PORT]/REPO[:TAG][@sha256:HEX]) and the options
 * of one push, pull, remote inspection, tag listing or login check. Every response is treated
 * as hostile: bodies are bounded, digests checked, nothing the registry names reaches the file
 * system. Transport is libcurl (HTTPS by default, proxies from the environment); the library
 * never prints: the log callback receives one line per request (method, URL, status, bytes),
 * never a header, credential or token. */
typedef struct appkg_oci appkg_oci;

/* A line for -v output; valid during the call. */
typedef void (*appkg_oci_log_fn)(void *ctx, const char *line);

struct appkg_oci_options {
	const char *username;          /* with password: basic credentials, or NULL */
	const char *password;          /* copied into guarded memory, wiped at appkg_oci_free */
	size_t password_len;
	const char *ca_file;           /* a PEM file of CAs trusted besides the system store */
	int plain_http;                /* 1: http:// instead of https:// (never a fallback) */
	const char *const *resolve;    /* resolve_count "HOST:PORT:ADDR" entries, as curl's --resolve */
	size_t resolve_count;
	uint64_t chunk_size;           /* push: blobs larger are sent in PATCH chunks of this size;
					* 0 means 8 MiB */
	appkg_oci_log_fn log;          /* or NULL */
	void *log_ctx;
	appkg_progress_fn progress;    /* layer upload or download: bytes done of total, or NULL */
	void *progress_ctx;
};

/* A new client, or NULL if out of memory. */
APPKG_API appkg_oci *appkg_oci_new(void);

/* Copy the options (strings are copied; the password into guarded memory). */
APPKG_API int appkg_oci_set_options(appkg_oci *c, const struct appkg_oci_options *o);

/* Parse a reference oci://HOST[:PORT]/REPO[:TAG][@sha256:<64 lowercase hex>]: HOST a DNS name,
 * IPv4 address or [IPv6] address, REPO lowercase path components as the OCI distribution spec
 * allows, TAG [A-Za-z0-9_][A-Za-z0-9._-]{0,127}. APPKG_ERR_REFERENCE (the message says which
 * part) for anything else. set_registry takes HOST[:PORT] alone (login). */
APPKG_API int appkg_oci_set_reference(appkg_oci *c, const char *reference);
APPKG_API int appkg_oci_set_registry(appkg_oci *c, const char *host);

/* Set the tag (push without one takes the package's version); APPKG_ERR_REFERENCE if the text
 * is not a valid tag. */
APPKG_API int appkg_oci_set_tag(appkg_oci *c, const char *tag);

/* Parts of the reference, borrowed; NULL when absent. host includes ":PORT" when given. */
APPKG_API const char *appkg_oci_host(const appkg_oci *c);
APPKG_API const char *appkg_oci_repository(const appkg_oci *c);
APPKG_API const char *appkg_oci_tag(const appkg_oci *c);
APPKG_API const char *appkg_oci_digest(const appkg_oci *c);

/* GET /v2/ with the credentials (the challenge flow included): 0 when the registry accepts
 * them, APPKG_ERR_REGISTRY_AUTH when it refuses them or wants some and none were given. */
APPKG_API int appkg_oci_check_login(appkg_oci *c);

/* Push the package file at package_path as the artifact of spec section 22: the config blob
 * (its manifest.json) and the layer (the file), each only when HEAD says the registry lacks
 * it, then the image manifest under the reference's tag (required: set one with
 * appkg_oci_set_tag). digest receives "sha256:<64 hex>" of the image manifest (72 bytes). */
APPKG_API int appkg_oci_push(appkg_oci *c, const char *package_path, char *digest);

/* Pull the reference (a tag or a digest is required) into a temporary file: beside dest
 * (".DEST.tmp-PID-XXXXXXXX", mode 0600), or when dest is NULL an unlinked one in $TMPDIR. The
 * image manifest must be an appkg artifact (and match the reference's digest); the layer is
 * checked for size and sha256 while it streams, and the config blob must equal the package's
 * manifest.json. On success *fd is a descriptor on the temporary file (borrowed: the handle
 * closes it), at offset 0, for the caller's full verification (appkg_reader_open_fd). Nothing
 * is at dest until appkg_oci_pull_commit; appkg_oci_free removes an uncommitted temporary. */
APPKG_API int appkg_oci_pull(appkg_oci *c, const char *dest, int *fd);

/* After the caller verified the pulled package: fsync, rename the temporary over dest, fsync
 * its directory. With dest NULL nothing is renamed (the caller copies from the descriptor). */
APPKG_API int appkg_oci_pull_commit(appkg_oci *c);

/* Remote inspection: fetch only the image manifest and the config blob (checked against its
 * descriptor). *config (the package's manifest.json) and *signature (the text of
 * manifest.json.minisig from the manifest's annotation, or NULL when unsigned) are borrowed
 * until appkg_oci_free. */
APPKG_API int appkg_oci_fetch_config(appkg_oci *c, const char **config, size_t *len,
				     const char **signature);

/* The repository's tags, in the registry's order, following Link pagination (bounded); fn is
 * called once per tag (the string valid during the call). Tags that are not valid tag text
 * are refused (APPKG_ERR_REGISTRY). */
typedef void (*appkg_oci_tag_fn)(void *ctx, const char *tag);
APPKG_API int appkg_oci_tags(appkg_oci *c, appkg_oci_tag_fn fn, void *ctx);

/* The image manifest digest ("sha256:...") of the last push, pull or fetch, else NULL. */
APPKG_API const char *appkg_oci_manifest_digest(const appkg_oci *c);

/* Response body bytes received so far (every request: challenges, tokens, manifests, blobs). */
APPKG_API uint64_t appkg_oci_bytes_received(const appkg_oci *c);

APPKG_API const char *appkg_oci_error(const appkg_oci *c);

/* Wipe the credentials and tokens, remove an uncommitted pull temporary, free. */
APPKG_API void appkg_oci_free(appkg_oci *c);

/* ---- memory ----------------------------------------------------------------------------- */

/* Wipe and release memory returned by appkg_reader_secrets. NULL is a no-op. */
APPKG_API void appkg_secure_free(void *p, size_t len);

#ifdef __cplusplus
}
#endif
#endif
