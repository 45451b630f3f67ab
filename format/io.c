/* SPDX-License-Identifier: MIT */
/*
 * File I/O for packages. Every byte a package write puts on disk goes through here: writes
 * that retry on short counts, a temporary file beside the target, and the commit (fsync, rename,
 * directory fsync) that makes replacing a package atomic.
 */
#include <errno.h>
#include <sodium.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static int fail_errno(struct appkg_err *e, const char *what, const char *subject)
{
	int err = errno;

	return appkg_fail(e, appkg_errno_code(err), "%s: %s: %s", subject, what, strerror(err));
}

int io_write_all(int fd, const void *p, size_t n, const char *subject, struct appkg_err *e)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return fail_errno(e, "write", subject);
		c += w;
		n -= (size_t)w;
	}
	return 0;
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

int io_temp_beside(const char *path, char **tmp_path, struct appkg_err *e)
{
	size_t n = strlen(path) + 32;
	char *t = malloc(n);
	unsigned char rnd[8];
	char hex[17];
	int fd = -1;

	if (!t)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	/* a random name and O_EXCL, so that the mode is 0644 less the caller's umask */
	for (int tries = 0; fd < 0 && tries < 16; tries++) {
		randombytes_buf(rnd, sizeof(rnd));
		hex_encode(hex, rnd, sizeof(rnd));
		snprintf(t, n, "%s.tmp.%s", path, hex);
		fd = open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		fail_errno(e, "cannot create temporary file", path);
		free(t);
		return e->code;
	}
	*tmp_path = t;
	return fd;
}

static int fsync_dir_of(const char *path, struct appkg_err *e)
{
	char *copy = strdup(path);
	int fd, rc = 0;

	if (!copy)
		return appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0)
		rc = fail_errno(e, "cannot sync directory", path);
	if (fd >= 0)
		close(fd);
	free(copy);
	return rc;
}

int io_commit(int fd, const char *tmp_path, const char *path, struct appkg_err *e)
{
	if (fsync(fd) != 0) {
		fail_errno(e, "fsync", path);
		close(fd);
		return e->code;
	}
	if (close(fd) != 0)
		return fail_errno(e, "close", path);
	if (rename(tmp_path, path) != 0)
		return fail_errno(e, "rename", path);
	return fsync_dir_of(path, e);
}

int io_spool(int fd, struct appkg_err *e)
{
	const char *dir = getenv("TMPDIR");
	char chunk[65536];
	int out = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ssize_t r;

	if (out < 0)
		return fail_errno(e, "cannot create temporary file", "standard input");
	while ((r = read(fd, chunk, sizeof(chunk))) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || io_write_all(out, chunk, (size_t)r, "temporary file", e)) {
			if (r < 0)
				fail_errno(e, "read", "standard input");
			close(out);
			return e->code;
		}
	}
	return out;
}

int io_read_file(const char *path, struct buf *out, size_t max, struct appkg_err *e)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int rc = 0;

	out->len = 0;
	if (fd < 0)
		return fail_errno(e, "cannot open", path);
	if (fstat(fd, &st) != 0) {
		rc = fail_errno(e, "cannot stat", path);
	} else if (!S_ISREG(st.st_mode)) {
		rc = appkg_fail(e, APPKG_ERR_SOURCE, "%s: not a regular file", path);
	} else if ((uint64_t)st.st_size > max) {
		rc = appkg_fail(e, APPKG_ERR_LIMIT_MEMBER_SIZE, "%s: %lld bytes, over the %zu-byte limit",
				path, (long long)st.st_size, max);
	} else if (buf_reserve(out, (size_t)st.st_size + 1)) {
		rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
	} else {
		ssize_t r;
		while ((r = read(fd, out->data + out->len, out->cap - out->len)) != 0) {
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				rc = fail_errno(e, "read", path);
				break;
			}
			out->len += (size_t)r;
			if (out->len > max) {
				rc = appkg_fail(e, APPKG_ERR_SOURCE, "%s: grew while being read", path);
				break;
			}
			if (out->len == out->cap && buf_reserve(out, 4096)) {
				rc = appkg_fail(e, APPKG_ERR_NO_MEMORY, "out of memory");
				break;
			}
		}
	}
	close(fd);
	return rc;
}
