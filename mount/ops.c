/* SPDX-License-Identifier: MIT */
/*
 * The FUSE operations, on libfuse's low-level interface: one short function each, answering
 * its request. Every operation takes fs.lock, so the tree and the package reader (which is not
 * thread-safe) are only touched by one thread at a time. An inode is the address of its node
 * (the root is FUSE_ROOT_ID); the node counts the kernel's lookups of it, and a node taken out
 * of the tree (unlinked, renamed over) lives on, readable and writable by its inode, until the
 * kernel forgets it and no handle has it open (tree.c keeps it meanwhile).
 *
 * A mount that shows no plaintext secrets answers the first open with ENOSYS: from then on the
 * kernel opens and closes files without asking (no OPEN or RELEASE, keep_cache on, fh 0), so
 * that a file read costs one request and a file in the page cache none; reads, writes and
 * truncates (setattr: O_TRUNC is not atomic here) then name their file by inode. Not with
 * secrets shown, for secrets.json needs direct_io, nor with an empty member, which is checked
 * at open, for the kernel never reads it.
 */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "mount.h"

#define TIMEOUT 30.0 /* entries and attributes: every change comes through this mount */

static pthread_cond_t forgotten = PTHREAD_COND_INITIALIZER; /* a lookup count fell to 0 */
static uint64_t edits; /* writes and truncates so far (fs.lock): see push_one */

static void push_start(void);

static struct node *node_of(fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? fs.root : (struct node *)(uintptr_t)ino;
}

static fuse_ino_t ino_of(const struct node *n)
{
	return n == fs.root ? FUSE_ROOT_ID : (fuse_ino_t)(uintptr_t)n;
}


static void lock(void)
{
	pthread_mutex_lock(&fs.lock);
}

static void unlock(void)
{
	pthread_mutex_unlock(&fs.lock);
}

/* Answer a request that returns only a status: 0 or -errno. */
static void reply_status(fuse_req_t req, int rc)
{
	fuse_reply_err(req, rc < 0 ? -rc : 0);
}

/* The package reader, with read-ahead on: started here, in the daemon after it has forked,
 * and again for the reader a commit opens on the new package. Read in listing order (as cat
 * of every file reads), the next frame is decoded and checked on another core meanwhile. */
static appkg_reader *reader(void)
{
	appkg_reader_set_readahead(fs.reader, 1); /* without it (no memory), reads work as ever */
	return fs.reader;
}

/* Decode a file's bytes from the package (once; they stay while the file is open). */
int node_load(struct node *n)
{
	const void *data;
	size_t len;
	int rc;

	if (n->data || !n->member)
		return n->data || n->size == 0 ? 0 : -EIO;
	rc = appkg_reader_read(reader(), n->member, &data, &len);
	if (rc) {
		commit_bad_read(n->member, appkg_reader_error(fs.reader));
		return -EIO;
	}
	if ((rc = node_reserve(n, len)))
		return rc;
	memcpy(n->data, data, len);
	n->size = len;
	return 0;
}

static int may_write(const struct node *n)
{
	if (fs.read_only)
		return -EROFS;
	return n && n->readonly ? -EACCES : 0;
}

static int may_change_dir(const struct node *dir, const struct node *victim)
{
	if (fs.read_only)
		return -EROFS;
	if (!dir)
		return -ENOENT;
	return victim && victim->readonly ? -EPERM : 0;
}

/* An open directory: the names its listing had when it was read from the start, so that a
 * listing read in several batches (by offset) neither repeats nor skips a name that stays
 * while others come and go in between. */
struct listing {
	struct node *dir;
	size_t n;
	char **names; /* into one block with the names */
};

/* The directory's names now, copied. */
static int listing_take(struct listing *l)
{
	const struct node *d = l->dir;
	size_t bytes = 0;
	char *pool;

	free(l->names);
	l->n = 0;
	for (size_t i = 0; i < d->nkids; i++)
		bytes += strlen(d->kids[i]->name) + 1;
	if (!(l->names = malloc(d->nkids * sizeof(char *) + bytes + 1)))
		return -ENOMEM;
	pool = (char *)(l->names + d->nkids);
	for (size_t i = 0; i < d->nkids; i++) {
		size_t len = strlen(d->kids[i]->name) + 1;
		l->names[i] = memcpy(pool, d->kids[i]->name, len);
		pool += len;
	}
	l->n = d->nkids;
	return 0;
}

