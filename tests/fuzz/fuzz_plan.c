/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the mount's manifest plan at a commit (mount/entries.c), which reads the
 * user's manifest entry by entry with its own scanner, against a small tree with a renamed,
 * a new and two plain resource files. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../mount/mount.h"

struct mount_state fs;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct node *file(struct node *dir, const char *name, mode_t mode, const char *member)
{
	struct node *n = calloc(1, sizeof(*n));

	n->name = strdup(name);
	n->mode = mode;
	n->member = member;
	dir->kids = realloc(dir->kids, (dir->nkids + 1) * sizeof(*dir->kids));
	dir->kids[dir->nkids++] = n;
	return n;
}

static void tree(void)
{
	struct node *pages;

	fs.root = calloc(1, sizeof(*fs.root));
	fs.root->mode = S_IFDIR | 0755;
	pages = file(file(fs.root, "resources", S_IFDIR | 0755, NULL), "pages", S_IFDIR | 0755, NULL);
	file(pages, "a.json", S_IFREG | 0644, "resources/pages/a.json");
	file(pages, "b.json", S_IFREG | 0644, "resources/pages/b.json");
	file(pages, "new.json", S_IFREG | 0644, "resources/pages/old.json");
	file(pages, "z.json", S_IFREG | 0644, NULL);
	fs.reader = appkg_reader_new(); /* not open: no member is found in it */
}

static void ignore(void *ctx, const char *line)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size ? size : 1), *out;
	size_t len;

	if (!fs.root)
		tree();
	memcpy(text, data, size); /* exactly size bytes: a read past the end is caught */
	for (int slim = 0; slim < 2; slim++)
		if (manifest_plan(text, size, slim, &out, &len, ignore, NULL) == 0 && out) {
			if (strlen(out) != len)
				abort();
			free(out);
		}
	free(text);
	return 0;
}
