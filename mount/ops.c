/* SPDX-License-Identifier: MIT */
/*
 * The FUSE operations: one short function each, returning 0 or -errno. Every operation takes
 * fs.lock, so the tree and the package reader (which is not thread-safe) are only touched by
 * one thread at a time. Files are addressed by path or, once open, by the node in fi->fh.
 * An open file that is unlinked or renamed over lives on until its last release: libfuse first
 * renames it to a hidden name (.fuse_hiddenXXXXXXXXYYYYYYYY), which tree.c takes out of the
 * tree but still resolves, because the kernel asks for fstat, fchmod and futimens by inode
 * without a file handle and libfuse turns that inode into a path.
 *
 * A read-only mount answers the first open with ENOSYS: from then on the kernel opens and
 * closes files without asking (no OPEN or RELEASE, keep_cache on), so that a file read costs
 * one request and a file in the page cache none; reads then name their file by path. That is
 * only for a tree that never changes, shows no plaintext secrets and has no empty member: a
 * read-write mount needs the opens to keep an unlinked open file readable (libfuse finds it
 * by its open count), secrets.json needs direct_io, and an empty member is checked at open,
 * for the kernel never reads it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mount.h"

#define LOCKED(call)                                   \
	do {                                           \
		int rc_;                               \
		pthread_mutex_lock(&fs.lock);          \
		rc_ = (call);                          \
		pthread_mutex_unlock(&fs.lock);        \
		return rc_;                            \
	} while (0)

static struct node *resolve(const char *path, struct fuse_file_info *fi)
{
	if (fi && fi->fh)
		return (struct node *)(uintptr_t)fi->fh;
	return path ? tree_lookup(path) : NULL;
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

static void *op_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	fs.no_open = fs.read_only && !fs.password && !fs.empty_members &&
		     (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT);
	cfg->use_ino = 1;
	cfg->hard_remove = 0; /* with it, fstat on an unlinked open file is ESTALE */
	cfg->nullpath_ok = !fs.no_open; /* read, write, ftruncate and release go by fi->fh */
	cfg->entry_timeout = cfg->attr_timeout = 30.0; /* every change comes through this mount */
	cfg->negative_timeout = 0;
	conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO; /* every batch of a listing with attributes */
	return NULL;
}

static void fill_stat(const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_mode = n->mode;
	st->st_nlink = S_ISDIR(n->mode) ? 2 : 1;
	if (!n->parent && n != fs.root)
		st->st_nlink = 0; /* unlinked, open (libfuse lowers the count only in getattr) */
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_size = (off_t)n->size;
	st->st_blksize = 4096;
	st->st_blocks = (blkcnt_t)((n->size + 511) / 512);
	st->st_mtim = st->st_atim = n->mtime;
	st->st_ctim = n->ctime;
}

static int getattr_locked(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	struct node *n = resolve(path, fi);

	if (!n)
		return -ENOENT;
	fill_stat(n, st);
	return 0;
}

static int op_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	LOCKED(getattr_locked(path, st, fi));
}

/* An open directory: the names its listing had when it was read from the start, so that a
 * listing read in several batches (by offset) neither repeats nor skips a name that stays
 * while others come and go in between. */
struct listing {
	struct node *dir;
	size_t n;
	char **names; /* into one block with the names */
};

static int opendir_locked(const char *path, struct fuse_file_info *fi)
{
	struct node *d = tree_lookup(path);
	struct listing *l;

	if (!d)
		return -ENOENT;
	if (!S_ISDIR(d->mode))
		return -ENOTDIR;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	d->opens++;
	l->dir = d;
	fi->fh = (uintptr_t)l;
	return 0;
}

static int op_opendir(const char *path, struct fuse_file_info *fi)
{
	LOCKED(opendir_locked(path, fi));
}

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

/* The attributes of the snapshot's name i, if the directory still has that name. */
static int still_there(const struct listing *l, size_t i, struct stat *st)
{
	struct node *n;

	pthread_mutex_lock(&fs.lock);
	if ((n = dir_find(l->dir, l->names[i], strlen(l->names[i]))))
		fill_stat(n, st);
	pthread_mutex_unlock(&fs.lock);
	return n != NULL;
}

