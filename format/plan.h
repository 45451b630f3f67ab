/* SPDX-License-Identifier: MIT */
/* The plan's handle, shared by plan.c (matching, actions, changes) and plangraph.c (import
 * order and cycles); nothing here is public. Its two internal functions carry the library
 * prefix as internal.h's do. */
#ifndef APPKG_PLAN_H
#define APPKG_PLAN_H

#include "internal.h"

#define plan_fail appkg__plan_fail
#define plan_order appkg__plan_order

/* One resource of the package and what importing it would do. */
struct plan_item {
	int action;
	char *path, *type, *name, *mode, *match, *id, *target_path, *reason;
	size_t first, count; /* its changes: [first, first + count) of the plan's diff handle */
};

struct appkg_plan {
	appkg_bindings *bindings;
	appkg_diff *diff;          /* holds every item's changes */
	struct plan_item *items;   /* in package (path) order */
	size_t n;
	size_t *order;             /* import order: indexes into items */
	char **unbound;
	size_t nunbound;
	const char **cycle_paths;  /* every cycle's member paths (items' strings), one after another */
	size_t *cycle_start;       /* ncycles + 1 offsets into cycle_paths */
	size_t ncycles;
	int started, done, failed_input; /* done: made, so the items can be read */
	char msg[APPKG_MSG_MAX];
};

/* Record the first failure: which input (0 package, 1 target, -1 neither) and its message
 * (NULL: out of memory); returns code. */
int plan_fail(appkg_plan *p, int input, int code, const char *message);

/* p->order from the depends_on of the package's manifest m (Kahn, ties by path, resources in
 * or behind a cycle last in path order), and p's cycles, each strongly connected component
 * once. 0 or APPKG_ERR_NO_MEMORY. */
int plan_order(appkg_plan *p, const struct manifest *m);

#endif
