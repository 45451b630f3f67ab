/* SPDX-License-Identifier: MIT */
/* appkg_path_classify: the one rule for members, side files and misplaced files (issue 10,
 * item 11). Public interface only. */
#include <stdio.h>

#include "appkg/appkg.h"
#include "harness.h"

static const struct {
	const char *path;
	int is_dir, want;
} cases[] = {
	{"manifest.json", 0, APPKG_PATH_MANIFEST},
	{"manifest.json.minisig", 0, APPKG_PATH_SIGNATURE},
	{"secrets.json", 0, APPKG_PATH_SECRETS_JSON},
	{"secrets.enc", 0, APPKG_PATH_SECRETS_ENC},
	{"resources", 1, APPKG_PATH_DIRECTORY},
	{"resources/pages", 1, APPKG_PATH_DIRECTORY},
	{"resources/pages/home.json", 0, APPKG_PATH_RESOURCE},
	{"resources/queries/get%2Fusers.json", 0, APPKG_PATH_RESOURCE},
	/* side files a git checkout or an editor leaves */
	{".git", 1, APPKG_PATH_SIDE},
	{".git/config", 0, APPKG_PATH_SIDE},
	{".gitignore", 0, APPKG_PATH_SIDE},
	{".DS_Store", 0, APPKG_PATH_SIDE},
	{"README.md", 0, APPKG_PATH_SIDE},
	{"docs", 1, APPKG_PATH_SIDE},
	{"docs/notes.json", 0, APPKG_PATH_SIDE},
	{"resources/pages/home.json~", 0, APPKG_PATH_SIDE},
	{"resources/pages/.home.json.swp", 0, APPKG_PATH_SIDE},
	{"resources/pages/4913", 0, APPKG_PATH_SIDE},
	{"resources/pages/.backup", 1, APPKG_PATH_SIDE},
	{"resources/.DS_Store", 0, APPKG_PATH_SIDE},
	{"resources/pages/.json", 0, APPKG_PATH_SIDE},
	/* a .json file where no member can be: refused, never dropped silently */
	{"manfest.json", 0, APPKG_ERR_TAR_MEMBER},
	{"resources/home.json", 0, APPKG_ERR_TAR_MEMBER},
	{"resources/pages/old", 1, APPKG_ERR_TAR_MEMBER},
	{"resources/pages/old/home.json", 0, APPKG_ERR_TAR_MEMBER},
	{"resources", 0, APPKG_ERR_TAR_MEMBER},
	{"", 0, APPKG_ERR_INVALID_ARGUMENT},
	{"/etc/passwd", 0, APPKG_ERR_INVALID_ARGUMENT},
	{"resources/", 1, APPKG_ERR_INVALID_ARGUMENT},
};

static size_t current;

TEST(test_classify_case)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "%s (%s)", cases[current].path,
		 cases[current].is_dir ? "directory" : "file");
	harness_msg = msg;
	CHECK_EQ(appkg_path_classify(cases[current].path, cases[current].is_dir), cases[current].want);
}

TEST(test_classify_null)
{
	CHECK_EQ(appkg_path_classify(NULL, 0), APPKG_ERR_INVALID_ARGUMENT);
}

int main(void)
{
	for (current = 0; current < sizeof(cases) / sizeof(cases[0]); current++) {
		char name[300];
		snprintf(name, sizeof(name), "layout_%s%s", cases[current].path,
			 cases[current].is_dir ? "/" : "");
		run_test(name, test_classify_case);
	}
	RUN(test_classify_null);
	return harness_total_failed != 0;
}
