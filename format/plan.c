/* SPDX-License-Identifier: MIT */
/*
 * appkg_plan_*: what importing a package into a target would do, resource by resource (spec
 * §21), the preview an importer shows before it changes anything. Each resource of the package
 * is matched with the target's (by path, or with "match": "id" by its id among the target's
 * resources of its type); its import mode gives the action; for a resource on both sides the
 * document the import would leave (the package's for update and overwrite, the RFC 7396 merge
 * patch of the package's onto the target's for merge) is compared with the target's by the
 * value comparison of diffjson.c, whose changes an appkg_diff handle of the plan keeps. With
 * bindings, inputs (never secrets) are bound before comparing. Items come in import order
 * (plangraph.c).
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "plan.h"

appkg_plan *appkg_plan_new(void)
{
	appkg_plan *p = calloc(1, sizeof(*p));

	if (p && !(p->diff = appkg_diff_new())) {
		free(p);
		return NULL;
	}
	if (p)
		p->failed_input = -1;
	return p;
}

static void item_free(struct plan_item *it)
{
	free(it->path);
	free(it->type);
	free(it->name);
	free(it->mode);
	free(it->match);
	free(it->id);
	free(it->target_path);
	free(it->reason);
}

void appkg_plan_free(appkg_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		item_free(&p->items[i]);
	free(p->items);
	free(p->order);
	for (size_t i = 0; i < p->nunbound; i++)
		free(p->unbound[i]);
	free(p->unbound);
	free(p->cycle_paths);
	free(p->cycle_start);
	appkg_diff_free(p->diff);
	free(p);
}

int appkg_plan_set_bindings(appkg_plan *p, appkg_bindings *b)
{
	if (p->started)
		return APPKG_ERR_STATE;
	p->bindings = b;
	return 0;
}

size_t appkg_plan_count(const appkg_plan *p)
{
	return p->done ? p->n : 0;
}

int appkg_plan_item(const appkg_plan *p, size_t i, struct appkg_plan_item *out)
{
	const struct plan_item *it;

	if (i >= appkg_plan_count(p))
		return APPKG_ERR_NOT_FOUND;
	it = &p->items[p->order[i]];
	*out = (struct appkg_plan_item){it->action, it->path,	  it->type,	   it->name,
					it->mode,   it->match,	  it->id,	   it->target_path,
					it->reason, it->count};
	return 0;
}

int appkg_plan_change(const appkg_plan *p, size_t item, size_t i, struct appkg_change *out)
{
	const struct plan_item *it;

	if (item >= appkg_plan_count(p))
		return APPKG_ERR_NOT_FOUND;
	it = &p->items[p->order[item]];
	if (i >= it->count)
		return APPKG_ERR_NOT_FOUND;
	return appkg_diff_change(p->diff, it->first + i, out);
}

size_t appkg_plan_unbound_count(const appkg_plan *p)
{
	return p->nunbound;
}

const char *appkg_plan_unbound(const appkg_plan *p, size_t i)
{
	return i < p->nunbound ? p->unbound[i] : NULL;
}

size_t appkg_plan_cycle_count(const appkg_plan *p)
{
	return p->ncycles;
}

const char *const *appkg_plan_cycle(const appkg_plan *p, size_t i, size_t *count)
{
	if (i >= p->ncycles) {
		*count = 0;
		return NULL;
	}
	*count = p->cycle_start[i + 1] - p->cycle_start[i];
	return p->cycle_paths + p->cycle_start[i];
}

const char *appkg_plan_action_name(int action)
{
	static const char *const names[] = {"create", "conflict", "update", "overwrite",
					    "merge",  "unchanged", "error", "skip"};

	return action >= APPKG_ACTION_CREATE && action <= APPKG_ACTION_SKIP ? names[action - 1]
									      : NULL;
}

const char *appkg_plan_error(const appkg_plan *p)
{
	return p->msg;
}

int appkg_plan_failed_input(const appkg_plan *p)
{
	return p->failed_input;
}

int plan_fail(appkg_plan *p, int input, int code, const char *message)
{
	if (!p->msg[0]) {
		p->failed_input = input;
		snprintf(p->msg, sizeof(p->msg), "%s", message ? message : "out of memory");
	}
	return code;
}

/* ---- matching -------------------------------------------------------------------------- */

/* The target's resources with an id, sorted by type, then id, for "match": "id". */
struct target_id {
	char *type, *id;
	const char *path; /* the target manifest's */
};

