/* SPDX-License-Identifier: MIT */
/*
 * appkg-push: upload a package to an OCI registry as an artifact (spec section 22): its
 * manifest.json as the config blob, the package file as the one layer, then the image
 * manifest under the tag (the reference's, else the package's version). Blobs the registry
 * already has are not sent again. Prints the reference by digest of what was pushed.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "registry.h"

struct options {
	struct fe_registry reg;
	long long chunk_size;
	const char *package, *reference;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... PKG oci://HOST[:PORT]/REPOSITORY[:TAG]\n"
	       "Push a package to an OCI registry; print oci://HOST/REPOSITORY@sha256:DIGEST.\n"
	       "Without :TAG the package's version is the tag.\n\n"
	       "      --chunk-size BYTES   send blobs larger than this in chunks of this size\n"
	       "                           (default 8 MiB)\n"
	       FE_REGISTRY_HELP
	       "  -v, --verbose            print each request (never a credential)\n"
	       "  -q, --quiet              no progress display\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "Exit status: 0 ok, 1 rejected (not a package, a registry that lies), 2 usage,\n"
	       "3 authentication (credentials missing or refused), 4 environment (cannot\n"
	       "connect, TLS failure, registry errors after the retries).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"chunk-size", required_argument, NULL, 'c'}, {"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, FE_REGISTRY_LONGS, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){.reg.progress = 1};
	while ((c = fe_getopt(argc, argv, "vqhV", longs)) != -1) {
		if (fe_registry_option(&o->reg, c, optarg))
			continue;
		switch (c) {
		case 'c':
			if ((o->chunk_size = fe_parse_int(optarg, 1, 1L << 30)) < 0)
				fe_usage_error("--chunk-size takes 1 to 1073741824 bytes");
			break;
		case 'v': o->reg.verbose = 1; break;
		case 'q': o->reg.progress = 0; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	if (argc - optind < 2)
		fe_usage_error("missing %s", argc == optind ? "PKG and REF" : "REF");
	if (argc - optind > 2)
		fe_usage_error("one PKG and one REF only ('%s' is extra)", argv[optind + 2]);
	o->package = argv[optind];
	o->reference = argv[optind + 1];
}

/* Without a tag in the reference, the package's version (as helm does). */
static int default_tag(appkg_oci *c, const struct options *o)
{
	appkg_reader *r = appkg_reader_new();
	const char *version;
	int rc;

	if (!r)
		return fe_report(o->package, APPKG_ERR_NO_MEMORY, NULL);
	if ((rc = appkg_reader_open_path(r, o->package))) {
		rc = fe_report(o->package, rc, appkg_reader_error(r));
	} else if (!(version = appkg_reader_meta(r, "version")) || appkg_oci_set_tag(c, version)) {
		fprintf(stderr, "%s: '%s' has no tag, and the package's version is not a valid tag "
				"(see %s --help)\n", fe_prog, o->reference, fe_prog);
		rc = APPKG_EXIT_USAGE;
	}
	appkg_reader_free(r);
	return rc;
}

/* Whether a failure is the registry's (named by the reference) or the package file's. */
static int about_registry(int rc)
{
	return rc <= APPKG_ERR_REGISTRY || rc == APPKG_ERR_TRANSPORT || rc == APPKG_ERR_TLS ||
	       rc == APPKG_ERR_REFERENCE || rc == APPKG_ERR_NO_MEMORY;
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_oci *c;
	char digest[80];
	int rc, status = 0;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	c = fe_registry_handle(&o.reg, o.reference, FE_REF_TAG);
	if (!appkg_oci_tag(c) && (status = default_tag(c, &o)))
		goto out;
	o.reg.chunk_size = (uint64_t)o.chunk_size;
	if ((status = fe_registry_setup(&o.reg, c, appkg_oci_host(c), o.reference)))
		goto out;
	rc = appkg_oci_push(c, o.package, digest);
	fe_registry_free(&o.reg);
	if (rc) {
		status = fe_registry_report(about_registry(rc) ? o.reference : o.package, c, rc);
		goto out;
	}
	printf("oci://%s/%s@%s\n", appkg_oci_host(c), appkg_oci_repository(c), digest);
	if (fflush(stdout) || ferror(stdout))
		status = fe_report("standard output", APPKG_ERR_IO, "cannot write");
out:
	fe_registry_free(&o.reg);
	appkg_oci_free(c);
	return status;
}