static int set_size(struct node *n, uint64_t size)
{
	int rc = node_load(n);

	if (rc)
		return rc;
	if (size > node_limit(n))
		return -EFBIG;
	if ((rc = node_grow(n, (size_t)size)))
		return rc;
	if (size < n->size)
		memset(n->data + size, 0, (size_t)(n->size - size)); /* bytes past the end stay 0 */
	n->size = size;
	n->changed = 1;
	edits++;
	node_touch(n);
	return 0;
}

static int make_node(struct node *dir, const char *leaf, mode_t mode, struct node **out)
{
	struct node *n;
	int rc = may_change_dir(dir, NULL);

	if (rc)
		return rc;
	if (dir_find(dir, leaf, strlen(leaf)))
		return -EEXIST;
	if (strlen(leaf) > 255)
		return -ENAMETOOLONG;
	if (!(n = node_new(leaf, strlen(leaf), mode)))
		return -ENOMEM;
	if ((rc = dir_insert(dir, n))) {
		node_free(n);
		return rc;
	}
	*out = n;
	return 0;
}

/* A read that asks for the whole of a member not yet held: its bytes straight from the
 * reader's decoded frame, checked there (digest, JSON) as node_load checks them, without a
 * copy held by the node. */
static int serve_member(struct node *n, char *buf, size_t size)
{
	const void *data;
	size_t len;

	if (appkg_reader_read(reader(), n->member, &data, &len)) {
		commit_bad_read(n->member, appkg_reader_error(fs.reader));
		return -EIO;
	}
	if (size > len)
		size = len;
	memcpy(buf, data, size);
	return (int)size;
}

/* A write that crosses the file's limit or fills the mount is cut short there (the caller's
 * next write gets EFBIG or ENOSPC). */
static int write_locked(struct node *n, const char *buf, size_t size, off_t off)
{
	uint64_t end = (uint64_t)off + size, room;
	int rc = may_write(n);

	if (rc || (rc = node_load(n)))
		return rc;
	if (off < 0)
		return -EINVAL;
	if (size == 0)
		return 0;
	room = node_room(n);
	if ((uint64_t)off >= room)
		return (uint64_t)off >= node_limit(n) ? -EFBIG : -ENOSPC;
	if (end > room) {
		end = room;
		size = (size_t)(room - (uint64_t)off);
	}
	if ((rc = node_grow(n, (size_t)end)))
		return rc;
	memcpy(n->data + off, buf, size);
	if (end > n->size)
		n->size = end;
	n->changed = 1;
	edits++;
	node_touch(n);
	return (int)size;
}

static int truncate_locked(struct node *n, off_t size)
{
	int rc = may_write(n);

	if (!n)
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (rc)
		return rc;
	return size < 0 ? -EINVAL : set_size(n, (uint64_t)size);
}

/* n leaves the tree while open: its bytes are decoded now (a handle reads them until its
 * last close), because a commit may replace the package it was read from. */
static void keep_bytes(struct node *n)
{
	if (n->opens && n->member && !n->data && node_load(n))
		n->member = NULL; /* reads give EIO, as they would have */
}

static int is_inside(const struct node *n, const struct node *dir)
{
	for (; dir; dir = dir->parent)
		if (dir == n)
			return 1;
	return 0;
}

/* May `from` replace `to`? (rename(2)'s rules for an existing target) */
static int replaceable(const struct node *from, const struct node *to, unsigned flags)
{
	if (flags & RENAME_NOREPLACE)
		return -EEXIST;
	if (to->readonly)
		return -EPERM;
	if (S_ISDIR(from->mode) && !S_ISDIR(to->mode))
		return -ENOTDIR;
	if (!S_ISDIR(from->mode) && S_ISDIR(to->mode))
		return -EISDIR;
	return S_ISDIR(to->mode) && to->nkids ? -ENOTEMPTY : 0;
}

/* Move n into to_dir under its new name; on failure (guarded memory exhausted) put back
 * exactly what was there. */
static int move(struct node *n, struct node *to_dir, char *name, struct node *old)
{
	struct node *from_dir = n->parent;
	char *from_name = n->name;
	int rc;

	dir_remove(n);
	if (old) {
		keep_bytes(old);
		dir_remove(old);
	}
	n->name = name;
	if ((rc = dir_insert(to_dir, n)) != 0) {
		n->name = from_name;
		dir_insert(from_dir, n);
		if (old)
			dir_insert(to_dir, old);
		free(name);
		return rc;
	}
	free(from_name);
	if (old)
		node_put(old);
	n->ctime = to_dir->mtime;
	return 0;
}

