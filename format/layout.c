/* SPDX-License-Identifier: MIT */
/*
 * The layout of an unpacked directory (spec §6.1): which paths are package members, which are
 * side files that pack, unpack and the mount leave alone (a git checkout's .git and .gitignore,
 * an editor's swap and backup files, a README), and which are mistakes that would otherwise
 * lose a resource silently (a ".json" file where no member can be). One rule for every tool.
 */
#include <string.h>

#include "internal.h"

static int is_side_name(const char *name, size_t len)
{
	return len == 0 || name[0] == '.';
}

static int ends_with_json(const char *name, size_t len)
{
	return len > 5 && memcmp(name + len - 5, ".json", 5) == 0;
}

/* A top-level file. */
static int classify_top(const char *name)
{
	static const struct {
		const char *name;
		int kind;
	} members[] = {
		{MANIFEST_PATH, APPKG_PATH_MANIFEST},     {SIGNATURE_PATH, APPKG_PATH_SIGNATURE},
		{"secrets.json", APPKG_PATH_SECRETS_JSON}, {SECRETS_PATH, APPKG_PATH_SECRETS_ENC},
	};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (!strcmp(name, members[i].name))
			return members[i].kind;
	return ends_with_json(name, strlen(name)) ? APPKG_ERR_TAR_MEMBER : APPKG_PATH_SIDE;
}

static int has_side_component(const char *path)
{
	for (const char *p = path; p; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL)
		if (is_side_name(p, strcspn(p, "/")))
			return 1;
	return 0;
}

/* Below resources/: a type directory, or a file or directory inside one. */
static int classify_resources(const char *rest, int is_dir)
{
	const char *slash = strchr(rest, '/');
	int json;

	if (!slash) /* resources/<x> */
		return is_dir ? APPKG_PATH_DIRECTORY
			      : ends_with_json(rest, strlen(rest)) ? APPKG_ERR_TAR_MEMBER : APPKG_PATH_SIDE;
	json = ends_with_json(slash + 1, strlen(slash + 1));
	if (is_dir) /* a resource is never nested deeper: a directory there would hide one */
		return APPKG_ERR_TAR_MEMBER;
	if (!strchr(slash + 1, '/'))
		return json ? APPKG_PATH_RESOURCE : APPKG_PATH_SIDE;
	return json ? APPKG_ERR_TAR_MEMBER : APPKG_PATH_SIDE;
}

int appkg_path_classify(const char *path, int is_dir)
{
	const size_t n = strlen("resources");

	if (!path || !*path || *path == '/' || path[strlen(path) - 1] == '/')
		return APPKG_ERR_INVALID_ARGUMENT;
	if (has_side_component(path))
		return APPKG_PATH_SIDE;
	if (strncmp(path, "resources", n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return is_dir || strchr(path, '/') ? APPKG_PATH_SIDE : classify_top(path);
	if (path[n] == '\0')
		return is_dir ? APPKG_PATH_DIRECTORY : APPKG_ERR_TAR_MEMBER;
	return classify_resources(path + n + 1, is_dir);
}