/* Entries go out with offsets (1 and 2 for "." and "..", 3 on for the snapshot), which is
 * what lets libfuse send READDIRPLUS replies: each name comes with its node and attributes
 * (libfuse looks it up through getattr, so fill runs without fs.lock), and the kernel has the
 * entry for the entry and attribute timeouts without a LOOKUP per name. A name removed since
 * the snapshot is left out, for the kernel would take it as there: it runs no unlink, rename
 * or create in this directory while it waits for this reply, so what is checked here is what
 * the lookup finds. */
static int op_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct listing *l = (struct listing *)(uintptr_t)fi->fh;
	int plus = !!(flags & FUSE_READDIR_PLUS), rc;

	if (off == 0) {
		pthread_mutex_lock(&fs.lock);
		rc = listing_take(l);
		pthread_mutex_unlock(&fs.lock);
		if (rc)
			return rc;
	}
	if (off < 1 && fill(buf, ".", NULL, 1, 0))
		return 0;
	if (off < 2 && fill(buf, "..", NULL, 2, 0))
		return 0;
	for (size_t i = off > 2 ? (size_t)off - 2 : 0; i < l->n; i++) {
		struct stat st;
		if (!still_there(l, i, &st))
			continue;
		if (fill(buf, l->names[i], &st, (off_t)i + 3, plus ? FUSE_FILL_DIR_PLUS : 0))
			break;
	}
	return 0;
}

static int releasedir_locked(struct listing *l)
{
	struct node *d = l->dir;

	free(l->names);
	free(l);
	if (--d->opens == 0 && !d->parent && d != fs.root)
		node_free(d); /* removed while open */
	return 0;
}

static int op_releasedir(const char *path, struct fuse_file_info *fi)
{
	LOCKED(releasedir_locked((struct listing *)(uintptr_t)fi->fh));
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
	node_touch(n);
	return 0;
}

static void hand_out(struct node *n, struct fuse_file_info *fi)
{
	n->opens++;
	fi->fh = (uintptr_t)n;
	fi->direct_io = n->secure; /* secrets stay out of the page cache */
	fi->keep_cache = !n->secure; /* only writes through this mount change a file */
}

static int open_locked(const char *path, struct fuse_file_info *fi)
{
	struct node *n = tree_lookup(path);
	int writing = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	int rc;

	if (!n)
		return -ENOENT;
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

static int op_open(const char *path, struct fuse_file_info *fi)
{
	LOCKED(open_locked(path, fi));
}

static int make_node(const char *path, mode_t mode, struct node **out)
{
	const char *leaf;
	struct node *dir = tree_parent(path, &leaf), *n;
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

static int create_locked(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	struct node *n;
	int rc = make_node(path, S_IFREG | (mode & 07777), &n);

	if (rc)
		return rc;
	n->changed = 1;
	hand_out(n, fi);
	return 0;
}

static int op_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	LOCKED(create_locked(path, mode, fi));
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

/* Without opens nothing says when a reader is done with a file: the bytes of one file read
 * in pieces are kept until another is (its pages stay in the kernel's cache meanwhile). */
static void keep_one(struct node *n)
{
	static struct node *kept;

	if (kept && kept != n)
		node_drop_data(kept); /* a read-only mount: its bytes are the member's */
	kept = n;
}

/* A member larger than the read is decoded once into the node and kept while it is open,
 * so that the reads after the first neither decode nor check it again. */
static int read_locked(struct node *n, char *buf, size_t size, off_t off)
{
	int rc;

	if (!n)
		return -ENOENT;
	if (!n->data && n->member && off == 0 && size >= n->size)
		return serve_member(n, buf, size);
	if ((rc = node_load(n)))
		return rc;
	if (fs.no_open)
		keep_one(n);
	if (off < 0 || (uint64_t)off >= n->size)
		return 0;
	if (size > n->size - (uint64_t)off)
		size = (size_t)(n->size - (uint64_t)off);
	memcpy(buf, n->data + off, size);
	return (int)size;
}

static int op_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	LOCKED(read_locked(resolve(path, fi), buf, size, off));
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
	node_touch(n);
	return (int)size;
}

static int op_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	LOCKED(write_locked(resolve(path, fi), buf, size, off));
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

static int op_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	LOCKED(truncate_locked(resolve(path, fi), size));
}