static int utimens_locked(struct node *n, const struct timespec tv[2])
{
	if (!n)
		return -ENOENT;
	if (fs.read_only)
		return -EROFS;
	if (tv[1].tv_nsec == UTIME_NOW)
		node_touch(n);
	else if (tv[1].tv_nsec != UTIME_OMIT)
		n->mtime = tv[1];
	return 0;
}

static int chmod_locked(struct node *n, mode_t mode)
{
	if (!n)
		return -ENOENT;
	if (fs.read_only)
		return -EROFS;
	if (!n->readonly)
		n->mode = (n->mode & S_IFMT) | (mode & 0777);
	return 0;
}

/* Space is the memory the mount may hold (MAX_HELD_BYTES) and what it holds now; files have
 * no limit of their own, so the free count is nominal. */
static int statfs_locked(struct statvfs *sv)
{
	uint64_t held = tree_held();

	memset(sv, 0, sizeof(*sv));
	sv->f_bsize = sv->f_frsize = 4096;
	sv->f_blocks = MAX_HELD_BYTES / 4096;
	sv->f_bfree = sv->f_bavail = held < MAX_HELD_BYTES ? (MAX_HELD_BYTES - held) / 4096 : 0;
	sv->f_files = sv->f_ffree = sv->f_favail = 1u << 20;
	sv->f_namemax = 255;
	return 0;
}



static void op_init(void *data, struct fuse_conn_info *conn)
{
	fs.no_open = !fs.password && !fs.empty_members && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* every batch of a listing with attributes */
	conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;   /* O_TRUNC comes as a setattr, also without opens */
	if (fs.no_open)
		push_start();
}

static void fill_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	if (!n->parent && n != fs.root)
		st->st_nlink = 0; /* unlinked, still known or open */
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_mtim = st->st_atim = n->mtime;
	st->st_ctim = n->ctime;
}

/* The entry for n, which the kernel now knows once more (lookup count). */
static void fill_entry(struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = ino_of(n);
	e->generation = n->ino;
	e->attr_timeout = e->entry_timeout = TIMEOUT;
	fill_stat(n, &e->attr);
	n->lookups++;
}

static void forget_locked(fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = node_of(ino);

	n->lookups = n->lookups > nlookup ? n->lookups - nlookup : 0;
	if (!n->lookups)
		pthread_cond_broadcast(&forgotten);
	node_put(n);
}

/* Wait (locked) a little for the forgets of unlinked files: the kernel queues one before the
 * unlink returns when nothing has the file open, but another thread may be handling it while
 * this one answers, and what statfs says, or a write that would fill the mount, should not
 * count bytes already let go. A file the kernel still has open costs the wait (5 ms), only
 * here. */
static void settle(void)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 5000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	while (limbo_holds() && !pthread_cond_timedwait(&forgotten, &fs.lock, &until))
		;
}

/* Answer a request that made a node: the kernel that did not get the entry does not know it. */
static void reply_entry(fuse_req_t req, int rc, struct fuse_entry_param *e)
{
	if (rc) {
		reply_status(req, rc);
	} else if (fuse_reply_entry(req, e)) {
		lock();
		forget_locked(e->ino, 1);
		unlock();
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;
	struct node *dir, *n = NULL;

	lock();
	dir = node_of(parent);
	if (S_ISDIR(dir->mode))
		n = dir_find(dir, name, strlen(name));
	if (n)
		fill_entry(n, &e);
	unlock();
	reply_entry(req, n ? 0 : -ENOENT, &e);
}


static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	lock();
	forget_locked(ino, nlookup);
	unlock();
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	lock();
	for (size_t i = 0; i < count; i++)
		forget_locked(forgets[i].ino, forgets[i].nlookup);
	unlock();
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	lock();
	fill_stat(node_of(ino), &st);
	unlock();
	fuse_reply_attr(req, &st, TIMEOUT);
}

