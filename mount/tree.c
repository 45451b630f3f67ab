/* SPDX-License-Identifier: MIT */
/*
 * The mounted tree: directories hold their children sorted by name, files hold either a
 * reference to a package member (not yet decoded) or their bytes in memory. Bytes of
 * secrets.json and of anything beside it at the top level (an editor's swap or backup copy of
 * it) live in guarded memory, so plaintext secrets never reach swap or disk. Every byte held
 * is counted: a write may grow a file only while the total stays under MAX_HELD_BYTES, and
 * statfs reports what is left. A file whose name went away (unlinked, renamed over) is kept
 * out of the tree while the kernel knows its inode or a handle has it open.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mount.h"

static uint64_t held; /* bytes allocated for file data, guarded memory included */

/* Nodes out of the tree that the kernel still knows (by its lookup count) or a handle still
 * has open: an unlinked file stays readable until both let go, and is freed at unmount. */
static struct node *limbo;

static void limbo_add(struct node *n)
{
	if (n->in_limbo)
		return;
	n->in_limbo = 1;
	n->limbo_prev = NULL;
	n->limbo_next = limbo;
	if (limbo)
		limbo->limbo_prev = n;
	limbo = n;
}

static void limbo_del(struct node *n)
{
	if (!n->in_limbo)
		return;
	if (n->limbo_prev)
		n->limbo_prev->limbo_next = n->limbo_next;
	else
		limbo = n->limbo_next;
	if (n->limbo_next)
		n->limbo_next->limbo_prev = n->limbo_prev;
	n->in_limbo = 0;
}

/* A node made at time when (NULL: now). */
static struct node *node_new_at(const char *name, size_t len, mode_t mode,
				const struct timespec *when)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n || !(n->name = strndup(name, len))) {
		free(n);
		return NULL;
	}
	n->mode = mode;
	n->ino = ++fs.next_ino;
	if (when)
		n->mtime = n->ctime = *when;
	else
		node_touch(n);
	return n;
}

struct node *node_new(const char *name, size_t len, mode_t mode)
{
	return node_new_at(name, len, mode, NULL);
}

void node_touch(struct node *n)
{
	clock_gettime(CLOCK_REALTIME, &n->mtime);
	n->ctime = n->mtime;
}

void node_drop_data(struct node *n)
{
	if (n->data)
		held -= n->cap;
	if (n->secure)
		sodium_free(n->data);
	else
		free(n->data);
	n->data = NULL;
	n->cap = 0;
}

/* Free n, or, while the kernel still knows it (it may yet ask by its inode), keep it out of
 * the tree until its forget. */
