/* SPDX-License-Identifier: MIT */
/*
 * Declarations shared by the files of libappkg; nothing here is public. Each concern has its
 * own file: errors.c (codes, messages), buf.c (byte buffers, little-endian, hex), names.c
 * (member-name rules), tar.c (canonical tar entries), container.c (zstd frames, seek table,
 * member index), json.c and jsoncheck.c (strict JSON), layout.c (which paths are members),
 * manifest.c, secrets.c, secretnames.c, io.c (file writes), reader.c, writer.c (its handle in
 * writer.h) and writer_select.c, resources.c (the resource listing), extract.c (package to
 * directory), files.c (signed files, sealed secrets, atomic replace), problem.c (problems as
 * data), directory.c (a directory as input), diff.c and diffjson.c (comparing two packages),
 * select.c (the closure of a selection), merge.c, placeholders.c (finding and binding
 * placeholders), bindings.c (the bindings handle), plan.c and plangraph.c (a plan against a
 * target; its handle in the private plan.h), oci.c, ociartifact.c, ocipush.c and ocihttp.c (the
 * OCI registry client and its libcurl transport; its handle in the private oci.h).
 */
#ifndef APPKG_INTERNAL_H
#define APPKG_INTERNAL_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "appkg/appkg.h"
#include "limits.h"

/*
 * Internal functions keep short names in the source; the linker sees them as appkg__NAME, so
 * that every global symbol of libappkg.a carries the library prefix and none can clash with
 * a program or another library (json_validate would sit in Jansson's namespace). The shared
 * library exports only what include/appkg/ declares (APPKG_API, -fvisibility=hidden).
 * tests/cli/test_symbols.sh checks both. A new internal function gets a line here.
 */
