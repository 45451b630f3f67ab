/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of format/signature.c: key pairs in minisign's formats (encrypted and not), signing
 * and verifying, rejection of other keys, tampered data and comments, wrong passwords, malformed
 * files, and interoperability with fixtures made by stock minisign 0.11 (`minisign -G -W`, then
 * `minisign -S` and `minisign -S -l` over FIXTURE_MSG). Each test works in a fresh temporary
 * directory; encrypted keys use scrypt's interactive limits to keep the run short.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../format/signature.h"
#include "harness.h"

#define FIXTURE_MSG "appkg fixture message\n"
#define FIXTURE_ID "A16E91EEE1DEEC4F"
#define FIXTURE_PUB                                                                                \
	"untrusted comment: minisign public key A16E91EEE1DEEC4F\n"                                \
	"RWRP7N7h7pFuoZAtzvip/r+bgttDMKRF9vy9pj9NkHEUMc146+gbS2FW\n"
/* minisign 0.11 -W: no KDF, zero salt and limits, and a zero checksum */
#define FIXTURE_SEC                                                                                \
	"untrusted comment: minisign encrypted secret key\n"                                       \
	"RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAT+ze"             \
	"4e6RbqExrg/j8xS5koUULS12zMLPai8NdKsqKN5idRY+HKfqhJAtzvip/r+bgttDMKRF9vy9pj9N"             \
	"kHEUMc146+gbS2FWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
#define FIXTURE_SIG_HASHED                                                                         \
	"untrusted comment: fixture from minisign 0.11\n"                                          \
	"RURP7N7h7pFuoWg1OUuxjUBn6ePN1XoMPHAwkETUu6Q+hyznX236Z/m4dldPE9cG3qkfZjHPi8+/"             \
	"CxWD3NMhfxQ7qp8C71e9+AU=\n"                                                               \
	"trusted comment: fixture hashed\n"                                                        \
	"z0lpq0TcbDXu/gVsG6MyPeq6qMiLtzjHfTYqNorU41ZlHfyl8OtTzpnTAav+FM2zygEWnjrgDfXt"             \
	"OmZDI4u9Bg==\n"
#define FIXTURE_SIG_LEGACY                                                                         \
	"untrusted comment: fixture from minisign 0.11 -l\n"                                       \
	"RWRP7N7h7pFuoUkhv/+xO468AT1PbfZtetZ90/eVmrxOuNd7pGAlUBtwmPxb4kzkSbgJKc2zPufk"             \
	"ZtIIKHIQPSguHYPGt/jNXgE=\n"                                                               \
	"trusted comment: fixture legacy\n"                                                        \
	"Mi//ELnjvAiQ1xbXBbpOqMEk+/iSwtWxXtocPzZGa47aV1zWr2BCzSLdYXOOtMRGrxiZGdACQO1E"             \
	"EmBubAeyDQ==\n"

static char dir[256];
static char path_buf[4][512];

