/* SPDX-License-Identifier: MIT */
/*
 * appkg-pull: download a package from an OCI registry, verified before anything is written.
 * The library streams the layer into a temporary file beside the output, checking its size
 * and sha256 against the image manifest and the config blob against the package's
 * manifest.json; then this tool runs the full verification (every member, the secrets with a
 * password, the signature against --pubkey, --require-signature, --bindings), and only then
 * is the temporary renamed into place. Any failure leaves the output as it was.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "registry.h"

#define MAX_KEYS 16

struct options {
	struct fe_registry reg;
	const char *output, *reference, *password_file, *bindings;
	const char *pubkeys[MAX_KEYS];
	int npubkeys, require_signature;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... oci://HOST[:PORT]/REPOSITORY{:TAG|@sha256:DIGEST} -o PKG\n"
	       "Pull a package from an OCI registry; verify it in full before writing PKG\n"
	       "('-o -': standard output, only after the verification).\n\n"
	       "  -o, --output PKG         the package to write\n"
	       "      --pubkey FILE        check the signature with this minisign public key\n"
	       "                           (repeatable); a signature it refuses fails the pull\n"
	       "      --require-signature  fail a package without a valid signature\n"
	       "      --bindings ENV.json  also check the package's inputs against ENV.json\n"
	       "      --password-file FILE also decrypt and authenticate the secrets\n"
	       FE_REGISTRY_HELP
	       "  -v, --verbose            print each request (never a credential)\n"
	       "  -q, --quiet              no progress display\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "APPKG_PASSWORD in the environment also supplies the secrets password.\n"
	       "Exit status: 0 ok, 1 rejected (a registry that lies, a package that fails\n"
	       "verification, not found), 2 usage, 3 authentication (registry credentials,\n"
	       "a bad or untrusted signature, a wrong password), 4 environment (cannot\n"
	       "connect, TLS failure, cannot write PKG).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"output", required_argument, NULL, 'o'}, {"pubkey", required_argument, NULL, 'k'},
		{"require-signature", no_argument, NULL, 'r'}, {"bindings", required_argument, NULL, 'b'},
		{"password-file", required_argument, NULL, 'p'}, {"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, FE_REGISTRY_LONGS, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.reg.progress = 1};
	while ((c = fe_getopt(argc, argv, "o:vqhV", longs)) != -1) {
		if (fe_registry_option(&o->reg, c, optarg))
			continue;
		switch (c) {
		case 'o': o->output = optarg; break;
		case 'k':
			if (o->npubkeys == MAX_KEYS)
				fe_usage_error("at most %d --pubkey options", MAX_KEYS);
			o->pubkeys[o->npubkeys++] = optarg;
			break;
		case 'r': o->require_signature = 1; break;
		case 'b': o->bindings = optarg; break;
		case 'p': o->password_file = optarg; break;
		case 'v': o->reg.verbose = 1; break;
		case 'q': o->reg.progress = 0; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	o->reference = fe_one_operand(argc, argv, "REF");
	if (!o->output)
		fe_usage_error("missing -o PKG");
	if (o->reg.password_stdin && o->password_file && !strcmp(o->password_file, "-"))
		fe_usage_error("--password-stdin and --password-file - cannot both read stdin");
}

/* Every member, as appkg verify reads them; the first problem ends it. */
static int check_members(appkg_reader *r, const char *subject)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	return rc < 0 ? fe_report(subject, rc, appkg_reader_error(r)) : 0;
}

static int check_secrets(appkg_reader *r, const struct options *o, const char *subject)
{
	char *pw = NULL, *plain = NULL;
	size_t pw_len = 0, len = 0;
	int rc;

	if (!appkg_reader_has_secrets(r) || (!o->password_file && !getenv("APPKG_PASSWORD")))
		return 0;
	if ((rc = fe_password(o->password_file, 0, &pw, &pw_len)) < 0)
		return appkg_error_class(rc);
	if (rc == 1)
		return fe_report(subject, APPKG_ERR_NO_PASSWORD, "secrets.enc: no password");
	rc = appkg_reader_secrets(r, pw, pw_len, &plain, &len);
	appkg_secure_free(plain, len);
	fe_secret_free(pw, pw_len);
	return rc ? fe_report(subject, rc, appkg_reader_error(r)) : 0;
}