static int release_locked(struct node *n)
{
	if (--n->opens > 0)
		return 0;
	if (!n->parent && n != fs.root) {
		tree_unhide(n);
		node_free(n); /* unlinked while open */
	} else if (!n->changed && n->member)
		node_drop_data(n); /* decoded again on the next open */
	return 0;
}

static int op_release(const char *path, struct fuse_file_info *fi)
{
	if (!fi->fh)
		return 0; /* opened by the kernel alone (no_open): nothing was handed out */
	LOCKED(release_locked((struct node *)(uintptr_t)fi->fh));
}

/* Edits live in memory until the commit, which fsyncs the package. */
static int op_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	return 0;
}

/* n leaves the tree while open: its bytes are decoded now (a handle reads them until its
 * last close), because a commit may replace the package it was read from. */
static void keep_bytes(struct node *n)
{
	if (n->opens && n->member && !n->data && node_load(n))
		n->member = NULL; /* reads give EIO, as they would have */
}

/* Take n out of the tree and free it unless a handle still has it open. */
static void discard(struct node *n)
{
	keep_bytes(n);
	dir_remove(n);
	if (n->opens == 0)
		node_free(n);
}

/* libfuse unlinks a hidden file after its last release (ours came first and freed it), or
 * right after hiding it when that release ran in between. */
static int unlink_hidden(struct node *n)
{
	tree_unhide(n);
	if (n->opens == 0)
		node_free(n);
	return 0;
}

static int unlink_locked(const char *path)
{
	const char *leaf;
	struct node *dir = tree_parent(path, &leaf);
	struct node *n = dir ? dir_find(dir, leaf, strlen(leaf)) : NULL;
	int rc = may_change_dir(dir, n);

	if (!n && dir && (n = tree_lookup(path)) && !n->parent)
		return unlink_hidden(n);
	if (rc)
		return rc;
	if (!n)
		return -ENOENT;
	if (S_ISDIR(n->mode))
		return -EISDIR;
	discard(n);
	return 0;
}

static int op_unlink(const char *path)
{
	LOCKED(unlink_locked(path));
}

static int mkdir_locked(const char *path, mode_t mode)
{
	struct node *n;

	return make_node(path, S_IFDIR | (mode & 07777), &n);
}

static int op_mkdir(const char *path, mode_t mode)
{
	LOCKED(mkdir_locked(path, mode));
}

static int rmdir_locked(const char *path)
{
	struct node *n = tree_lookup(path);
	int rc = fs.read_only ? -EROFS : 0;

	if (rc)
		return rc;
	if (!n)
		return -ENOENT;
	if (!S_ISDIR(n->mode))
		return -ENOTDIR;
	if (n == fs.root)
		return -EBUSY;
	if (n->nkids)
		return -ENOTEMPTY;
	discard(n);
	return 0;
}

static int op_rmdir(const char *path)
{
	LOCKED(rmdir_locked(path));
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
	if (old && old->opens == 0)
		node_free(old);
	n->ctime = to_dir->mtime;
	return 0;
}

/* libfuse's rename of an open file that is being unlinked or renamed over: from here on the
 * file is outside the tree (never listed or committed), found by its hidden name. */
static int hide(struct node *n, const char *leaf)
{
	int rc;

	keep_bytes(n);
	rc = tree_hide(n, leaf);

	if (rc == 0 && n->opens == 0)
		unlink_hidden(n); /* closed meanwhile: the unlink that follows finds nothing */
	return rc;
}

