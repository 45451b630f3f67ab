/* SPDX-License-Identifier: MIT */
/*
 * Merging packages (appkg_merge, spec §10.7): the union of the inputs' resources, matched by
 * path (the type and the encoded logical name, so by type and logical name), each copied from
 * the input that wins it with its manifest entry. Two inputs holding one resource with other
 * bytes or other entry fields, one secret name with other values, or one input (spec §20.3)
 * declared otherwise, conflict; every conflict is reported before anything is settled, and
 * without a preference none is. The secrets are
 * either carried sealed (one input has them, no new password) or decrypted, merged by name and
 * sealed anew; decrypted values are wiped, and never appear in a message.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

struct item {
	size_t input, index;
	const char *path; /* in the input's manifest view, valid while it is open */
};

struct merge {
	appkg_writer *w;
	struct appkg_err *e;
	appkg_reader *const *in;
	size_t n;
	const struct appkg_merge_options *o;
	struct item *items;
	size_t nitems, conflicts;
	json_t *root, *entries;
};

static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->input > y->input) - (x->input < y->input);
}

/* Every resource of every input, sorted by path and then by input. */
static int collect(struct merge *mg)
{
	size_t total = 0, k;
	const struct manifest *m;

	for (k = 0; k < mg->n; k++) {
		if (!(m = reader_manifest_view(mg->in[k])))
			return appkg_fail(mg->e, reader_err(mg->in[k])->code, "input %zu: %s", k + 1,
					  appkg_reader_error(mg->in[k]));
		total += m->nres;
	}
	if (!(mg->items = calloc(total + 1, sizeof(*mg->items))))
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	for (k = 0; k < mg->n; k++) {
		m = reader_manifest_view(mg->in[k]);
		for (size_t i = 0; i < m->nres; i++)
			mg->items[mg->nitems++] = (struct item){k, i, m->res[i].path};
	}
	qsort(mg->items, mg->nitems, sizeof(*mg->items), item_cmp);
	return 0;
}

static void report(struct merge *mg, const struct appkg_conflict *c)
{
	mg->conflicts++;
	if (mg->o->conflict_fn)
		mg->o->conflict_fn(mg->o->conflict_ctx, c);
}

/* "content", "attributes", or NULL when a and b hold the resource alike. */
static const char *differs(struct merge *mg, const struct item *a, const struct item *b)
{
	const struct manifest *ma = reader_manifest_view(mg->in[a->input]);
	const struct manifest *mb = reader_manifest_view(mg->in[b->input]);
	json_t *ea, *eb;
	int same;

	if (memcmp(ma->res[a->index].digest, mb->res[b->index].digest, APPKG_DIGEST_BYTES))
		return "content";
	ea = resources_entry(mg->in[a->input], a->index);
	eb = resources_entry(mg->in[b->input], b->index);
	same = ea && eb && json_equal(ea, eb);
	json_decref(ea);
	json_decref(eb);
	return same ? NULL : "attributes";
}

static void compare_run(struct merge *mg, const struct item *run, size_t len)
{
	struct appkg_resource res;
	const char *what;

	for (size_t j = 1; j < len; j++) {
		if (!(what = differs(mg, &run[0], &run[j])))
			continue;
		if (appkg_reader_resource(mg->in[run[0].input], run[0].index, &res))
			continue;
		report(mg, &(struct appkg_conflict){.kind = "resource", .what = what,
			.path = res.path, .type = res.type, .name = res.name,
			.first = run[0].input, .second = run[j].input});
	}
}

