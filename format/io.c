/* SPDX-License-Identifier: MIT */
/*
 * File I/O for packages and unpacked trees. Every byte appkg puts on disk goes through here:
 * writes that retry on short counts, temporary files and directories beside the target, and the
 * commit (fsync, rename, directory fsync) that makes replacing a package or a tree atomic.
 *
 * Temporary names are ".BASE.TAG-PID-XXXXXXXX" in the target's directory (BASE the target's
 * name, TAG "tmp" for files and "unpack" for trees, PID the creating process, 8 random hex
 * digits), and the creator holds a flock(2) on the file or directory while it works. Before
 * making one, a run removes that target's leftovers from crashed runs: entries of that form
 * whose PID no longer exists (kill(PID, 0) fails with ESRCH) and whose lock nobody holds. The
 * lock keeps a live run in another PID namespace safe; the PID keeps a run from taking the
 * lock of one that has not locked yet.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

/*
 * Crash points, a test hook (tests/README.md) compiled only into test builds (-DAPPKG_CRASH_HOOK,
 * which `make test` uses for the copies of the tools in build/crash/bin); the library `make`
 * builds and installs has none. With APPKG_CRASH_AFTER=N in the environment the process kills
 * itself with SIGKILL, no cleanup, right after the N-th counted operation has succeeded.
 * Counted: each whole write (io_write_all), fsync and syncfs, rename, mkdir, file creation,
 * unlink and rmdir. APPKG_CRASH_AFTER_KIND=write|fsync|rename|mkdir|create|unlink counts that
 * kind only. The tests run N = 1, 2, ... until the command completes, so every state a crash
 * can leave behind is checked. Read once; the writes all come from one thread.
 */
#ifdef APPKG_CRASH_HOOK
static void crash_point(const char *kind)
{
	static long left = -1;
	static const char *only;

	if (left < 0) {
		const char *n = getenv("APPKG_CRASH_AFTER");
		left = n ? strtol(n, NULL, 10) : 0;
		left = left > 0 ? left : 0;
		only = getenv("APPKG_CRASH_AFTER_KIND");
	}
	if (left > 0 && (!only || !strcmp(only, kind)) && --left == 0)
		raise(SIGKILL);
}
#else
static void crash_point(const char *kind)
{
	(void)kind;
}
#endif

static int fail_errno(struct appkg_err *e, const char *what, const char *subject)
{
	int err = errno;

	return appkg_fail(e, appkg_errno_code(err), "%s: %s: %s", subject, what, strerror(err));
}

/* n bytes at p to fd at *at (moved on), or at its position when at is NULL. */
static int write_to(int fd, const void *p, size_t n, loff_t *at, const char *subject,
		    struct appkg_err *e)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = at ? pwrite(fd, c, n, (off_t)*at) : write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail_errno(e, "write", subject);
		c += w;
		n -= (size_t)w;
		if (at)
			*at += w;
	}
	crash_point("write");
	return 0;
}

int io_write_all(int fd, const void *p, size_t n, const char *subject, struct appkg_err *e)
{
	return write_to(fd, p, n, NULL, subject, e);
}

/* n bytes of in from offset off to out at *at (moved on), or at its position when at is NULL,
 * in the kernel where it can (copy_file_range: no trip through this process's memory), else
 * read and written; each chunk of 1 MiB counts as a write (crash points). */
static int copy_range(int in, uint64_t off, uint64_t n, int out, loff_t *at, const char *subject,
		      struct appkg_err *e)
{
	const size_t chunk = 1u << 20;
	unsigned char *b = NULL;
	int kernel = 1, rc = 0;

	while (!rc && n > 0) {
		size_t want = n < chunk ? (size_t)n : chunk, done = 0;
		while (kernel && done < want) {
			loff_t from = (loff_t)(off + done);
			ssize_t r = copy_file_range(in, &from, out, at, want - done, 0);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				kernel = 0; /* a pipe, another file system, an old kernel: by hand */
				break;
			}
			done += (size_t)r;
		}
		if (done < want && !b && !(b = malloc(chunk)))
			return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
		if (done < want && !(rc = io_pread_all(in, b, want - done, off + done, e)))
			rc = write_to(out, b, want - done, at, subject, e);
		else if (!rc)
			crash_point("write");
		off += want;
		n -= want;
	}
	free(b);
	return rc;
}