struct target {
	appkg_reader *r;
	const struct manifest *m;
	struct target_id *ids;
	size_t nids;
};

static int id_cmp(const void *a, const void *b)
{
	const struct target_id *x = a, *y = b;
	int c = strcmp(x->type, y->type);

	return c ? c : strcmp(x->id, y->id);
}

static void target_free(struct target *t)
{
	for (size_t i = 0; i < t->nids; i++) {
		free(t->ids[i].type);
		free(t->ids[i].id);
	}
	free(t->ids);
}

static int target_load(appkg_plan *p, struct target *t)
{
	size_t n = t->m->nres;
	struct appkg_resource res;
	int rc;

	if (n && !(t->ids = calloc(n, sizeof(*t->ids))))
		return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	for (size_t i = 0; i < n; i++) {
		if ((rc = appkg_reader_resource(t->r, i, &res)))
			return plan_fail(p, 1, rc, appkg_reader_error(t->r));
		if (!res.id)
			continue;
		t->ids[t->nids] = (struct target_id){strdup(res.type), strdup(res.id), t->m->res[i].path};
		if (!t->ids[t->nids].type || !t->ids[t->nids].id) {
			t->nids++;
			return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
		}
		t->nids++;
	}
	if (t->nids)
		qsort(t->ids, t->nids, sizeof(*t->ids), id_cmp);
	return 0;
}

static int res_path_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct manifest_resource *)item)->path);
}

static int set_reason(struct plan_item *it, int action, const char *fmt, const char *a,
		      const char *b)
{
	size_t n = strlen(fmt) + (a ? strlen(a) : 0) + (b ? strlen(b) : 0) + 1;

	it->action = action;
	if (!(it->reason = malloc(n)))
		return APPKG_ERR_NO_MEMORY;
	snprintf(it->reason, n, fmt, a ? a : "", b ? b : "");
	return 0;
}

/* The target's resource for it, by path or by id: *found is its path, or NULL when absent.
 * An item that cannot be matched becomes an ERROR with its reason. */
static int match_target(const struct target *t, struct plan_item *it, const char **found)
{
	const struct manifest_resource *hit;
	struct target_id key = {it->type, it->id, NULL}, *first, *last;

	*found = NULL;
	if (!strcmp(it->match, "name")) {
		hit = t->m->nres ? bsearch(it->path, t->m->res, t->m->nres, sizeof(*t->m->res),
					  res_path_cmp)
				: NULL;
		*found = hit ? hit->path : NULL;
		return 0;
	}
	if (strcmp(it->match, "id"))
		return set_reason(it, APPKG_ACTION_ERROR, "match must be \"name\" or \"id\"%s%s", NULL,
				  NULL);
	if (!it->id)
		return set_reason(it, APPKG_ACTION_ERROR, "match by id, but the entry has no id%s%s",
				  NULL, NULL);
	first = t->nids ? bsearch(&key, t->ids, t->nids, sizeof(key), id_cmp) : NULL;
	if (!first)
		return 0;
	for (last = first; last + 1 < t->ids + t->nids && !id_cmp(last + 1, &key); last++)
		;
	while (first > t->ids && !id_cmp(first - 1, &key))
		first--;
	if (first != last)
		return set_reason(it, APPKG_ACTION_ERROR, "match by id: the target has more than one "
				  "resource of type %s with id %s", it->type, it->id);
	*found = first->path;
	return 0;
}

/* ---- documents ------------------------------------------------------------------------- */

static json_t *parse(const void *data, size_t len)
{
	return json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
}

/* A 2.0 package's resource may hold placeholders; a 1.x package's "[[appkg:" is text. */
static int may_bind(appkg_reader *r)
{
	const char *v = appkg_reader_meta(r, "format_version");

	return v && strncmp(v, "1.", 2) != 0;
}

/* The package's document, bound when bindings are set (an unbound input leaves it as it is:
 * the input is reported on its own). *doc is NULL for a document Jansson cannot hold. */
static int package_document(appkg_plan *p, appkg_reader *r, const char *path, json_t **doc)
{
	const void *data;
	char *bound = NULL;
	size_t len, bound_len = 0;
	int rc;

	if ((rc = appkg_reader_read(r, path, &data, &len)))
		return plan_fail(p, 0, rc, appkg_reader_error(r));
	if (p->bindings && may_bind(r)) {
		rc = appkg_bind(p->bindings, data, len, 0, &bound, &bound_len);
		if (rc < 0 && rc != APPKG_ERR_UNBOUND)
			return plan_fail(p, 0, rc, appkg_bindings_error(p->bindings));
	}
	*doc = bound ? parse(bound, bound_len) : parse(data, len);
	appkg_bound_free(bound, bound_len);
	return 0;
}

