/* SPDX-License-Identifier: MIT */
/*
 * Ed25519 signatures in minisign's file formats (spec section "Signature"), so that stock
 * minisign reads our keys and signatures and we read its. Key files are an untrusted comment
 * line and one base64 line; the secret one holds the key id, the secret key and a BLAKE2b
 * checksum, XORed with an scrypt stream when encrypted (the checksum is how a wrong password is
 * told). Signature files are four lines: untrusted comment, "ED" + key id + Ed25519 signature of
 * BLAKE2b-512(message), the trusted comment, and a signature over signature || comment. Parsing
 * is strict and bounded; secret keys and KDF streams live in sodium_malloc memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "signature.h"

#define UNTRUSTED_PREFIX "untrusted comment: "
#define TRUSTED_PREFIX "trusted comment: "
#define SIGNATURE_COMMENT "signature from appkg secret key"
#define ALG_LEGACY "Ed" /* signature over the message itself; also the key algorithm */
#define ALG_HASHED "ED" /* signature over BLAKE2b-512(message) */
#define KDF_SCRYPT "Sc"
#define KDF_NONE "\0\0"
#define CHK_BLAKE2B "B2"

/* minisign key files are about 300 bytes; its untrusted comment may take up to 1 KiB. */
#define KEY_FILE_MAX 4096u
#define KEY_BUF (KEY_FILE_MAX + 3u) /* room to add a last newline and a NUL */

#define B64_LEN(n) (sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL) - 1u)
#define HASH_BYTES crypto_generichash_BYTES_MAX /* 64: BLAKE2b-512 prehash */
#define CHK_BYTES 32u
#define OPS_MAX crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE
#define MEM_MAX crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_SENSITIVE

/* Byte layouts: public key, secret key (the last 104 bytes are what the KDF stream covers) and
 * the signature line. */
enum { PK_ALG = 0, PK_KEYNUM = 2, PK_KEY = 10, PK_BLOB = 42 };
enum {
	SK_SIG_ALG = 0, SK_KDF_ALG = 2, SK_CHK_ALG = 4, SK_SALT = 6, SK_OPSLIMIT = 38,
	SK_MEMLIMIT = 46, SK_KEYNUM = 54, SK_SECRET = 62, SK_CHK = 126, SK_BLOB = 158
};
enum { SK_STREAM = SK_BLOB - SK_KEYNUM };
enum { SG_ALG = 0, SG_KEYNUM = 2, SG_SIG = 10, SG_BLOB = 74 };

static int fail_errno(struct appkg_err *e, const char *path, const char *what)
{
	int err = errno;

	return appkg_fail(e, appkg_errno_code(err), "%s: %s: %s", path, what, strerror(err));
}

static int fail_memory(struct appkg_err *e)
{
	return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
}

static void id_hex(const unsigned char *id, char out[17])
{
	snprintf(out, 17, "%016llX", (unsigned long long)get_le64(id));
}

void sig_key_id_hex(const struct appkg_key *k, char out[17])
{
	id_hex(k->id, out);
}

/* ---- text: base64 lines and line splitting ---- */

/* Write "<base64 of bin>\n" at p (room for B64_LEN(n) + 1 bytes); returns the end. */
static char *put_b64_line(char *p, const unsigned char *bin, size_t n)
{
	sodium_bin2base64(p, B64_LEN(n) + 1, bin, n, sodium_base64_VARIANT_ORIGINAL);
	p += B64_LEN(n);
	*p++ = '\n';
	return p;
}