#define buf_append appkg__buf_append
#define buf_append_zeros appkg__buf_append_zeros
#define buf_free appkg__buf_free
#define buf_reserve appkg__buf_reserve
#define buf_reserve_exact appkg__buf_reserve_exact
#define container_free appkg__container_free
#define container_open appkg__container_open
#define diff_add appkg__diff_add
#define diff_value_text appkg__diff_value_text
#define diff_values appkg__diff_values
#define digest_bytes appkg__digest_bytes
#define blake2b_256 appkg__blake2b_256
#define blake2b_256_many appkg__blake2b_256_many
#define blake2b_256_init appkg__blake2b_256_init
#define blake2b_256_update appkg__blake2b_256_update
#define blake2b_256_final appkg__blake2b_256_final
#define blake2b_256_many_plain appkg__blake2b_256_many_plain
#define blake2b_256_many_x8 appkg__blake2b_256_many_x8
#define blake2b_x8_usable appkg__blake2b_x8_usable
#define frame_decode appkg__frame_decode
#define frame_decode_from appkg__frame_decode_from
#define frame_encode appkg__frame_encode
#define frame_encode_begin appkg__frame_encode_begin
#define frame_encoder_new appkg__frame_encoder_new
#define get_le16 appkg__get_le16
#define get_le32 appkg__get_le32
#define get_le64 appkg__get_le64
#define hex_decode appkg__hex_decode
#define hex_encode appkg__hex_encode
#define http_response_free appkg__http_response_free
#define http_same_origin appkg__http_same_origin
#define http_send appkg__http_send
#define index_encode appkg__index_encode
#define io_commit appkg__io_commit
#define io_copy_range appkg__io_copy_range
#define io_copy_range_at appkg__io_copy_range_at
#define io_pread_all appkg__io_pread_all
#define io_read_file appkg__io_read_file
#define io_read_file_at appkg__io_read_file_at
#define io_remove_tree appkg__io_remove_tree
#define io_rename appkg__io_rename
#define io_spool appkg__io_spool
#define io_sync appkg__io_sync
#define io_sync_dir_of appkg__io_sync_dir_of
#define io_temp_beside appkg__io_temp_beside
#define io_temp_dir_beside appkg__io_temp_dir_beside
#define io_write_all appkg__io_write_all
#define io_write_file_at appkg__io_write_file_at
#define json_array_elements appkg__json_array_elements
#define json_canonical appkg__json_canonical
#define json_check_resource appkg__json_check_resource
#define json_check_resource_marks appkg__json_check_resource_marks
#define json_string_decode appkg__json_string_decode
#define json_member_span appkg__json_member_span
#define json_object_keys appkg__json_object_keys
#define json_parse_strict appkg__json_parse_strict
#define json_validate appkg__json_validate
#define json_values_are_strings appkg__json_values_are_strings
#define manifest_text_start appkg__manifest_text_start
#define manifest_text_next appkg__manifest_text_next
#define manifest_text_free appkg__manifest_text_free
#define manifest_text_length appkg__manifest_text_length
#define manifest_check_placeholders appkg__manifest_check_placeholders
#define manifest_check_user appkg__manifest_check_user
#define manifest_free appkg__manifest_free
#define manifest_load appkg__manifest_load
#define manifest_load_indexed appkg__manifest_load_indexed
#define manifest_read appkg__manifest_read
#define manifest_validate appkg__manifest_validate
#define member_path_check appkg__member_path_check
#define name_char_control appkg__name_char_control
#define name_fold_key appkg__name_fold_key
#define names_check_collisions appkg__names_check_collisions
#define oci_digest_ok appkg__oci_digest_ok
#define oci_request appkg__oci_request
#define oci_tag_ok appkg__oci_tag_ok
#define oci_url appkg__oci_url
#define problem_fill appkg__problem_fill
#define problem_set_last appkg__problem_set_last
#define placeholder_name_ok appkg__placeholder_name_ok
#define placeholders_bind appkg__placeholders_bind
#define placeholders_walk appkg__placeholders_walk
#define put_le16 appkg__put_le16
#define put_le32 appkg__put_le32
#define put_le64 appkg__put_le64
#define reader_err appkg__reader_err
#define reader_frame_bytes appkg__reader_frame_bytes
#define reader_frame_copy appkg__reader_frame_copy
#define reader_frame_read appkg__reader_frame_read
#define reader_file_changed appkg__reader_file_changed
#define reader_source_fd appkg__reader_source_fd
#define reader_file_renamed appkg__reader_file_renamed
#define reader_tar_mtime appkg__reader_tar_mtime
#define reader_manifest_view appkg__reader_manifest_view
#define reader_open_owned appkg__reader_open_owned
#define reader_reports_problems appkg__reader_reports_problems
#define reader_resources_slot appkg__reader_resources_slot
#define resources_entry appkg__resources_entry
#define resources_free appkg__resources_free
#define reader_read_digest_only appkg__reader_read_digest_only
#define resource_path_is appkg__resource_path_is
#define resource_path_make appkg__resource_path_make
#define resource_path_split appkg__resource_path_split
#define resource_path_make_dep appkg__resource_path_make_dep
#define select_closure appkg__select_closure
#define writer_copy_cut appkg__writer_copy_cut
#define writer_copy_note appkg__writer_copy_note
#define writer_copy_put appkg__writer_copy_put
#define writer_copy_starts_frame appkg__writer_copy_starts_frame
#define writer_copy_verify appkg__writer_copy_verify
#define writer_copy_free appkg__writer_copy_free
#define writer_copy_frame0_level appkg__writer_copy_frame0_level
#define writer_copy_flush appkg__writer_copy_flush
#define writer_copy_whole appkg__writer_copy_whole
#define writer_err appkg__writer_err
#define writer_put_later appkg__writer_put_later
#define secrets_check_json appkg__secrets_check_json
#define secrets_decrypt appkg__secrets_decrypt
#define secrets_encrypt appkg__secrets_encrypt
#define secrets_parse_header appkg__secrets_parse_header
#define seek_table_encode appkg__seek_table_encode
#define sig_key_free appkg__sig_key_free
#define sig_key_id_hex appkg__sig_key_id_hex
#define sig_keygen appkg__sig_keygen
#define sig_keygen_limits appkg__sig_keygen_limits
#define sig_load_public appkg__sig_load_public
#define sig_load_secret appkg__sig_load_secret
#define sig_secret_encrypted appkg__sig_secret_encrypted
#define sig_sign appkg__sig_sign
#define sig_signer_id appkg__sig_signer_id
#define sig_verify appkg__sig_verify
#define tar_check_end appkg__tar_check_end
#define tar_entry_bytes appkg__tar_entry_bytes
#define tar_parse_entry appkg__tar_parse_entry
#define tar_put_header appkg__tar_put_header
#define tar_put_padding appkg__tar_put_padding
#define writer_problem appkg__writer_problem
#define writer_member_free appkg__writer_member_free
#define writer_apply_selection appkg__writer_apply_selection
#define writer_add_prepared appkg__writer_add_prepared
#define writer_prepare_end appkg__writer_prepare_end
#define writer_prepare_start appkg__writer_prepare_start
#define writer_prepare_wait appkg__writer_prepare_wait
#define writer_prepared_free appkg__writer_prepared_free
#define writer_prepare_one appkg__writer_prepare_one
#define writer_pool_free appkg__writer_pool_free
#define writer_resource_path appkg__writer_resource_path
#define writer_check_bytes appkg__writer_check_bytes
#define writer_grow_frames appkg__writer_grow_frames
#define writer_frame0 appkg__writer_frame0
#define writer_index_frame0 appkg__writer_index_frame0
#define APPKG_MSG_MAX 512

