/* SPDX-License-Identifier: MIT */
/*
 * Selections with their dependencies (spec §10.6): the resources a caller names, and every
 * resource they depend on through depends_on, transitively. One walk serves a package being
 * read (appkg_reader_select) and a package being written (a writer's selection, writer.c):
 * each side describes its resources as a graph of indexes. Cycles are allowed by the format
 * (§10.3), so the walk marks a resource before it follows its dependencies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int select_closure(const struct select_graph *g, const char *const *selectors, size_t count,
		   unsigned char *chosen, struct appkg_err *e)
{
	size_t *stack = malloc((g->n + 1) * sizeof(*stack)), top = 0, total = 0;
	const char *dep;
	long i, j;
	int rc = 0;

	if (!stack)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	memset(chosen, 0, g->n);
	for (size_t k = 0; k < count && !rc; k++) {
		if ((i = selectors[k] ? g->find(g->ctx, selectors[k]) : -1) < 0)
			rc = appkg_fail(e, APPKG_ERR_NOT_FOUND, "%s: no such resource",
					selectors[k] ? selectors[k] : "(null)");
		else if (!chosen[i] && ++total)
			chosen[stack[top++] = (size_t)i] = 1;
	}
	while (!rc && top > 0) {
		i = (long)stack[--top];
		for (size_t k = 0; !rc && (dep = g->dep(g->ctx, (size_t)i, k)); k++) {
			if ((j = g->find_dep(g->ctx, dep)) < 0)
				rc = appkg_fail(e, APPKG_ERR_DEPENDENCY, "%s: depends on %s, which is "
						"not there", g->path(g->ctx, (size_t)i), dep);
			else if (!chosen[j] && ++total)
				chosen[stack[top++] = (size_t)j] = 1;
		}
	}
	free(stack);
	return rc ? rc : (int)total;
}

/* ---- a package being read -------------------------------------------------------------- */

struct reader_graph {
	appkg_reader *r;
	const struct manifest *m;
};

static long reader_find(void *ctx, const char *selector)
{
	struct reader_graph *g = ctx;
	size_t i;

	return appkg_reader_resource_find(g->r, selector, &i) ? -1 : (long)i;
}

/* depends_on entries are "<type>/<file-name form>" (§10.3): the member path names them. */
static long reader_find_dep(void *ctx, const char *dep)
{
	struct reader_graph *g = ctx;
	char *path = resource_path_make_dep(dep);
	size_t i;
	long found = path && !appkg_reader_resource_find(g->r, path, &i) ? (long)i : -1;

	free(path);
	return found;
}

static const char *reader_dep(void *ctx, size_t i, size_t k)
{
	struct reader_graph *g = ctx;
	const char *dep = (const char *)g->m->pool.data + g->m->deps[i];

	if (k >= g->m->ndeps[i])
		return NULL;
	while (k--)
		dep += strlen(dep) + 1;
	return dep;
}

static const char *reader_path(void *ctx, size_t i)
{
	return ((struct reader_graph *)ctx)->m->res[i].path;
}

int appkg_reader_select(appkg_reader *r, const char *const *selectors, size_t count,
			unsigned char *chosen)
{
	struct reader_graph rg = {.r = r, .m = reader_manifest_view(r)};
	struct select_graph g = {.ctx = &rg, .find = reader_find, .find_dep = reader_find_dep,
				 .dep = reader_dep, .path = reader_path};
	int rc;

	if (!rg.m)
		return reader_err(r)->code;
	if (!chosen || (count && !selectors))
		return appkg_fail(reader_err(r), APPKG_ERR_INVALID_ARGUMENT, "select: no selection");
	g.n = rg.m->nres;
	rc = select_closure(&g, selectors, count, chosen, reader_err(r));
	if (rc < 0 && rc != APPKG_ERR_NO_MEMORY)
		reader_err(r)->code = 0; /* a bad selection leaves the handle usable */
	return rc;
}

char *resource_path_make_dep(const char *dep)
{
	size_t n = strlen(dep) + sizeof("resources/.json");
	char *path = malloc(n);

	if (path)
		snprintf(path, n, "resources/%s.json", dep);
	return path;
}