/* Decode a line that must be the padded base64 of exactly n bytes, nothing else. */
static int b64_exact(unsigned char *out, size_t n, const char *line)
{
	size_t len = strlen(line), got = 0;
	const char *end = NULL;

	if (len != B64_LEN(n) || sodium_base642bin(out, n, line, len, NULL, &got, &end,
						   sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == n && end == line + len ? 0 : -1;
}

/* Split NUL-terminated text of len bytes into exactly want lines, each ended by "\n" (made a
 * NUL in place). lenient (key files, as minisign reads them) also drops a "\r" before "\n". */
static int split_lines(char *text, size_t len, char **lines, size_t want, int lenient)
{
	size_t n = 0, start = 0;

	if (memchr(text, '\0', len) || (!lenient && memchr(text, '\r', len)))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\n')
			continue;
		if (n == want)
			return -1;
		text[i] = '\0';
		if (lenient && i > start && text[i - 1] == '\r')
			text[i - 1] = '\0';
		lines[n++] = text + start;
		start = i + 1;
	}
	return n == want && start == len ? 0 : -1;
}

static int has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* A trusted comment: one line of at most SIG_TRUSTED_MAX bytes, no control characters but tab
 * (minisign's own comments use tabs; others could rewrite a terminal when printed). */
static int comment_ok(const char *s)
{
	if (strlen(s) > SIG_TRUSTED_MAX)
		return 0;
	for (; *s; s++)
		if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
			return 0;
	return 1;
}

/* ---- key files ---- */

/* Read a key file (at most KEY_FILE_MAX bytes) into buf (KEY_BUF bytes). */
static int read_key_file(const char *path, char *buf, size_t *len, struct appkg_err *e)
{
	struct stat st;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK), rc = 0;

	*len = 0;
	if (fd < 0)
		return fail_errno(e, path, "cannot open");
	if (fstat(fd, &st) != 0)
		rc = fail_errno(e, path, "cannot stat");
	else if (!S_ISREG(st.st_mode))
		rc = appkg_fail(e, APPKG_ERR_IO, "%s: not a regular file", path);
	while (!rc && *len <= KEY_FILE_MAX && (r = read(fd, buf + *len, KEY_FILE_MAX + 1 - *len))) {
		if (r < 0 && errno != EINTR)
			rc = fail_errno(e, path, "read");
		else if (r > 0)
			*len += (size_t)r;
	}
	close(fd);
	if (!rc && *len > KEY_FILE_MAX)
		rc = appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: over %u bytes, not a minisign key",
				path, KEY_FILE_MAX);
	return rc;
}

/* A key file's text: an untrusted comment line, then the base64 of exactly n bytes. */
static int parse_key_text(char *text, size_t len, unsigned char *out, size_t n, const char *what,
			  const char *path, struct appkg_err *e)
{
	char *lines[2];

	if (len > 0 && text[len - 1] != '\n')
		text[len++] = '\n'; /* minisign accepts a last line without newline */
	text[len] = '\0';
	if (split_lines(text, len, lines, 2, 1) != 0 || !has_prefix(lines[0], UNTRUSTED_PREFIX))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: not a minisign %s file (expected an "
				  "untrusted comment line and a key line)", path, what);
	if (b64_exact(out, n, lines[1]) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: not a minisign %s (bad base64 or "
				  "length)", path, what);
	return 0;
}

static int create_excl(const char *path, mode_t mode, struct appkg_err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);

	if (fd < 0 && errno == EEXIST)
		return appkg_fail(e, APPKG_ERR_EXISTS, "%s: already exists; key files are never "
				  "overwritten", path);
	return fd < 0 ? fail_errno(e, path, "cannot create") : fd;
}

/* Write the whole text and sync it. */
static int write_sync(int fd, const char *text, size_t len, const char *path, struct appkg_err *e)
{
	int rc = io_write_all(fd, text, len, path, e);

	if (!rc && fsync(fd) != 0)
		rc = fail_errno(e, path, "fsync");
	return rc;
}

/* ---- secret keys ---- */

/* BLAKE2b-256(sig alg || key id || secret key), minisign's secret key checksum. */
static void key_checksum(unsigned char out[CHK_BYTES], const unsigned char *blob)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, CHK_BYTES);
	crypto_generichash_update(&st, blob + SK_SIG_ALG, 2);
	crypto_generichash_update(&st, blob + SK_KEYNUM, SIG_KEYID_BYTES);
	crypto_generichash_update(&st, blob + SK_SECRET, crypto_sign_SECRETKEYBYTES);
	crypto_generichash_final(&st, out, CHK_BYTES);
	sodium_memzero(&st, sizeof(st));
}

static int is_encrypted(const unsigned char *blob)
{
	return memcmp(blob + SK_KDF_ALG, KDF_SCRYPT, 2) == 0;
}

/* XOR the key id, secret key and checksum with scrypt(password, salt) under the blob's limits
 * (the same call encrypts and decrypts). */
static int kdf_xor(unsigned char *blob, const char *password, size_t pwlen, const char *path,
		   struct appkg_err *e)
{
	unsigned char *stream = sodium_malloc(SK_STREAM);
	int rc = 0;

