/* SPDX-License-Identifier: MIT */
/*
 * The user manifest at a commit. Unlike pack, the mount saw what happened to each file: a
 * resource that was unlinked loses its manifest entry, and one that was renamed takes its entry
 * (mode, id, depends_on and unknown fields) to its new path, and the depends_on of the other
 * entries follow it. The entries are then checked all at once against the files of the tree
 * (mode, id, depends_on, an entry without a file), so that one commit reports every problem
 * instead of the library's first (spec §10.4, §15). The library checks everything again when
 * the package is written.
 *
 * For the writer, the plan may also leave out the entries that say nothing the writer does not
 * derive from the file (path, type, name, size and digest of a resource being committed, mode
 * "create", no depends_on): the writer builds the same entry without them, and checks the same,
 * while a manifest of 100,000 entries is parsed, copied and built once less in a commit.
 */
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

struct resource {
	char *path; /* resources/<type>/<name>.json */
	const struct node *node;
};

struct plan {
	struct resource *v; /* the resource files of the tree, sorted by path */
	size_t n, cap;
	manifest_problem_fn report;
	void *ctx;
	int changed;
	int slim; /* leave out the entries the writer derives */
};

static int push(struct plan *p, const char *path, const struct node *n)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		void *v = realloc(p->v, cap * sizeof(*p->v));
		if (!v)
			return -1;
		p->v = v;
		p->cap = cap;
	}
	if (!(p->v[p->n].path = strdup(path)))
		return -1;
	p->v[p->n++].node = n;
	return 0;
}

/* Every file of the tree that the commit writes as a resource; path has room for PATH_MAX. */
static int collect(struct plan *p, const struct node *dir, char *path, size_t len)
{
	for (size_t i = 0; i < dir->nkids; i++) {
		const struct node *n = dir->kids[i];
		size_t l = strlen(n->name);
		if (len + l + 2 > PATH_MAX)
			continue;
		memcpy(path + len, n->name, l + 1);
		if (S_ISDIR(n->mode)) {
			memcpy(path + len + l, "/", 2);
			if (collect(p, n, path, len + l + 1))
				return -1;
		} else if (appkg_path_classify(path, 0) == APPKG_PATH_RESOURCE && push(p, path, n)) {
			return -1;
		}
	}
	return 0;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct resource *)a)->path, ((const struct resource *)b)->path);
}

static const struct resource *find(const struct plan *p, const char *path)
{
	struct resource key = {.path = (char *)path};

	return p->n ? bsearch(&key, p->v, p->n, sizeof(key), by_path) : NULL;
}

__attribute__((format(printf, 3, 4))) static void say(struct plan *p, const char *path,
							const char *fmt, ...)
{
	char what[512], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "manifest.json: %s: %s", path, what);
	p->report(p->ctx, line);
}

/* path -> the user's entry, as pack matches them (objects with a string "path" only). */
static json_t *user_map(json_t *resources)
{
	json_t *map = json_object(), *entry;
	size_t i;

	json_array_foreach(resources, i, entry) {
		const char *path = json_string_value(json_object_get(entry, "path"));
		if (map && path && json_is_object(entry))
			json_object_set(map, path, entry);
	}
	return map;
}

/* The entry for each resource file: its own, or the one of the member it was renamed from. */
static int carry(struct plan *p, json_t *map, json_t *out, json_t *used, json_t *moved)
{
	for (size_t i = 0; i < p->n; i++) {
		const char *path = p->v[i].path, *from = p->v[i].node->member;
		json_t *e = NULL;
		if (from && strcmp(from, path) && (e = json_object_get(map, from))) {
			if (!(e = json_deep_copy(e)) ||
			    json_object_set_new(e, "path", json_string(path)) ||
			    json_object_set_new(moved, from, json_string(path)))
				return -1;
			json_object_set(used, from, json_true());
			p->changed = 1;
		} else if ((e = json_object_get(map, path))) {
			json_incref(e);
			json_object_set(used, path, json_true());
		}
		if (e && json_array_append_new(out, e))
			return -1;
	}
	return 0;
}

/* User entries not taken by a file: dropped when the package had the member (the file was
 * unlinked, renamed away or replaced), kept and reported when it never existed. */
static int leftovers(struct plan *p, json_t *map, json_t *out, json_t *used)
{
	const char *path;
	json_t *e;
	struct appkg_member m;

	json_object_foreach(map, path, e) {
		if (json_object_get(used, path))
			continue;
		if (find(p, path) || !appkg_reader_find(fs.reader, path, &m)) {
			p->changed = 1;
			continue;
		}
		say(p, path, "listed, but there is no such file");
		if (json_array_append(out, e))
			return -1;
	}
	return 0;
}

/* depends_on "type/name" of a resource renamed away now names its new path. */
static void follow(struct plan *p, json_t *deps, json_t *moved)
{
	char path[PATH_MAX];
	size_t i;
	json_t *d;

	json_array_foreach(deps, i, d) {
		const char *to;
		if (!json_is_string(d) ||
		    (size_t)snprintf(path, sizeof(path), "resources/%s.json", json_string_value(d)) >=
			    sizeof(path) ||
		    !(to = json_string_value(json_object_get(moved, path))) || find(p, path))
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)(strlen(to) - 15), to + 10);
		json_array_set_new(deps, i, json_string(path));
		p->changed = 1;
	}
}

