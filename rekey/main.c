/* SPDX-License-Identifier: MIT */
/*
 * appkg-rekey: change the password of a package's secrets, touching nothing else.
 *
 * The old password must open secrets.enc (else exit 3 and the package is untouched); the
 * plaintext stays in guarded memory and is sealed again under the new password with a fresh
 * salt, at the same Argon2id cost unless --kdf says otherwise. Every resource is copied from
 * the package as it is, the manifest keeps every field but the secrets entry the library
 * recomputes, and the new package replaces the old one atomically (appkg_writer_finish_path).
 * A signature cannot survive (the manifest holds the digest of secrets.enc): it is dropped
 * with a notice, unless --sign signs the new manifest. Spec §11.7.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "progress.h"

struct options {
	const char *package, *output, *password_file, *new_password_file, *sign_key;
	const char *key_password_file;
	int level, kdf_given;
	enum appkg_kdf_level kdf;
	enum fe_progress_mode progress;
};

struct rekey {
	const struct options *o;
	const char *subject;
	appkg_reader *r;
	appkg_writer *w;
	char *plain, *old_pw, *new_pw;
	size_t plain_len, old_pw_len, new_pw_len;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG\n"
	       "Change the password of the secrets of PKG, touching nothing else.\n\n"
	       "      --password-file FILE      the current password (else APPKG_PASSWORD, else a\n"
	       "                                prompt); '-' reads standard input\n"
	       "      --new-password-file FILE  the new password (else APPKG_NEW_PASSWORD, else a\n"
	       "                                prompt that asks it twice)\n"
	       "      --kdf LEVEL               Argon2id cost: interactive, moderate or sensitive\n"
	       "                                (default: the cost PKG has)\n"
	       "  -o, --output FILE             write the result there and leave PKG alone\n"
	       "                                ('-' for standard output)\n"
	       "  -l, --level N                 zstd level 1..19 for the frames that change\n"
	       "                                (default 3); the others are copied as they are\n"
	       "      --sign SECKEY             sign the new manifest with a minisign secret key\n"
	       "      --key-password-file FILE  password of SECKEY (else APPKG_KEY_PASSWORD, else\n"
	       "                                a prompt)\n"
	       "  -q, --quiet                   no progress display\n"
	       "      --progress                a progress display even when stderr is not a\n"
	       "                                terminal or the work is short\n"
	       "  -h, --help                    show this help\n"
	       "  -V, --version                 show the version\n\n"
	       "PKG is replaced atomically: it is either the old package or the new one. A wrong\n"
	       "current password changes nothing. Without --sign a signature is left out, with a\n"
	       "notice, since the manifest records the new secrets.enc.\n"
	       "Exit status: 0 ok, 1 rejected package or no secrets, 2 usage, 3 no or wrong\n"
	       "password or bad key, 4 I/O error.\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"password-file", required_argument, NULL, 'p'},
		{"new-password-file", required_argument, NULL, 'n'},
		{"kdf", required_argument, NULL, 'k'}, {"output", required_argument, NULL, 'o'},
		{"level", required_argument, NULL, 'l'}, {"sign", required_argument, NULL, 's'},
		{"key-password-file", required_argument, NULL, 'K'}, {"quiet", no_argument, NULL, 'q'},
		{"progress", no_argument, NULL, 'P'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.level = 3};
	while ((c = fe_getopt(argc, argv, "o:l:qhV", longs)) != -1) {
		switch (c) {
		case 'p': o->password_file = optarg; break;
		case 'n': o->new_password_file = optarg; break;
		case 'k': o->kdf = fe_parse_kdf(optarg); o->kdf_given = 1; break;
		case 'o': o->output = optarg; break;
		case 'l':
			if ((o->level = (int)fe_parse_int(optarg, 1, 19)) < 0)
				fe_usage_error("--level: expected 1..19, not '%s'", optarg);
			break;
		case 's': o->sign_key = optarg; break;
		case 'K': o->key_password_file = optarg; break;
		case 'q': o->progress = FE_PROGRESS_NEVER; break;
		case 'P': o->progress = FE_PROGRESS_ALWAYS; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (optind + 1 != argc)
		fe_usage_error(optind == argc ? "missing PKG" : "one PKG only");
	o->package = argv[optind];
	if (!o->output && !strcmp(o->package, "-"))
		fe_usage_error("PKG '-' needs -o OUT: there is no file to replace");
	if (!o->output)
		o->output = o->package;
	if (!strcmp(o->output, "-") && isatty(1))
		fe_usage_error("refusing to write a package to a terminal");
}

static int reader_failed(struct rekey *k, int rc)
{
	return fe_report(k->subject, rc, appkg_reader_error(k->r));
}

static int writer_failed(struct rekey *k, int rc)
{
	return fe_report(k->subject, rc, appkg_writer_error(k->w));
}

/* Open PKG and decrypt its secrets with the current password: a wrong one ends here, before
 * anything is written. */
static int open_secrets(struct rekey *k)
{
	const struct options *o = k->o;
	int rc = strcmp(o->package, "-") ? appkg_reader_open_path(k->r, o->package)
					 : appkg_reader_open_fd(k->r, 0);

	if (rc)
		return reader_failed(k, rc);
	if (!appkg_reader_has_secrets(k->r)) {
		fprintf(stderr, "%s: '%s': no secrets.enc: there is no password to change\n", fe_prog,
			k->subject);
		return APPKG_EXIT_REJECTED;
	}
	rc = fe_password(o->password_file, 1, &k->old_pw, &k->old_pw_len);
	if (rc == 1)
		return fe_report(k->subject, APPKG_ERR_NO_PASSWORD, "secrets.enc: the current password "
				 "is needed (--password-file, APPKG_PASSWORD or a terminal)");
	if (rc)
		return appkg_error_class(rc); /* the helper said why */
	rc = appkg_reader_secrets(k->r, k->old_pw, k->old_pw_len, &k->plain, &k->plain_len);
	if (rc == APPKG_ERR_AUTH)
		return fe_report(k->subject, rc, "secrets.enc: wrong password: nothing changed");
	return rc ? reader_failed(k, rc) : 0;
}