	if (!stream)
		return fail_memory(e);
	if (crypto_pwhash_scryptsalsa208sha256(stream, SK_STREAM, password, pwlen, blob + SK_SALT,
					       get_le64(blob + SK_OPSLIMIT),
					       (size_t)get_le64(blob + SK_MEMLIMIT)) != 0)
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "%s: scrypt failed (not enough memory)",
				path);
	else
		for (size_t i = 0; i < SK_STREAM; i++)
			blob[SK_KEYNUM + i] ^= stream[i];
	sodium_free(stream);
	return rc;
}

/* A new secret key blob and the public key blob that goes with it. */
static int make_secret(unsigned char *blob, unsigned char pk_blob[PK_BLOB], const char *password,
		       size_t pwlen, unsigned long long opslimit, size_t memlimit, const char *path,
		       struct appkg_err *e)
{
	memset(blob, 0, SK_BLOB); /* unencrypted: no salt, zero limits, as minisign -W writes */
	memcpy(blob + SK_SIG_ALG, ALG_LEGACY, 2);
	memcpy(blob + SK_KDF_ALG, password ? KDF_SCRYPT : KDF_NONE, 2);
	memcpy(blob + SK_CHK_ALG, CHK_BLAKE2B, 2);
	randombytes_buf(blob + SK_KEYNUM, SIG_KEYID_BYTES);
	crypto_sign_keypair(pk_blob + PK_KEY, blob + SK_SECRET);
	memcpy(pk_blob + PK_ALG, ALG_LEGACY, 2);
	memcpy(pk_blob + PK_KEYNUM, blob + SK_KEYNUM, SIG_KEYID_BYTES);
	key_checksum(blob + SK_CHK, blob);
	if (!password)
		return 0;
	randombytes_buf(blob + SK_SALT, crypto_pwhash_scryptsalsa208sha256_SALTBYTES);
	put_le64(blob + SK_OPSLIMIT, opslimit);
	put_le64(blob + SK_MEMLIMIT, memlimit);
	return kdf_xor(blob, password, pwlen, path, e);
}

/* The two files' texts; sk_text is guarded memory. Returns the lengths. */
static void key_texts(const unsigned char *blob, const unsigned char *pk_blob, char *sk_text,
		      size_t *sk_len, char *pk_text, size_t *pk_len)
{
	char hex[17], *p;

	p = sk_text + sprintf(sk_text, UNTRUSTED_PREFIX "minisign %ssecret key\n",
			      is_encrypted(blob) ? "encrypted " : "");
	*sk_len = (size_t)(put_b64_line(p, blob, SK_BLOB) - sk_text);
	id_hex(pk_blob + PK_KEYNUM, hex);
	p = pk_text + sprintf(pk_text, UNTRUSTED_PREFIX "minisign public key %s\n", hex);
	*pk_len = (size_t)(put_b64_line(p, pk_blob, PK_BLOB) - pk_text);
}

int sig_keygen_limits(const char *pub_path, const char *sec_path, const char *password,
		      size_t pwlen, unsigned long long opslimit, size_t memlimit,
		      struct appkg_err *e)
{
	unsigned char *blob = sodium_malloc(SK_BLOB), pk_blob[PK_BLOB];
	char *sk_text = sodium_malloc(KEY_BUF), pk_text[256];
	size_t sk_len, pk_len;
	int fds[2] = {-1, -1}, rc;

	if (!blob || !sk_text) {
		rc = fail_memory(e);
		goto out;
	}
	/* Both files are claimed first, so an existing one stops us before the slow KDF. */
	if ((fds[0] = create_excl(sec_path, 0600, e)) < 0 ||
	    (fds[1] = create_excl(pub_path, 0644, e)) < 0) {
		rc = fds[0] < 0 ? fds[0] : fds[1];
		goto out;
	}
	if ((rc = make_secret(blob, pk_blob, password, pwlen, opslimit, memlimit, sec_path, e)))
		goto out;
	key_texts(blob, pk_blob, sk_text, &sk_len, pk_text, &pk_len);
	if (!(rc = write_sync(fds[0], sk_text, sk_len, sec_path, e)))
		rc = write_sync(fds[1], pk_text, pk_len, pub_path, e);
out:
	for (int i = 0; i < 2; i++) { /* only files made here are removed: nothing half-made */
		if (fds[i] >= 0 && close(fds[i]) != 0 && !rc)
			rc = fail_errno(e, i ? pub_path : sec_path, "close");
		if (fds[i] >= 0 && rc)
			unlink(i ? pub_path : sec_path);
	}
	if (blob)
		sodium_free(blob);
	if (sk_text)
		sodium_free(sk_text);
	return rc;
}

