/* SPDX-License-Identifier: MIT */
/*
 * Signatures in minisign's formats (spec section "Signature"): Ed25519 key pairs whose files
 * stock minisign reads and writes, and signature files over the exact bytes of manifest.json
 * that `minisign -V` accepts. Internal to libappkg; the public calls are in appkg.h.
 */
#ifndef APPKG_SIGNATURE_H
#define APPKG_SIGNATURE_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define SIG_KEYID_BYTES 8

/* Longest trusted comment signed or accepted: what sig_verify's 256-byte buffer holds. */
#define SIG_TRUSTED_MAX 255

struct appkg_key {
	unsigned char id[SIG_KEYID_BYTES];          /* minisign key number */
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char *sk; /* crypto_sign_SECRETKEYBYTES in sodium_malloc memory, or NULL */
};

/* Make a key pair and write both files (created with O_EXCL; the secret one mode 0600).
 * password NULL: the secret key is stored unencrypted (minisign -W); otherwise encrypted with
 * scrypt as minisign does. */
int sig_keygen(const char *pub_path, const char *sec_path, const char *password, size_t pwlen,
	       struct appkg_err *e);

/* sig_keygen with the given scrypt limits instead of minisign's SENSITIVE ones (1 GiB, a few
 * seconds); for tests, which would otherwise spend most of their time in the KDF. */
int sig_keygen_limits(const char *pub_path, const char *sec_path, const char *password,
		      size_t pwlen, unsigned long long opslimit, size_t memlimit,
		      struct appkg_err *e);

/* Load a minisign public key file, or a secret key file (decrypting it with password when it
 * is encrypted; password may be NULL for an unencrypted key). *out is calloc'd; free it with
 * sig_key_free. */
int sig_load_public(struct appkg_key **out, const char *path, struct appkg_err *e);
int sig_load_secret(struct appkg_key **out, const char *path, const char *password,
		    size_t pwlen, struct appkg_err *e);
void sig_key_free(struct appkg_key *k);

/* 1 if the secret key file at path is encrypted (needs a password), 0 if not, <0 on error. */
int sig_secret_encrypted(const char *path, struct appkg_err *e);

/* The text of a minisign signature file over msg (prehashed "ED" form), with the given trusted
 * comment (one line, no newline). Appends to out. */
int sig_sign(struct buf *out, const struct appkg_key *k, const void *msg, size_t len,
	     const char *trusted_comment, struct appkg_err *e);

/* Check a signature file's text against msg and the n public keys. On success *which is the
 * index of the key that matched and trusted (size >= 256) holds the trusted comment. Errors:
 * APPKG_ERR_SIGNATURE (malformed file, no key with its key id, or a bad signature). */
int sig_verify(const void *sig_text, size_t sig_len, const void *msg, size_t len,
	       struct appkg_key *const *keys, size_t n, size_t *which, char *trusted,
	       struct appkg_err *e);

/* The key id a signature file names (16 uppercase hex digits), checking only its form: for a
 * reader that has no key to check it with. */
int sig_signer_id(const void *sig_text, size_t sig_len, char out[17], struct appkg_err *e);

/* 16 uppercase hex digits of the key id, as minisign prints it (little-endian u64). */
void sig_key_id_hex(const struct appkg_key *k, char out[17]);

#endif
