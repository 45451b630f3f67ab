/* SPDX-License-Identifier: MIT */
/*
 * secrets.enc (spec section "Secrets blob"): the bytes of secrets.json sealed with
 * XChaCha20-Poly1305 under a key from Argon2id. The header is associated data and carries the
 * package_id the blob is bound to. The nonce is a keyed BLAKE2b of the header and plaintext
 * (SIV style), so the same content, password and salt give the same bytes. Keys and plaintext
 * live in sodium_malloc memory and are wiped after use.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define SEC_MAGIC "APKGSECR"
#define SEC_FIXED 68u
#define OFF_NONCE 44u
#define KEY_BYTES 32u
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES

static int valid_id(const char *id, size_t n)
{
	if (n == 0 || n > 128)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (id[i] < 0x21 || id[i] > 0x7e)
			return 0;
	return 1;
}

int secrets_parse_header(const void *blob, size_t len, struct secrets_header *h,
			 struct appkg_err *e)
{
	const unsigned char *p = blob;

	if (len < SEC_FIXED || memcmp(p, SEC_MAGIC, 8) != 0)
		return appkg_fail(e, APPKG_ERR_SECRETS_FORMAT, "secrets.enc: bad magic or too short");
	if (p[8] != 1 || p[9] != 1 || p[10] != 1)
		return appkg_fail(e, APPKG_ERR_SECRETS_FORMAT,
				  "secrets.enc: unknown version %u, KDF %u or cipher %u", p[8], p[9], p[10]);
	h->header_len = SEC_FIXED + p[11];
	if (len < h->header_len + TAG_BYTES || !valid_id((const char *)p + SEC_FIXED, p[11]))
		return appkg_fail(e, APPKG_ERR_SECRETS_FORMAT, "secrets.enc: bad package_id or truncated");
	if (len - h->header_len - TAG_BYTES > APPKG_MAX_SECRETS_SIZE)
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE, "secrets.enc: over the size limit");
	h->opslimit = get_le64(p + 12);
	h->memlimit = get_le64(p + 20);
	memcpy(h->salt, p + 28, sizeof(h->salt));
	memcpy(h->package_id, p + SEC_FIXED, p[11]);
	h->package_id[p[11]] = '\0';
	if (h->opslimit < crypto_pwhash_OPSLIMIT_INTERACTIVE ||
	    h->opslimit > crypto_pwhash_OPSLIMIT_SENSITIVE ||
	    h->memlimit < crypto_pwhash_MEMLIMIT_INTERACTIVE ||
	    h->memlimit > crypto_pwhash_MEMLIMIT_SENSITIVE)
		return appkg_fail(e, APPKG_ERR_KDF_PARAMS, "secrets.enc: KDF parameters opslimit %llu "
				  "memlimit %llu outside INTERACTIVE..SENSITIVE",
				  (unsigned long long)h->opslimit, (unsigned long long)h->memlimit);
	return 0;
}

/* keys: [0] encryption key, [1] nonce key, from Argon2id then crypto_kdf. */
static int derive_keys(unsigned char *keys, const char *password, size_t pwlen,
		       const struct secrets_header *h, struct appkg_err *e)
{
	unsigned char *master = sodium_malloc(KEY_BYTES);
	int rc = 0;

	if (!master)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (crypto_pwhash(master, KEY_BYTES, password, pwlen, h->salt, h->opslimit,
			  (size_t)h->memlimit, crypto_pwhash_ALG_ARGON2ID13) != 0)
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "secrets: Argon2id could not get its memory");
	else if (crypto_kdf_derive_from_key(keys, KEY_BYTES, 1, "appkgsec", master) ||
		 crypto_kdf_derive_from_key(keys + KEY_BYTES, KEY_BYTES, 2, "appkgsec", master))
		rc = appkg_fail(e, APPKG_ERR_INVALID_ARGUMENT, "secrets: key derivation failed");
	sodium_free(master);
	return rc;
}

/* nonce = BLAKE2b-192(key = nonce key, header without the nonce field || plaintext) */
static void derive_nonce(unsigned char *nonce, const unsigned char *nonce_key,
			 const unsigned char *header, size_t header_len, const char *plain,
			 size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, nonce_key, KEY_BYTES, NONCE_BYTES);
	crypto_generichash_update(&st, header, OFF_NONCE);
	crypto_generichash_update(&st, header + OFF_NONCE + NONCE_BYTES,
				  header_len - OFF_NONCE - NONCE_BYTES);
	crypto_generichash_update(&st, (const unsigned char *)plain, len);
	crypto_generichash_final(&st, nonce, NONCE_BYTES);
	sodium_memzero(&st, sizeof(st));
}

static void level_params(enum appkg_kdf_level level, struct secrets_header *h)
{
	if (level == APPKG_KDF_INTERACTIVE) {
		h->opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
		h->memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
	} else if (level == APPKG_KDF_SENSITIVE) {
		h->opslimit = crypto_pwhash_OPSLIMIT_SENSITIVE;
		h->memlimit = crypto_pwhash_MEMLIMIT_SENSITIVE;
	} else {
		h->opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
		h->memlimit = crypto_pwhash_MEMLIMIT_MODERATE;
	}
}

