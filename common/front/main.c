/* SPDX-License-Identifier: MIT */
/*
 * appkg: the front command. `appkg CMD ARGS...` runs the program appkg-CMD (git style), looked
 * up first beside this program, then on PATH; `appkg help CMD` runs `appkg-CMD --help`.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "fe.h"

static const char *const commands[][2] = {
	{"pack", "pack a directory into a package"},
	{"unpack", "unpack a package into a directory"},
	{"verify", "check a package before import"},
	{"info", "show what a package holds, for review"},
	{"mount", "mount a package read-write with FUSE"},
	{"keygen", "make a signing key pair, or sign a file"},
	{"diff", "show what changed between two packages or directories"},
	{"merge", "merge packages, or keep a selection of one"},
	{"rekey", "change the password of a package's secrets"},
	{"plan", "show what importing a package into a target would do"},
	{"push", "upload a package to an OCI registry"},
	{"pull", "download a package from an OCI registry, verified"},
	{"tags", "list the tags of a repository in an OCI registry"},
	{"login", "check and store credentials for an OCI registry"},
	{"logout", "remove stored credentials for an OCI registry"},
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: appkg COMMAND [ARG]...\n"
		     "       appkg help COMMAND\n"
		     "       appkg --help | --version\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i][0], commands[i][1]);
	fprintf(out, "\n'appkg COMMAND --help' shows the options of a command.\n");
}

/* A command is a short name of lowercase letters, digits and '-'. */
static int command_name(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-");

	return n > 0 && n <= 64 && s[n] == '\0';
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], prog[PATH_MAX + 32], *slash;
	char *help[] = {argv[0], argc > 2 ? argv[2] : NULL, "--help", NULL};
	ssize_t n;

	fe_init(argv[0]);
	if (argc < 2)
		fe_usage_error("missing command");
	if (!strcmp(argv[1], "help") && argc == 3) { /* appkg help CMD: appkg CMD --help */
		argv = help;
		argc = 3;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		if (argc > 2)
			fe_usage_error("help takes one COMMAND");
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))
		fe_version();
	if (argv[1][0] == '-' || strchr(argv[1], '/'))
		fe_usage_error("'%s' is not a command", argv[1]);
	if (!command_name(argv[1])) { /* never handed to exec: no tool has such a name */
		fprintf(stderr, "appkg: '%s' is not an appkg command\n", argv[1]);
		return APPKG_EXIT_USAGE;
	}
	snprintf(prog, sizeof(prog), "appkg-%s", argv[1]);
	argv[1] = prog;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			char beside[PATH_MAX + 64];
			snprintf(beside, sizeof(beside), "%.*s/%s", (int)(slash - self), self, prog);
			execv(beside, argv + 1);
		}
	}
	execvp(prog, argv + 1);
	fprintf(stderr, "appkg: '%s' is not an appkg command (no %s found)\n", prog + 6, prog);
	return APPKG_EXIT_USAGE;
}