static void remove_dir(void)
{
	DIR *d;
	struct dirent *de;
	char p[600];

	if (!dir[0] || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
	dir[0] = '\0';
}

/* A fresh temporary directory for the test (the previous test's one is removed). */
static int fresh_dir(void)
{
	const char *tmp = getenv("TMPDIR");

	remove_dir();
	snprintf(dir, sizeof(dir), "%s/appkg-sig-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

/* dir/name, in one of four rotating buffers. */
static const char *in_dir(const char *name)
{
	static int next;
	char *p = path_buf[next++ % 4];

	snprintf(p, sizeof(path_buf[0]), "%s/%s", dir, name);
	return p;
}

static int write_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* The whole file as a NUL-terminated string in a static buffer, or NULL. */
static const char *read_text(const char *path)
{
	static char text[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		return NULL;
	text[n] = '\0';
	return text;
}

/* Encrypted key pairs use the interactive scrypt limits: the format is the same. */
static int make_keys(const char *pub, const char *sec, const char *password, struct appkg_err *e)
{
	if (!password)
		return sig_keygen(pub, sec, NULL, 0, e);
	return sig_keygen_limits(pub, sec, password, strlen(password),
				 crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_INTERACTIVE,
				 crypto_pwhash_scryptsalsa208sha256_MEMLIMIT_INTERACTIVE, e);
}

/* Decode line 2 of a key file into blob (exactly n bytes). */
static int key_blob(const char *path, unsigned char *blob, size_t n)
{
	const char *text = read_text(path), *line = text ? strchr(text, '\n') : NULL;
	size_t got = 0;

	if (!line)
		return -1;
	line++;
	return sodium_base642bin(blob, n, line, strcspn(line, "\n"), NULL, &got, NULL,
				 sodium_base64_VARIANT_ORIGINAL) || got != n ? -1 : 0;
}

/* Write a key file: comment line, then the base64 of blob. */
static int write_key(const char *path, const char *comment, const unsigned char *blob, size_t n)
{
	char text[1024], b64[512];

	sodium_bin2base64(b64, sizeof(b64), blob, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "untrusted comment: %s\n%s\n", comment, b64);
	return write_text(path, text, strlen(text));
}

/* A key pair in the test directory, loaded: *pk public only, *sk with its secret key. */
static int key_pair(const char *name, const char *password, struct appkg_key **pk,
		    struct appkg_key **sk, struct appkg_err *e)
{
	char pub[64], sec[64];

	snprintf(pub, sizeof(pub), "%s.pub", name);
	snprintf(sec, sizeof(sec), "%s.key", name);
	if (make_keys(in_dir(pub), in_dir(sec), password, e))
		return -1;
	if (sig_load_public(pk, in_dir(pub), e))
		return -1;
	return sig_load_secret(sk, in_dir(sec), password, password ? strlen(password) : 0, e);
}

static int verify_one(const struct buf *sig, const void *msg, size_t len, struct appkg_key *k,
		      char *trusted, struct appkg_err *e)
{
	size_t which = 99;

	*e = (struct appkg_err){0};
	return sig_verify(sig->data, sig->len, msg, len, &k, 1, &which, trusted, e);
}

TEST(test_unencrypted_keys_sign_verify)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	struct stat st;
	char trusted[256], hex[17];
	size_t which = 99;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("a", NULL, &pk, &sk, &e), 0);
	CHECK(stat(in_dir("a.key"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(stat(in_dir("a.pub"), &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_EQ(sig_secret_encrypted(in_dir("a.key"), &e), 0);
	CHECK(strncmp(read_text(in_dir("a.key")), "untrusted comment: minisign secret key\n", 39) == 0);
	CHECK(memcmp(pk->id, sk->id, SIG_KEYID_BYTES) == 0 && memcmp(pk->pk, sk->pk, 32) == 0);
	CHECK(pk->sk == NULL && sk->sk != NULL);
	sig_key_id_hex(pk, hex);
	CHECK(strstr(read_text(in_dir("a.pub")), hex) != NULL);
	CHECK_EQ(sig_sign(&sig, sk, "hello", 5, "file:hello", &e), 0);
	CHECK(strncmp((char *)sig.data, "untrusted comment: signature from appkg secret key\nRU", 53) == 0);
	CHECK(sig.data[sig.len - 1] == '\n');
	CHECK_EQ(sig_verify(sig.data, sig.len, "hello", 5, &pk, 1, &which, trusted, &e), 0);
	CHECK_EQ(which, 0);
	CHECK(strcmp(trusted, "file:hello") == 0);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_encrypted_key_round_trip)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char trusted[256];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("enc", "correct horse", &pk, &sk, &e), 0);
	CHECK_EQ(sig_secret_encrypted(in_dir("enc.key"), &e), 1);
	CHECK(strncmp(read_text(in_dir("enc.key")), "untrusted comment: minisign encrypted secret key\n",
		      49) == 0);
	CHECK(memcmp(pk->pk, sk->pk, 32) == 0);
	CHECK_EQ(sig_sign(&sig, sk, "payload", 7, "t", &e), 0);
	CHECK_EQ(verify_one(&sig, "payload", 7, pk, trusted, &e), 0);
	CHECK(strcmp(trusted, "t") == 0);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_wrong_password_is_auth_error)
{
	struct appkg_err e = {0};
	struct appkg_key *k = (struct appkg_key *)1;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(make_keys(in_dir("p.pub"), in_dir("p.key"), "right", &e), 0);
	CHECK_EQ(sig_load_secret(&k, in_dir("p.key"), "wrong", 5, &e), APPKG_ERR_AUTH);
	CHECK(k == NULL);
	CHECK(strstr(e.msg, "wrong password") != NULL);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_load_secret(&k, in_dir("p.key"), NULL, 0, &e), APPKG_ERR_NO_PASSWORD);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_load_secret(&k, in_dir("p.key"), "right", 5, &e), 0);
	CHECK(k != NULL && k->sk != NULL);
	sig_key_free(k);
}

TEST(test_other_key_rejected)
{
	struct appkg_err e = {0};
	struct appkg_key *apk = NULL, *ask = NULL, *bpk = NULL, *bsk = NULL, forged, *keys[2];
	struct buf sig = {0};
	char trusted[256];
	size_t which = 99;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("a", NULL, &apk, &ask, &e), 0);
	CHECK_EQ(key_pair("b", NULL, &bpk, &bsk, &e), 0);
	CHECK_EQ(sig_sign(&sig, ask, "m", 1, "c", &e), 0);
	CHECK_EQ(verify_one(&sig, "m", 1, bpk, trusted, &e), APPKG_ERR_SIGNATURE);
	CHECK(strstr(e.msg, "not a trusted key") != NULL);
	keys[0] = bpk;
	keys[1] = apk;
	e = (struct appkg_err){0};
	CHECK_EQ(sig_verify(sig.data, sig.len, "m", 1, keys, 2, &which, trusted, &e), 0);
	CHECK_EQ(which, 1);
	/* a key that claims a's id but holds b's public key does not verify */
	forged = *bpk;
	memcpy(forged.id, apk->id, SIG_KEYID_BYTES);
	keys[0] = &forged;
	CHECK_EQ(sig_verify(sig.data, sig.len, "m", 1, keys, 1, &which, trusted, &e), APPKG_ERR_SIGNATURE);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_verify(sig.data, sig.len, "m", 1, keys, 2, &which, trusted, &e), 0);
	CHECK_EQ(which, 1);
	sig_key_free(apk);
	sig_key_free(ask);
	sig_key_free(bpk);
	sig_key_free(bsk);
	buf_free(&sig);
}

TEST(test_flipped_message_byte_rejected)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char msg[] = "{\"name\": \"sample\", \"version\": \"1.0.0\"}\n", trusted[256];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("k", NULL, &pk, &sk, &e), 0);
	CHECK_EQ(sig_sign(&sig, sk, msg, sizeof(msg) - 1, "c", &e), 0);
	CHECK_EQ(verify_one(&sig, msg, sizeof(msg) - 1, pk, trusted, &e), 0);
	for (size_t i = 0; i < sizeof(msg) - 1; i++) {
		msg[i] ^= 0x01;
		CHECK_EQ(verify_one(&sig, msg, sizeof(msg) - 1, pk, trusted, &e), APPKG_ERR_SIGNATURE);
		CHECK(strstr(e.msg, "does not match the signed data") != NULL);
		msg[i] ^= 0x01;
	}
	CHECK_EQ(verify_one(&sig, msg, sizeof(msg) - 2, pk, trusted, &e), APPKG_ERR_SIGNATURE);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_tampered_trusted_comment_rejected)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char trusted[256], *c;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("k", NULL, &pk, &sk, &e), 0);
	CHECK_EQ(sig_sign(&sig, sk, "m", 1, "file:a", &e), 0);
	CHECK_EQ(buf_append(&sig, "", 1), 0); /* NUL for strstr; not part of the text */
	c = strstr((char *)sig.data, "file:a");
	CHECK(c != NULL);
	c[5] = 'b';
	sig.len--;
	CHECK_EQ(verify_one(&sig, "m", 1, pk, trusted, &e), APPKG_ERR_SIGNATURE);
	CHECK(strstr(e.msg, "trusted comment was altered") != NULL);
	c[5] = 'a';
	CHECK_EQ(verify_one(&sig, "m", 1, pk, trusted, &e), 0);
	/* the untrusted comment is not signed: changing it is allowed */
	sig.data[strlen("untrusted comment: ")] = 'S';
	CHECK_EQ(verify_one(&sig, "m", 1, pk, trusted, &e), 0);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_keygen_never_overwrites)
{
	struct appkg_err e = {0};
	static char pub[8192], sec[8192];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("k.key"), NULL, &e), 0);
	strcpy(pub, read_text(in_dir("k.pub")));
	strcpy(sec, read_text(in_dir("k.key")));
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("k.key"), NULL, &e), APPKG_ERR_EXISTS);
	e = (struct appkg_err){0};
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("k.key"), "pw", &e), APPKG_ERR_EXISTS);
	CHECK(strcmp(read_text(in_dir("k.pub")), pub) == 0);
	CHECK(strcmp(read_text(in_dir("k.key")), sec) == 0);
	/* one of the two exists: the other is not left behind */
	e = (struct appkg_err){0};
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("new.key"), NULL, &e), APPKG_ERR_EXISTS);
	CHECK(access(in_dir("new.key"), F_OK) != 0);
	e = (struct appkg_err){0};
	CHECK_EQ(make_keys(in_dir("new.pub"), in_dir("k.key"), NULL, &e), APPKG_ERR_EXISTS);
	CHECK(access(in_dir("new.pub"), F_OK) != 0);
	e = (struct appkg_err){0};
	CHECK_EQ(make_keys(in_dir("same"), in_dir("same"), NULL, &e), APPKG_ERR_EXISTS);
	CHECK(access(in_dir("same"), F_OK) != 0);
	CHECK(strcmp(read_text(in_dir("k.key")), sec) == 0);
}

