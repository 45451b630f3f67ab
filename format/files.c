/* SPDX-License-Identifier: MIT */
/*
 * Calls on files that need no package: sign a file and check a file's signature (minisign's
 * formats, signature.c), and seal secrets into a secrets.enc blob (secrets.c) for a tool that
 * keeps an unpacked directory without packing it (the mount's recovery directory), open a
 * sealed blob and tell its KDF cost, and replace a file atomically (pack's
 * --update-secrets-enc). Each records its outcome for appkg_last_problem.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "signature.h"

/* Replace path with data: a temporary file beside it, then the atomic commit. */
static int replace_file(const char *path, const void *data, size_t len, struct appkg_err *e)
{
	char *tmp = NULL;
	int fd = io_temp_beside(path, &tmp, e), rc;

	if (fd < 0)
		return fd;
	rc = io_write_all(fd, data, len, path, e);
	if (rc)
		close(fd);
	else
		rc = io_commit(fd, tmp, path, e);
	if (rc)
		unlink(tmp);
	free(tmp);
	return rc;
}

int appkg_file_replace(const char *path, const void *data, size_t len)
{
	struct appkg_err e = {0};
	const char *candidates[1] = {path};

	if (!path || (!data && len))
		appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "replace: no file or no data");
	else
		replace_file(path, data, len, &e);
	return problem_set_last(&e, candidates, 1);
}

/* "path.minisig", malloc'd. */
static char *signature_path(const char *path)
{
	size_t n = strlen(path) + sizeof(".minisig");
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s.minisig", path);
	return p;
}

/* minisign's default comment names the file; a name too long for one makes sig_sign refuse. */
static void default_comment(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');

	snprintf(out, cap, "file:%s", slash ? slash + 1 : path);
}

int appkg_sign_file(const char *path, const char *seckey_path, const char *password,
		    size_t password_len, const char *trusted_comment)
{
	struct appkg_err e = {0};
	struct appkg_key *k = NULL;
	struct buf data = {0}, sig = {0};
	char comment[SIG_TRUSTED_MAX + 2], *sig_path = NULL;
	const char *candidates[3] = {path, seckey_path, NULL};

	if (!path || !seckey_path) {
		appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "sign: no file or no key");
		goto out;
	}
	if (!(sig_path = signature_path(path))) {
		appkg_fail(&e, APPKG_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	candidates[2] = sig_path;
	if (!trusted_comment)
		default_comment(path, comment, sizeof(comment));
	if (io_read_file(path, &data, APPKG_MAX_SIGNED_FILE, &e) ||
	    sig_load_secret(&k, seckey_path, password, password_len, &e) ||
	    sig_sign(&sig, k, data.data, data.len, trusted_comment ? trusted_comment : comment, &e))
		goto out;
	replace_file(sig_path, sig.data, sig.len, &e);
out:
	problem_set_last(&e, candidates, 3);
	sig_key_free(k);
	buf_free(&sig);
	buf_free(&data);
	free(sig_path);
	return e.code;
}

int appkg_check_file_signature(const char *path, const char *sig_path, const char *pubkey_path,
			       char *key_id, char *trusted)
{
	struct appkg_err e = {0};
	struct appkg_key *k = NULL;
	struct buf data = {0}, sig = {0};
	char *own = sig_path || !path ? NULL : signature_path(path);
	const char *sp = sig_path ? sig_path : own;
	const char *candidates[3] = {path, sp, pubkey_path};

	if (key_id)
		key_id[0] = '\0';
	if (trusted)
		trusted[0] = '\0';
	if (!path || !pubkey_path || !sp)
		appkg_fail(&e, path && pubkey_path ? APPKG_ERR_NO_MEMORY : APPKG_ERR_INVALID_ARGUMENT,
			   "check signature: no file, no key, or out of memory");
	else if (!io_read_file(path, &data, APPKG_MAX_SIGNED_FILE, &e) &&
		 !io_read_file(sp, &sig, APPKG_MAX_SIGNATURE_SIZE, &e) &&
		 !sig_load_public(&k, pubkey_path, &e) &&
		 !sig_verify(sig.data, sig.len, data.data, data.len, &k, 1, NULL, trusted, &e) && key_id)
		sig_key_id_hex(k, key_id);
	problem_set_last(&e, candidates, 3);
	sig_key_free(k);
	buf_free(&sig);
	buf_free(&data);
	free(own);
	return e.code;
}

int appkg_secrets_seal(const char *json, size_t len, const char *password, size_t password_len,
		       enum appkg_kdf_level level, const void *previous, size_t previous_len,
		       const char *package_id, void **blob, size_t *blob_len)
{
	struct appkg_err e = {0};
	struct secrets_header prev;
	struct buf out = {0};
	unsigned char rnd[16];
	char id[2 * sizeof(rnd) + 1];

	if (!json || !password || !blob || !blob_len) {
		appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "seal: no secrets, password or output");
		return problem_set_last(&e, NULL, 0);
	}
	*blob = NULL;
	*blob_len = 0;
	if (secrets_check_json(json, len, &e) ||
	    (previous && secrets_parse_header(previous, previous_len, &prev, &e)))
		return problem_set_last(&e, NULL, 0);
	if (!package_id && previous) {
		package_id = prev.package_id;
	} else if (!package_id) { /* as a writer does for a first pack */
		randombytes_buf(rnd, sizeof(rnd));
		hex_encode(id, rnd, sizeof(rnd));
		package_id = id;
	}
	if (secrets_encrypt(&out, json, len, password, password_len, level,
			    previous ? &prev : NULL, package_id, &e)) {
		buf_free(&out);
		return problem_set_last(&e, NULL, 0);
	}
	*blob = out.data;
	*blob_len = out.len;
	return problem_set_last(&e, NULL, 0);
}

/* A caller checks the password of a secrets.enc it is about to re-seal (spec §11.6). */
int appkg_secrets_decrypt(const void *blob, size_t len, const char *password, size_t password_len,
			  char **plain, size_t *plain_len, char *message)
{
	struct appkg_err e = {0};

	*plain = NULL;
	*plain_len = 0;
	if (!blob || !password)
		appkg_fail(&e, APPKG_ERR_INVALID_ARGUMENT, "no secrets or no password");
	else
		secrets_decrypt(blob, len, password, password_len, plain, plain_len, &e);
	if (message)
		snprintf(message, 256, "%.255s", e.msg);
	return e.code;
}

/* A caller re-sealing secrets asks which cost they had. */
int appkg_secrets_kdf_level(const void *blob, size_t len)
{
	static const enum appkg_kdf_level levels[] = {APPKG_KDF_INTERACTIVE, APPKG_KDF_MODERATE,
						      APPKG_KDF_SENSITIVE};
	static const uint64_t ops[] = {crypto_pwhash_OPSLIMIT_INTERACTIVE,
				       crypto_pwhash_OPSLIMIT_MODERATE,
				       crypto_pwhash_OPSLIMIT_SENSITIVE};
	static const uint64_t mem[] = {crypto_pwhash_MEMLIMIT_INTERACTIVE,
				       crypto_pwhash_MEMLIMIT_MODERATE,
				       crypto_pwhash_MEMLIMIT_SENSITIVE};
	struct appkg_err e = {0};
	struct secrets_header h;

	if (!blob || secrets_parse_header(blob, len, &h, &e))
		return e.code ? e.code : APPKG_ERR_INVALID_ARGUMENT;
	for (size_t i = 0; i < 3; i++)
		if (h.opslimit == ops[i] && h.memlimit == mem[i])
			return levels[i];
	return APPKG_KDF_KEEP;
}
