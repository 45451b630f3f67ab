/* SPDX-License-Identifier: MIT */
/* Small packages written through the public writer for the unit tests that compare or plan
 * packages (test_diff.c, test_plan.c) or open them (test_inputs.c, test_extract_bind.c). A file that
 * calls package() sets tmp to a fresh directory first. */
#ifndef APPKG_TEST_PACKAGES_H
#define APPKG_TEST_PACKAGES_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "appkg/appkg.h"

static char tmp[256] __attribute__((unused));
static int serial __attribute__((unused));

/* A package at a new path in tmp with manifest and resources given as "type", "name",
 * "json" triples ending in NULL; open for reading. */
static inline appkg_reader *package(const char *manifest, ...)
{
	appkg_writer *w = appkg_writer_new();
	appkg_reader *r = appkg_reader_new();
	char path[512];
	const char *type;
	va_list ap;
	int rc;

	snprintf(path, sizeof(path), "%s/p%d.appkg", tmp, ++serial);
	rc = appkg_writer_set_manifest(w, manifest, strlen(manifest));
	va_start(ap, manifest);
	while (!rc && (type = va_arg(ap, const char *))) {
		const char *name = va_arg(ap, const char *), *json = va_arg(ap, const char *);
		rc = appkg_writer_add_resource(w, type, name, json, strlen(json));
	}
	va_end(ap);
	if (!rc)
		rc = appkg_writer_finish_path(w, path);
	if (rc)
		fprintf(stderr, "  cannot write %s: %s\n", path, appkg_writer_error(w));
	appkg_writer_free(w);
	if (rc || appkg_reader_open_path(r, path))
		fprintf(stderr, "  cannot open %s: %s\n", path, appkg_reader_error(r));
	return r;
}

/* A reader open on the package at path; the reason goes to stderr when it does not open. */
static inline appkg_reader *open_package(const char *path)
{
	appkg_reader *r = appkg_reader_new();

	if (r && appkg_reader_open_path(r, path))
		fprintf(stderr, "  cannot open %s: %s\n", path, appkg_reader_error(r));
	return r;
}

#endif
