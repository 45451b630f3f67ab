/* SPDX-License-Identifier: MIT */
/*
 * The resources a package lists, with their attributes, for callers that should not parse the
 * manifest (appkg_reader_resource), the one rule for naming a resource on a command line
 * (appkg_reader_resource_find), and the inputs (appkg_reader_input). The reader has already
 * checked the manifest at open; here the resources array is only cut into entry spans once,
 * and one entry at a time is parsed when it is asked for, so that a manifest of 100,000
 * entries never becomes one tree in memory.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct resources {
	size_t n, cap;
	size_t *start, *len; /* each entry's span in the manifest bytes */
	const char *base;    /* the manifest bytes the spans index */
	json_t *current;     /* the entry the last appkg_reader_resource call parsed */
	char *type, *file_name;
	const char **deps;
};

static void clear_current(struct resources *l)
{
	json_decref(l->current);
	l->current = NULL;
	free(l->type);
	free(l->file_name);
	free(l->deps);
	l->type = l->file_name = NULL;
	l->deps = NULL;
}

void resources_free(struct resources *l)
{
	if (!l)
		return;
	clear_current(l);
	free(l->start);
	free(l->len);
	free(l);
}

static int add_span(void *ctx, const unsigned char *el, size_t len)
{
	struct resources *l = ctx;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		size_t *a = realloc(l->start, cap * sizeof(*a)), *b;
		if (a)
			l->start = a;
		b = a ? realloc(l->len, cap * sizeof(*b)) : NULL;
		if (!b)
			return -1;
		l->len = b;
		l->cap = cap;
	}
	l->start[l->n] = (size_t)((const char *)el - l->base);
	l->len[l->n++] = len;
	return 0;
}

/* The listing of r, made on first use; NULL with the error on r. */
static struct resources *listing(appkg_reader *r, const struct manifest *m)
{
	struct resources **slot = reader_resources_slot(r), *l;
	const char *json;
	size_t len, start, end;

	if (*slot)
		return *slot;
	if (appkg_reader_manifest(r, &json, &len))
		return NULL;
	if (!(l = calloc(1, sizeof(*l)))) {
		appkg_fail(reader_err(r), APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	l->base = json;
	if (!json_member_span((const unsigned char *)json, len, "resources", &start, &end) ||
	    json_array_elements((const unsigned char *)json + start, end - start, add_span, l) ||
	    l->n != m->nres) {
		resources_free(l);
		appkg_fail(reader_err(r), APPKG_ERR_NO_MEMORY, "manifest.json: resources: cannot list "
			   "them (out of memory)");
		return NULL;
	}
	return *slot = l;
}

size_t appkg_reader_resource_count(appkg_reader *r)
{
	const struct manifest *m = reader_manifest_view(r);

	return m ? m->nres : 0;
}

/* type, file-name form and depends_on of the entry l->current, into l. */
static int fill_strings(struct resources *l, const char *path, json_t *deps)
{
	const char *type, *name;
	size_t type_len, name_len, i;
	json_t *d;

	resource_path_split(path, &type, &type_len, &name, &name_len);
	l->type = strndup(type, type_len);
	l->file_name = strndup(name, name_len);
	l->deps = malloc((json_array_size(deps) + 1) * sizeof(*l->deps));
	if (!l->type || !l->file_name || !l->deps)
		return -1;
	json_array_foreach(deps, i, d)
		l->deps[i] = json_string_value(d);
	l->deps[json_array_size(deps)] = NULL;
	return 0;
}

int appkg_reader_resource(appkg_reader *r, size_t i, struct appkg_resource *out)
{
	const struct manifest *m = reader_manifest_view(r);
	struct resources *l = m ? listing(r, m) : NULL;
	json_t *e, *deps;

	if (!l)
		return reader_err(r)->code;
	if (i >= m->nres)
		return APPKG_ERR_NOT_FOUND;
	clear_current(l);
	/* checked at open: an object with these members, of these types */
	e = l->current = json_loadb(l->base + l->start[i], l->len[i], 0, NULL);
	deps = json_object_get(e, "depends_on");
	if (!e || fill_strings(l, m->res[i].path, deps))
		return appkg_fail(reader_err(r), APPKG_ERR_NO_MEMORY, "out of memory");
	*out = (struct appkg_resource){
		.path = m->res[i].path,
		.type = l->type,
		.name = json_string_value(json_object_get(e, "name")),
		.file_name = l->file_name,
		.mode = json_string_value(json_object_get(e, "mode")),
		.id = json_string_value(json_object_get(e, "id")),
		.depends_on = l->deps,
		.depends_on_count = json_array_size(deps),
		.size = m->res[i].size,
		.digest = m->res[i].digest,
	};
	return 0;
}

static int path_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct manifest_resource *)item)->path);
}