static int new_password(struct rekey *k)
{
	int rc = fe_password_confirm_env(k->o->new_password_file, "APPKG_NEW_PASSWORD", 1,
					 &k->new_pw, &k->new_pw_len);

	if (rc == 1)
		return fe_report(k->subject, APPKG_ERR_NO_PASSWORD, "the new password is needed "
				 "(--new-password-file, APPKG_NEW_PASSWORD or a terminal)");
	return rc ? appkg_error_class(rc) : 0;
}

/* The cost to seal with: --kdf, else the preset the old blob used (moderate when it used none). */
static enum appkg_kdf_level kdf_level(struct rekey *k)
{
	const void *blob;
	size_t len;
	int level;

	if (k->o->kdf_given)
		return k->o->kdf;
	if (appkg_reader_read(k->r, "secrets.enc", &blob, &len) != 0)
		return APPKG_KDF_MODERATE;
	level = appkg_secrets_kdf_level(blob, len);
	return level > 0 ? (enum appkg_kdf_level)level : APPKG_KDF_MODERATE;
}

/* The manifest and every resource, from the package as they are. */
static int copy_package(struct rekey *k)
{
	const char *manifest;
	size_t len, n = appkg_reader_resource_count(k->r);
	struct appkg_resource res;
	int rc = appkg_reader_manifest(k->r, &manifest, &len);

	if (rc)
		return reader_failed(k, rc);
	if ((rc = appkg_writer_set_manifest(k->w, manifest, len)))
		return writer_failed(k, rc);
	for (size_t i = 0; i < n; i++) {
		if ((rc = appkg_reader_resource(k->r, i, &res)))
			return reader_failed(k, rc);
		if ((rc = appkg_writer_add_copy(k->w, res.type, res.file_name, k->r)))
			return writer_failed(k, rc);
	}
	return 0;
}

/* --sign signs anew; otherwise the old signature is offered, and the writer leaves it out
 * because the manifest it signed is not the one written. */
static int set_signature(struct rekey *k)
{
	const void *sig;
	size_t len;
	int rc;

	if (k->o->sign_key) {
		rc = fe_set_signing_key(k->w, k->subject, k->o->sign_key, k->o->key_password_file);
		return rc ? appkg_error_class(rc) : 0;
	}
	if (appkg_reader_read(k->r, "manifest.json.minisig", &sig, &len) != 0)
		return 0;
	rc = appkg_writer_set_signature_blob(k->w, sig, len);
	return rc ? writer_failed(k, rc) : 0;
}

static int write_package(struct rekey *k)
{
	struct fe_progress *pg = fe_progress_new("rekeying", k->o->progress);
	int rc;

	appkg_writer_set_progress(k->w, fe_progress_update, pg);
	rc = strcmp(k->o->output, "-") ? appkg_writer_finish_path(k->w, k->o->output)
				       : appkg_writer_finish_fd(k->w, 1);
	fe_progress_end(pg);
	if (rc)
		return writer_failed(k, rc);
	if (appkg_writer_signature_dropped(k->w))
		fe_report(k->subject, 0, "manifest.json.minisig: left out: the manifest changed with "
			  "the secrets (--sign SECKEY signs the package again)");
	return 0;
}

static int rekey(struct rekey *k)
{
	enum appkg_kdf_level level;
	int rc;

	if ((rc = open_secrets(k)) || (rc = new_password(k)))
		return rc;
	level = kdf_level(k);
	if (!(k->w = appkg_writer_new()) || appkg_writer_set_level(k->w, k->o->level))
		return fe_report(k->subject, APPKG_ERR_NO_MEMORY, NULL);
	appkg_writer_set_verify(k->w, 1);
	if ((rc = copy_package(k)))
		return rc;
	rc = appkg_writer_set_secrets(k->w, k->plain, k->plain_len, k->new_pw, k->new_pw_len, level,
				      NULL, 0); /* no previous blob: a fresh salt */
	fe_secret_free(k->new_pw, k->new_pw_len);
	k->new_pw = NULL;
	appkg_secure_free(k->plain, k->plain_len);
	k->plain = NULL;
	if (rc)
		return writer_failed(k, rc);
	if ((rc = set_signature(k)))
		return rc;
	return write_package(k);
}

int main(int argc, char **argv)
{
	struct options o;
	struct rekey k = {.o = &o};
	int rc;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	k.subject = strcmp(o.package, "-") ? o.package : "(stdin)";
	if ((rc = fe_check_output(o.output, 0)))
		return rc;
	if (!(k.r = appkg_reader_new()))
		return fe_report(k.subject, APPKG_ERR_NO_MEMORY, NULL);
	rc = rekey(&k);
	appkg_secure_free(k.plain, k.plain_len);
	fe_secret_free(k.old_pw, k.old_pw_len);
	fe_secret_free(k.new_pw, k.new_pw_len);
	appkg_writer_free(k.w);
	appkg_reader_free(k.r);
	return rc;
}
