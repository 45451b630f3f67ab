/* SPDX-License-Identifier: MIT */
/*
 * The import order of a plan (spec §21.2): a resource comes after everything it depends on.
 * Kahn's algorithm over the depends_on of the manifest, with a min-heap so that of the
 * resources ready at once the first by path goes first; self-references are ignored. What
 * Kahn cannot place lies on a cycle or depends on one, and goes last in path order. Tarjan's
 * algorithm, run with explicit stacks (a hostile package has APPKG_MAX_MEMBERS resources of
 * APPKG_MAX_DEPENDS depends_on each, too deep for recursion), finds the strongly connected
 * components among those; each is reported once, as the shortest cycle through its first
 * resource by path (a breadth-first search inside the component). Everything is linear in
 * resources plus depends_on entries.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* i depends on adj[start[i] .. start[i + 1]), and is depended on by radj[rstart[i] ..
 * rstart[i + 1]); both without duplicates or self-references. */
struct graph {
	size_t n;
	uint32_t *start, *adj, *rstart, *radj;
};

static void graph_free(struct graph *g)
{
	free(g->start);
	free(g->adj);
	free(g->rstart);
	free(g->radj);
}

static int path_cmp(const void *key, const void *item)
{
	return strcmp(key, ((const struct manifest_resource *)item)->path);
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The index of the resource a depends_on entry names, or -1. */
static long resolve(const struct manifest *m, const char *dep)
{
	char path[APPKG_MAX_PATH_BYTES + 32];
	const struct manifest_resource *hit;

	if (strlen(dep) > APPKG_MAX_PATH_BYTES)
		return -1;
	snprintf(path, sizeof(path), "resources/%s.json", dep);
	hit = bsearch(path, m->res, m->nres, sizeof(*m->res), path_cmp);
	return hit ? (long)(hit - m->res) : -1;
}

/* Resource i's dependencies, resolved, sorted and unique, appended at adj[*k]. */
static void add_edges(struct graph *g, const struct manifest *m, size_t i, size_t *k)
{
	const char *dep = (const char *)m->pool.data + m->deps[i];
	size_t first = *k, out = first;
	long d;

	for (uint32_t j = 0; j < m->ndeps[i]; j++, dep += strlen(dep) + 1)
		if ((d = resolve(m, dep)) >= 0 && (size_t)d != i)
			g->adj[(*k)++] = (uint32_t)d;
	qsort(g->adj + first, *k - first, sizeof(*g->adj), u32_cmp);
	for (size_t x = first; x < *k; x++)
		if (x == first || g->adj[x] != g->adj[out - 1])
			g->adj[out++] = g->adj[x];
	*k = out;
}

static int graph_build(struct graph *g, const struct manifest *m)
{
	size_t n = m->nres, total = 0, k = 0;

	g->n = n;
	for (size_t i = 0; i < n; i++)
		total += m->ndeps[i];
	g->start = calloc(n + 1, sizeof(*g->start));
	g->rstart = calloc(n + 2, sizeof(*g->rstart));
	g->adj = malloc((total ? total : 1) * sizeof(*g->adj));
	if (!g->start || !g->rstart || !g->adj)
		return APPKG_ERR_NO_MEMORY;
	for (size_t i = 0; i < n; i++) {
		g->start[i] = (uint32_t)k;
		add_edges(g, m, i, &k);
	}
	g->start[n] = (uint32_t)k;
	if (!(g->radj = malloc((k ? k : 1) * sizeof(*g->radj))))
		return APPKG_ERR_NO_MEMORY;
	for (size_t e = 0; e < k; e++)
		g->rstart[g->adj[e] + 2]++;
	for (size_t i = 2; i <= n + 1; i++)
		g->rstart[i] += g->rstart[i - 1];
	for (size_t i = 0; i < n; i++) /* rstart[d + 1] is d's next free slot */
		for (uint32_t e = g->start[i]; e < g->start[i + 1]; e++)
			g->radj[g->rstart[g->adj[e] + 1]++] = (uint32_t)i;
	return 0;
}

/* ---- Kahn ------------------------------------------------------------------------------ */

static void heap_push(uint32_t *h, size_t *n, uint32_t v)
{
	size_t i = (*n)++;

	for (; i > 0 && h[(i - 1) / 2] > v; i = (i - 1) / 2)
		h[i] = h[(i - 1) / 2];
	h[i] = v;
}

static uint32_t heap_pop(uint32_t *h, size_t *n)
{
	uint32_t top = h[0], last = h[--(*n)];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < *n) {
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= last)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = last;
	return top;
}

/* p->order; left[i] is set for the resources Kahn could not place. */
static int kahn(appkg_plan *p, const struct graph *g, unsigned char *left)
{
	uint32_t *indeg = malloc((g->n + 1) * sizeof(*indeg)), *heap = malloc((g->n + 1) * sizeof(*heap));
	size_t nheap = 0, k = 0;

	if (!indeg || !heap) {
		free(indeg);
		free(heap);
		return APPKG_ERR_NO_MEMORY;
	}
	for (size_t i = 0; i < g->n; i++)
		if (!(indeg[i] = g->start[i + 1] - g->start[i]))
			heap_push(heap, &nheap, (uint32_t)i);
	while (nheap) {
		uint32_t v = heap_pop(heap, &nheap);
		p->order[k++] = v;
		for (uint32_t e = g->rstart[v]; e < g->rstart[v + 1]; e++)
			if (--indeg[g->radj[e]] == 0)
				heap_push(heap, &nheap, g->radj[e]);
	}
	for (size_t i = 0; i < g->n; i++)
		if ((left[i] = indeg[i] > 0))
			p->order[k++] = i;
	free(indeg);
	free(heap);
	return 0;
}