static void check_entry(struct plan *p, json_t *e, json_t *moved)
{
	static const char *const modes[] = {"create", "update", "overwrite", "merge", "skip"};
	const char *path = json_string_value(json_object_get(e, "path"));
	json_t *mode = json_object_get(e, "mode"), *id = json_object_get(e, "id");
	json_t *deps = json_object_get(e, "depends_on"), *d;
	char dep[PATH_MAX];
	size_t i, k = 0;

	while (json_is_string(mode) && k < 5 && strcmp(json_string_value(mode), modes[k]))
		k++;
	if (mode && k == 5)
		say(p, path, "mode must be one of create, update, overwrite, merge, skip");
	if (id && !json_is_string(id))
		say(p, path, "id must be a string");
	if (deps && !json_is_array(deps))
		say(p, path, "depends_on must be an array");
	follow(p, deps, moved);
	json_array_foreach(deps, i, d) {
		if (!json_is_string(d))
			say(p, path, "depends_on holds something that is not a string");
		else if ((size_t)snprintf(dep, sizeof(dep), "resources/%s.json", json_string_value(d)) >=
				 sizeof(dep) ||
			 !find(p, dep))
			say(p, path, "depends_on \"%s\" names no resource in the package",
			    json_string_value(d));
	}
}

static void check_top(struct plan *p, json_t *root)
{
	const char *name = json_string_value(json_object_get(root, "name"));
	static const char *const strings[] = {"description", "version", "created_by", "package_id"};

	if (!name || !*name)
		say(p, "name", "must be a non-empty string");
	for (size_t i = 0; i < 4; i++) {
		json_t *v = json_object_get(root, strings[i]);
		if (v && !json_is_string(v))
			say(p, strings[i], "must be a string");
	}
}

/* An entry that holds only what the writer derives from a resource being committed. */
static int derived_only(const struct plan *p, json_t *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(e, key, v) {
		if (!strcmp(key, "path")) {
			if (!json_is_string(v) || !find(p, json_string_value(v)))
				return 0;
		} else if (!strcmp(key, "type") || !strcmp(key, "name") || !strcmp(key, "digest")) {
			if (!json_is_string(v))
				return 0;
		} else if (!strcmp(key, "size")) {
			if (!json_is_integer(v))
				return 0;
		} else if (!strcmp(key, "mode")) {
			if (!json_is_string(v) || strcmp(json_string_value(v), "create"))
				return 0;
		} else if (strcmp(key, "depends_on") || !json_is_array(v) || json_array_size(v)) {
			return 0;
		}
	}
	return json_is_object(e) && json_object_get(e, "path");
}

/* out without the entries the writer derives, when every user entry was an object with its own
 * path (else the writer's messages would count them otherwise, or miss a duplicate). */
static json_t *slimmed(struct plan *p, json_t *user, json_t *map, json_t *out)
{
	json_t *keep, *e;
	size_t i;

	if (!p->slim || !json_is_array(user) || json_object_size(map) != json_array_size(user))
		return json_incref(out);
	if (!(keep = json_array()))
		return NULL;
	json_array_foreach(out, i, e) {
		if (derived_only(p, e)) {
			p->changed = 1;
		} else if (json_array_append(keep, e)) {
			json_decref(keep);
			return NULL;
		}
	}
	return keep;
}

static int plan_entries(struct plan *p, json_t *root)
{
	json_t *map = user_map(json_object_get(root, "resources")), *out = json_array();
	json_t *used = json_object(), *moved = json_object(), *e;
	size_t i;
	int rc = -1;

	if (!map || !out || !used || !moved || carry(p, map, out, used, moved) ||
	    leftovers(p, map, out, used))
		goto out;
	json_array_foreach(out, i, e)
		check_entry(p, e, moved);
	if (!(e = slimmed(p, json_object_get(root, "resources"), map, out)))
		goto out;
	rc = p->changed ? json_object_set(root, "resources", e) : 0;
	json_decref(e);
out:
	json_decref(map);
	json_decref(out);
	json_decref(used);
	json_decref(moved);
	return rc;
}

int manifest_plan(const char *json, size_t len, int slim, char **out, size_t *out_len,
		  manifest_problem_fn report, void *ctx)
{
	struct plan p = {.report = report, .ctx = ctx, .slim = slim};
	char path[PATH_MAX] = "";
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
	int rc = APPKG_ERR_NO_MEMORY;

	*out = NULL;
	*out_len = 0;
	if (!root || !json_is_object(root)) { /* the library says why */
		json_decref(root);
		return 0;
	}
	if (collect(&p, fs.root, path, 0))
		goto out;
	if (p.n > 1)
		qsort(p.v, p.n, sizeof(*p.v), by_path);
	check_top(&p, root);
	if (plan_entries(&p, root))
		goto out;
	rc = 0;
	if (p.changed) {
		*out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
		*out_len = *out ? strlen(*out) : 0;
		rc = *out ? 0 : APPKG_ERR_NO_MEMORY;
	}
out:
	for (size_t i = 0; i < p.n; i++)
		free(p.v[i].path);
	free(p.v);
	json_decref(root);
	return rc;
}