int sig_keygen(const char *pub_path, const char *sec_path, const char *password, size_t pwlen,
	       struct appkg_err *e)
{
	return sig_keygen_limits(pub_path, sec_path, password, pwlen, OPS_MAX, MEM_MAX, e);
}

/* Read and decode a secret key file into a guarded blob; check its algorithms. */
static int secret_blob_load(const char *path, unsigned char **blob, struct appkg_err *e)
{
	char *text = sodium_malloc(KEY_BUF);
	size_t len;
	int rc;

	*blob = sodium_malloc(SK_BLOB);
	if (!text || !*blob)
		rc = fail_memory(e);
	else if (!(rc = read_key_file(path, text, &len, e)))
		rc = parse_key_text(text, len, *blob, SK_BLOB, "secret key", path, e);
	if (!rc && (memcmp(*blob + SK_SIG_ALG, ALG_LEGACY, 2) != 0 ||
		    memcmp(*blob + SK_CHK_ALG, CHK_BLAKE2B, 2) != 0 ||
		    (!is_encrypted(*blob) && memcmp(*blob + SK_KDF_ALG, KDF_NONE, 2) != 0)))
		rc = appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: unsupported signature, key derivation "
				"or checksum algorithm", path);
	if (text)
		sodium_free(text);
	if (rc && *blob) {
		sodium_free(*blob);
		*blob = NULL;
	}
	return rc;
}

/* Decrypt the blob when it is encrypted, and check its checksum. */
static int secret_unlock(unsigned char *blob, const char *path, const char *password,
			 size_t pwlen, struct appkg_err *e)
{
	unsigned char chk[CHK_BYTES];
	uint64_t ops = get_le64(blob + SK_OPSLIMIT), mem = get_le64(blob + SK_MEMLIMIT);
	int rc;

	if (!is_encrypted(blob)) { /* minisign -W leaves the checksum zero */
		key_checksum(chk, blob);
		rc = 0;
		if (!sodium_is_zero(blob + SK_CHK, CHK_BYTES) &&
		    sodium_memcmp(chk, blob + SK_CHK, CHK_BYTES) != 0)
			rc = appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: secret key checksum mismatch "
					"(damaged key file)", path);
	} else if (!password) {
		return appkg_fail(e, APPKG_ERR_NO_PASSWORD, "%s: the secret key is encrypted; a "
				  "password is needed", path);
	} else if (ops > OPS_MAX || mem > MEM_MAX) { /* checked before scrypt may allocate */
		return appkg_fail(e, APPKG_ERR_KDF_PARAMS, "%s: scrypt opslimit %llu memlimit %llu "
				  "above minisign's limits", path, (unsigned long long)ops,
				  (unsigned long long)mem);
	} else if (!(rc = kdf_xor(blob, password, pwlen, path, e))) {
		key_checksum(chk, blob);
		if (sodium_memcmp(chk, blob + SK_CHK, CHK_BYTES) != 0)
			rc = appkg_fail(e, APPKG_ERR_AUTH, "%s: wrong password for the secret key",
					path);
	}
	sodium_memzero(chk, sizeof(chk));
	return rc;
}

/* The key from a decrypted blob. The public key is derived from the seed, and the stored
 * second half of the secret key must agree with it. */
static int key_from_blob(struct appkg_key **out, const unsigned char *blob, const char *path,
			 struct appkg_err *e)
{
	struct appkg_key *k = calloc(1, sizeof(*k));

	if (!k || !(k->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES))) {
		free(k);
		return fail_memory(e);
	}
	memcpy(k->id, blob + SK_KEYNUM, SIG_KEYID_BYTES);
	crypto_sign_seed_keypair(k->pk, k->sk, blob + SK_SECRET);
	if (sodium_memcmp(k->sk, blob + SK_SECRET, crypto_sign_SECRETKEYBYTES) != 0) {
		sig_key_free(k);
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: secret key is inconsistent "
				  "(damaged key file)", path);
	}
	*out = k;
	return 0;
}

