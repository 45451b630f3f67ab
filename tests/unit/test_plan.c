/* SPDX-License-Identifier: MIT */
/*
 * The plan against a target (appkg_plan_*, spec §21), through the public header only: every
 * action (create, conflict, update, overwrite, merge, unchanged, error, skip), the RFC 7396
 * merge (null deletes, objects merged, arrays replaced), matching by id and its errors, the
 * import order (Kahn, ties by path), a cycle reported once with its members, a clean plan,
 * inputs that cannot be read, and bindings applied before comparing (inputs only, the
 * defaults of the manifest, unbound inputs listed).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"
#include "packages.h"

static appkg_plan *plan(appkg_reader *pkg, appkg_reader *target, int *rc)
{
	appkg_plan *p = appkg_plan_new();

	*rc = appkg_plan_make(p, pkg, target);
	harness_msg = appkg_plan_error(p);
	return p;
}

/* The item for path, or NULL; *order gets its position. */
static const struct appkg_plan_item *item(const appkg_plan *p, const char *path, size_t *order)
{
	static struct appkg_plan_item it;

	for (size_t i = 0; appkg_plan_item(p, i, &it) == 0; i++)
		if (!strcmp(it.path, path)) {
			if (order)
				*order = i;
			return &it;
		}
	return NULL;
}

static int action_of(const appkg_plan *p, const char *path)
{
	const struct appkg_plan_item *it = item(p, path, NULL);

	return it ? it->action : -1;
}

/* The change of item at pointer, or NULL. */
static const struct appkg_change *change_at(const appkg_plan *p, const char *path,
					    const char *pointer)
{
	static struct appkg_change c;
	size_t order;

	if (!item(p, path, &order))
		return NULL;
	for (size_t i = 0; appkg_plan_change(p, order, i, &c) == 0; i++)
		if (!strcmp(c.pointer, pointer))
			return &c;
	return NULL;
}

