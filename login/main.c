/* SPDX-License-Identifier: MIT */
/*
 * appkg-login: check credentials against a registry (GET /v2/, the challenge flow included)
 * and store them in docker's config.json ($DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json; mode 0600, every other key of the file kept), where appkg push, pull,
 * info and tags, and docker, helm and oras, find them. appkg-logout removes them.
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
	const char *host;
};

__attribute__((noreturn)) static void usage(void)
{
	printf("Usage: %s [OPTION]... --username USER --password-stdin HOST[:PORT]\n"
	       "Check the credentials against the registry, then store them in docker's\n"
	       "config.json ($DOCKER_CONFIG/config.json, else ~/.docker/config.json).\n\n"
	       FE_REGISTRY_HELP
	       "  -v, --verbose            print each request (never a credential)\n"
	       "  -h, --help               show this help\n"
	       "  -V, --version            show the version\n\n"
	       "Exit status: 0 ok, 1 rejected (not an OCI registry), 2 usage,\n"
	       "3 authentication (credentials refused), 4 environment (cannot connect, TLS\n"
	       "failure, cannot write the config file).\n",
	       fe_prog);
	exit(0);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{"verbose", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'}, FE_REGISTRY_LONGS, {NULL, 0, NULL, 0}};
	int c;

	*o = (struct options){0};
	while ((c = fe_getopt(argc, argv, "vhV", longs)) != -1) {
		if (fe_registry_option(&o->reg, c, optarg))
			continue;
		switch (c) {
		case 'v': o->reg.verbose = 1; break;
		case 'h': usage();
		case 'V': fe_version();
		default: fe_usage_error("bad option");
		}
	}
	o->host = fe_one_operand(argc, argv, "HOST");
	if (!o->reg.username || !o->reg.password_stdin)
		fe_usage_error("login needs --username USER and --password-stdin");
	if (!strncmp(o->host, "oci://", 6))
		o->host += 6;
}

int main(int argc, char **argv)
{
	struct options o;
	appkg_oci *c;
	int rc, status = 0;

	fe_init(argv[0]);
	parse_options(argc, argv, &o);
	c = fe_registry_handle(&o.reg, o.host, FE_REF_REGISTRY);
	if ((status = fe_registry_setup(&o.reg, c, o.host, o.host)))
		goto out;
	if ((rc = appkg_oci_check_login(c))) {
		status = fe_registry_report(o.host, c, rc);
		goto out;
	}
	status = fe_docker_config_store(o.host, o.reg.user, o.reg.password, o.reg.password_len,
					NULL);
out:
	fe_registry_free(&o.reg);
	appkg_oci_free(c);
	return status;
}