/* The signature text with its algorithm bytes replaced (line 2 re-encoded). */
static size_t with_alg(char *out, size_t cap, const struct buf *sig, const char *alg)
{
	const char *text = (const char *)sig->data, *l2 = strchr(text, '\n') + 1;
	const char *l3 = strchr(l2, '\n') + 1;
	unsigned char blob[74];
	char b64[128];
	size_t got;

	sodium_base642bin(blob, sizeof(blob), l2, (size_t)(l3 - 1 - l2), NULL, &got, NULL,
			  sodium_base64_VARIANT_ORIGINAL);
	memcpy(blob, alg, 2);
	sodium_bin2base64(b64, sizeof(b64), blob, sizeof(blob), sodium_base64_VARIANT_ORIGINAL);
	return (size_t)snprintf(out, cap, "%.*s%s\n%.*s", (int)(l2 - text), text, b64,
				(int)(sig->len - (size_t)(l3 - text)), l3);
}

static int verify_text(const char *text, size_t len, struct appkg_key *pk)
{
	struct appkg_err e = {0};
	char trusted[256];

	return sig_verify(text, len, "m", 1, &pk, 1, NULL, trusted, &e);
}

TEST(test_malformed_signatures_rejected)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char t[8192];
	size_t n;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("k", NULL, &pk, &sk, &e), 0);
	CHECK_EQ(sig_sign(&sig, sk, "m", 1, "comment", &e), 0);
	memcpy(t, sig.data, sig.len);
	CHECK_EQ(verify_text(t, sig.len, pk), 0);
	for (n = 0; n < sig.len; n++) { /* every truncation */
		harness_msg = "truncated";
		CHECK_EQ(verify_text(t, n, pk), APPKG_ERR_SIGNATURE);
	}
	harness_msg = "five lines";
	memcpy(t + sig.len, "extra\n", 6);
	CHECK_EQ(verify_text(t, sig.len + 6, pk), APPKG_ERR_SIGNATURE);
	memcpy(t + sig.len, "\n", 1);
	CHECK_EQ(verify_text(t, sig.len + 1, pk), APPKG_ERR_SIGNATURE);
	harness_msg = "text after the last newline";
	memcpy(t + sig.len, "x", 1);
	CHECK_EQ(verify_text(t, sig.len + 1, pk), APPKG_ERR_SIGNATURE);
	harness_msg = "bad base64";
	n = strchr(t, '\n') + 1 + 10 - t;
	t[n] = '*';
	CHECK_EQ(verify_text(t, sig.len, pk), APPKG_ERR_SIGNATURE);
	t[n] = '=';
	CHECK_EQ(verify_text(t, sig.len, pk), APPKG_ERR_SIGNATURE);
	memcpy(t, sig.data, sig.len);
	harness_msg = "CRLF";
	n = strchr(t, '\n') - t;
	snprintf(t, sizeof(t), "%.*s\r%.*s", (int)n, (char *)sig.data, (int)(sig.len - n),
		 (char *)sig.data + n);
	CHECK_EQ(verify_text(t, sig.len + 1, pk), APPKG_ERR_SIGNATURE);
	harness_msg = "no untrusted comment prefix";
	memcpy(t, sig.data, sig.len);
	t[0] = 'U';
	CHECK_EQ(verify_text(t, sig.len, pk), APPKG_ERR_SIGNATURE);
	harness_msg = "unknown algorithm";
	n = with_alg(t, sizeof(t), &sig, "EE");
	CHECK_EQ(verify_text(t, n, pk), APPKG_ERR_SIGNATURE);
	n = with_alg(t, sizeof(t), &sig, "ED"); /* the same bytes re-encoded: still valid */
	CHECK_EQ(verify_text(t, n, pk), 0);
	harness_msg = "NUL byte";
	memcpy(t, sig.data, sig.len);
	t[3] = '\0';
	CHECK_EQ(verify_text(t, sig.len, pk), APPKG_ERR_SIGNATURE);
	harness_msg = "oversized";
	memset(t, 'A', sizeof(t));
	CHECK_EQ(verify_text(t, 4096, pk), APPKG_ERR_SIGNATURE);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_sign_rejects_bad_comments)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char long_comment[SIG_TRUSTED_MAX + 2], trusted[256];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(key_pair("k", NULL, &pk, &sk, &e), 0);
	CHECK_EQ(sig_sign(&sig, sk, "m", 1, "two\nlines", &e), APPKG_ERR_INVALID_ARGUMENT);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_sign(&sig, pk, "m", 1, "no secret key", &e), APPKG_ERR_INVALID_ARGUMENT);
	memset(long_comment, 'x', sizeof(long_comment) - 1);
	long_comment[sizeof(long_comment) - 1] = '\0';
	e = (struct appkg_err){0};
	CHECK_EQ(sig_sign(&sig, sk, "m", 1, long_comment, &e), APPKG_ERR_INVALID_ARGUMENT);
	CHECK_EQ(sig.len, 0);
	long_comment[SIG_TRUSTED_MAX] = '\0'; /* the longest allowed */
	e = (struct appkg_err){0};
	CHECK_EQ(sig_sign(&sig, sk, "m", 1, long_comment, &e), 0);
	CHECK_EQ(verify_one(&sig, "m", 1, pk, trusted, &e), 0);
	CHECK_EQ(strlen(trusted), SIG_TRUSTED_MAX);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_stock_minisign_signatures_accepted)
{
	static const char *const sigs[2][2] = {{FIXTURE_SIG_HASHED, "fixture hashed"},
					       {FIXTURE_SIG_LEGACY, "fixture legacy"}};
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL;
	char trusted[256], hex[17], msg[] = FIXTURE_MSG;
	size_t which = 99;

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK(write_text(in_dir("fx.pub"), FIXTURE_PUB, strlen(FIXTURE_PUB)) == 0);
	CHECK_EQ(sig_load_public(&pk, in_dir("fx.pub"), &e), 0);
	sig_key_id_hex(pk, hex);
	CHECK(strcmp(hex, FIXTURE_ID) == 0);
	for (int i = 0; i < 2; i++) {
		harness_msg = sigs[i][1];
		CHECK_EQ(sig_verify(sigs[i][0], strlen(sigs[i][0]), msg, strlen(msg), &pk, 1, &which,
				    trusted, &e), 0);
		CHECK(strcmp(trusted, sigs[i][1]) == 0);
		msg[0] ^= 0x20;
		CHECK_EQ(sig_verify(sigs[i][0], strlen(sigs[i][0]), msg, strlen(msg), &pk, 1, &which,
				    trusted, &e), APPKG_ERR_SIGNATURE);
		msg[0] ^= 0x20;
		e = (struct appkg_err){0};
	}
	sig_key_free(pk);
}