/* ---- errors.c ---- */
struct appkg_err {
	int code;
	char msg[APPKG_MSG_MAX];
	unsigned line, column; /* JSON position of a JSON problem (json.c, jsoncheck.c), else 0 */
};
/* Record code and a formatted message on e (first error wins); returns code. The message is
 * made one line of valid UTF-8: controls, bidi controls and bytes that are not UTF-8 (from a
 * hostile member path) are written %XX, as in member names. */
int appkg_fail(struct appkg_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Map errno to an APPKG_ERR_* environment code. */
int appkg_errno_code(int err);

/* ---- buf.c ---- */
struct buf {
	unsigned char *data;
	size_t len, cap;
};
int buf_reserve(struct buf *b, size_t extra);
int buf_reserve_exact(struct buf *b, size_t extra); /* no rounding up: for one large buffer */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_zeros(struct buf *b, size_t n);
void buf_free(struct buf *b);
void put_le16(unsigned char *p, uint16_t v);
void put_le32(unsigned char *p, uint32_t v);
void put_le64(unsigned char *p, uint64_t v);
uint16_t get_le16(const unsigned char *p);
uint32_t get_le32(const unsigned char *p);
uint64_t get_le64(const unsigned char *p);
void hex_encode(char *out, const unsigned char *in, size_t n); /* out: 2n+1 */
int hex_decode(unsigned char *out, size_t n, const char *in);  /* 0 if exactly 2n hex digits */
void digest_bytes(unsigned char out[APPKG_DIGEST_BYTES], const void *p, size_t n);
/* BLAKE2b with a 32-byte digest and no key (blake2b.c): crypto_generichash's result. */
void blake2b_256(unsigned char out[32], const void *data, size_t len);
/* The same of a message given in pieces: init, update for each piece, final. */
struct blake2b_state {
	uint64_t h[8], t; /* t: the bytes compressed so far */
	unsigned char buf[128];
	size_t n;        /* bytes held in buf, not yet compressed: 1 to 128 once any came */
};
void blake2b_256_init(struct blake2b_state *s);
void blake2b_256_update(struct blake2b_state *s, const void *data, size_t len);
void blake2b_256_final(struct blake2b_state *s, unsigned char out[32]);
/* The same of n messages of any lengths (out[i] of data[i], len[i] bytes), on eight lanes
 * of AVX-512 where the CPU has it, else one after the other. The two ways by name, for the
 * tests: blake2b_256_many_x8 returns -1, doing nothing, where it cannot run. */
void blake2b_256_many(unsigned char (*out)[32], const void *const *data, const size_t *len,
		      size_t n);
void blake2b_256_many_plain(unsigned char (*out)[32], const void *const *data,
			    const size_t *len, size_t n);
int blake2b_256_many_x8(unsigned char (*out)[32], const void *const *data, const size_t *len,
			size_t n);
int blake2b_x8_usable(void);

/* ---- names.c ---- */
enum member_kind { MEMBER_MANIFEST, MEMBER_SIGNATURE, MEMBER_RESOURCE, MEMBER_SECRETS };
#define MANIFEST_PATH "manifest.json"
#define SIGNATURE_PATH "manifest.json.minisig"
#define SECRETS_PATH "secrets.enc"
/* Classify a member path and check its rules; returns the kind (>= 0) or an error code. */
int member_path_check(const char *path, size_t len, struct appkg_err *e);
/* A C0 or C1 control, DEL or a bidi control: escaped in names and in messages. */
int name_char_control(uint32_t c);
/* Case-folded NFC key of a path for collision checks; malloc'd or NULL. */
char *name_fold_key(const char *path, size_t len, size_t *key_len);
/* Check that no two of n sorted, distinct paths collide after folding. */
int names_check_collisions(const char *const *paths, size_t n, struct appkg_err *e);
/* Split "resources/<type>/<name>.json" into its components (pointers into path). */
void resource_path_split(const char *path, const char **type, size_t *type_len,
			 const char **name, size_t *name_len);
/* Build "resources/<type>/<name>.json"; malloc'd. Components must already be checked. */
char *resource_path_make(const char *type, const char *name);
/* Is path resource_path_make(type, appkg_name_encode(name)), type a valid component? */
int resource_path_is(const char *path, const char *type, const char *name);

/* ---- tar.c ---- */
#define TAR_BLOCK 512u
/* Append the canonical entry headers (pax if needed, then ustar) for a member. */
int tar_put_header(struct buf *b, const char *path, uint64_t size, uint64_t mtime);
/* Append data padding after size bytes of data. */
int tar_put_padding(struct buf *b, uint64_t size);
/* Bytes the whole entry takes: headers + data + padding. */
uint64_t tar_entry_bytes(const char *path, uint64_t size);
/* Parse one canonical entry at p (avail bytes). On success fills path (NUL-terminated copy in
 * path_buf, APPKG_MAX_PATH_BYTES + 1), data offset and size, the entry's total length and its
 * mtime (a pax header's must be the same). */
struct tar_entry {
	char path[APPKG_MAX_PATH_BYTES + 1];
	size_t path_len;
	size_t data_off;
	uint64_t size;
	uint64_t total;
	uint64_t mtime;
};
int tar_parse_entry(const unsigned char *p, size_t avail, struct tar_entry *t, struct appkg_err *e);
/* 0 if p holds exactly the 1024-byte end-of-archive marker. */
int tar_check_end(const unsigned char *p, size_t len, struct appkg_err *e);
#define TAR_END_BYTES 1024u

/* ---- container.c ---- */
#define SEEK_TABLE_MAGIC 0x8F92EAB1u
#define SKIPPABLE_SEEK 0x184D2A5Eu
#define SKIPPABLE_INDEX 0x184D2A5Au
#define INDEX_MAGIC "APKGIDX1"
struct frame_info {
	uint64_t offset; /* file offset of the compressed frame */
	uint32_t csize, dsize;
	uint64_t doffset; /* offset of its first byte in the tar stream */
};
struct index_entry {
	char *path; /* NUL-terminated, owned by the index's name pool */
	uint32_t path_len, frame, offset;
	int kind; /* enum member_kind */
	uint64_t size;
	unsigned char digest[APPKG_DIGEST_BYTES];
};
/* Parse the seek table and member index from the end of a package of file_size bytes; pread
 * is a callback reading from the package. */
typedef int (*pread_fn)(void *ctx, void *buf, size_t len, uint64_t off, struct appkg_err *e);
struct container {
	struct frame_info *frames;
	uint32_t nframes;
	struct index_entry *entries;
	uint32_t nentries;
	char *names; /* pool */
	uint64_t data_end;
};
int container_open(struct container *c, pread_fn rd, void *ctx, uint64_t file_size,
		   struct appkg_err *e);
void container_free(struct container *c);
/* Decompress frame i into out (resized to its dsize), checking window, size and checksum. */
int frame_decode(void *dctx, const unsigned char *src, size_t csize, struct buf *out,
		 uint32_t dsize, struct appkg_err *e);
/* The same for a frame of csize bytes at off, read through rd in FRAME_CHUNK pieces into in, so
 * that the compressed side never needs more memory than one chunk (the fuzz build makes the
 * chunk tiny, so that small inputs take this path). */
#ifndef FRAME_CHUNK
#define FRAME_CHUNK (1u << 20)
#endif
int frame_decode_from(void *dctx, pread_fn rd, void *ctx, uint64_t off, uint32_t csize,
		      struct buf *in, struct buf *out, uint32_t dsize, struct appkg_err *e);
/* A zstd compression context (ZSTD_CCtx) set up with the parameters of spec §3.2 at the
 * given level, or NULL; free it with ZSTD_freeCCtx. */
void *frame_encoder_new(int level);
/* Compress src into out as one frame with content size and checksum. */
int frame_encode(void *cctx, const unsigned char *src, size_t len, struct buf *out,
		 struct appkg_err *e);
/* Set up cctx (frame_encoder_new's) for one frame of len bytes given in parts to
 * ZSTD_compressStream2 from a buffer that stays in place: frame_encode's bytes. 0 or -1. */
int frame_encode_begin(void *cctx, size_t len);
/* Serialise the index and the seek table. */
int index_encode(struct buf *out, const struct index_entry *entries, uint32_t n);
int seek_table_encode(struct buf *out, const struct frame_info *frames, uint32_t n);

/* ---- json.c ---- */
/* Parse JSON bytes strictly (UTF-8, no duplicate keys, depth limit, one value). On failure the
 * message names what and where ("line 3 column 7: ..."). */
json_t *json_parse_strict(const void *data, size_t len, struct appkg_err *e, const char *subject);
/* Check that data is one JSON object within the limits, without building it (jsoncheck.c). */
int json_check_resource(const void *data, size_t len, struct appkg_err *e, const char *subject);
/* json_check_resource, and *marks set to 1 when a string's raw text holds "[[appkg:" or "\u":
 * left 0, a valid document holds no placeholder (spec §20.1) and needs no placeholder scan. */
int json_check_resource_marks(const void *data, size_t len, struct appkg_err *e,
			      const char *subject, int *marks);
/* Check that data is one JSON object of at most max bytes (jsoncheck.c). */
int json_validate(const void *data, size_t len, size_t max, struct appkg_err *e, const char *subject);
/* In an object json_validate accepted: is every member's value a string? Copies nothing, so it
 * suits plaintext secrets. */
int json_values_are_strings(const void *data, size_t len);
/* In such an object: fn for each key, decoded and NUL-terminated, values not copied. */
int json_object_keys(const void *data, size_t len, int (*fn)(void *ctx, const char *key), void *ctx);
/* In a document already checked: the span of the value of top-level member key (1 if found),
 * and a callback for each element span of an array. */
int json_member_span(const unsigned char *p, size_t n, const char *key, size_t *start,
		     size_t *end);
int json_array_elements(const unsigned char *p, size_t n,
			int (*fn)(void *ctx, const unsigned char *el, size_t len), void *ctx);
/* Canonical text: keys sorted, 2-space indent, UTF-8, trailing newline; malloc'd. */
char *json_canonical(const json_t *v, size_t *len);

/* ---- manifest.c ---- */
struct manifest_resource {
	const char *path; /* in the manifest's pool */
	uint64_t size;
	unsigned char digest[APPKG_DIGEST_BYTES];
};
/* Validate a package manifest (schema, version, sorted resources) and return the parsed
 * document with a view of its resources. */
struct manifest {
	json_t *root; /* without the resources array, which is loaded entry by entry */
	struct buf pool; /* resource paths, then depends_on strings, NUL-terminated */
	size_t *deps;    /* per resource: pool offset of its first dependency; ndeps[i] of them */
	uint32_t *ndeps;
	struct manifest_resource *res;
	size_t nres;
	int has_secrets;
	uint64_t secrets_size;
	unsigned char secrets_digest[APPKG_DIGEST_BYTES];
	int major;                      /* of format_version */
	struct manifest_input *inputs;  /* format 2: "inputs", sorted by name */
	size_t ninputs;
	uint32_t *res_inputs;           /* per resource: how many inputs list it in used_by */
};
/* One entry of "inputs" (spec §20.3); strings borrowed from the manifest's tree. */
struct manifest_input {
	const char *name, *description;
	char *default_json; /* compact JSON, malloc'd, or NULL */
	int required;
	const char **used_by;
	size_t nused;
};
int manifest_load(struct manifest *m, const void *data, size_t len, struct appkg_err *e);
/* The same for the manifest of the package whose index is c: the arrays are sized by the
 * resources c holds, and a path c holds points at c's copy (valid as long as c), not at one
 * of its own. Same checks, same outcome. */
int manifest_load_indexed(struct manifest *m, const void *data, size_t len,
			  const struct container *c, struct appkg_err *e);
/* manifest_load_indexed is manifest_validate (json_validate, with the manifest's codes), then
 * manifest_read, which is safe on any bytes but whose outcome stands only if they are valid. */
int manifest_validate(const void *data, size_t len, struct appkg_err *e);
int manifest_read(struct manifest *m, const void *data, size_t len, const struct container *c,
		  struct appkg_err *e);
void manifest_free(struct manifest *m);
/* Format 2: scan resource path's data for placeholders and check them against "inputs";
 * APPKG_ERR_PLACEHOLDER with the message on e when they disagree. 0 for format 1. */
int manifest_check_placeholders(const struct manifest *m, const char *path, const void *data,
				size_t len, struct appkg_err *e);
/* Build the manifest a writer stores, from the user manifest and the members. */
struct writer_member {
	char *path;
	char *type, *name; /* file-name form */
	uint64_t size;
	unsigned char digest[APPKG_DIGEST_BYTES];
	char *fs_path;      /* source file, or NULL */
	unsigned char *mem; /* in-memory data, or NULL */
	appkg_reader *src;  /* package to copy the member from, or NULL */
	json_t *uses;       /* input names the resource uses (an object used as a set), or NULL */
	json_t *secret_refs; /* its secret references, [name, line, column] each, or NULL */
	int placeholders;   /* 1 when it holds a placeholder of any kind */
};
/* The manifest text (json_canonical's form) made piece by piece, so that it is never held
 * whole: manifest_text_next gives the next piece (valid until the next call) and returns 1,
 * or 0 after the last, or an error code. The top level is built as a tree, the resources one
 * entry at a time. With check, every piece is first checked as manifest_load would check the
 * whole text (the writer's self-check). Made twice from the same input, the text is the same. */
struct manifest_text {
	char *top;                  /* the top level, with "resources": [] */
	size_t top_len, start, end; /* where that [] is */
	json_t *map;                /* path -> the user's entry */
	const struct writer_member *m;
	size_t n, i;                /* entries, and the next to make */
	int stage;
	struct buf piece;
	struct made_check *check;
};
int manifest_text_start(struct manifest_text *t, json_t *user, const struct writer_member *m,
			size_t n, const void *secrets_blob, size_t blob_len, const char *package_id,
			int check, struct appkg_err *e);
int manifest_text_next(struct manifest_text *t, const void **piece, size_t *len,
		       struct appkg_err *e);
/* Instead of manifest_text_next: the length of the whole text (on a fresh t, without check),
 * most entries counted without being made. */
int manifest_text_length(struct manifest_text *t, size_t *len, struct appkg_err *e);
void manifest_text_free(struct manifest_text *t);
/* What the user's manifest is checked against before it is built: the members (sorted by
 * path), the sorted paths of resources whose add failed (present, but not packed), and whether
 * entries without a member are dropped. Every problem goes to fn (when set); the first is also
 * recorded on e, whose code is returned. */
struct user_check {
	const struct writer_member *m;
	size_t n;
	char *const *rejected;
	size_t nrejected;
	int prune;
	appkg_problem_fn fn;
	void *ctx;
};
int manifest_check_user(json_t *user, const struct user_check *c, struct appkg_err *e);

/* ---- reader.c ---- */
/* appkg_reader_read without the JSON check, for a writer that verifies its whole output. */
int reader_read_digest_only(appkg_reader *r, const char *path, const void **data, size_t *len);
/* 1 with out holding the compressed bytes of the frame r decoded last, if its content is
 * exactly plain/len; else 0. */
int reader_frame_copy(appkg_reader *r, const void *plain, size_t len, struct buf *out);
/* Frame f of r: its seek-table entry into fi and, when out is not NULL, its compressed bytes
 * as stored, not decoded (a frame copied whole). 0 or a code; a failed read leaves its message
 * on r and r usable, as a failed appkg_reader_read does. */
int reader_frame_bytes(appkg_reader *r, uint32_t f, struct frame_info *fi, struct buf *out);
/* reader_frame_bytes for a thread beside the one that uses r: the compressed bytes of frame f
 * into out, reading only what the open set (the seek table, the file), with any failure on e
 * and r untouched. */
int reader_frame_read(appkg_reader *r, uint32_t f, struct buf *out, struct appkg_err *e);
/* 1 when the file r was opened from is no longer as it was then (another inode, size,
 * modification or change time), or cannot be looked at; 0 for a package in memory. */
int reader_file_changed(appkg_reader *r);
/* The file descriptor r reads its package from, or -1 for a package in memory or not open. */
int reader_source_fd(const appkg_reader *r);
/* The file r reads was renamed by the writer that checked it (its change time moved): take
 * its state now as the state it was opened in. */
void reader_file_renamed(appkg_reader *r);
/* The tar mtime every header of r repeats (spec 5.2), from frame 0. */
uint64_t reader_tar_mtime(const appkg_reader *r);
/* For the library's files that work on an open reader (extract.c, resources.c): its error
 * record; its checked manifest, or NULL (with the error recorded) when the reader is not open
 * or has failed; whether a problem handler is set; and the slot where resources.c keeps its
 * listing state, freed with the reader through resources_free. */
struct appkg_err *reader_err(appkg_reader *r);
const struct manifest *reader_manifest_view(appkg_reader *r);
int reader_reports_problems(const appkg_reader *r);
struct resources **reader_resources_slot(appkg_reader *r);
/* appkg_reader_open_fd, the reader then owning fd (closed by appkg_reader_free). */
int reader_open_owned(appkg_reader *r, int fd);
/* writer.c: a problem found outside writer.c, to the writer's handler; returns code. */
int writer_problem(appkg_writer *w, int code, const char *message);
void resources_free(struct resources *l);
/* The manifest entry of resource i, parsed (a new reference), or NULL. */
json_t *resources_entry(appkg_reader *r, size_t i);

/* ---- diff.c, diffjson.c ---- */
/* Where a value comparison is: the change subject and resource it reports, and the pointer so
 * far (NUL-terminated in pointer.data when not empty). */
struct diff_ctx {
	appkg_diff *d;
	int subject;
	const char *type, *name;
	struct buf pointer;
};
/* Record one change (strings copied, values shortened); 0 or APPKG_ERR_NO_MEMORY. */
int diff_add(appkg_diff *d, int kind, int subject, const char *type, const char *name,
	     const char *pointer, json_t *old_value, json_t *new_value);
/* Every difference between a and b, as changes below c's pointer; 0 or APPKG_ERR_NO_MEMORY. */
int diff_values(struct diff_ctx *c, json_t *a, json_t *b);
char *diff_value_text(json_t *v, size_t max);

/* ---- problem.c ---- */
/* Fill out from e. member names the member or file the problem is about (NULL: none); it must
 * outlive out. detail is the message after "member: " and "line L column C: ". */
void problem_fill(const struct appkg_err *e, const char *member, struct appkg_problem *out);
/* Record the outcome of a call without a handle for appkg_last_problem (this thread only);
 * member is the one of candidates (n paths the call was given) that the message is about. */
int problem_set_last(const struct appkg_err *e, const char *const *candidates, size_t n);

/* ---- secrets.c ---- */
struct secrets_header {
	uint64_t opslimit, memlimit;
	unsigned char salt[16];
	char package_id[129];
	size_t header_len;
};
int secrets_parse_header(const void *blob, size_t len, struct secrets_header *h, struct appkg_err *e);
int secrets_encrypt(struct buf *out, const char *plain, size_t len, const char *password,
		    size_t pwlen, enum appkg_kdf_level level, const struct secrets_header *prev,
		    const char *package_id, struct appkg_err *e);
int secrets_decrypt(const void *blob, size_t len, const char *password, size_t pwlen,
		    char **plain, size_t *plain_len, struct appkg_err *e);
int secrets_check_json(const char *data, size_t len, struct appkg_err *e);

/* ---- io.c ---- */
/* Every write to a package or an unpacked tree goes through these (appkg_extract and
 * appkg_sign_file too), so that the APPKG_CRASH_AFTER test hook (test builds only) sees each write, fsync,
 * rename, mkdir, creation and unlink. They return 0, a descriptor, or an APPKG_ERR_* code with
 * "subject: what: strerror" on e. */
int io_write_all(int fd, const void *p, size_t n, const char *subject, struct appkg_err *e);
int io_pread_all(int fd, void *p, size_t n, uint64_t off, struct appkg_err *e);
/* Create a temporary file ".BASE.tmp-PID-XXXXXXXX" beside path (read-write, locked) after
 * removing the leftovers of crashed runs for path; returns fd, fills tmp_path (malloc'd). */
int io_temp_beside(const char *path, char **tmp_path, struct appkg_err *e);
/* The same for a directory ".BASE.TAG-PID-XXXXXXXX"; returns its fd (O_RDONLY), locked. */
int io_temp_dir_beside(const char *path, const char *tag, char **tmp_path, struct appkg_err *e);
/* fsync fd, rename tmp over path, close, fsync the directory. */
int io_commit(int fd, const char *tmp_path, const char *path, struct appkg_err *e);
/* fsync(fd), or syncfs(fd) when whole_fs. */
int io_sync(int fd, int whole_fs, const char *subject, struct appkg_err *e);
int io_sync_dir_of(const char *path, struct appkg_err *e);
/* rename(2), or with exchange renameat2(RENAME_EXCHANGE): both must exist, they swap. */
int io_rename(const char *from, const char *to, int exchange, struct appkg_err *e);
/* Create the file path below dirfd (O_EXCL, O_NOFOLLOW; missing parents 0755) with data. */
int io_write_file_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
		     struct appkg_err *e);
