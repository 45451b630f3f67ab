/* SPDX-License-Identifier: MIT */
/*
 * A selection on a writer (appkg_writer_set_selection, spec §10.6): the members added so far
 * seen as a graph of depends_on for select_closure (select.c), and everything outside the
 * closure dropped, members and manifest entries alike, before the manifest is checked.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "writer.h"

struct writer_graph {
	appkg_writer *w;
	json_t **entries; /* per member (sorted), its user entry or NULL */
};

static long member_index(const appkg_writer *w, const char *path)
{
	size_t lo = 0, hi = w->n;

	while (path && lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(path, w->members[mid].path);
		if (!c)
			return (long)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* The forms of appkg_reader_resource_find: member path, TYPE/NAME in file-name form, or
 * TYPE/NAME with the logical name. */
static long writer_find(void *ctx, const char *selector)
{
	const appkg_writer *w = ((struct writer_graph *)ctx)->w;
	const char *slash = strchr(selector, '/');
	char *type, *path = NULL, *encoded = NULL;
	long i = -1;

	if (!strncmp(selector, "resources/", 10))
		return member_index(w, selector);
	if (!slash || slash == selector || !(type = strndup(selector, (size_t)(slash - selector))))
		return -1;
	if ((path = resource_path_make(type, slash + 1)))
		i = member_index(w, path);
	free(path);
	path = NULL;
	if (i < 0 && (encoded = appkg_name_encode(slash + 1)) &&
	    (path = resource_path_make(type, encoded)))
		i = member_index(w, path);
	free(path);
	free(encoded);
	free(type);
	return i;
}

static long writer_find_dep(void *ctx, const char *dep)
{
	char *path = resource_path_make_dep(dep);
	long i = path ? member_index(((struct writer_graph *)ctx)->w, path) : -1;

	free(path);
	return i;
}

/* A non-string entry ends the list here; manifest_check_user reports it. */
static const char *writer_dep(void *ctx, size_t i, size_t k)
{
	json_t *e = ((struct writer_graph *)ctx)->entries[i];

	return json_string_value(json_array_get(json_object_get(e, "depends_on"), k));
}

static const char *writer_path(void *ctx, size_t i)
{
	return ((struct writer_graph *)ctx)->w->members[i].path;
}

/* The user's entries of the chosen members only (and those without a usable path, which the
 * manifest check reports); the other members are dropped. */
static int keep_chosen(appkg_writer *w, const unsigned char *chosen)
{
	json_t *list = json_object_get(w->user, "resources"), *kept = json_array(), *e;
	size_t i, n = 0;
	long k;

	if (!kept)
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	json_array_foreach(list, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		k = path ? member_index(w, path) : -1;
		if ((!path || (k >= 0 && chosen[k])) && json_array_append(kept, e))
			return json_decref(kept), appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	if (!json_is_array(list))
		json_decref(kept); /* nothing to filter: the manifest check reports it */
	else if (json_object_set_new(w->user, "resources", kept)) /* frees list */
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	for (i = 0; i < w->n; i++) {
		if (chosen[i])
			w->members[n++] = w->members[i];
		else
			writer_member_free(&w->members[i]);
	}
	w->n = n;
	return 0;
}

int writer_apply_selection(appkg_writer *w)
{
	struct writer_graph wg = {.w = w, .entries = calloc(w->n + 1, sizeof(json_t *))};
	struct select_graph g = {.n = w->n, .ctx = &wg, .find = writer_find,
				 .find_dep = writer_find_dep, .dep = writer_dep, .path = writer_path};
	unsigned char *chosen = calloc(w->n + 1, 1);
	json_t *list = json_object_get(w->user, "resources"), *e;
	size_t i;
	int rc;

	if (!wg.entries || !chosen) {
		rc = appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		goto out;
	}
	json_array_foreach(list, i, e) {
		long k = member_index(w, json_string_value(json_object_get(e, "path")));
		if (k >= 0 && json_is_object(e))
			wg.entries[k] = e;
	}
	rc = select_closure(&g, (const char *const *)w->only, w->nonly, chosen, &w->err);
	if (rc >= 0)
		rc = keep_chosen(w, chosen);
	else if (w->problem_fn)
		w->problem_fn(w->problem_ctx, rc, w->err.msg);
out:
	free(wg.entries);
	free(chosen);
	return rc;
}