int io_copy_range(int in, uint64_t off, uint64_t n, int out, const char *subject,
		  struct appkg_err *e)
{
	return copy_range(in, off, n, out, NULL, subject, e);
}

int io_copy_range_at(int in, uint64_t off, uint64_t n, int out, uint64_t at, const char *subject,
		     struct appkg_err *e)
{
	loff_t to = (loff_t)at;

	return copy_range(in, off, n, out, &to, subject, e);
}

int io_pread_all(int fd, void *p, size_t n, uint64_t off, struct appkg_err *e)
{
	char *c = p;

	while (n > 0) {
		ssize_t r = pread(fd, c, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno(e, "read", "package");
		if (r == 0)
			return appkg_fail(e, APPKG_ERR_TRUNCATED, "package ends early");
		c += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	int rc = flag == FTW_DP ? rmdir(path) : unlink(path);

	(void)st;
	(void)ftw;
	if (rc == 0)
		crash_point("unlink");
	return 0; /* best effort: go on with the rest */
}

void io_remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* Does pid name a running process? One that has exited but is not yet reaped (a zombie, as a
 * killed daemon is until init collects it) does not count. */
static int pid_running(pid_t pid)
{
	char path[64], stat[256], *paren;
	FILE *f;
	int running;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return 0;
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (!(f = fopen(path, "r")))
		return 1; /* no /proc: trust kill(2) */
	running = !fgets(stat, sizeof(stat), f) || !(paren = strrchr(stat, ')')) || paren[1] != ' ' ||
		  (paren[2] != 'Z' && paren[2] != 'X');
	fclose(f);
	return running;
}

/* "NNN-XXXXXXXX" after the prefix of a temporary name: the PID if its process is gone. */
static int dead_pid(const char *rest)
{
	char *end;
	long pid = strtol(rest, &end, 10);
	size_t hex = end[0] == '-' ? strspn(end + 1, "0123456789abcdef") : 0;

	if (rest[0] < '1' || rest[0] > '9' || pid <= 0 || hex != 8 || end[9] != '\0')
		return 0;
	return !pid_running((pid_t)pid);
}

/* Remove one leftover, a regular file or a directory, unless some process holds its lock. */
static void remove_unlocked(DIR *d, const char *dir, const char *name)
{
	struct stat st;
	char *path;
	int fd;

	if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
	    !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
		return;
	fd = openat(dirfd(d), name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			if (unlinkat(dirfd(d), name, 0) == 0)
				crash_point("unlink");
		} else if ((path = malloc(strlen(dir) + strlen(name) + 2))) {
			sprintf(path, "%s/%s", dir, name);
			io_remove_tree(path);
			free(path);
		}
	}
	close(fd);
}

/* Remove the leftovers of crashed runs for target base in dir (see the top of this file).
 * Best effort: a leftover that cannot be removed is only untidy. */
static void clean_stale(const char *dir, const char *base, const char *tag)
{
	size_t n = strlen(base) + strlen(tag) + 4; /* ".BASE.TAG-" and NUL */
	char *prefix = malloc(n);
	DIR *d = prefix ? opendir(dir) : NULL;
	struct dirent *de;

	if (d) {
		snprintf(prefix, n, ".%s.%s-", base, tag);
		while ((de = readdir(d)))
			if (!strncmp(de->d_name, prefix, n - 1) && dead_pid(de->d_name + n - 1))
				remove_unlocked(d, dir, de->d_name);
		closedir(d);
	}
	free(prefix);
}

/* Directory and base name of path, as dirname(3) and basename(3) give them; malloc'd. */
static int split_path(const char *path, char **dir, char **base)
{
	char *a = strdup(path), *b = strdup(path);

	*dir = a ? strdup(dirname(a)) : NULL;
	*base = b ? strdup(basename(b)) : NULL;
	free(a);
	free(b);
	if (*dir && *base)
		return 0;
	free(*dir);
	free(*base);
	return -1;
}

/* A new directory opened for reading, or -1 (nothing left behind). */
static int make_dir(const char *path)
{
	int fd;

	if (mkdir(path, 0755) != 0)
		return -1;
	crash_point("mkdir");
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		rmdir(path);
	return fd;
}

/* Create a new file or directory at t, which is "...-XXXXXXXX": up to 16 random names. */
static int create_temp(char *t, int is_dir)
{
	char *hex = t + strlen(t) - 8;
	int fd = -1;

	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		snprintf(hex, 9, "%08x", randombytes_random());
		fd = is_dir ? make_dir(t) : open(t, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd >= 0 && !is_dir)
		crash_point("create");
	/* Without lock support (some NFS) the PID alone protects it. */
	if (fd >= 0)
		(void)flock(fd, LOCK_EX | LOCK_NB);
	return fd;
}

/* A new file or directory ".BASE.TAG-PID-XXXXXXXX" beside path, created with O_EXCL (so its
 * mode is 0644 or 0755 less the umask) and locked; leftovers of crashed runs go first. */
static int temp_beside(const char *path, const char *tag, int is_dir, char **tmp_path,
		       struct appkg_err *e)
{
	char *dir, *base, *t;
	size_t n;
	int fd = -1;

	if (split_path(path, &dir, &base))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	clean_stale(dir, base, tag);
	n = strlen(dir) + strlen(base) + strlen(tag) + 40;
	if ((t = malloc(n))) {
		snprintf(t, n, "%s/.%s.%s-%ld-XXXXXXXX", dir, base, tag, (long)getpid());
		fd = create_temp(t, is_dir);
		if (fd < 0)
			fail_errno(e, is_dir ? "cannot create a temporary directory beside it"
					     : "cannot create temporary file", path);
	} else {
		appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	free(dir);
	free(base);
	if (fd < 0) {
		free(t);
		return e->code;
	}
	*tmp_path = t;
	return fd;
}

int io_temp_beside(const char *path, char **tmp_path, struct appkg_err *e)
{
	return temp_beside(path, "tmp", 0, tmp_path, e);
}

int io_temp_dir_beside(const char *path, const char *tag, char **tmp_path, struct appkg_err *e)
{
	return temp_beside(path, tag, 1, tmp_path, e);
}

int io_sync_dir_of(const char *path, struct appkg_err *e)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = fail_errno(e, "cannot sync directory", path);
	else
		crash_point("fsync");
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int io_sync(int fd, int whole_fs, const char *subject, struct appkg_err *e)
{
	if ((whole_fs ? syncfs(fd) : fsync(fd)) != 0)
		return fail_errno(e, "fsync", subject);
	crash_point("fsync");
	return 0;
}

int io_rename(const char *from, const char *to, int exchange, struct appkg_err *e)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, exchange ? RENAME_EXCHANGE : 0) != 0)
		return fail_errno(e, "rename", to);
	crash_point("rename");
	return 0;
}