void node_free(struct node *n)
{
	if (!n)
		return;
	if (n->lookups && !fs.unmounted) {
		n->parent = NULL;
		limbo_add(n);
		return;
	}
	limbo_del(n);
	if (fs.kept == n)
		fs.kept = NULL;
	for (size_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	node_drop_data(n);
	free(n->name);
	free(n);
}

/* n is out of the tree or just let go of: free it once no handle and no kernel lookup has
 * it. */
void node_put(struct node *n)
{
	if (n->parent || n == fs.root)
		return;
	if (n->opens || n->lookups)
		limbo_add(n);
	else
		node_free(n);
}

/* Every node out of the tree, for f (a commit keeps their bytes, unmount frees them). */
void limbo_each(void (*f)(struct node *n))
{
	struct node *next;

	for (struct node *n = limbo; n; n = next) {
		next = n->limbo_next;
		f(n);
	}
}

/* Does a node out of the tree hold bytes for the kernel alone (no handle)? */
int limbo_holds(void)
{
	for (struct node *n = limbo; n; n = n->limbo_next)
		if (!n->opens && n->data)
			return 1;
	return 0;
}

uint64_t node_limit(const struct node *n)
{
	return n->secure ? MAX_SECRET_BYTES : MAX_FILE_BYTES;
}

uint64_t tree_held(void)
{
	return held;
}

/* The size n may grow to now: its own limit, or what is left of MAX_HELD_BYTES. */
uint64_t node_room(const struct node *n)
{
	uint64_t mine = n->data ? n->cap : 0;
	uint64_t left = held < MAX_HELD_BYTES ? MAX_HELD_BYTES - held : 0;

	return mine + left < node_limit(n) ? mine + left : node_limit(n);
}

/* The capacity for len bytes: the first buffer fits len rounded up to 64 bytes (many small
 * edits stay small), later ones double (appends stay cheap); never past the file's limit. */
static size_t next_cap(const struct node *n, size_t len)
{
	size_t cap = n->cap;

	if (!cap)
		cap = len ? (len + 63) & ~(size_t)63 : 64;
	while (cap < len)
		cap *= 2;
	return cap < node_limit(n) ? cap : (size_t)node_limit(n);
}

/* Give n a buffer of cap >= len bytes, keeping its bytes; new bytes are zero. */
static int reserve_cap(struct node *n, size_t cap)
{
	unsigned char *p = n->secure ? sodium_malloc(cap) : calloc(1, cap);

	if (!p)
		return -ENOMEM;
	if (n->secure)
		memset(p, 0, cap);
	if (n->data)
		memcpy(p, n->data, n->size < cap ? n->size : cap);
	node_drop_data(n);
	n->data = p;
	n->cap = cap;
	held += cap;
	return 0;
}

/* Room for len bytes of data, keeping what is there; new bytes are zero. Only the file's own
 * limit applies: bytes decoded from the package or set up at mount time. */
int node_reserve(struct node *n, size_t len)
{
	if (len > node_limit(n))
		return -EFBIG;
	if (len <= n->cap && n->data)
		return 0;
	return reserve_cap(n, next_cap(n, len));
}

/* node_reserve for a write or a truncate: EFBIG past the file's limit, ENOSPC when the mount
 * holds too much (then the exact size is tried before giving up). */
int node_grow(struct node *n, size_t len)
{
	uint64_t mine = n->data ? n->cap : 0;
	uint64_t left = held < MAX_HELD_BYTES ? MAX_HELD_BYTES - held : 0;
	size_t cap;

	if (len > node_limit(n))
		return -EFBIG;
	if (len <= n->cap && n->data)
		return 0;
	cap = next_cap(n, len);
	if (cap > mine + left)
		cap = len ? len : 1;
	if (cap > mine + left)
		return -ENOSPC;
	return reserve_cap(n, cap);
}

/* Move the bytes of n into guarded memory (it now sits where secrets do). */
static int node_make_secure(struct node *n)
{
	size_t cap = n->cap;
	unsigned char *p;

	if (n->secure || !n->data) {
		n->secure = 1;
		return 0;
	}
	if (cap > MAX_SECRET_BYTES)
		return -EFBIG;
	if (!(p = sodium_malloc(cap)))
		return -ENOMEM;
	memcpy(p, n->data, cap);
	node_drop_data(n);
	n->data = p;
	n->cap = cap;
	held += cap;
	n->secure = 1;
	return 0;
}

static int name_cmp(const struct node *n, const char *name, size_t len)
{
	size_t nlen = strlen(n->name);
	int c = memcmp(n->name, name, nlen < len ? nlen : len);

	return c ? c : (nlen > len) - (nlen < len);
}

/* Index of name in dir, or of where it would go (*found says which). */
static size_t dir_slot(const struct node *dir, const char *name, size_t len, int *found)
{
	size_t lo = 0, hi = dir->nkids;

	*found = 0;
	if (hi && name_cmp(dir->kids[hi - 1], name, len) < 0)
		return hi; /* appending, as when the package's sorted members are loaded */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(dir->kids[mid], name, len);
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The index of n among its directory's kids. */
size_t dir_index(const struct node *n)
{
	int found;

	return dir_slot(n->parent, n->name, strlen(n->name), &found);
}

struct node *dir_find(const struct node *dir, const char *name, size_t len)
{
	int found;
	size_t i = dir_slot(dir, name, len, &found);

	return found ? dir->kids[i] : NULL;
}

/* dir_insert, leaving the directory's times to the caller. */
static int dir_put(struct node *dir, struct node *n)
{
	int found, rc;
	size_t i = dir_slot(dir, n->name, strlen(n->name), &found);

	if (found)
		return -EEXIST;
	if (dir == fs.root && S_ISREG(n->mode) && strcmp(n->name, MANIFEST_FILE) != 0 &&
	    (rc = node_make_secure(n)))
		return rc;
	if (dir->nkids == dir->kids_cap) {
		size_t cap = dir->kids_cap ? 2 * dir->kids_cap : 8;
		void *p = realloc(dir->kids, cap * sizeof(*dir->kids));
		if (!p)
			return -ENOMEM;
		dir->kids = p;
		dir->kids_cap = cap;
	}
	memmove(dir->kids + i + 1, dir->kids + i, (dir->nkids - i) * sizeof(*dir->kids));
	dir->kids[i] = n;
	dir->nkids++;
	n->parent = dir;
	return 0;
}

int dir_insert(struct node *dir, struct node *n)
{
	int rc = dir_put(dir, n);

	if (rc == 0)
		node_touch(dir);
	return rc;
}

/* Take n out of its directory; the caller frees it or inserts it elsewhere. */
void dir_remove(struct node *n)
{
	struct node *dir = n->parent;
	int found;
	size_t i = dir_slot(dir, n->name, strlen(n->name), &found);

	if (found) {
		memmove(dir->kids + i, dir->kids + i + 1, (dir->nkids - i - 1) * sizeof(*dir->kids));
		dir->nkids--;
	}
	n->parent = NULL;
	node_touch(dir);
}

/* The directory that holds path ("/a/b/c" -> node of "/a/b"), with *leaf at "c". */
struct node *tree_parent(const char *path, const char **leaf)
{
	const char *slash = strrchr(path, '/');
	struct node *dir = fs.root;
	const char *p = path;

	if (!slash)
		return NULL;
	while (dir && p < slash) {
		const char *end;
		while (*p == '/')
			p++;
		end = strchr(p, '/');
		if (p >= slash)
			break;
		dir = S_ISDIR(dir->mode) ? dir_find(dir, p, (size_t)(end - p)) : NULL;
		p = end;
	}
	*leaf = slash + 1;
	return dir && S_ISDIR(dir->mode) ? dir : NULL;
}

struct node *tree_lookup(const char *path)
{
	const char *leaf;
	struct node *dir;

	if (!strcmp(path, "/"))
		return fs.root;
	dir = tree_parent(path, &leaf);
	return dir ? dir_find(dir, leaf, strlen(leaf)) : NULL;
}

/* The directory named name in dir, made if missing. */
static struct node *subdir(struct node *dir, const char *name, size_t len)
{
	struct node *d = dir_find(dir, name, len);

	if (d)
		return S_ISDIR(d->mode) ? d : NULL;
	d = node_new(name, len, S_IFDIR | 0755);
	if (d && dir_insert(dir, d)) {
		node_free(d);
		d = NULL;
	}
	return d;
}

/* The directory that holds member path, made if missing, with *leaf at its name in path. */
static struct node *member_dir(const char *path, const char **leaf)
{
	struct node *dir = fs.root;
	const char *p = path, *slash;

	while ((slash = strchr(p, '/'))) {
		if (!(dir = subdir(dir, p, (size_t)(slash - p))))
			return NULL;
		p = slash + 1;
	}
	*leaf = p;
	return dir;
}

/* Add a package member at its path (already checked by the reader). */
int tree_add_member(const char *path, uint64_t size)
{
	const char *leaf;
	struct node *dir = member_dir(path, &leaf), *f;

	if (!dir || !(f = node_new(leaf, strlen(leaf), S_IFREG | 0644)))
		return -ENOMEM;
	f->member = path;
	f->size = size;
	if (dir_insert(dir, f)) {
		node_free(f);
		return -EEXIST;
	}
	return 0;
}

/* tree_add_member for each member of the package at mount (100,000 for a large one): they come
 * sorted by path, so nearly every one goes into the directory the one before went into, found
 * again by comparing the paths' directory parts; and all are made at the same time, read from
 * the clock once. */
void tree_load_begin(struct tree_load *t)
{
	*t = (struct tree_load){0};
	clock_gettime(CLOCK_REALTIME, &t->now);
}

int tree_load_member(struct tree_load *t, const char *path, uint64_t size)
{
	const char *leaf = strrchr(path, '/');
	size_t dir_len = leaf ? (size_t)(leaf + 1 - path) : 0;
	struct node *f;

	if (!t->dir || dir_len != t->dir_len || memcmp(path, t->dir_path, dir_len) != 0) {
		if (!(t->dir = member_dir(path, &leaf)))
			return -ENOMEM;
		t->dir_path = path;
		t->dir_len = dir_len;
	}
	leaf = path + dir_len;
	if (!(f = node_new_at(leaf, strlen(leaf), S_IFREG | 0644, &t->now)))
		return -ENOMEM;
	f->member = path;
	f->size = size;
	if (dir_put(t->dir, f)) {
		node_free(f);
		return -EEXIST;
	}
	t->dir->mtime = t->dir->ctime = t->now;
	return 0;
}

/* "resources/pages/home.json" for a node in the tree; malloc'd. */
char *node_path(const struct node *n)
{
	size_t len = 0, pos;
	char *out;

	for (const struct node *p = n; p && p->parent; p = p->parent)
		len += strlen(p->name) + 1;
	out = malloc(len ? len : 1);
	if (!out)
		return NULL;
	pos = len ? len - 1 : 0;
	out[pos] = '\0';
	for (const struct node *p = n; p && p->parent; p = p->parent) {
		size_t l = strlen(p->name);
		pos -= l;
		memcpy(out + pos, p->name, l);
		if (pos)
			out[--pos] = '/';
	}
	return out;
}
