/* SPDX-License-Identifier: MIT */
/*
 * appkg-logout: remove the credentials appkg login (or docker login) stored for a registry
 * from docker's config.json, keeping every other key of the file. Nothing is sent.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "appkg/appkg.h"
#include "fe.h"
#include "registry.h"

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... HOST[:PORT]\n"
	       "Remove the credentials stored for HOST from docker's config.json\n"
	       "($DOCKER_CONFIG/config.json, else ~/.docker/config.json).\n\n"
	       "  -v, --verbose            say whether there were credentials to remove\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "Exit status: 0 ok (also when none were stored), 2 usage, 4 environment\n"
	       "(cannot write the config file).\n",
	       fe_prog);
	exit(0);
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
	const char *host;
	int ch, verbose = 0, removed = 0, status;

	fe_init(argv[0]);
	while ((ch = fe_getopt(argc, argv, "vhV", longs)) != -1) {
		switch (ch) {
		case 'v': verbose = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	host = fe_one_operand(argc, argv, "HOST");
	if (!strncmp(host, "oci://", 6))
		host += 6;
	appkg_oci_free(fe_registry_handle(&(struct fe_registry){0}, host, FE_REF_REGISTRY));
	status = fe_docker_config_store(host, NULL, NULL, 0, &removed);
	if (!status && verbose)
		fprintf(stderr, "%s: '%s': %s\n", fe_prog, host,
			removed ? "credentials removed" : "no credentials were stored");
	return status;
}