/* The temporary file stays open, and so locked, until it has its final name. */
int io_commit(int fd, const char *tmp_path, const char *path, struct appkg_err *e)
{
	int rc = io_sync(fd, 0, path, e);

	if (!rc)
		rc = io_rename(tmp_path, path, 0, e);
	if (close(fd) != 0 && !rc)
		rc = fail_errno(e, "close", path);
	return rc ? rc : io_sync_dir_of(path, e);
}

/* Create the missing parent directories of path below dirfd. */
static int make_parents(int dirfd, const char *path, struct appkg_err *e)
{
	char buf[APPKG_MAX_PATH_BYTES + 1];

	if (strlen(path) >= sizeof(buf))
		return appkg_fail(e, APPKG_ERR_NAME_LENGTH, "%s: path too long", path);
	strcpy(buf, path);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0755) == 0)
			crash_point("mkdir");
		else if (errno != EEXIST)
			return fail_errno(e, "cannot create directory", buf);
		*s = '/';
	}
	return 0;
}

int io_write_file_at(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
		     struct appkg_err *e)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, path, flags, mode); /* its directory is there but for the first */

	if (fd < 0 && errno == ENOENT) {
		if (make_parents(dirfd, path, e))
			return e->code;
		fd = openat(dirfd, path, flags, mode);
	}
	if (fd < 0)
		return fail_errno(e, "cannot create", path);
	crash_point("create");
	if (io_write_all(fd, data, len, path, e)) {
		close(fd);
		return e->code;
	}
	return close(fd) != 0 ? fail_errno(e, "close", path) : 0;
}