/* Owners are not part of a package; accept what sed -i and cp -p ask for. */
static int setattr_locked(struct node *n, const struct stat *attr, int to_set)
{
	struct timespec tv[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
	int rc = 0;

	if (to_set & FUSE_SET_ATTR_MODE)
		rc = chmod_locked(n, attr->st_mode);
	if (!rc && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		rc = fs.read_only ? -EROFS : 0;
	if (!rc && (to_set & FUSE_SET_ATTR_SIZE))
		rc = truncate_locked(n, attr->st_size);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		tv[1].tv_nsec = UTIME_NOW;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		tv[1] = attr->st_mtim;
	if (!rc && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			      FUSE_SET_ATTR_MTIME_NOW)))
		rc = utimens_locked(n, tv);
	return rc;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	struct node *n;
	struct stat st;
	int rc;

	lock();
	n = node_of(ino);
	if ((rc = setattr_locked(n, attr, to_set)) == -ENOSPC) {
		settle();
		rc = setattr_locked(n, attr, to_set);
	}
	if (!rc)
		fill_stat(n, &st);
	unlock();
	if (rc)
		reply_status(req, rc);
	else
		fuse_reply_attr(req, &st, TIMEOUT);
}

static int opendir_locked(struct node *d, struct fuse_file_info *fi)
{
	struct listing *l;

	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	d->opens++;
	l->dir = d;
	fi->fh = (uintptr_t)l;
	return 0;
}

static void op_releasedir_now(struct fuse_file_info *fi);

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int rc;

	lock();
	rc = opendir_locked(node_of(ino), fi);
	unlock();
	if (rc)
		reply_status(req, rc);
	else if (fuse_reply_open(req, fi))
		op_releasedir_now(fi);
}

/* One entry of a listing into buf; its size, or 0 when it does not fit. With plus, a name
 * the directory still has goes out with its entry (and counts as a lookup); one removed since
 * the snapshot is left out, for the kernel would take it as there: it runs no unlink, rename
 * or create in this directory while it waits for this reply. */
static size_t add_entry(fuse_req_t req, char *buf, size_t room, const char *name, struct node *n,
			off_t next, int plus)
{
	struct fuse_entry_param e;
	size_t len;

	if (!plus) {
		struct stat st = {.st_ino = n->ino, .st_mode = n->mode};
		len = fuse_add_direntry(req, buf, room, name, &st, next);
		return len <= room ? len : 0;
	}
	memset(&e, 0, sizeof(e));
	if (strcmp(name, ".") && strcmp(name, "..")) {
		fill_entry(n, &e);
		n->lookups--; /* counted once it fits */
	} else { /* "." and "..": a name only, no lookup */
		e.attr.st_ino = n->ino;
		e.attr.st_mode = S_IFDIR;
	}
	len = fuse_add_direntry_plus(req, buf, room, name, &e, next);
	if (len > room)
		return 0;
	if (e.ino)
		n->lookups++;
	return len;
}

/* Entries go out with offsets (1 and 2 for "." and "..", 3 on for the snapshot). */
static int readdir_locked(fuse_req_t req, struct listing *l, char *buf, size_t size, off_t off,
			  int plus, size_t *used)
{
	struct node *d = l->dir;
	size_t pos = 0, len;
	int rc;

	if (off == 0 && (rc = listing_take(l)))
		return rc;
	if (off < 1) {
		if (!(len = add_entry(req, buf, size, ".", d, 1, plus)))
			goto out;
		pos += len;
	}
	if (off < 2) {
		if (!(len = add_entry(req, buf + pos, size - pos, "..", d, 2, plus)))
			goto out;
		pos += len;
	}
	for (size_t i = off > 2 ? (size_t)off - 2 : 0; i < l->n; i++) {
		struct node *n = dir_find(d, l->names[i], strlen(l->names[i]));
		if (!n)
			continue;
		if (!(len = add_entry(req, buf + pos, size - pos, l->names[i], n, (off_t)i + 3, plus)))
			break;
		pos += len;
	}
out:
	*used = pos;
	return 0;
}

static void do_readdir(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi,
		       int plus)
{
	char *buf = malloc(size ? size : 1);
	size_t used = 0;
	int rc = buf ? 0 : -ENOMEM;

	if (buf) {
		lock();
		rc = readdir_locked(req, (struct listing *)(uintptr_t)fi->fh, buf, size, off, plus,
				    &used);
		unlock();
	}
	if (rc)
		reply_status(req, rc);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, 0);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi)
{
	do_readdir(req, size, off, fi, 1);
}

static void releasedir_locked(struct listing *l)
{
	struct node *d = l->dir;

	free(l->names);
	free(l);
	d->opens--;
	node_put(d); /* removed while open */
}

static void op_releasedir_now(struct fuse_file_info *fi)
{
	lock();
	releasedir_locked((struct listing *)(uintptr_t)fi->fh);
	unlock();
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	op_releasedir_now(fi);
	fuse_reply_err(req, 0);
}