/* Remove a tree without following links; best effort. */
void io_remove_tree(const char *path);
/* Copy a non-seekable fd into an unlinked temporary file in $TMPDIR (else /tmp); returns the
 * new fd. Refuses a stream of more than max bytes (APPKG_ERR_LIMIT_TOTAL) and one whose first
 * magic_len bytes are not magic (APPKG_ERR_NOT_APPKG), without reading on. */
int io_spool(int fd, uint64_t max, const void *magic, size_t magic_len, struct appkg_err *e);
/* Copy n bytes of in from offset off to out at its current position. */
int io_copy_range(int in, uint64_t off, uint64_t n, int out, const char *subject,
		  struct appkg_err *e);
/* The same to offset at of out, its position left as it is (threads may write other parts). */
int io_copy_range_at(int in, uint64_t off, uint64_t n, int out, uint64_t at, const char *subject,
		     struct appkg_err *e);
/* io_read_file of file in directory dirfd (AT_FDCWD: the current one), named path in errors;
 * *mode (if mode) the fstat mode of what was opened, 0 if nothing was. */
int io_read_file_at(int dirfd, const char *file, const char *path, struct buf *out, size_t max,
		    mode_t *mode, struct appkg_err *e);
int io_read_file(const char *path, struct buf *out, size_t max, struct appkg_err *e);