int sig_load_secret(struct appkg_key **out, const char *path, const char *password,
		    size_t pwlen, struct appkg_err *e)
{
	unsigned char *blob;
	int rc;

	*out = NULL;
	if ((rc = secret_blob_load(path, &blob, e)))
		return rc;
	if (!(rc = secret_unlock(blob, path, password, pwlen, e)))
		rc = key_from_blob(out, blob, path, e);
	sodium_free(blob);
	return rc;
}

int sig_secret_encrypted(const char *path, struct appkg_err *e)
{
	unsigned char *blob;
	int rc;

	if ((rc = secret_blob_load(path, &blob, e)))
		return rc;
	rc = is_encrypted(blob);
	sodium_free(blob);
	return rc;
}

int sig_load_public(struct appkg_key **out, const char *path, struct appkg_err *e)
{
	char text[KEY_BUF];
	unsigned char blob[PK_BLOB];
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = read_key_file(path, text, &len, e)) ||
	    (rc = parse_key_text(text, len, blob, PK_BLOB, "public key", path, e)))
		return rc;
	if (memcmp(blob + PK_ALG, ALG_LEGACY, 2) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "%s: unsupported key algorithm", path);
	if (!(*out = calloc(1, sizeof(**out))))
		return fail_memory(e);
	memcpy((*out)->id, blob + PK_KEYNUM, SIG_KEYID_BYTES);
	memcpy((*out)->pk, blob + PK_KEY, crypto_sign_PUBLICKEYBYTES);
	return 0;
}

void sig_key_free(struct appkg_key *k)
{
	if (!k)
		return;
	if (k->sk)
		sodium_free(k->sk);
	free(k);
}

/* ---- signatures ---- */

int sig_sign(struct buf *out, const struct appkg_key *k, const void *msg, size_t len,
	     const char *trusted_comment, struct appkg_err *e)
{
	unsigned char hash[HASH_BYTES], blob[SG_BLOB], global[crypto_sign_BYTES];
	unsigned char signed_comment[crypto_sign_BYTES + SIG_TRUSTED_MAX];
	char text[128 + B64_LEN(SG_BLOB) + SIG_TRUSTED_MAX + B64_LEN(crypto_sign_BYTES)], *p;
	size_t tlen;

	if (!k || !k->sk)
		return appkg_fail(e, APPKG_ERR_INVALID_ARGUMENT, "signature: no secret key");
	if (!trusted_comment || !comment_ok(trusted_comment))
		return appkg_fail(e, APPKG_ERR_INVALID_ARGUMENT, "signature: the trusted "
				  "comment must be one line of at most %d bytes", SIG_TRUSTED_MAX);
	tlen = strlen(trusted_comment);
	crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
	memcpy(blob + SG_ALG, ALG_HASHED, 2);
	memcpy(blob + SG_KEYNUM, k->id, SIG_KEYID_BYTES);
	crypto_sign_detached(blob + SG_SIG, NULL, hash, sizeof(hash), k->sk);
	memcpy(signed_comment, blob + SG_SIG, crypto_sign_BYTES);
	memcpy(signed_comment + crypto_sign_BYTES, trusted_comment, tlen);
	crypto_sign_detached(global, NULL, signed_comment, crypto_sign_BYTES + tlen, k->sk);
	p = text + sprintf(text, UNTRUSTED_PREFIX SIGNATURE_COMMENT "\n");
	p = put_b64_line(p, blob, SG_BLOB);
	p += sprintf(p, TRUSTED_PREFIX "%s\n", trusted_comment);
	p = put_b64_line(p, global, crypto_sign_BYTES);
	return buf_append(out, text, (size_t)(p - text)) ? fail_memory(e) : 0;
}

struct parsed_sig {
	unsigned char blob[SG_BLOB];
	unsigned char global[crypto_sign_BYTES];
	const char *comment;
};