TEST(test_stock_minisign_secret_key_loads)
{
	struct appkg_err e = {0};
	struct appkg_key *pk = NULL, *sk = NULL;
	struct buf sig = {0};
	char trusted[256];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK(write_text(in_dir("fx.pub"), FIXTURE_PUB, strlen(FIXTURE_PUB)) == 0);
	CHECK(write_text(in_dir("fx.key"), FIXTURE_SEC, strlen(FIXTURE_SEC)) == 0);
	CHECK_EQ(sig_secret_encrypted(in_dir("fx.key"), &e), 0);
	CHECK_EQ(sig_load_public(&pk, in_dir("fx.pub"), &e), 0);
	CHECK_EQ(sig_load_secret(&sk, in_dir("fx.key"), NULL, 0, &e), 0);
	CHECK(memcmp(pk->id, sk->id, SIG_KEYID_BYTES) == 0 && memcmp(pk->pk, sk->pk, 32) == 0);
	CHECK_EQ(sig_sign(&sig, sk, FIXTURE_MSG, strlen(FIXTURE_MSG), "ours", &e), 0);
	CHECK_EQ(verify_one(&sig, FIXTURE_MSG, strlen(FIXTURE_MSG), pk, trusted, &e), 0);
	sig_key_free(pk);
	sig_key_free(sk);
	buf_free(&sig);
}