static void hand_out(struct node *n, struct fuse_file_info *fi)
{
	n->opens++;
	fi->fh = (uintptr_t)n;
	fi->direct_io = n->secure; /* secrets stay out of the page cache */
	fi->keep_cache = !n->secure; /* only writes through this mount change a file */
}

static int open_locked(struct node *n, struct fuse_file_info *fi)
{
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	int rc;

	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (writing && (rc = may_write(n)))
		return rc;
	/* a file read only is decoded at its first read: not at all when the kernel has its
	 * pages (keep_cache), once per frame when it has not; an empty one is checked now, for
	 * the kernel never asks to read it */
	if ((fi->flags & O_TRUNC) && (rc = set_size(n, 0)))
		return rc;
	if (n->size == 0 && (rc = node_load(n)))
		return rc;
	if (fs.no_open)
		return -ENOSYS; /* the kernel opens files itself from now on */
	hand_out(n, fi);
	return 0;
}

static int release_locked(struct node *n)
{
	if (--n->opens > 0)
		return 0;
	if (!n->parent && n != fs.root)
		node_put(n); /* unlinked while open */
	else if (!n->changed && n->member && fs.kept != n)
		node_drop_data(n); /* decoded again on the next open */
	return 0;
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct node *n;
	int rc;

	lock();
	n = node_of(ino);
	rc = open_locked(n, fi);
	unlock();
	if (rc)
		reply_status(req, rc);
	else if (fuse_reply_open(req, fi)) {
		lock();
		release_locked(n);
		unlock();
	}
}

static int create_locked(struct node *dir, const char *name, mode_t mode,
			 struct fuse_file_info *fi, struct fuse_entry_param *e)
{
	struct node *n;
	int rc = make_node(dir, name, S_IFREG | (mode & 07777), &n);

	if (rc)
		return rc;
	n->changed = 1;
	hand_out(n, fi);
	fill_entry(n, e);
	return 0;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		      struct fuse_file_info *fi)
{
	struct fuse_entry_param e;
	int rc;

	lock();
	rc = create_locked(node_of(parent), name, mode, fi, &e);
	unlock();
	if (rc)
		reply_status(req, rc);
	else if (fuse_reply_create(req, &e, fi)) {
		struct node *n = node_of(e.ino);
		lock();
		n->lookups--;
		release_locked(n);
		unlock();
	}
}

/* ---- the other files of a decoded frame, pushed into the kernel's page cache ----
 *
 * Without opens a file read costs one READ, but its frame holds a hundred other small files
 * that a reader of every file (cat, grep -r, a backup) asks for next: after a READ that decoded
 * a frame, the whole bytes of the other files of that frame in the same directory go to the
 * kernel with notify_store, so that reading them costs no request. Only files the kernel knows
 * (looked up: a store names an inode), that hold no bytes of their own (no edit to lose), never
 * secrets (guarded files), once each. The stores run on a thread of their own: a store waits
 * for the pages' locks, and a page may be locked by a read that waits for a worker, so no
 * worker may wait on a store. A store that may have raced a write or truncate (the kernel
 * holds the pages locked during the WRITE, so the store lands after it, with the bytes from
 * before) is undone by invalidating the file's pages; each file stays pinned by one lookup
 * until its store is done, so that its inode cannot name another file meanwhile. */

#define PUSH_QUEUE_BYTES (8u << 20) /* bytes waiting to be stored, at most */
#define PUSH_FILE_BYTES (256u << 10) /* larger files are read by their own READs */

struct push {
	struct push *next;
	struct node *n;
	uint64_t edits; /* the count of edits when its bytes were taken */
	size_t len;
	unsigned char data[];
};

static pthread_mutex_t push_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t push_wake = PTHREAD_COND_INITIALIZER;
static struct push *push_head, **push_tail = &push_head;
static size_t push_bytes;
static int push_running, push_stop;
static pthread_t pusher;

static struct push *push_next(void)
{
	struct push *p;

	pthread_mutex_lock(&push_lock);
	while (!push_head && !push_stop)
		pthread_cond_wait(&push_wake, &push_lock);
	if ((p = push_head)) {
		if (!(push_head = p->next))
			push_tail = &push_head;
		push_bytes -= p->len;
	}
	pthread_mutex_unlock(&push_lock);
	return p;
}