/* The winner of a run: its resource copied, its entry kept for the manifest. */
static int take(struct merge *mg, const struct item *it)
{
	struct appkg_resource res;
	json_t *entry;
	int rc = appkg_reader_resource(mg->in[it->input], it->index, &res);

	if (rc)
		return appkg_fail(mg->e, rc, "input %zu: %s", it->input + 1,
				  appkg_reader_error(mg->in[it->input]));
	if ((rc = appkg_writer_add_copy(mg->w, res.type, res.file_name, mg->in[it->input])))
		return mg->e->code = rc; /* a refused add keeps its message on w, not its code */
	entry = resources_entry(mg->in[it->input], it->index);
	if (!entry || json_array_append_new(mg->entries, entry))
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

static int merge_resources(struct merge *mg)
{
	size_t start = 0, end;

	if (collect(mg))
		return mg->e->code;
	for (; start < mg->nitems; start = end) {
		for (end = start + 1; end < mg->nitems; end++)
			if (strcmp(mg->items[end].path, mg->items[start].path))
				break;
		compare_run(mg, &mg->items[start], end - start);
		if (take(mg, &mg->items[mg->o->prefer == APPKG_PREFER_LAST ? end - 1 : start]))
			return mg->e->code;
	}
	return 0;
}

/* Zero the string values of a secrets object before it is freed. */
static void wipe_values(json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
		if (json_is_string(v))
			sodium_memzero((char *)json_string_value(v), json_string_length(v));
}

/* The secrets of input k, decrypted and parsed; NULL with the error on mg->e. */
static json_t *open_secrets(struct merge *mg, size_t k)
{
	const char *pw = mg->o->passwords ? mg->o->passwords[k] : NULL;
	char *plain = NULL;
	size_t len = 0;
	json_t *obj;
	int rc;

	if (!pw) {
		appkg_fail(mg->e, APPKG_ERR_NO_PASSWORD, "input %zu: secrets.enc: no password for it",
			   k + 1);
		return NULL;
	}
	rc = appkg_reader_secrets(mg->in[k], pw, mg->o->password_lens ? mg->o->password_lens[k]
								      : strlen(pw), &plain, &len);
	if (rc) {
		appkg_fail(mg->e, rc, "input %zu: %s", k + 1, appkg_reader_error(mg->in[k]));
		return NULL;
	}
	obj = json_loadb(plain, len, JSON_REJECT_DUPLICATES, NULL); /* checked by the reader */
	appkg_secure_free(plain, len);
	if (!obj)
		appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	return obj;
}

/* Add the secrets of input k to all; from records which input gave each name. */
static int add_secrets(struct merge *mg, size_t k, json_t *all, json_t *from)
{
	json_t *obj = open_secrets(mg, k), *v, *old;
	const char *key;
	int rc = 0;

	if (!obj)
		return mg->e->code;
	json_object_foreach(obj, key, v) {
		old = json_object_get(all, key);
		if (old && !json_equal(old, v))
			report(mg, &(struct appkg_conflict){.kind = "secret", .what = "value",
				.name = key, .first = (size_t)json_integer_value(json_object_get(from, key)),
				.second = k});
		if (old && mg->o->prefer != APPKG_PREFER_LAST)
			continue;
		if (json_object_set_new(all, key, json_string(json_string_value(v))) ||
		    (!old && json_object_set_new(from, key, json_integer((json_int_t)k))))
			rc = appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	wipe_values(obj);
	json_decref(obj);
	return rc;
}

/* Seal the merged secrets under the new password; the text lives in guarded memory. */
static int seal(struct merge *mg, json_t *all)
{
	size_t flags = JSON_INDENT(2) | JSON_SORT_KEYS, len = json_dumpb(all, NULL, 0, flags);
	char *text = len ? sodium_malloc(len + 1) : NULL;
	int rc;

	if (!text)
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	json_dumpb(all, text, len, flags);
	text[len] = '\n';
	rc = appkg_writer_set_secrets(mg->w, text, len + 1, mg->o->new_password,
				      mg->o->new_password_len, mg->o->kdf, NULL, 0);
	sodium_memzero(text, len + 1);
	sodium_free(text);
	return rc;
}

static int merge_secrets(struct merge *mg, json_t **all)
{
	json_t *from = json_object();

	*all = json_object();
	if (!from || !*all)
		return json_decref(from), appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	for (size_t k = 0; k < mg->n; k++)
		if (appkg_reader_has_secrets(mg->in[k]) && add_secrets(mg, k, *all, from))
			break;
	json_decref(from);
	return mg->e->code;
}

/* Without a new password: the one sealed blob, carried with its package_id. */
static int carry_sealed(struct merge *mg, size_t *carried)
{
	size_t found = 0;

	*carried = mg->n;
	for (size_t k = 0; k < mg->n; k++)
		if (appkg_reader_has_secrets(mg->in[k]) && found++ == 0)
			*carried = k;
	if (found > 1)
		return appkg_fail(mg->e, APPKG_ERR_NO_PASSWORD, "secrets.enc: %zu inputs have secrets: "
				  "merging them needs each one's password and a new one", found);
	if (found && json_object_set_new(mg->root, "package_id",
		    json_string(appkg_reader_meta(mg->in[*carried], "package_id"))))
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	return 0;
}

/* The manifest of the first input, with the merged entries and the fields given. */
static int build_root(struct merge *mg)
{
	const char *json;
	size_t len;
	int rc = appkg_reader_manifest(mg->in[0], &json, &len);

	if (rc)
		return appkg_fail(mg->e, rc, "input 1: %s", appkg_reader_error(mg->in[0]));
	mg->root = json_loadb(json, len, 0, NULL);
	mg->entries = json_array();
	if (!mg->root || !mg->entries)
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	json_object_del(mg->root, "secrets");
	if ((mg->o->name && json_object_set_new(mg->root, "name", json_string(mg->o->name))) ||
	    (mg->o->version && json_object_set_new(mg->root, "version", json_string(mg->o->version))))
		return appkg_fail(mg->e, APPKG_ERR_INVALID_ARGUMENT, "name or version: not UTF-8");
	return 0;
}

/* An input's declaration: its manifest entry without what pack computes; NULL when it
 * declares nothing (an input a resource uses, listed by pack alone). */
static json_t *declaration(json_t *entry, struct merge *mg)
{
	json_t *d = json_deep_copy(entry);

	if (!d) {
		appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
		return NULL;
	}
	json_object_del(d, "used_by");
	json_object_del(d, "required");
	if (json_object_size(d))
		return d;
	json_decref(d);
	return NULL;
}

/* One input's declarations into all; from records which input gave each (spec §10.7). */
static int add_inputs(struct merge *mg, size_t k, json_t *all, json_t *from)
{
	const struct manifest *m = reader_manifest_view(mg->in[k]);
	json_t *v, *d, *old;
	const char *name;

	json_object_foreach(m && m->major >= 2 ? json_object_get(m->root, "inputs") : NULL, name, v) {
		if (!(d = declaration(v, mg))) {
			if (mg->e->code)
				return mg->e->code;
			continue;
		}
		old = json_object_get(all, name);
		if (old && !json_equal(old, d))
			report(mg, &(struct appkg_conflict){.kind = "input", .what = "attributes",
				.name = name, .first = (size_t)json_integer_value(json_object_get(from, name)),
				.second = k});
		if (old && mg->o->prefer != APPKG_PREFER_LAST) {
			json_decref(d);
			continue;
		}
		if (json_object_set_new(all, name, d) ||
		    (!old && json_object_set_new(from, name, json_integer((json_int_t)k))))
			return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	return 0;
}

/* The inputs the merged package declares: each from the first input that declares it; two
 * declarations that differ conflict, settled like resources. */
static int merge_inputs(struct merge *mg)
{
	json_t *all = json_object(), *from = json_object();
	int rc = all && from ? 0 : appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");

	for (size_t k = 0; !rc && k < mg->n; k++)
		rc = add_inputs(mg, k, all, from);
	if (!rc && json_object_size(all))
		rc = json_object_set(mg->root, "inputs", all) ? appkg_fail(mg->e, APPKG_ERR_NO_MEMORY,
									  "out of memory") : 0;
	else
		json_object_del(mg->root, "inputs");
	json_decref(all);
	json_decref(from);
	return rc;
}

static int set_manifest(struct merge *mg)
{
	size_t len;
	char *text;
	int rc;

	if (json_object_set(mg->root, "resources", mg->entries) || !(text = json_canonical(mg->root, &len)))
		return appkg_fail(mg->e, APPKG_ERR_NO_MEMORY, "out of memory");
	rc = appkg_writer_set_manifest(mg->w, text, len);
	free(text);
	return rc;
}

static int run(struct merge *mg)
{
	json_t *all = NULL;
	size_t carried = mg->n;
	const void *blob;
	size_t blob_len;
	int rc;

	if (build_root(mg) || merge_resources(mg) || merge_inputs(mg))
		return mg->e->code;
	rc = mg->o->new_password ? merge_secrets(mg, &all) : carry_sealed(mg, &carried);
	if (!rc && mg->conflicts && mg->o->prefer == APPKG_PREFER_NONE)
		rc = appkg_fail(mg->e, APPKG_ERR_MERGE_CONFLICT, "%zu conflict%s: nothing merged "
				"(a preference for the first or the last input settles them)",
				mg->conflicts, mg->conflicts == 1 ? "" : "s");
	if (!rc)
		rc = set_manifest(mg);
	if (!rc && all && json_object_size(all))
		rc = seal(mg, all);
	if (!rc && carried < mg->n &&
	    !(rc = appkg_reader_read(mg->in[carried], "secrets.enc", &blob, &blob_len)))
		rc = appkg_writer_set_secrets_blob(mg->w, blob, blob_len);
	else if (rc && carried < mg->n && !mg->e->code)
		rc = appkg_fail(mg->e, rc, "input %zu: %s", carried + 1,
				appkg_reader_error(mg->in[carried]));
	if (all)
		wipe_values(all);
	json_decref(all);
	return rc;
}

int appkg_merge(appkg_writer *w, appkg_reader *const *inputs, size_t n,
		const struct appkg_merge_options *options)
{
	static const struct appkg_merge_options none;
	struct merge mg = {.w = w, .e = writer_err(w), .in = inputs, .n = n,
			   .o = options ? options : &none};
	int rc;

	if (mg.e->code)
		return mg.e->code;
	if (!inputs || n == 0)
		return appkg_fail(mg.e, APPKG_ERR_INVALID_ARGUMENT, "merge: no inputs");
	if (mg.o->new_password && !mg.o->new_password_len)
		return appkg_fail(mg.e, APPKG_ERR_NO_PASSWORD, "merge: empty new password");
	rc = run(&mg);
	free(mg.items);
	json_decref(mg.entries);
	json_decref(mg.root);
	return rc;
}