/* A stream must start with magic (the first bytes seen so far are in head, have of them). */
static int spool_start(unsigned char *head, size_t *have, const void *chunk, size_t n,
		       const void *magic, size_t magic_len, struct appkg_err *e)
{
	size_t k = magic_len - *have < n ? magic_len - *have : n;

	if (*have >= magic_len)
		return 0;
	memcpy(head + *have, chunk, k);
	*have += k;
	if (*have == magic_len && memcmp(head, magic, magic_len) != 0)
		return appkg_fail(e, APPKG_ERR_NOT_APPKG, "the stream does not begin with a zstd "
				  "frame: not an appkg package");
	return 0;
}

int io_spool(int fd, uint64_t max, const void *magic, size_t magic_len, struct appkg_err *e)
{
	const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	unsigned char chunk[65536], head[16];
	uint64_t total = 0;
	size_t have = 0;
	int out;
	ssize_t r;

	if (magic_len > sizeof(head))
		return appkg_fail(e, APPKG_ERR_INVALID_ARGUMENT, "io_spool: magic too long");
	out = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out < 0)
		return fail_errno(e, "cannot create a temporary file for the stream", dir);
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail_errno(e, "read", "the stream");
			break;
		}
		total += (uint64_t)r;
		if (total > max) {
			appkg_fail(e, APPKG_ERR_LIMIT_TOTAL, "the stream is over the %llu-byte "
				   "limit for a package that is not a regular file; give it by "
				   "name", (unsigned long long)max);
			break;
		}
		if (spool_start(head, &have, chunk, (size_t)r, magic, magic_len, e) ||
		    io_write_all(out, chunk, (size_t)r, "temporary file", e))
			break;
	}
	if (r != 0) {
		close(out);
		return e->code;
	}
	return out;
}

/* O_NONBLOCK: a FIFO given as the file must not block the open; it is refused as not regular. */
int io_read_file(const char *path, struct buf *out, size_t max, struct appkg_err *e)
{
	return io_read_file_at(AT_FDCWD, path, path, out, max, NULL, e);
}

/* Read the regular file open as fd, of fstat st, into out. */
static int read_opened(int fd, const struct stat *st, const char *path, struct buf *out,
		       size_t max, struct appkg_err *e)
{
	ssize_t r;
	size_t want;

	if (!S_ISREG(st->st_mode))
		return appkg_fail(e, APPKG_ERR_SOURCE, "%s: not a regular file", path);
	if ((uint64_t)st->st_size > max)
		return appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE,
				  "%s: %lld bytes, over the %zu-byte limit", path,
				  (long long)st->st_size, max);
	if (buf_reserve(out, (size_t)st->st_size + 1))
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	while ((r = read(fd, out->data + out->len, want = out->cap - out->len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_errno(e, "read", path);
		out->len += (size_t)r;
		/* a regular file reads short only at its end: when that end is where fstat put
		 * it, the read that would return 0 is spared (one call per file) */
		if ((size_t)r < want && out->len == (size_t)st->st_size)
			break;
		if (out->len > max)
			return appkg_fail(e, APPKG_ERR_SOURCE, "%s: grew while being read", path);
		if (out->len == out->cap && buf_reserve(out, 4096))
			return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	}
	return 0;
}

int io_read_file_at(int dirfd, const char *file, const char *path, struct buf *out, size_t max,
		    mode_t *mode, struct appkg_err *e)
{
	int fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	int rc;

	out->len = 0;
	if (mode)
		*mode = 0;
	if (fd < 0)
		return fail_errno(e, "cannot open", path);
	if (fstat(fd, &st) != 0) {
		rc = fail_errno(e, "cannot stat", path);
	} else {
		if (mode)
			*mode = st.st_mode;
		rc = read_opened(fd, &st, path, out, max, e);
	}
	close(fd);
	return rc;
}