static int target_document(appkg_plan *p, appkg_reader *r, const char *path, json_t **doc)
{
	const void *data;
	size_t len;
	int rc;

	if ((rc = appkg_reader_read(r, path, &data, &len)))
		return plan_fail(p, 1, rc, appkg_reader_error(r));
	*doc = parse(data, len);
	return 0;
}

/* RFC 7396: patch applied to target (a reference this call takes); a new reference, or NULL
 * when out of memory. An object patch is merged key by key, null deleting the key; any other
 * patch replaces the target whole, arrays included. */
static json_t *merge_patch(json_t *target, json_t *patch)
{
	const char *key;
	json_t *value, *merged;

	if (!json_is_object(patch)) {
		json_decref(target);
		return json_incref(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		if (!(target = json_object()))
			return NULL;
	}
	json_object_foreach(patch, key, value) {
		if (json_is_null(value)) {
			json_object_del(target, key);
			continue;
		}
		merged = merge_patch(json_incref(json_object_get(target, key)), value);
		if (!merged || json_object_set_new(target, key, merged)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

/* The changes from the target's document to the result, recorded for it. */
static int record_changes(appkg_plan *p, struct plan_item *it, json_t *from, json_t *to)
{
	struct diff_ctx c = {.d = p->diff, .subject = APPKG_DIFF_VALUE, .type = it->type,
			     .name = it->name};
	int rc;

	it->first = appkg_diff_count(p->diff);
	rc = from && to ? diff_values(&c, from, to)
			: diff_add(p->diff, APPKG_CHANGE_CHANGED, APPKG_DIFF_VALUE, it->type,
				   it->name, "", NULL, NULL);
	buf_free(&c.pointer);
	it->count = appkg_diff_count(p->diff) - it->first;
	return rc ? plan_fail(p, -1, rc, NULL) : 0;
}

/* A resource both sides have, under update, overwrite or merge. */
static int compare_item(appkg_plan *p, struct plan_item *it, appkg_reader *pkg, appkg_reader *tgt)
{
	int merge = !strcmp(it->mode, "merge"), rc;
	json_t *mine = NULL, *theirs = NULL, *result = NULL;

	if ((rc = package_document(p, pkg, it->path, &mine)) ||
	    (rc = target_document(p, tgt, it->target_path, &theirs)))
		goto out;
	if (merge && (!mine || !theirs)) {
		rc = set_reason(it, APPKG_ACTION_ERROR, "cannot be merged: a value past what this "
				"appkg represents (an integer beyond 64 bits)%s%s", NULL, NULL);
		goto out;
	}
	if (mine && theirs) {
		result = merge ? merge_patch(json_deep_copy(theirs), mine) : json_incref(mine);
		if (!result) {
			rc = plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
			goto out;
		}
		if (json_equal(result, theirs)) {
			it->action = APPKG_ACTION_UNCHANGED;
			goto out;
		}
	}
	it->action = merge			   ? APPKG_ACTION_MERGE
		     : !strcmp(it->mode, "update") ? APPKG_ACTION_UPDATE
						   : APPKG_ACTION_OVERWRITE;
	rc = record_changes(p, it, theirs, result);
out:
	json_decref(mine);
	json_decref(theirs);
	json_decref(result);
	return rc;
}

/* The action for one resource (spec §21.2). */
static int plan_item(appkg_plan *p, struct plan_item *it, appkg_reader *pkg,
		     const struct target *t)
{
	const char *found;
	int rc;

	if (!strcmp(it->mode, "skip")) {
		it->action = APPKG_ACTION_SKIP;
		return 0;
	}
	if ((rc = match_target(t, it, &found)) || it->action == APPKG_ACTION_ERROR)
		return rc ? plan_fail(p, -1, rc, NULL) : 0;
	if (found && !(it->target_path = strdup(found)))
		return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	if (!found && !strcmp(it->mode, "update") && !strcmp(it->match, "id"))
		rc = set_reason(it, APPKG_ACTION_ERROR, "mode update, but the target has no resource "
				"of type %s with id %s", it->type, it->id);
	else if (!found && !strcmp(it->mode, "update"))
		rc = set_reason(it, APPKG_ACTION_ERROR, "mode update, but the target has no such "
				"resource%s%s", NULL, NULL);
	else if (!found)
		it->action = APPKG_ACTION_CREATE;
	else if (!strcmp(it->mode, "create"))
		rc = set_reason(it, APPKG_ACTION_CONFLICT, "mode create, and the target has it "
				"already%s%s", NULL, NULL);
	else
		return compare_item(p, it, pkg, t->r);
	return rc ? plan_fail(p, -1, rc, NULL) : 0;
}

/* ---- the plan -------------------------------------------------------------------------- */

/* The package's resources as items, in path order, with their entry attributes. */
static int load_items(appkg_plan *p, appkg_reader *r, size_t n)
{
	struct appkg_resource res;
	const char *match;
	json_t *entry;
	int rc;

	if (n && !(p->items = calloc(n, sizeof(*p->items))))
		return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	for (size_t i = 0; i < n; i++) {
		struct plan_item *it = &p->items[p->n++]; /* counted now: freed with p if half made */
		if ((rc = appkg_reader_resource(r, i, &res)))
			return plan_fail(p, 0, rc, appkg_reader_error(r));
		entry = resources_entry(r, i);
		match = json_string_value(json_object_get(entry, "match"));
		it->path = strdup(res.path);
		it->type = strdup(res.type);
		it->name = strdup(res.name);
		it->mode = strdup(res.mode);
		it->match = strdup(match ? match : "name");
		it->id = res.id ? strdup(res.id) : NULL;
		json_decref(entry);
		if (!entry || !it->path || !it->type || !it->name || !it->mode || !it->match ||
		    (res.id && !it->id))
			return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	}
	return 0;
}

/* Every member of an input read once and checked, so that a damaged one is refused rather
 * than planned against (as appkg_diff_compare does). */
static int verify_input(appkg_plan *p, int input, appkg_reader *r)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	return rc ? plan_fail(p, input, rc, appkg_reader_error(r)) : 0;
}

/* Required inputs the bindings leave without a value: all of them without bindings. */
static int find_unbound(appkg_plan *p, appkg_reader *r)
{
	size_t n = appkg_reader_input_count(r);
	struct appkg_input in;
	int rc;

	if (n && !(p->unbound = calloc(n, sizeof(*p->unbound))))
		return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	if (n && p->bindings && (rc = appkg_bindings_use_defaults(p->bindings, r)) < 0)
		return plan_fail(p, 0, rc, appkg_bindings_error(p->bindings));
	for (size_t i = 0; i < n; i++) {
		if ((rc = appkg_reader_input(r, i, &in)))
			return plan_fail(p, 0, rc, appkg_reader_error(r));
		if (!in.required || (p->bindings && appkg_bindings_value(p->bindings, in.name)))
			continue;
		if (!(p->unbound[p->nunbound] = strdup(in.name)))
			return plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
		p->nunbound++;
	}
	return 0;
}

/* 0 when the import would change nothing and nothing stands in its way. */
static int outcome(const appkg_plan *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->items[i].action != APPKG_ACTION_UNCHANGED &&
		    p->items[i].action != APPKG_ACTION_SKIP)
			return 1;
	return p->nunbound || p->ncycles;
}

int appkg_plan_make(appkg_plan *p, appkg_reader *package, appkg_reader *target)
{
	struct target t = {.r = target};
	const struct manifest *m;
	int rc;

	if (!package || !target)
		return plan_fail(p, -1, APPKG_ERR_INVALID_ARGUMENT, "no input");
	if (p->started)
		return plan_fail(p, -1, APPKG_ERR_STATE, "this handle has planned already");
	p->started = 1;
	if ((rc = verify_input(p, 0, package)) || (rc = verify_input(p, 1, target)))
		goto out;
	if (!(m = reader_manifest_view(package))) {
		rc = plan_fail(p, 0, reader_err(package)->code, appkg_reader_error(package));
		goto out;
	}
	if (!(t.m = reader_manifest_view(target))) {
		rc = plan_fail(p, 1, reader_err(target)->code, appkg_reader_error(target));
		goto out;
	}
	if ((rc = find_unbound(p, package)) || (rc = target_load(p, &t)) ||
	    (rc = load_items(p, package, m->nres)))
		goto out;
	for (size_t i = 0; i < p->n && !rc; i++)
		rc = plan_item(p, &p->items[i], package, &t);
	if (!rc)
		rc = plan_order(p, m);
out:
	target_free(&t);
	if (rc)
		return rc;
	p->done = 1;
	return outcome(p);
}