/* ---- Tarjan and the cycles ------------------------------------------------------------- */

struct tarjan {
	const struct graph *g;
	const unsigned char *left;
	uint32_t *idx, *low, *comp, *stack, *frame_v, *frame_e, *firsts;
	unsigned char *on;
	size_t sp, fp, counter, ncomps;
};

static void visit(struct tarjan *t, uint32_t v)
{
	t->idx[v] = t->low[v] = (uint32_t)++t->counter;
	t->stack[t->sp++] = v;
	t->on[v] = 1;
	t->frame_v[t->fp] = v;
	t->frame_e[t->fp++] = t->g->start[v];
}

/* v's component is complete: pop it; one of two or more members is a cycle. */
static void pop_component(struct tarjan *t, uint32_t v)
{
	size_t from = t->sp;
	uint32_t first = v;

	do {
		from--;
		t->on[t->stack[from]] = 0;
		if (t->stack[from] < first)
			first = t->stack[from];
	} while (t->stack[from] != v);
	if (t->sp - from > 1) {
		t->ncomps++;
		for (size_t x = from; x < t->sp; x++)
			t->comp[t->stack[x]] = (uint32_t)t->ncomps;
		t->firsts[t->ncomps - 1] = first;
	}
	t->sp = from;
}

static void strongconnect(struct tarjan *t, uint32_t root)
{
	const struct graph *g = t->g;

	visit(t, root);
	while (t->fp) {
		uint32_t v = t->frame_v[t->fp - 1], w;
		if (t->frame_e[t->fp - 1] < g->start[v + 1]) {
			w = g->adj[t->frame_e[t->fp - 1]++];
			if (!t->left[w])
				continue;
			if (!t->idx[w])
				visit(t, w);
			else if (t->on[w] && t->idx[w] < t->low[v])
				t->low[v] = t->idx[w];
			continue;
		}
		t->fp--;
		if (t->fp) {
			uint32_t u = t->frame_v[t->fp - 1];
			if (t->low[v] < t->low[u])
				t->low[u] = t->low[v];
		}
		if (t->low[v] == t->idx[v])
			pop_component(t, v);
	}
}

/* The shortest cycle through s inside its component, appended to p's cycles; queue, seen
 * and parent are the search's (seen[x] == comp marks x as reached in this search). */
static void shortest_cycle(appkg_plan *p, const struct tarjan *t, uint32_t s, uint32_t *queue,
			   uint32_t *seen, uint32_t *parent)
{
	const struct graph *g = t->g;
	uint32_t c = t->comp[s], end = s;
	size_t head = 0, tail = 0, len = 1, at;

	queue[tail++] = s;
	seen[s] = c;
	while (head < tail && end == s) {
		uint32_t x = queue[head++];
		for (uint32_t e = g->start[x]; e < g->start[x + 1] && end == s; e++) {
			uint32_t w = g->adj[e];
			if (w == s)
				end = x;
			else if (t->comp[w] == c && seen[w] != c) {
				seen[w] = c;
				parent[w] = x;
				queue[tail++] = w;
			}
		}
	}
	for (uint32_t x = end; x != s; x = parent[x])
		len++;
	at = p->cycle_start[p->ncycles] + len;
	for (uint32_t x = end;; x = parent[x]) {
		p->cycle_paths[--at] = p->items[x].path;
		if (x == s)
			break;
	}
	p->cycle_start[p->ncycles + 1] = p->cycle_start[p->ncycles] + len;
	p->ncycles++;
}

static int find_cycles(appkg_plan *p, const struct graph *g, const unsigned char *left)
{
	size_t n = g->n;
	struct tarjan t = {.g = g, .left = left};
	uint32_t *buf = calloc(7 * (n + 1), sizeof(*buf));
	int rc = APPKG_ERR_NO_MEMORY;

	t.on = calloc(n + 1, 1);
	p->cycle_paths = malloc((n + 1) * sizeof(*p->cycle_paths));
	p->cycle_start = calloc(n + 1, sizeof(*p->cycle_start));
	if (!buf || !t.on || !p->cycle_paths || !p->cycle_start)
		goto out;
	t.idx = buf, t.low = buf + (n + 1), t.comp = buf + 2 * (n + 1), t.stack = buf + 3 * (n + 1);
	t.frame_v = buf + 4 * (n + 1), t.frame_e = buf + 5 * (n + 1), t.firsts = buf + 6 * (n + 1);
	for (size_t v = 0; v < n; v++)
		if (left[v] && !t.idx[v])
			strongconnect(&t, (uint32_t)v);
	qsort(t.firsts, t.ncomps, sizeof(*t.firsts), u32_cmp);
	/* the search reuses the finished stacks: queue, seen, parent */
	memset(t.idx, 0, (n + 1) * sizeof(*buf));
	for (size_t c = 0; c < t.ncomps; c++)
		shortest_cycle(p, &t, t.firsts[c], t.stack, t.idx, t.low);
	rc = 0;
out:
	free(buf);
	free(t.on);
	return rc;
}

int plan_order(appkg_plan *p, const struct manifest *m)
{
	struct graph g = {0};
	unsigned char *left = calloc(m->nres + 1, 1);
	int rc = APPKG_ERR_NO_MEMORY;

	p->order = malloc((m->nres + 1) * sizeof(*p->order));
	if (!left || !p->order || (rc = graph_build(&g, m)) || (rc = kahn(p, &g, left)) ||
	    (rc = find_cycles(p, &g, left)))
		rc = plan_fail(p, -1, APPKG_ERR_NO_MEMORY, NULL);
	graph_free(&g);
	free(left);
	return rc;
}