static void push_one(struct push *p)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(p->len);
	fuse_ino_t ino = ino_of(p->n);
	int raced;

	bv.buf[0].mem = p->data;
	if (!push_stop && !fuse_lowlevel_notify_store(fs.se, ino, 0, &bv, 0)) {
		lock();
		raced = p->edits != edits;
		unlock();
		if (raced)
			fuse_lowlevel_notify_inval_inode(fs.se, ino, 0, 0);
	}
	lock();
	forget_locked(ino, 1); /* the pin */
	unlock();
	free(p);
}

static void *push_main(void *arg)
{
	struct push *p;

	while ((p = push_next()))
		push_one(p);
	return NULL;
}

static void push_start(void)
{
	push_running = !pthread_create(&pusher, NULL, push_main, NULL);
}

/* At unmount: no more stores (those queued are dropped). A store can wait on a page locked
 * by a read no worker will answer now (the loop ended on a signal, the kernel still mounted):
 * then the thread is left waiting, and -1 says the tree must not be freed under it. */
int push_end(void)
{
	struct timespec until;

	if (!push_running)
		return 0;
	pthread_mutex_lock(&push_lock);
	push_stop = 1;
	pthread_cond_broadcast(&push_wake);
	pthread_mutex_unlock(&push_lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 2;
	if (pthread_timedjoin_np(pusher, NULL, &until))
		return -1;
	push_running = 0;
	return 0;
}

/* May k's bytes go to the kernel unasked? */
static int pushable(const struct node *k)
{
	return S_ISREG(k->mode) && k->member && !k->data && !k->secure && !k->pushed &&
	       k->lookups && k->size && k->size <= PUSH_FILE_BYTES;
}

/* Queue k's bytes (its frame is the reader's current one); 0, or -1 when the queue is full. */
static int push_queue(struct node *k)
{
	const void *data;
	size_t len;
	struct push *p;

	if (push_bytes + k->size > PUSH_QUEUE_BYTES)
		return -1;
	if (appkg_reader_read(fs.reader, k->member, &data, &len) || len != k->size)
		return 0; /* its own read reports it */
	if (!(p = malloc(sizeof(*p) + len)))
		return -1;
	memcpy(p->data, data, len);
	p->len = len;
	p->n = k;
	p->next = NULL;
	p->edits = edits;
	k->lookups++; /* pinned until stored */
	k->pushed = 1;
	pthread_mutex_lock(&push_lock);
	*push_tail = p;
	push_tail = &p->next;
	push_bytes += len;
	pthread_cond_signal(&push_wake);
	pthread_mutex_unlock(&push_lock);
	return 0;
}

/* Does kid i of dir belong to frame? 1 yes, 0 no but go on, -1 a member of another frame. */
static int in_frame(struct node *dir, size_t i, uint32_t frame)
{
	struct appkg_member m;
	struct node *k = dir->kids[i];

	if (!k->member || appkg_reader_find(fs.reader, k->member, &m))
		return 0;
	return m.frame == frame ? 1 : -1;
}

/* After n was read whole from its frame: queue its neighbours in the same frame. */
static void push_frame(struct node *n)
{
	struct node *dir = n->parent;
	struct appkg_member m;
	size_t at, i;
	int in;

	n->pushed = 1;
	if (!push_running || !dir || appkg_reader_find(fs.reader, n->member, &m))
		return;
	at = dir_index(n);
	for (i = at + 1; i < dir->nkids && (in = in_frame(dir, i, m.frame)) >= 0; i++)
		if (in && pushable(dir->kids[i]) && push_queue(dir->kids[i]))
			return;
	for (i = at; i-- > 0 && (in = in_frame(dir, i, m.frame)) >= 0;)
		if (in && pushable(dir->kids[i]) && push_queue(dir->kids[i]))
			return;
}

/* Without opens nothing says when a reader is done with a file: the bytes of one file read
 * in pieces are kept until another is (its pages stay in the kernel's cache meanwhile), unless
 * written (then they are the edit) or held open by a handle. */
static void keep_one(struct node *n)
{
	struct node *k = fs.kept;

	if (k && k != n && !k->changed && k->member && !k->opens)
		node_drop_data(k);
	fs.kept = n;
}

/* A member larger than the read is decoded once into the node and kept while it is open,
 * so that the reads after the first neither decode nor check it again. */
static int read_locked(struct node *n, char *buf, size_t size, off_t off)
{
	int rc;

	if (S_ISDIR(n->mode))
		return -EISDIR;
	if (!n->data && n->member && off == 0 && size >= n->size) {
		if ((rc = serve_member(n, buf, size)) >= 0 && fs.no_open)
			push_frame(n);
		return rc;
	}
	if ((rc = node_load(n)))
		return rc;
	if (fs.no_open && !n->opens)
		keep_one(n);
	if (off < 0 || (uint64_t)off >= n->size)
		return 0;
	if (size > n->size - (uint64_t)off)
		size = (size_t)(n->size - (uint64_t)off);
	memcpy(buf, n->data + off, size);
	return (int)size;
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	int rc = -ENOMEM;

	if (buf) {
		lock();
		rc = read_locked(node_of(ino), buf, size, off);
		unlock();
	}
	if (rc < 0)
		reply_status(req, rc);
	else
		fuse_reply_buf(req, buf, (size_t)rc);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	int rc;

	lock();
	rc = write_locked(node_of(ino), buf, size, off);
	if (rc == -ENOSPC) {
		settle();
		rc = write_locked(node_of(ino), buf, size, off);
	}
	unlock();
	if (rc < 0)
		reply_status(req, rc);
	else
		fuse_reply_write(req, (size_t)rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (fi->fh) { /* else opened by the kernel alone (no_open): nothing was handed out */
		lock();
		release_locked((struct node *)(uintptr_t)fi->fh);
		unlock();
	}
	fuse_reply_err(req, 0);
}

/* Edits live in memory until the commit, which fsyncs the package. */
static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, 0);
}