static int rename_locked(const char *from, const char *to, unsigned flags)
{
	const char *from_leaf, *to_leaf;
	struct node *from_dir = tree_parent(from, &from_leaf), *to_dir = tree_parent(to, &to_leaf);
	struct node *n = from_dir ? dir_find(from_dir, from_leaf, strlen(from_leaf)) : NULL;
	struct node *old = to_dir ? dir_find(to_dir, to_leaf, strlen(to_leaf)) : NULL;
	char *name;
	int rc = may_change_dir(from_dir, n);

	if (rc || (rc = may_change_dir(to_dir, NULL)))
		return rc;
	if (!n)
		return -ENOENT;
	if (flags & RENAME_EXCHANGE)
		return -EINVAL;
	if (!old && is_hidden_name(to_leaf) && S_ISREG(n->mode))
		return hide(n, to_leaf);
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

static int op_rename(const char *from, const char *to, unsigned flags)
{
	LOCKED(rename_locked(from, to, flags));
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

static int op_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
	LOCKED(utimens_locked(resolve(path, fi), tv));
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

static int op_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	LOCKED(chmod_locked(resolve(path, fi), mode));
}

/* Owners are not part of a package; accept what sed -i and cp -p ask for. */
static int op_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	return fs.read_only ? -EROFS : 0;
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

static int op_statfs(const char *path, struct statvfs *sv)
{
	LOCKED(statfs_locked(sv));
}

/* libfuse makes regular files with create; anything else is a special file. */
static int op_mknod(const char *path, mode_t mode, dev_t rdev)
{
	return -EPERM; /* a package holds only directories and regular files */
}

static int op_link(const char *from, const char *to)
{
	return -EPERM; /* a package has no links */
}

static int op_symlink(const char *target, const char *path)
{
	return -EPERM;
}

static int setxattr_locked(const char *path, const char *name)
{
	if (strcmp(path, "/") != 0 || strcmp(name, XATTR_COMMIT) != 0)
		return -ENOTSUP;
	commit_run(0);
	return 0;
}

/* A commit may write a manifest other than the one in the mount (entries of unlinked or
 * renamed resources) and a new signature or none: the kernel forgets their pages and
 * attributes (kept with keep_cache and the timeouts). Done without fs.lock, for the kernel may
 * wait on a read of those files that waits on the lock. */
static void forget_rewritten(void)
{
	struct fuse *f = fuse_get_context()->fuse;

	fuse_invalidate_path(f, "/" MANIFEST_FILE);
	fuse_invalidate_path(f, "/" SIGNATURE_FILE);
}

static int op_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	int rc;

	pthread_mutex_lock(&fs.lock);
	rc = setxattr_locked(path, name);
	pthread_mutex_unlock(&fs.lock);
	if (rc == 0)
		forget_rewritten();
	return rc;
}

static int give(const char *text, char *value, size_t size)
{
	size_t len = strlen(text);

	if (size == 0)
		return (int)len;
	if (size < len)
		return -ERANGE;
	memcpy(value, text, len);
	return (int)len;
}

static int getxattr_locked(const char *path, const char *name, char *value, size_t size)
{
	char pid[32];

	if (strcmp(path, "/") != 0)
		return -ENODATA;
	if (!strcmp(name, XATTR_REPORT))
		return give(fs.report, value, size);
	if (!strcmp(name, XATTR_PID)) {
		snprintf(pid, sizeof(pid), "%ld", (long)getpid());
		return give(pid, value, size);
	}
	return -ENODATA;
}

static int op_getxattr(const char *path, const char *name, char *value, size_t size)
{
	char text[96];

	if (!strcmp(path, "/") && !strcmp(name, XATTR_PROGRESS)) { /* during a commit: no lock */
		text[commit_progress_text(text, sizeof(text))] = '\0';
		return give(text, value, size);
	}
	LOCKED(getxattr_locked(path, name, value, size));
}

static int op_listxattr(const char *path, char *list, size_t size)
{
	return 0;
}

const struct fuse_operations appkg_ops = {
	.init = op_init,
	.getattr = op_getattr,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.open = op_open,
	.create = op_create,
	.mknod = op_mknod,
	.read = op_read,
	.write = op_write,
	.truncate = op_truncate,
	.release = op_release,
	.fsync = op_fsync,
	.fsyncdir = op_fsync,
	.unlink = op_unlink,
	.mkdir = op_mkdir,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.utimens = op_utimens,
	.chmod = op_chmod,
	.chown = op_chown,
	.statfs = op_statfs,
	.link = op_link,
	.symlink = op_symlink,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
};
