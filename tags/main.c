/* SPDX-License-Identifier: MIT */
/*
 * appkg-tags: list the tags of a repository in an OCI registry, one per line (or one JSON
 * array with --json), following the registry's Link pagination within the library's bounds.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "registry.h"

struct options {
	struct fe_registry reg;
	const char *reference;
	int json;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... oci://HOST[:PORT]/REPOSITORY\n"
	       "List the tags of a repository in an OCI registry, one per line.\n\n"
	       "      --json               print one JSON array of tags\n"
	       FE_REGISTRY_HELP
	       "  -v, --verbose            print each request (never a credential)\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "Exit status: 0 ok, 1 rejected (a malformed answer, no such repository),\n"
	       "2 usage, 3 authentication, 4 environment (cannot connect, TLS failure).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"json", no_argument, NULL, 'j'}, {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'},
		FE_REGISTRY_LONGS, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "vhV", longs)) != -1) {
		if (fe_registry_option(&o->reg, c, optarg))
			continue;
		switch (c) {
		case 'j': o->json = 1; break;
		case 'v': o->reg.verbose = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	o->reference = fe_one_operand(argc, argv, "REF");
}

static void on_tag(void *ctx, const char *tag)
{
	json_t *list = ctx;

	json_array_append_new(list, json_string(tag));
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_oci *c;
	json_t *list, *t;
	size_t i;
	int rc, status = 0;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	c = fe_registry_handle(&o.reg, o.reference, FE_REF_REPOSITORY);
	if (!(list = json_array()))
		status = fe_report(o.reference, APPKG_ERR_NO_MEMORY, NULL);
	else if ((status = fe_registry_setup(&o.reg, c, appkg_oci_host(c), o.reference)))
		goto out;
	/* Tags are collected first: a page that fails prints nothing half-way. */
	if ((rc = appkg_oci_tags(c, on_tag, list))) {
		status = fe_registry_report(o.reference, c, rc);
		goto out;
	}
	if (o.json) {
		json_dumpf(list, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		json_array_foreach(list, i, t)
			printf("%s\n", json_string_value(t)); /* tags are [A-Za-z0-9._-] only */
	}
	if (fflush(stdout) || ferror(stdout))
		status = fe_report("standard output", APPKG_ERR_IO, "cannot write");
out:
	fe_registry_free(&o.reg);
	json_decref(list);
	appkg_oci_free(c);
	return status;
}