/* Take n out of the tree; it lives on while the kernel knows it or a handle has it open. */
static void discard(struct node *n)
{
	keep_bytes(n);
	dir_remove(n);
	node_put(n);
}

static int unlink_locked(struct node *dir, const char *name)
{
	struct node *n = S_ISDIR(dir->mode) ? dir_find(dir, name, strlen(name)) : NULL;
	int rc = may_change_dir(dir, n);

	if (rc)
		return rc;
	if (!n)
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	discard(n);
	return 0;
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc;

	lock();
	rc = unlink_locked(node_of(parent), name);
	unlock();
	reply_status(req, rc);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct fuse_entry_param e;
	struct node *n;
	int rc;

	lock();
	if (!(rc = make_node(node_of(parent), name, S_IFDIR | (mode & 07777), &n)))
		fill_entry(n, &e);
	unlock();
	reply_entry(req, rc, &e);
}

static int rmdir_locked(struct node *dir, const char *name)
{
	struct node *n = S_ISDIR(dir->mode) ? dir_find(dir, name, strlen(name)) : NULL;

	if (fs.read_only)
		return -EROFS;
	if (!n)
		return -ENOENT;
	if (!S_ISDIR(n->mode))
		return -ENOTDIR;
	if (n->nkids)
		return -ENOTEMPTY;
	discard(n);
	return 0;
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	int rc;

	lock();
	rc = rmdir_locked(node_of(parent), name);
	unlock();
	reply_status(req, rc);
}

static int rename_locked(struct node *from_dir, const char *from_leaf, struct node *to_dir,
			 const char *to_leaf, unsigned flags)
{
	struct node *n = S_ISDIR(from_dir->mode) ? dir_find(from_dir, from_leaf, strlen(from_leaf))
						 : NULL;
	struct node *old = S_ISDIR(to_dir->mode) ? dir_find(to_dir, to_leaf, strlen(to_leaf)) : NULL;
	char *name;
	int rc = may_change_dir(from_dir, n);

	if (rc || (rc = may_change_dir(to_dir, NULL)))
		return rc;
	if (!n)
		return -ENOENT;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (old == n)
		return 0;
	if (is_inside(n, to_dir))
		return -EINVAL;
	if (old && (rc = replaceable(n, old, flags)))
		return rc;
	if (strlen(to_leaf) > 255)
		return -ENAMETOOLONG;
	if (!(name = strdup(to_leaf)))
		return -ENOMEM;
	return move(n, to_dir, name, old);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		      const char *newname, unsigned int flags)
{
	int rc;

	lock();
	rc = rename_locked(node_of(parent), name, node_of(newparent), newname, flags);
	unlock();
	reply_status(req, rc);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	lock();
	settle();
	statfs_locked(&sv);
	unlock();
	fuse_reply_statfs(req, &sv);
}

/* mknod of a regular file makes one, as create does; anything else is a special file, which
 * a package cannot hold. */
static int mknod_locked(struct node *dir, const char *name, mode_t mode,
			struct fuse_entry_param *e)
{
	struct node *n;
	int rc;

