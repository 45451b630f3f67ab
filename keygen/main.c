/* SPDX-License-Identifier: MIT */
/*
 * appkg-keygen: make an Ed25519 key pair for signing packages, in minisign's file formats, the
 * secret key encrypted with a password (scrypt, as minisign does) unless -W. Key files are
 * never overwritten. `--sign FILE` writes FILE.minisig as `minisign -S` does, so a key can be
 * used and checked with stock minisign without making a package.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"

struct options {
	const char *pub, *sec, *password_file, *sign;
	int no_password;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... -p PUBKEY -s SECKEY\n"
	       "       %s --sign FILE -s SECKEY [--password-file F]\n"
	       "Make a minisign-compatible Ed25519 key pair for signing packages.\n\n"
	       "  -p, --public FILE        public key file to create\n"
	       "  -s, --secret FILE        secret key file to create (mode 0600), or to sign with\n"
	       "  -W, --no-password        store the secret key unencrypted (as minisign -W)\n"
	       "      --password-file FILE read the password from FILE ('-': stdin)\n"
	       "      --sign FILE          sign FILE (writes FILE.minisig), as minisign -S does\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "The password comes from --password-file, else APPKG_PASSWORD, else a prompt\n"
	       "(asked twice for a new key). Existing key files are never overwritten.\n"
	       "Exit status: 0 ok, 2 usage, 3 no or bad password or key, 4 I/O error.\n",
	       fe_prog, fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"public", required_argument, NULL, 'p'}, {"secret", required_argument, NULL, 's'},
		{"no-password", no_argument, NULL, 'W'},
		{"password-file", required_argument, NULL, 'f'},
		{"sign", required_argument, NULL, 'S'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "p:s:WhV", longs)) != -1) {
		switch (c) {
		case 'p': o->pub = optarg; break;
		case 's': o->sec = optarg; break;
		case 'W': o->no_password = 1; break;
		case 'f': o->password_file = optarg; break;
		case 'S': o->sign = optarg; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind != argc)
		fe_usage_error("unexpected argument '%s'", argv[optind]);
	if (!o->sec)
		fe_usage_error("missing -s SECKEY");
	if (o->sign && (o->pub || o->no_password))
		fe_usage_error("--sign takes -s SECKEY only (not -p or -W)");
	if (!o->sign && !o->pub)
		fe_usage_error("missing -p PUBKEY");
	if (!o->sign && !strcmp(o->pub, o->sec))
		fe_usage_error("-p and -s name the same file");
	if (o->no_password && o->password_file)
		fe_usage_error("-W and --password-file exclude each other");
}

/* A missing file is an environment error here (exit 4), as in fe_password. */
static int file_code(int code)
{
	return code == APPKG_ERR_NOT_FOUND ? APPKG_ERR_IO : code;
}

/* Print the library's last problem: the file it is about is the quoted subject (subject when
 * it names none). */
static int report(const char *subject)
{
	struct appkg_problem p;
	int code = appkg_last_problem(&p);

	return fe_report(p.member ? p.member : subject, file_code(code), p.member ? p.detail : p.message);
}

/* No usable password: exit 3, as for a wrong one. */
static int no_password(const char *subject, const char *why)
{
	return fe_report(subject, APPKG_ERR_NO_PASSWORD, why);
}

/* The password for a new key; typed at a terminal, it is asked twice. */
static int new_password(const struct options *o, char **pw, size_t *len)
{
	char *again = NULL;
	size_t again_len = 0;
	int rc = fe_password(o->password_file, 1, pw, len), same;

	if (rc == 1)
		return no_password(o->sec, "a password is needed to encrypt the secret key (use "
				   "--password-file, APPKG_PASSWORD, a terminal, or -W for none)");
	if (rc || o->password_file || getenv("APPKG_PASSWORD"))
		return rc ? appkg_error_class(rc) : 0;
	rc = fe_password(NULL, 1, &again, &again_len);
	same = rc == 0 && again_len == *len && !sodium_memcmp(again, *pw, *len);
	fe_secret_free(again, again_len);
	if (same)
		return 0;
	fe_secret_free(*pw, *len);
	*pw = NULL;
	return rc < 0 ? appkg_error_class(rc) : no_password(o->sec, "passwords do not match");
}

static int keygen(const struct options *o)
{
	struct stat st;
	char *pw = NULL;
	size_t len = 0;
	int rc;

	/* appkg_keygen refuses too (O_EXCL); checking first spares asking for a password. */
	for (int i = 0; i < 2; i++)
		if (lstat(i ? o->pub : o->sec, &st) == 0)
			return fe_report(i ? o->pub : o->sec, APPKG_ERR_EXISTS,
					 "already exists; key files are never overwritten");
	if (!o->no_password && (rc = new_password(o, &pw, &len)) != 0)
		return rc;
	rc = appkg_keygen(o->pub, o->sec, pw, len, NULL);
	fe_secret_free(pw, len);
	return rc ? report(o->sec) : 0;
}

/* The secret key's password, asked for only when the key is encrypted (*pw stays NULL). */
static int key_password(const struct options *o, char **pw, size_t *len)
{
	int enc = appkg_secret_key_encrypted(o->sec), rc;

	if (enc < 0)
		return report(o->sec);
	if (enc && (rc = fe_password(o->password_file, 1, pw, len)) != 0)
		return rc == 1 ? no_password(o->sec, "the secret key is encrypted; give its "
					     "password (--password-file, APPKG_PASSWORD or a "
					     "terminal)")
			       : appkg_error_class(rc);
	return 0;
}

/* FILE.minisig, as minisign -S writes it, through the library. */
static int sign_file(const struct options *o)
{
	char *pw = NULL;
	size_t len = 0;
	int rc = key_password(o, &pw, &len);

	if (rc)
		return rc;
	rc = appkg_sign_file(o->sign, o->sec, pw, len, NULL);
	fe_secret_free(pw, len);
	return rc ? report(o->sign) : 0;
}

int main(int argc, char **argv)
{
	struct options o;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	return o.sign ? sign_file(&o) : keygen(&o);
}