/* Index of the resource at path, or -1. */
static long lookup(const struct manifest *m, const char *path)
{
	const struct manifest_resource *hit =
		path ? bsearch(path, m->res, m->nres, sizeof(*m->res), path_cmp) : NULL;

	return hit ? (long)(hit - m->res) : -1;
}

/* TYPE/NAME with NAME in file-name form, else as a logical name. */
static long lookup_type_name(const struct manifest *m, const char *selector, int *oom)
{
	const char *slash = strchr(selector, '/');
	char *type, *path, *encoded;
	long i = -1;

	if (!slash || slash == selector || !slash[1])
		return -1;
	if (!(type = strndup(selector, (size_t)(slash - selector)))) {
		*oom = 1;
		return -1;
	}
	path = resource_path_make(type, slash + 1);
	i = lookup(m, path);
	free(path);
	if (i < 0 && (encoded = appkg_name_encode(slash + 1))) {
		path = resource_path_make(type, encoded);
		i = lookup(m, path);
		free(path);
		free(encoded);
	}
	free(type);
	return i;
}

int appkg_reader_resource_find(appkg_reader *r, const char *selector, size_t *index)
{
	const struct manifest *m = reader_manifest_view(r);
	struct appkg_err *e = reader_err(r);
	int oom = 0, code;
	long i;

	if (!m)
		return e->code;
	if (!selector)
		return appkg_fail(e, APPKG_ERR_INVALID_ARGUMENT, "resource: no selector");
	i = !strncmp(selector, "resources/", 10) ? lookup(m, selector)
						 : lookup_type_name(m, selector, &oom);
	if (oom)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	if (i >= 0) {
		*index = (size_t)i;
		return 0;
	}
	/* like a member that is not there: the message stays, the handle goes on */
	code = appkg_fail(e, APPKG_ERR_NOT_FOUND, "%s: no such resource", selector);
	e->code = 0;
	return code;
}

json_t *resources_entry(appkg_reader *r, size_t i)
{
	const struct manifest *m = reader_manifest_view(r);
	struct resources *l = m ? listing(r, m) : NULL;

	if (!l || i >= m->nres)
		return NULL;
	return json_loadb(l->base + l->start[i], l->len[i], 0, NULL);
}

/* ---- inputs (spec §20.3): checked by the reader at open, borrowed from its manifest ---- */

size_t appkg_reader_input_count(appkg_reader *r)
{
	const struct manifest *m = reader_manifest_view(r);

	return m ? m->ninputs : 0;
}

int appkg_reader_input(appkg_reader *r, size_t i, struct appkg_input *out)
{
	const struct manifest *m = reader_manifest_view(r);
	const struct manifest_input *in;

	if (!m)
		return reader_err(r)->code ? reader_err(r)->code : APPKG_ERR_STATE;
	if (!out || i >= m->ninputs)
		return APPKG_ERR_NOT_FOUND;
	in = &m->inputs[i];
	out->name = in->name;
	out->description = in->description;
	out->default_json = in->default_json;
	out->required = in->required;
	out->used_by = in->used_by;
	out->used_by_count = in->nused;
	return 0;
}