/* ---- select.c ---- */
/* Resources as a graph for a selection: n of them; find a selector (the forms of
 * appkg_reader_resource_find) and a depends_on entry ("<type>/<file-name form>"), each giving an
 * index or -1; dep gives the k-th depends_on of resource i, NULL past the last; path names i. */
struct select_graph {
	size_t n;
	void *ctx;
	long (*find)(void *ctx, const char *selector);
	long (*find_dep)(void *ctx, const char *dep);
	const char *(*dep)(void *ctx, size_t i, size_t k);
	const char *(*path)(void *ctx, size_t i);
};
/* Set chosen[i] (n bytes) for the selected resources and everything they depend on; returns
 * how many, or NOT_FOUND for a selector naming nothing, DEPENDENCY (naming both ends) for a
 * depends_on entry naming nothing. */
int select_closure(const struct select_graph *g, const char *const *selectors, size_t count,
		   unsigned char *chosen, struct appkg_err *e);
/* "resources/<dep>.json", malloc'd. */
char *resource_path_make_dep(const char *dep);

/* ---- placeholders.c (spec section 20) ---- */
#define PLACEHOLDER_NAME_MAX 64
/* One placeholder found in the decoded value of a string. */
struct ph_item {
	int kind;              /* APPKG_PLACEHOLDER_* */
	size_t off, len;       /* where in the decoded text */
	const char *name;      /* its name in the decoded text, not terminated; NULL for a literal */
	size_t name_len;
	size_t at;             /* the document's byte where it starts (an escape, perhaps) */
	unsigned line, column; /* of that byte, from 1 */
};
/* A string value that holds placeholders: its raw token and its decoded value. */
struct ph_string {
	size_t start, end;         /* the token in the document: its opening quote, past its close */
	const unsigned char *text; /* the decoded value */
	size_t len;
	const struct ph_item *items;
	size_t count;
};
typedef int (*ph_string_fn)(void *ctx, const struct ph_string *s);
/* Call fn (may be NULL) for each string value of json/len holding placeholders, in document
 * order; fn returns 0 to go on or a negative code. Returns the number of placeholders, or
 * APPKG_ERR_PLACEHOLDER (with line and column on e) for prefix text that is not one, one in an
 * object key or outside a string. Checks no other JSON rule. */