	if (!S_ISREG(mode))
		return -EPERM;
	if ((rc = make_node(dir, name, S_IFREG | (mode & 07777), &n)))
		return rc;
	n->changed = 1;
	fill_entry(n, e);
	return 0;
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct fuse_entry_param e;
	int rc;

	lock();
	rc = mknod_locked(node_of(parent), name, mode, &e);
	unlock();
	reply_entry(req, rc, &e);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	fuse_reply_err(req, EPERM); /* a package has no links */
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EPERM);
}

/* A file out of the tree keeps its bytes through a commit, which may replace the package it
 * was read from: without opens the daemon cannot tell whether the kernel has it open. */
static void keep_limbo_bytes(struct node *n)
{
	if (n->member && !n->data)
		node_load(n); /* if that fails, reads give EIO, as they would have */
	n->member = NULL;
}

static fuse_ino_t known_ino(const char *name)
{
	struct node *n = dir_find(fs.root, name, strlen(name));

	return n && n->lookups ? ino_of(n) : 0;
}

/* A commit may write a manifest other than the one in the mount (entries of unlinked or
 * renamed resources) and a new signature or none: the kernel forgets their pages, attributes
 * and entries (kept with keep_cache and the timeouts). Done without fs.lock, for the kernel may
 * wait on a read of those files that waits on the lock. */
static void forget_pages(fuse_ino_t manifest, fuse_ino_t signature)
{
	if (manifest)
		fuse_lowlevel_notify_inval_inode(fs.se, manifest, 0, 0);
	if (signature)
		fuse_lowlevel_notify_inval_inode(fs.se, signature, 0, 0);
}

static void forget_entries(void)
{
	fuse_lowlevel_notify_inval_entry(fs.se, FUSE_ROOT_ID, SIGNATURE_FILE,
					 strlen(SIGNATURE_FILE));
	fuse_lowlevel_notify_inval_entry(fs.se, FUSE_ROOT_ID, MANIFEST_FILE, strlen(MANIFEST_FILE));
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			size_t size, int flags)
{
	fuse_ino_t manifest, signature;
	appkg_reader *replaced;

	if (ino != FUSE_ROOT_ID || strcmp(name, XATTR_COMMIT) != 0) {
		fuse_reply_err(req, ENOTSUP);
		return;
	}
	lock();
	limbo_each(keep_limbo_bytes);
	manifest = known_ino(MANIFEST_FILE);
	signature = known_ino(SIGNATURE_FILE);
	commit_run(0);
	replaced = commit_replaced();
	unlock();
	/* The pages go before the answer: else a read made as soon as the commit returns may get
	 * the old manifest from the kernel's cache. The entries go after it, for the kernel holds
	 * the root directory's lock through this call and an entry's invalidation waits on it.
	 * With one thread, a read of those files waiting for it holds a page the invalidation
	 * would wait on: there the pages go after the answer as well. */
	if (!fs.single_thread)
		forget_pages(manifest, signature);
	fuse_reply_err(req, 0);
	if (fs.single_thread)
		forget_pages(manifest, signature);
	forget_entries();
	/* the commit is answered: what it let go goes now (commit_replaced), and the pages of
	 * its trees go back */
	appkg_reader_free(replaced);
	malloc_trim(0);
}

static void reply_text(fuse_req_t req, const char *text, size_t size)
{
	size_t len = strlen(text);

	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, text, len);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char text[REPORT_BYTES];

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENODATA);
		return;
	}
	if (!strcmp(name, XATTR_PROGRESS)) { /* during a commit: no lock */
		text[commit_progress_text(text, 96)] = '\0';
	} else if (!strcmp(name, XATTR_REPORT)) {
		lock();
		memcpy(text, fs.report, sizeof(text));
		unlock();
		text[sizeof(text) - 1] = '\0';
	} else if (!strcmp(name, XATTR_PID)) {
		snprintf(text, sizeof(text), "%ld", (long)getpid());
	} else {
		fuse_reply_err(req, ENODATA);
		return;
	}
	reply_text(req, text, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, 0);
	else
		fuse_reply_buf(req, NULL, 0);
}

const struct fuse_lowlevel_ops appkg_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.open = op_open,
	.create = op_create,
	.mknod = op_mknod,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.fsync = op_fsync,
	.fsyncdir = op_fsync,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.statfs = op_statfs,
	.link = op_link,
	.symlink = op_symlink,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};