/* The four lines of a signature file, exactly as minisign writes them. */
static int parse_signature(char *text, size_t len, struct parsed_sig *s, struct appkg_err *e)
{
	char *lines[4];

	if (split_lines(text, len, lines, 4, 0) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: not four lines each ended by "
				  "a newline");
	if (!has_prefix(lines[0], UNTRUSTED_PREFIX))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: line 1 is not an untrusted "
				  "comment");
	if (b64_exact(s->blob, SG_BLOB, lines[1]) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: line 2 is not the base64 of "
				  "a %d-byte signature", SG_BLOB);
	if (memcmp(s->blob, ALG_HASHED, 2) != 0 && memcmp(s->blob, ALG_LEGACY, 2) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: unsupported algorithm");
	if (!has_prefix(lines[2], TRUSTED_PREFIX))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: line 3 is not a trusted "
				  "comment");
	s->comment = lines[2] + strlen(TRUSTED_PREFIX);
	if (!comment_ok(s->comment))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: trusted comment over %d "
				  "bytes or with control characters", SIG_TRUSTED_MAX);
	if (b64_exact(s->global, crypto_sign_BYTES, lines[3]) != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: line 4 is not the base64 of "
				  "a %d-byte signature", crypto_sign_BYTES);
	return 0;
}

/* 0 if both signatures hold under key k, 1 if the data one fails, 2 if the comment one does. */
static int check_with_key(const struct parsed_sig *s, const struct appkg_key *k, const void *msg,
			  size_t len)
{
	unsigned char hash[HASH_BYTES], signed_comment[crypto_sign_BYTES + SIG_TRUSTED_MAX];
	size_t tlen = strlen(s->comment);
	int bad;

	if (memcmp(s->blob, ALG_HASHED, 2) == 0) {
		crypto_generichash(hash, sizeof(hash), msg, len, NULL, 0);
		bad = crypto_sign_verify_detached(s->blob + SG_SIG, hash, sizeof(hash), k->pk);
	} else {
		bad = crypto_sign_verify_detached(s->blob + SG_SIG, msg, len, k->pk);
	}
	if (bad)
		return 1;
	memcpy(signed_comment, s->blob + SG_SIG, crypto_sign_BYTES);
	memcpy(signed_comment + crypto_sign_BYTES, s->comment, tlen);
	return crypto_sign_verify_detached(s->global, signed_comment, crypto_sign_BYTES + tlen,
					   k->pk) ? 2 : 0;
}

int sig_verify(const void *sig_text, size_t sig_len, const void *msg, size_t len,
	       struct appkg_key *const *keys, size_t n, size_t *which, char *trusted,
	       struct appkg_err *e)
{
	char text[APPKG_MAX_SIGNATURE_SIZE], hex[17];
	struct parsed_sig s;
	int rc, result = -1;

	if (sig_len >= sizeof(text))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: %zu bytes, over the %u-byte "
				  "limit", sig_len, APPKG_MAX_SIGNATURE_SIZE);
	memcpy(text, sig_text, sig_len);
	text[sig_len] = '\0';
	if ((rc = parse_signature(text, sig_len, &s, e)))
		return rc;
	for (size_t i = 0; i < n && result != 0; i++) {
		if (!keys[i] || memcmp(keys[i]->id, s.blob + SG_KEYNUM, SIG_KEYID_BYTES) != 0)
			continue;
		if ((result = check_with_key(&s, keys[i], msg, len)) == 0 && which)
			*which = i;
	}
	id_hex(s.blob + SG_KEYNUM, hex);
	if (result == -1)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: made with key %s, which is "
				  "not a trusted key", hex);
	if (result != 0)
		return appkg_fail(e, APPKG_ERR_SIGNATURE, result == 1 ? "signature: does not match "
				  "the signed data (key %s)" : "signature: the trusted comment was "
				  "altered (key %s)", hex);
	if (trusted)
		snprintf(trusted, SIG_TRUSTED_MAX + 1, "%s", s.comment);
	return 0;
}

int sig_signer_id(const void *sig_text, size_t sig_len, char out[17], struct appkg_err *e)
{
	char text[APPKG_MAX_SIGNATURE_SIZE];
	struct parsed_sig s;

	if (sig_len >= sizeof(text))
		return appkg_fail(e, APPKG_ERR_SIGNATURE, "signature: %zu bytes, over the %u-byte "
				  "limit", sig_len, APPKG_MAX_SIGNATURE_SIZE);
	memcpy(text, sig_text, sig_len);
	text[sig_len] = '\0';
	if (parse_signature(text, sig_len, &s, e))
		return e->code;
	id_hex(s.blob + SG_KEYNUM, out);
	return 0;
}