static int put_header(struct buf *out, const struct secrets_header *h)
{
	unsigned char fixed[SEC_FIXED] = {0};
	size_t id_len = strlen(h->package_id);

	memcpy(fixed, SEC_MAGIC, 8);
	fixed[8] = fixed[9] = fixed[10] = 1;
	fixed[11] = (unsigned char)id_len;
	put_le64(fixed + 12, h->opslimit);
	put_le64(fixed + 20, h->memlimit);
	memcpy(fixed + 28, h->salt, sizeof(h->salt));
	return buf_append(out, fixed, SEC_FIXED) || buf_append(out, h->package_id, id_len)
		       ? APPKG_ERR_NO_MEMORY : 0;
}

int secrets_encrypt(struct buf *out, const char *plain, size_t len, const char *password,
		    size_t pwlen, enum appkg_kdf_level level, const struct secrets_header *prev,
		    const char *package_id, struct appkg_err *e)
{
	struct secrets_header h = {0};
	unsigned char *keys = NULL, *header;
	int rc;

	if (!valid_id(package_id, strlen(package_id)))
		return appkg_fail(e, APPKG_ERR_MANIFEST_SCHEMA, "manifest.json: package_id must be 1 to "
				  "128 printable ASCII characters without spaces");
	if (prev && level == APPKG_KDF_KEEP)
		h = *prev;
	else
		level_params(level, &h);
	if (prev)
		memcpy(h.salt, prev->salt, sizeof(h.salt));
	else
		randombytes_buf(h.salt, sizeof(h.salt));
	snprintf(h.package_id, sizeof(h.package_id), "%s", package_id);
	out->len = 0;
	if ((rc = put_header(out, &h)) || (rc = buf_reserve(out, len + TAG_BYTES)))
		return appkg_fail(e, rc, "out of memory");
	header = out->data;
	keys = sodium_malloc(2 * KEY_BYTES);
	if (!keys)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (!(rc = derive_keys(keys, password, pwlen, &h, e))) {
		derive_nonce(header + OFF_NONCE, keys + KEY_BYTES, header, out->len, plain, len);
		crypto_aead_xchacha20poly1305_ietf_encrypt(out->data + out->len, NULL,
							   (const unsigned char *)plain, len, header,
							   out->len, NULL, header + OFF_NONCE, keys);
		out->len += len + TAG_BYTES;
	}
	sodium_free(keys);
	return rc;
}

int secrets_decrypt(const void *blob, size_t len, const char *password, size_t pwlen,
		    char **plain, size_t *plain_len, struct appkg_err *e)
{
	const unsigned char *p = blob;
	struct secrets_header h;
	unsigned char *keys, nonce[NONCE_BYTES];
	size_t n;
	char *out;
	int rc;

	if (secrets_parse_header(blob, len, &h, e)) /* refuses bad KDF parameters first */
		return e->code;
	n = len - h.header_len - TAG_BYTES;
	keys = sodium_malloc(2 * KEY_BYTES);
	out = sodium_malloc(n + 1);
	if (!keys || !out) {
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	if ((rc = derive_keys(keys, password, pwlen, &h, e)))
		goto out;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out, NULL, NULL,
						       p + h.header_len, n + TAG_BYTES, p,
						       h.header_len, p + OFF_NONCE, keys) != 0) {
		rc = appkg_fail(e, APPKG_ERR_AUTH, "secrets.enc: wrong password or tampered secrets");
		goto out;
	}
	derive_nonce(nonce, keys + KEY_BYTES, p, h.header_len, out, n);
	if (sodium_memcmp(nonce, p + OFF_NONCE, NONCE_BYTES) != 0) {
		rc = appkg_fail(e, APPKG_ERR_SECRETS_FORMAT, "secrets.enc: nonce not derived as specified");
		goto out;
	}
	out[n] = '\0';
	*plain = out;
	*plain_len = n;
	out = NULL;
out:
	sodium_free(keys);
	if (out)
		sodium_free(out);
	return rc;
}

/* Checked by the scanner, not parsed into a tree: the values never leave guarded memory. */
int secrets_check_json(const char *data, size_t len, struct appkg_err *e)
{
	if (len > APPKG_MAX_SECRETS_SIZE)
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE, "secrets.json: over %u bytes",
				  APPKG_MAX_SECRETS_SIZE);
	if (json_validate(data, len, APPKG_MAX_SECRETS_SIZE, e, "secrets.json"))
		return e->code == APPKG_ERR_JSON_NOT_OBJECT
			       ? (e->code = APPKG_ERR_SECRETS_JSON) : e->code;
	if (!json_values_are_strings(data, len))
		return appkg_fail(e, APPKG_ERR_SECRETS_JSON, "secrets.json: every value must be a string");
	return 0;
}

void appkg_secure_free(void *p, size_t len)
{
	(void)len; /* sodium_free knows the size and wipes it */
	if (p)
		sodium_free(p);
}