TEST(every_action)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/pages/dup.json\",\"mode\":\"create\"},"
		"{\"path\":\"resources/pages/gone.json\",\"mode\":\"update\"},"
		"{\"path\":\"resources/pages/mrg.json\",\"mode\":\"merge\"},"
		"{\"path\":\"resources/pages/new.json\",\"mode\":\"overwrite\"},"
		"{\"path\":\"resources/pages/ow.json\",\"mode\":\"overwrite\"},"
		"{\"path\":\"resources/pages/same.json\",\"mode\":\"update\"},"
		"{\"path\":\"resources/pages/skp.json\",\"mode\":\"skip\"},"
		"{\"path\":\"resources/pages/upd.json\",\"mode\":\"update\"}]}",
		"pages", "dup", "{\"t\":1}", "pages", "gone", "{\"t\":1}", "pages", "mrg",
		"{\"t\":2}", "pages", "new", "{\"t\":1}", "pages", "ow", "{\"t\":2}", "pages", "same",
		"{\"t\":1}", "pages", "skp", "{\"t\":9}", "pages", "upd", "{\"t\":2}", NULL);
	appkg_reader *target = package(
		"{\"name\":\"target\"}", "pages", "dup", "{\"t\":5}", "pages", "mrg",
		"{\"t\":1,\"u\":1}", "pages", "ow", "{\"t\":1}", "pages", "same", "{\"t\":1}", "pages",
		"skp", "{\"t\":1}", "pages", "upd", "{\"t\":1}", NULL);
	const struct appkg_plan_item *it;
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 1);
	CHECK_EQ(appkg_plan_count(p), 8);
	CHECK_EQ(action_of(p, "resources/pages/new.json"), APPKG_ACTION_CREATE);
	CHECK_EQ(action_of(p, "resources/pages/dup.json"), APPKG_ACTION_CONFLICT);
	CHECK_EQ(action_of(p, "resources/pages/upd.json"), APPKG_ACTION_UPDATE);
	CHECK_EQ(action_of(p, "resources/pages/ow.json"), APPKG_ACTION_OVERWRITE);
	CHECK_EQ(action_of(p, "resources/pages/mrg.json"), APPKG_ACTION_MERGE);
	CHECK_EQ(action_of(p, "resources/pages/same.json"), APPKG_ACTION_UNCHANGED);
	CHECK_EQ(action_of(p, "resources/pages/gone.json"), APPKG_ACTION_ERROR);
	CHECK_EQ(action_of(p, "resources/pages/skp.json"), APPKG_ACTION_SKIP);
	it = item(p, "resources/pages/gone.json", NULL);
	CHECK(it->reason && !strcmp(it->reason, "mode update, but the target has no such resource") &&
	      !it->target_path);
	it = item(p, "resources/pages/dup.json", NULL);
	CHECK(it->reason && !strcmp(it->target_path, "resources/pages/dup.json"));
	CHECK_EQ(it->change_count, 0);
	it = item(p, "resources/pages/upd.json", NULL);
	CHECK(!it->reason && !strcmp(it->mode, "update") && !strcmp(it->match, "name"));
	CHECK_EQ(it->change_count, 1);
	CHECK(change_at(p, "resources/pages/upd.json", "/t"));
	CHECK(!strcmp(change_at(p, "resources/pages/upd.json", "/t")->old_value, "1"));
	CHECK(!strcmp(change_at(p, "resources/pages/upd.json", "/t")->new_value, "2"));
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(merge_is_rfc7396)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/pages/m.json\",\"mode\":\"merge\"},"
		"{\"path\":\"resources/pages/partial.json\",\"mode\":\"merge\"}]}",
		"pages", "m", "{\"a\":null,\"b\":{\"c\":5,\"d\":null,\"e\":6},\"arr\":[1,2]}",
		"pages", "partial", "{\"b\":{\"c\":2}}", NULL);
	appkg_reader *target = package(
		"{\"name\":\"target\"}", "pages", "m",
		"{\"a\":1,\"b\":{\"c\":2,\"d\":3},\"arr\":[1,2,3],\"keep\":true}", "pages", "partial",
		"{\"a\":1,\"b\":{\"c\":2,\"x\":[1]}}", NULL);
	const struct appkg_change *c;
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 1);
	CHECK_EQ(action_of(p, "resources/pages/m.json"), APPKG_ACTION_MERGE);
	/* null deletes; objects merged key by key; the target's other keys stay */
	CHECK((c = change_at(p, "resources/pages/m.json", "/a")) && c->kind == APPKG_CHANGE_REMOVED);
	CHECK((c = change_at(p, "resources/pages/m.json", "/b/d")) && c->kind == APPKG_CHANGE_REMOVED);
	CHECK((c = change_at(p, "resources/pages/m.json", "/b/c")) && !strcmp(c->new_value, "5"));
	CHECK((c = change_at(p, "resources/pages/m.json", "/b/e")) && c->kind == APPKG_CHANGE_ADDED);
	CHECK(!change_at(p, "resources/pages/m.json", "/keep"));
	/* arrays are replaced, not merged element by element */
	CHECK((c = change_at(p, "resources/pages/m.json", "/arr/2")) &&
	      c->kind == APPKG_CHANGE_REMOVED);
	CHECK_EQ(item(p, "resources/pages/m.json", NULL)->change_count, 5);
	/* a patch the target already satisfies changes nothing, though the documents differ */
	CHECK_EQ(action_of(p, "resources/pages/partial.json"), APPKG_ACTION_UNCHANGED);
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(match_by_id)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/pages/dupid.json\",\"mode\":\"update\",\"match\":\"id\",\"id\":\"D\"},"
		"{\"path\":\"resources/pages/home.json\",\"mode\":\"update\",\"match\":\"id\",\"id\":\"P-1\"},"
		"{\"path\":\"resources/pages/noid.json\",\"mode\":\"overwrite\",\"match\":\"id\"},"
		"{\"path\":\"resources/pages/other.json\",\"mode\":\"update\",\"match\":\"id\",\"id\":\"Q\"},"
		"{\"path\":\"resources/queries/x.json\",\"mode\":\"create\",\"match\":\"id\",\"id\":\"P-1\"}]}",
		"pages", "dupid", "{}", "pages", "home", "{\"t\":2}", "pages", "noid", "{}", "pages",
		"other", "{}", "queries", "x", "{}", NULL);
	appkg_reader *target = package(
		"{\"name\":\"target\",\"resources\":["
		"{\"path\":\"resources/pages/d1.json\",\"id\":\"D\"},"
		"{\"path\":\"resources/pages/d2.json\",\"id\":\"D\"},"
		"{\"path\":\"resources/pages/other.json\",\"id\":\"not-Q\"},"
		"{\"path\":\"resources/pages/start.json\",\"id\":\"P-1\"}]}",
		"pages", "d1", "{}", "pages", "d2", "{}", "pages", "other", "{}", "pages", "start",
		"{\"t\":1}", NULL);
	const struct appkg_plan_item *it;
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 1);
	it = item(p, "resources/pages/home.json", NULL);
	CHECK(it && it->action == APPKG_ACTION_UPDATE && !strcmp(it->match, "id") &&
	      !strcmp(it->id, "P-1") && !strcmp(it->target_path, "resources/pages/start.json"));
	CHECK(change_at(p, "resources/pages/home.json", "/t"));
	/* same path, other id: absent under match by id */
	it = item(p, "resources/pages/other.json", NULL);
	CHECK(it && it->action == APPKG_ACTION_ERROR && !it->target_path);
	/* an id is looked up among the resources of the same type only */
	CHECK_EQ(action_of(p, "resources/queries/x.json"), APPKG_ACTION_CREATE);
	it = item(p, "resources/pages/noid.json", NULL);
	CHECK(it && it->action == APPKG_ACTION_ERROR && strstr(it->reason, "has no id"));
	it = item(p, "resources/pages/dupid.json", NULL);
	CHECK(it && it->action == APPKG_ACTION_ERROR && strstr(it->reason, "more than one"));
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(order_is_topological_ties_by_path)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/a/x.json\",\"depends_on\":[\"b/z\",\"b/z\",\"a/x\"]},"
		"{\"path\":\"resources/b/z.json\",\"depends_on\":[\"c/w\"]}]}",
		"a", "x", "{}", "b", "y", "{}", "b", "z", "{}", "c", "w", "{}", "d", "v", "{}", NULL);
	appkg_reader *target = package("{\"name\":\"target\"}", NULL);
	static const char *const want[] = {"resources/b/y.json", "resources/c/w.json",
					   "resources/b/z.json", "resources/a/x.json",
					   "resources/d/v.json"};
	struct appkg_plan_item it;
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 1);
	CHECK_EQ(appkg_plan_count(p), 5);
	for (size_t i = 0; i < 5; i++) {
		CHECK(appkg_plan_item(p, i, &it) == 0);
		harness_msg = it.path;
		CHECK(!strcmp(it.path, want[i]));
	}
	CHECK(appkg_plan_item(p, 5, &it) == APPKG_ERR_NOT_FOUND);
	CHECK_EQ(appkg_plan_cycle_count(p), 0); /* a self-reference is no cycle */
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(cycle_reported_once_with_members)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/a/1.json\",\"mode\":\"overwrite\",\"depends_on\":[\"a/2\"]},"
		"{\"path\":\"resources/a/2.json\",\"mode\":\"overwrite\",\"depends_on\":[\"a/3\"]},"
		"{\"path\":\"resources/a/3.json\",\"mode\":\"overwrite\",\"depends_on\":[\"a/1\"]},"
		"{\"path\":\"resources/b/after.json\",\"mode\":\"overwrite\",\"depends_on\":[\"a/2\"]},"
		"{\"path\":\"resources/c/free.json\",\"mode\":\"overwrite\"},"
		"{\"path\":\"resources/e/p.json\",\"mode\":\"overwrite\",\"depends_on\":[\"e/q\"]},"
		"{\"path\":\"resources/e/q.json\",\"mode\":\"overwrite\",\"depends_on\":[\"e/p\"]}]}",
		"a", "1", "{}", "a", "2", "{}", "a", "3", "{}", "b", "after", "{}", "c", "free", "{}",
		"e", "p", "{}", "e", "q", "{}", NULL);
	appkg_reader *target = package("{\"name\":\"target\"}", "a", "1", "{}", "a", "2", "{}",
				       "a", "3", "{}", "b", "after", "{}", "c", "free", "{}", "e",
				       "p", "{}", "e", "q", "{}", NULL);
	const char *const *cycle;
	struct appkg_plan_item it;
	size_t n;
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 1); /* every item unchanged, but the cycles stand in the way */
	for (size_t i = 0; appkg_plan_item(p, i, &it) == 0; i++)
		CHECK_EQ(it.action, APPKG_ACTION_UNCHANGED);
	CHECK_EQ(appkg_plan_cycle_count(p), 2);
	cycle = appkg_plan_cycle(p, 0, &n);
	CHECK_EQ(n, 3);
	CHECK(!strcmp(cycle[0], "resources/a/1.json") && !strcmp(cycle[1], "resources/a/2.json") &&
	      !strcmp(cycle[2], "resources/a/3.json"));
	cycle = appkg_plan_cycle(p, 1, &n);
	CHECK_EQ(n, 2);
	CHECK(!strcmp(cycle[0], "resources/e/p.json") && !strcmp(cycle[1], "resources/e/q.json"));
	CHECK(!appkg_plan_cycle(p, 2, &n) && n == 0);
	/* what Kahn cannot place comes last, in path order */
	CHECK(appkg_plan_item(p, 0, &it) == 0 && !strcmp(it.path, "resources/c/free.json"));
	CHECK(appkg_plan_item(p, 1, &it) == 0 && !strcmp(it.path, "resources/a/1.json"));
	CHECK(appkg_plan_item(p, 4, &it) == 0 && !strcmp(it.path, "resources/b/after.json"));
	CHECK(appkg_plan_item(p, 6, &it) == 0 && !strcmp(it.path, "resources/e/q.json"));
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(clean_plan_is_0)
{
	appkg_reader *pkg = package(
		"{\"name\":\"app\",\"resources\":["
		"{\"path\":\"resources/pages/a.json\",\"mode\":\"overwrite\"},"
		"{\"path\":\"resources/pages/b.json\",\"mode\":\"skip\"}]}",
		"pages", "a", "{\"x\":[1,{\"y\":2}]}", "pages", "b", "{}", NULL);
	appkg_reader *target = package("{\"name\":\"target\"}", "pages", "a",
				       "{ \"x\" : [1, {\"y\": 2}] }", NULL);
	int rc;
	appkg_plan *p = plan(pkg, target, &rc);

	CHECK_EQ(rc, 0);
	CHECK_EQ(action_of(p, "resources/pages/a.json"), APPKG_ACTION_UNCHANGED);
	CHECK_EQ(action_of(p, "resources/pages/b.json"), APPKG_ACTION_SKIP);
	CHECK_EQ(appkg_plan_unbound_count(p), 0);
	CHECK(appkg_plan_make(p, pkg, target) == APPKG_ERR_STATE); /* a handle plans once */
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(unreadable_inputs)
{
	appkg_reader *pkg = package("{\"name\":\"app\"}", "pages", "a", "{}", NULL);
	appkg_reader *unopened = appkg_reader_new();
	appkg_reader *tampered = appkg_reader_new();
	int rc;
	appkg_plan *p = plan(pkg, unopened, &rc);

	CHECK(rc < 0);
	CHECK_EQ(appkg_plan_failed_input(p), 1);
	CHECK(*appkg_plan_error(p));
	CHECK_EQ(appkg_plan_count(p), 0);
	appkg_plan_free(p);
	/* a frame that does not decode: the package side is named */
	CHECK(appkg_reader_open_path(tampered, "tests/vectors/invalid/zstd_frame_bit_flip/package.appkg") == 0);
	p = plan(tampered, pkg, &rc);
	CHECK(rc < 0);
	CHECK_EQ(appkg_plan_failed_input(p), 0);
	appkg_plan_free(p);
	appkg_reader_free(pkg);
	appkg_reader_free(unopened);
	appkg_reader_free(tampered);
}

/* A format 2.0 package whose datasource uses two inputs (port with a default) and a secret. */
static appkg_reader *bindable(void)
{
	return package("{\"name\":\"app\",\"inputs\":{\"port\":{\"default\":5432}},"
		       "\"resources\":[{\"path\":\"resources/datasources/crm.json\","
		       "\"mode\":\"update\"}]}",
		       "datasources", "crm",
		       "{\"url\":\"pg://[[appkg:input:db_host]]:[[appkg:input:port]]\","
		       "\"host\":\"[[appkg:input:db_host]]\",\"port\":\"[[appkg:input:port]]\","
		       "\"password\":\"[[appkg:secret:DB_PASS]]\"}",
		       NULL);
}

TEST(bindings_applied_before_comparing)
{
	static const char env[] = "{\"environment\":\"prod\",\"inputs\":{\"db_host\":\"db.prod\"}}";
	appkg_reader *pkg = bindable();
	appkg_reader *target = package(
		"{\"name\":\"prod\"}", "datasources", "crm",
		"{\"url\":\"pg://db.prod:5432\",\"host\":\"db.prod\",\"port\":5432,"
		"\"password\":\"[[appkg:secret:DB_PASS]]\"}", NULL);
	appkg_bindings *b = appkg_bindings_new();
	const struct appkg_change *c;
	appkg_plan *p;
	int rc;

	CHECK(appkg_bindings_load(b, env, strlen(env)) == 0);
	/* bound: the whole-string input keeps its type, the embedded ones are text, the secret
	 * reference stays as it is: equal to the target */
	p = appkg_plan_new();
	CHECK(appkg_plan_set_bindings(p, b) == 0);
	rc = appkg_plan_make(p, pkg, target);
	harness_msg = appkg_plan_error(p);
	CHECK_EQ(rc, 0);
	CHECK_EQ(action_of(p, "resources/datasources/crm.json"), APPKG_ACTION_UNCHANGED);
	CHECK_EQ(appkg_plan_unbound_count(p), 0);
	appkg_plan_free(p);
	/* without bindings: compared as it is, and db_host (required) is unbound; port has a
	 * default and is not */
	p = plan(pkg, target, &rc);
	CHECK_EQ(rc, 1);
	CHECK_EQ(action_of(p, "resources/datasources/crm.json"), APPKG_ACTION_UPDATE);
	CHECK((c = change_at(p, "resources/datasources/crm.json", "/host")) &&
	      !strcmp(c->new_value, "\"[[appkg:input:db_host]]\""));
	CHECK(!change_at(p, "resources/datasources/crm.json", "/password"));
	CHECK_EQ(appkg_plan_unbound_count(p), 1);
	CHECK(!strcmp(appkg_plan_unbound(p, 0), "db_host") && !appkg_plan_unbound(p, 1));
	appkg_plan_free(p);
	appkg_bindings_free(b);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(bindings_without_a_value)
{
	static const char env[] = "{\"inputs\":{\"tenant\":\"t1\"}}";
	appkg_reader *pkg = bindable();
	appkg_reader *target = package("{\"name\":\"prod\"}", NULL);
	appkg_bindings *b = appkg_bindings_new();
	appkg_plan *p = appkg_plan_new();
	int rc;

	CHECK(appkg_bindings_load(b, env, strlen(env)) == 0);
	CHECK(appkg_plan_set_bindings(p, b) == 0);
	rc = appkg_plan_make(p, pkg, target);
	harness_msg = appkg_plan_error(p);
	CHECK_EQ(rc, 1);
	CHECK_EQ(action_of(p, "resources/datasources/crm.json"), APPKG_ACTION_ERROR);
	CHECK_EQ(appkg_plan_unbound_count(p), 1);
	CHECK(!strcmp(appkg_plan_unbound(p, 0), "db_host"));
	appkg_plan_free(p);
	appkg_bindings_free(b);
	appkg_reader_free(pkg);
	appkg_reader_free(target);
}

TEST(action_names)
{
	static const char *const want[] = {"create", "conflict",  "update", "overwrite",
					   "merge",  "unchanged", "error",  "skip"};

	for (int a = APPKG_ACTION_CREATE; a <= APPKG_ACTION_SKIP; a++)
		CHECK(!strcmp(appkg_plan_action_name(a), want[a - 1]));
	CHECK(appkg_plan_action_name(0) == NULL && appkg_plan_action_name(9) == NULL);
}

int main(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/appkg-plan-XXXXXX");
	if (!mkdtemp(tmp))
		return 1;
	RUN(every_action);
	RUN(merge_is_rfc7396);
	RUN(match_by_id);
	RUN(order_is_topological_ties_by_path);
	RUN(cycle_reported_once_with_members);
	RUN(clean_plan_is_0);
	RUN(unreadable_inputs);
	RUN(bindings_applied_before_comparing);
	RUN(bindings_without_a_value);
	RUN(action_names);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		return 1;
	return harness_total_failed ? 1 : 0;
}