/* As appkg verify: a bad signature fails only when a key was given or one is required. */
static int check_signature(appkg_reader *r, const struct options *o, const char *subject)
{
	char key_id[64], trusted[256];
	int rc = 0;

	for (int i = 0; i < o->npubkeys; i++)
		if ((rc = appkg_reader_add_trusted_key(r, o->pubkeys[i])))
			return fe_report(o->pubkeys[i], rc, appkg_reader_error(r));
	rc = appkg_reader_check_signature(r, key_id, trusted);
	if (rc == 1 && o->require_signature)
		return fe_report(subject, APPKG_ERR_SIGNATURE, "manifest.json.minisig: signed, but no "
				 "trusted public key (--pubkey) to check it with");
	if (rc == APPKG_ERR_NOT_FOUND && o->require_signature)
		return fe_report(subject, APPKG_ERR_SIGNATURE, "manifest.json.minisig: package is not "
				 "signed");
	if (rc < 0 && rc != APPKG_ERR_NOT_FOUND && (o->npubkeys || o->require_signature))
		return fe_report(subject, rc, appkg_reader_error(r));
	return 0;
}

static void on_binding(void *ctx, const struct appkg_binding_problem *p)
{
	const struct options *o = ctx;

	if (p->unbound)
		fprintf(stderr, "%s: '%s': input '%s' is required\n", fe_prog, o->bindings, p->input);
	else
		fprintf(stderr, "%s: '%s': warning: input '%s' is not used by the package\n", fe_prog,
			o->bindings, p->input);
}

static int check_bindings(appkg_reader *r, const struct options *o)
{
	appkg_bindings *b;
	int rc;

	if (!o->bindings)
		return 0;
	if (!(b = appkg_bindings_new()))
		return fe_report(o->bindings, APPKG_ERR_NO_MEMORY, NULL);
	if ((rc = appkg_bindings_load_file(b, o->bindings)))
		rc = fe_report(o->bindings, rc, appkg_bindings_error(b));
	else if ((rc = appkg_bindings_check(b, r, on_binding, (void *)o)) < 0)
		rc = fe_report(o->bindings, rc, appkg_bindings_error(b));
	else
		rc = rc > 0 ? APPKG_EXIT_REJECTED : 0;
	appkg_bindings_free(b);
	return rc;
}

/* The full verification of the downloaded package on fd. */
static int verify(int fd, const struct options *o)
{
	appkg_reader *r = appkg_reader_new();
	int status;

	if (!r)
		return fe_report(o->reference, APPKG_ERR_NO_MEMORY, NULL);
	if ((status = appkg_reader_open_fd(r, fd)))
		status = fe_report(o->reference, status, appkg_reader_error(r));
	if (!status)
		status = check_members(r, o->reference);
	if (!status)
		status = check_secrets(r, o, o->reference);
	if (!status)
		status = check_signature(r, o, o->reference);
	if (!status)
		status = check_bindings(r, o);
	appkg_reader_free(r);
	return status;
}

static int copy_to_stdout(int fd)
{
	char buf[1 << 16];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0 || (n < 0 && errno == EINTR)) {
		if (n < 0)
			continue;
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			break;
		off += n;
	}
	if (n < 0 || fflush(stdout) || ferror(stdout))
		return fe_report("standard output", APPKG_ERR_IO, "cannot write the package");
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_oci *c;
	int rc, fd, status = 0, to_stdout;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	to_stdout = !strcmp(o.output, "-");
	c = fe_registry_handle(&o.reg, o.reference, FE_REF_TAG_OR_DIGEST);
	if (!to_stdout && (status = fe_check_output(o.output, 0)))
		goto out;
	if ((status = fe_registry_setup(&o.reg, c, appkg_oci_host(c), o.reference)))
		goto out;
	rc = appkg_oci_pull(c, to_stdout ? NULL : o.output, &fd);
	fe_registry_free(&o.reg);
	if (rc) {
		status = fe_registry_report(o.reference, c, rc);
		goto out;
	}
	if ((status = verify(fd, &o)))
		goto out;
	if (to_stdout)
		status = copy_to_stdout(fd);
	else if ((rc = appkg_oci_pull_commit(c)))
		status = fe_registry_report(o.output, c, rc);
out:
	fe_registry_free(&o.reg);
	appkg_oci_free(c);
	return status;
}