int placeholders_walk(const void *json, size_t len, ph_string_fn fn, void *ctx, struct appkg_err *e);
/* 1 if name (len bytes) is a name by the grammar: a letter, then up to 63 letters, digits,
 * '_', '-' or '.'. */
int placeholder_name_ok(const char *name, size_t len);
/* The string token opening at p[i]: its decoded value to out (room for its raw length; NULL
 * to count), the decoded length returned, *end past its closing quote (n when unclosed). */
size_t json_string_decode(const unsigned char *p, size_t n, size_t i, unsigned char *out,
			  size_t *end);
/* A value to bind: json (compact text); for a string also text, its decoded value. */
struct ph_value {
	const char *json; /* NULL for a secret, which is bound from text */
	size_t json_len;
	const unsigned char *text;
	size_t text_len;
	int is_string;
};
/* 1 with v filled when the input or secret name has a value, else 0. */
typedef int (*ph_lookup_fn)(void *ctx, int kind, const char *name, size_t name_len,
			    struct ph_value *v);
/* Bind json/len (validated first as a resource) by spec section 20.2; flags as appkg_bind.
 * *out (malloc'd, NUL after *out_len bytes) is wiped by whoever frees it. */
int placeholders_bind(const void *json, size_t len, ph_lookup_fn lookup, void *ctx, int flags,
		      char **out, size_t *out_len, struct appkg_err *e);

/* ---- writer.c, for merge.c ---- */
struct appkg_err *writer_err(appkg_writer *w);

#endif
