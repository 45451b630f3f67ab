/* SPDX-License-Identifier: MIT */
/*
 * What the registry tools (appkg push, pull, tags, login, logout and info with an oci://
 * operand) share: the common options (--username, --password-stdin, --ca-file, --plain-http,
 * --resolve, -v), the credentials from docker's config.json (auths, credHelpers, credsStore),
 * the -v request log and the progress display, and the storing of credentials by appkg login.
 * Linked into the tools only; the library takes credentials through appkg_oci_set_options.
 */
#ifndef APPKG_REGISTRY_H
#define APPKG_REGISTRY_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include "appkg/appkg.h"

#define FE_REGISTRY_MAX_RESOLVE 16

/* getopt_long values of the common options, above every short option's. */
enum {
	FE_OPT_USERNAME = 0x100,
	FE_OPT_PASSWORD_STDIN,
	FE_OPT_CA_FILE,
	FE_OPT_PLAIN_HTTP,
	FE_OPT_RESOLVE,
};

#define FE_REGISTRY_LONGS                                                                          \
	{"username", required_argument, NULL, FE_OPT_USERNAME},                                    \
	{"password-stdin", no_argument, NULL, FE_OPT_PASSWORD_STDIN},                              \
	{"ca-file", required_argument, NULL, FE_OPT_CA_FILE},                                      \
	{"plain-http", no_argument, NULL, FE_OPT_PLAIN_HTTP},                                      \
	{"resolve", required_argument, NULL, FE_OPT_RESOLVE}

/* The --help lines of the common options. */
#define FE_REGISTRY_HELP                                                                           \
	"      --username USER      registry user (with --password-stdin); else the\n"            \
	"                           credentials of docker's config.json\n"                          \
	"      --password-stdin     read the registry password from standard input\n"            \
	"      --ca-file FILE       trust this PEM CA besides the system store\n"                \
	"      --plain-http         talk plain HTTP, not HTTPS (a local test registry)\n"         \
	"      --resolve HOST:PORT:ADDR  connect to ADDR for HOST:PORT (as curl's)\n"

struct fe_registry {
	const char *username, *ca_file;
	int password_stdin, plain_http, verbose;
	const char *resolve[FE_REGISTRY_MAX_RESOLVE];
	size_t nresolve;
	uint64_t chunk_size; /* push --chunk-size, 0 for the default */
	int progress; /* show a progress display (when stderr is a terminal) */
	char *user;   /* the user name in use (--username or the docker config), malloc'd */
	char *password; /* guarded memory */
	size_t password_len;
	struct fe_progress *display;
};

/* Take option c (one of FE_OPT_*) with its argument; 1 if it was one, else 0. */
int fe_registry_option(struct fe_registry *o, int c, const char *arg);

/* What a command's operand names: a registry (login, logout), a repository (tags), a tag or
 * none (push), a tag or a digest (pull, info). */
enum fe_ref { FE_REF_REGISTRY, FE_REF_REPOSITORY, FE_REF_TAG, FE_REF_TAG_OR_DIGEST };

/* A handle for ref, which must name what `what` says, after checking that the options go
 * together; otherwise the program ends (status 2, or 4 without memory), with nothing left
 * allocated. */
appkg_oci *fe_registry_handle(const struct fe_registry *o, const char *ref, enum fe_ref what);

/* Credentials for host (--username with --password-stdin, else docker's config.json) and the
 * options, set on c. 0, or an exit status after one line on stderr about subject. */
int fe_registry_setup(struct fe_registry *o, appkg_oci *c, const char *host, const char *subject);

/* Print "prog: 'subject': message" for a failed registry call; the exit status. */
int fe_registry_report(const char *subject, appkg_oci *c, int rc);

/* End the progress display and wipe the credentials. */
void fe_registry_free(struct fe_registry *o);

/* $DOCKER_CONFIG/config.json, else ~/.docker/config.json; malloc'd or NULL. */
char *fe_docker_config_path(void);

/* Store (user, password) for host in the docker config (mode 0600, every other key kept), or
 * with user NULL remove host's entry; *removed tells whether there was one. 0 or an exit
 * status after one line on stderr. */
int fe_docker_config_store(const char *host, const char *user, const char *password,
			   size_t password_len, int *removed);

#endif
