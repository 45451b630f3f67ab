/* SPDX-License-Identifier: MIT */
/*
 * appkg-mount: the in-memory tree (tree.c), the FUSE operations (ops.c), the commit (commit.c)
 * with the manifest entries it writes (entries.c), and the command line (main.c). One mutex serialises every operation on the tree; the kernel
 * still runs requests on several threads, and a file's bytes are decoded from the package only
 * when it is read (the reader's read-ahead decodes and checks the next frame meanwhile).
 */
#ifndef APPKG_MOUNT_H
#define APPKG_MOUNT_H

#define FUSE_USE_VERSION 31
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>

#include "appkg/appkg.h"

#define MANIFEST_FILE "manifest.json"
#define SIGNATURE_FILE "manifest.json.minisig"
#define SECRETS_FILE "secrets.json"
#define SECRETS_BLOB "secrets.enc"
#define RESOURCES_DIR "resources"
#define MAX_FILE_BYTES (64u << 20)   /* any file in the mount (the manifest's limit): EFBIG */
/* All file bytes the daemon holds in memory at once (decoded, edited, new and side files, open
 * unlinked files): a runaway writer fills the mount (ENOSPC, and statfs says how full it is)
 * rather than the machine. 16 files at MAX_FILE_BYTES, or about 250,000 edited resources of
 * 4 KiB; bytes decoded only to be read or committed are counted but never refused. */
#define MAX_HELD_BYTES (1ull << 30)
#define MAX_SECRET_BYTES (1u << 20)  /* secrets.json and side files beside it */
#define REPORT_BYTES 65536           /* commit report handed to `appkg-mount -u` (xattr size) */

/* Control attributes on the mount's root, used by `appkg-mount -u` and `--commit`. */
#define XATTR_COMMIT "user.appkg.commit"
#define XATTR_REPORT "user.appkg.report"
#define XATTR_PID "user.appkg.pid"
/* "BYTES_DONE BYTES_TOTAL MEMBERS_DONE MEMBERS_TOTAL" of the commit being written, or of the
 * last one written; read without fs.lock, which the commit holds, for the client's progress. */
#define XATTR_PROGRESS "user.appkg.progress"

struct node {
	char *name;
	struct node *parent; /* NULL for the root and for nodes taken out of the tree */
	mode_t mode;         /* S_IFDIR or S_IFREG, with permission bits */
	uint64_t ino;
	struct timespec mtime, ctime;
	/* directories */
	struct node **kids; /* sorted by name */
	size_t nkids, kids_cap;
	/* files */
	const char *member; /* package member the bytes come from (borrowed), or NULL */
	uint64_t size;
	unsigned char *data; /* loaded or written bytes, or NULL while only in the package */
	size_t cap;
	int secure;  /* data lives in guarded memory (secrets.json and its side files) */
	int changed; /* written since mount or the last commit */
	int readonly;
	unsigned opens;      /* handles given out (and open listings of a directory) */
	uint64_t lookups;    /* the kernel's lookup count of the inode (the node's address) */
	int in_limbo;        /* out of the tree, kept for the kernel or a handle (tree.c) */
	int pushed;          /* its bytes were pushed into the kernel's page cache (ops.c) */
	struct node *limbo_prev, *limbo_next;
};

struct mount_state {
	pthread_mutex_t lock;
	appkg_reader *reader;
	char *package; /* absolute path of the package */
	char *output;  /* where commits go: the package or --output */
	char *log_path;
	char *password; /* guarded memory, or NULL */
	size_t password_len;
	char *sign_key;     /* --sign: absolute path of the minisign secret key, or NULL */
	char *key_password; /* its password (guarded memory), or NULL for an unencrypted key */
	size_t key_password_len;
	char *secrets_plain; /* secrets as mounted (guarded), to tell an edit from none */
	size_t secrets_plain_len;
	struct node *root;
	uint64_t next_ino;
	int read_only, level, threads;
	size_t empty_members; /* members of 0 bytes, which only an open checks */
	/* The kernel opens files without asking the daemon (op_init): no plaintext secrets. */
	int no_open;
	struct node *kept;       /* the file read in pieces whose bytes are kept (no_open) */
	int unmounted;           /* the kernel is gone: node_free frees what it knew too */
	int pusher_stuck;        /* a page store never returned: leave the tree to exit() */
	struct fuse_session *se; /* for telling the kernel what a commit rewrote */
	int single_thread;       /* -s: one thread serves every request */
	char report[REPORT_BYTES]; /* "STATUS EDITS\n" then one line per problem */
	char bad_reads[4096];      /* members that failed their checks when read, one per line */
};

extern struct mount_state fs;

/* tree.c */
struct node *node_new(const char *name, size_t len, mode_t mode);
void node_free(struct node *n);
size_t dir_index(const struct node *n);
struct node *dir_find(const struct node *dir, const char *name, size_t len);
int dir_insert(struct node *dir, struct node *n);
void dir_remove(struct node *n);
struct node *tree_lookup(const char *path);
struct node *tree_parent(const char *path, const char **leaf);
int tree_add_member(const char *path, uint64_t size);
/* tree_add_member for the package's members in their order, at mount. */
struct tree_load {
	struct timespec now;
	struct node *dir;     /* where the member before went */
	const char *dir_path; /* its path ("resources/pages/"), in that member's path */
	size_t dir_len;
};
void tree_load_begin(struct tree_load *t);
int tree_load_member(struct tree_load *t, const char *path, uint64_t size);
char *node_path(const struct node *n);
int node_reserve(struct node *n, size_t len);
int node_grow(struct node *n, size_t len);
uint64_t node_limit(const struct node *n);
uint64_t node_room(const struct node *n);
uint64_t tree_held(void);
void node_put(struct node *n);
void limbo_each(void (*f)(struct node *n));
int limbo_holds(void);
void node_drop_data(struct node *n);
void node_touch(struct node *n);

/* ops.c */
extern const struct fuse_lowlevel_ops appkg_ops;
int push_end(void);
int node_load(struct node *n);

/* commit.c: run with fs.lock held. Returns the exit status (0, 1 refused, 4 I/O) and fills
 * fs.report; at_unmount, a refused commit writes the edits to PKG.edits/ instead. */
int commit_run(int at_unmount);
/* The reader of the package a commit replaced, or NULL, taken by the caller (with fs.lock
 * held) to free once the commit is answered, without the lock: closing the replaced file
 * (whose cached pages the kernel then drops) and unmapping the reader's memory took some 10 ms
 * of a commit of 100,000 resources. */
appkg_reader *commit_replaced(void);
void commit_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A member that failed its checks when read: logged once, and reported by the next commit. */
void commit_bad_read(const char *member, const char *message);
/* The XATTR_PROGRESS text into out; its length. Safe without fs.lock. */
size_t commit_progress_text(char *out, size_t cap);

/* entries.c: the user manifest for a commit, with the entries of unlinked resources dropped
 * and those of renamed ones carried to their new paths; each problem found goes to report.
 * With slim, entries that hold only what the writer derives from their files are left out (for
 * the writer; not for a recovered manifest.json). *out is a malloc'd new manifest text, or NULL
 * when the user's stands. 0 or an APPKG_ERR_*. */
typedef void (*manifest_problem_fn)(void *ctx, const char *line);
int manifest_plan(const char *json, size_t len, int slim, char **out, size_t *out_len,
		  manifest_problem_fn report, void *ctx);

#endif