TEST(test_malformed_key_files_rejected)
{
	static const char *const bad_pub[] = {
		"", "RWRP7N7h7pFuoZAtzvip/r+bgttDMKRF9vy9pj9NkHEUMc146+gbS2FW\n",
		"untrusted comment: x\nRWRP7N7h7pFuoZAtzvip/r+bgttDMKRF9vy9pj9NkHEUMc146+gbS2F*\n",
		"untrusted comment: x\nRWRP7N7h7pFuoZAtzvip/r+bgttDMKRF9vy9pj9NkHEUMc146+gbS2FW\nextra\n",
		"untrusted comment: x\nRXhP7N7h7pFuoZAtzvip/r+bgttDMKRF9vy9pj9NkHEUMc146+gbS2FW\n", /* "Ex" */
		FIXTURE_SEC};
	struct appkg_err e = {0};
	struct appkg_key *k = NULL;
	unsigned char blob[158];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	for (size_t i = 0; i < sizeof(bad_pub) / sizeof(bad_pub[0]); i++) {
		CHECK(write_text(in_dir("bad.pub"), bad_pub[i], strlen(bad_pub[i])) == 0);
		e = (struct appkg_err){0};
		CHECK_EQ(sig_load_public(&k, in_dir("bad.pub"), &e), APPKG_ERR_SIGNATURE);
		CHECK(k == NULL);
	}
	/* minisign itself accepts CRLF and a missing last newline in key files */
	CHECK(write_text(in_dir("crlf.pub"), "untrusted comment: x\r\nRWRP7N7h7pFuoZAtzvip/r+bgttDMKRF9"
			 "vy9pj9NkHEUMc146+gbS2FW", 78) == 0);
	CHECK_EQ(sig_load_public(&k, in_dir("crlf.pub"), &e), 0);
	sig_key_free(k);
	CHECK_EQ(sig_load_secret(&k, in_dir("crlf.pub"), NULL, 0, &e), APPKG_ERR_SIGNATURE);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_load_public(&k, in_dir("missing.pub"), &e), APPKG_ERR_NO_FILE);
	/* a damaged unencrypted key: its checksum no longer matches */
	e = (struct appkg_err){0};
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("k.key"), NULL, &e), 0);
	CHECK(key_blob(in_dir("k.key"), blob, sizeof(blob)) == 0);
	blob[100] ^= 1;
	CHECK(write_key(in_dir("damaged.key"), "x", blob, sizeof(blob)) == 0);
	CHECK_EQ(sig_load_secret(&k, in_dir("damaged.key"), NULL, 0, &e), APPKG_ERR_SIGNATURE);
	CHECK(strstr(e.msg, "checksum") != NULL);
}

TEST(test_kdf_limits_checked_before_scrypt)
{
	struct appkg_err e = {0};
	struct appkg_key *k = NULL;
	unsigned char blob[158];

	harness_msg = e.msg;
	CHECK(fresh_dir() == 0);
	CHECK_EQ(make_keys(in_dir("k.pub"), in_dir("k.key"), "pw", &e), 0);
	CHECK(key_blob(in_dir("k.key"), blob, sizeof(blob)) == 0);
	put_le64(blob + 46, 1ull << 42); /* 4 TiB of memory: would fail or hang if run */
	CHECK(write_key(in_dir("mem.key"), "minisign encrypted secret key", blob, sizeof(blob)) == 0);
	CHECK_EQ(sig_load_secret(&k, in_dir("mem.key"), "pw", 2, &e), APPKG_ERR_KDF_PARAMS);
	CHECK(key_blob(in_dir("k.key"), blob, sizeof(blob)) == 0);
	put_le64(blob + 38, crypto_pwhash_scryptsalsa208sha256_OPSLIMIT_SENSITIVE + 1);
	CHECK(write_key(in_dir("ops.key"), "minisign encrypted secret key", blob, sizeof(blob)) == 0);
	e = (struct appkg_err){0};
	CHECK_EQ(sig_load_secret(&k, in_dir("ops.key"), "pw", 2, &e), APPKG_ERR_KDF_PARAMS);
	CHECK(k == NULL);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	umask(022);
	RUN(test_unencrypted_keys_sign_verify);
	RUN(test_encrypted_key_round_trip);
	RUN(test_wrong_password_is_auth_error);
	RUN(test_other_key_rejected);
	RUN(test_flipped_message_byte_rejected);
	RUN(test_tampered_trusted_comment_rejected);
	RUN(test_keygen_never_overwrites);
	RUN(test_malformed_signatures_rejected);
	RUN(test_sign_rejects_bad_comments);
	RUN(test_stock_minisign_signatures_accepted);
	RUN(test_stock_minisign_secret_key_loads);
	RUN(test_malformed_key_files_rejected);
	RUN(test_kdf_limits_checked_before_scrypt);
	remove_dir();
	return harness_total_failed != 0;
}
