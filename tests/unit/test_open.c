/* SPDX-License-Identifier: MIT */
/*
 * Opening packages that are not regular files (issue 10, item 15): by path only a regular file
 * is read, refused otherwise before a byte is read and without blocking (a FIFO with no writer,
 * a link to /dev/zero, a directory); a descriptor that is a stream is copied only while it
 * starts with a zstd frame and only up to a limit (io_spool, with a small limit here: the real
 * one, APPKG_MAX_SPOOL_SIZE, is 1 GiB). alarm() is the hang guard.
 */
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../format/internal.h"
#include "harness.h"

static const unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};
static char dir[] = "/tmp/appkg-test-open-XXXXXX";

/* The error code of opening path, with the message kept for CHECK. */
static int open_path_code(const char *path)
{
	static char msg[512];
	appkg_reader *r = appkg_reader_new();
	int rc;

	if (!r)
		return APPKG_ERR_NO_MEMORY;
	rc = appkg_reader_open_path(r, path);
	snprintf(msg, sizeof(msg), "%s", appkg_reader_error(r));
	harness_msg = msg;
	appkg_reader_free(r);
	return rc;
}

/* A pipe whose read end is returned; a child writes len bytes of data (then n_zero zero
 * bytes) and exits. */
static int pipe_from_child(const void *data, size_t len, size_t n_zero)
{
	int p[2];
	pid_t pid;

	if (pipe(p) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		static const char zeros[4096];
		close(p[0]);
		if (write(p[1], data, len) != (ssize_t)len)
			_exit(1);
		for (size_t left = n_zero; left > 0;) {
			size_t k = left < sizeof(zeros) ? left : sizeof(zeros);
			if (write(p[1], zeros, k) != (ssize_t)k)
				_exit(0); /* the reader stopped reading: fine */
			left -= k;
		}
		_exit(0);
	}
	close(p[1]);
	return pid < 0 ? -1 : p[0];
}

static void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

TEST(path_directory_refused)
{
	CHECK_EQ(open_path_code(dir), APPKG_ERR_SOURCE);
	CHECK(strstr(harness_msg, "directory") != NULL);
}

TEST(path_fifo_without_writer_refused)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/fifo", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK_EQ(open_path_code(path), APPKG_ERR_SOURCE);
	CHECK(strstr(harness_msg, "FIFO") != NULL);
}

TEST(path_link_to_dev_zero_refused)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/zero", dir);
	CHECK(symlink("/dev/zero", path) == 0);
	CHECK_EQ(open_path_code(path), APPKG_ERR_SOURCE);
	CHECK(strstr(harness_msg, "character device") != NULL);
}

TEST(path_missing_is_no_file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/absent.appkg", dir);
	CHECK_EQ(open_path_code(path), APPKG_ERR_NO_FILE);
	CHECK_EQ(appkg_error_class(APPKG_ERR_NO_FILE), APPKG_EXIT_ENVIRONMENT);
}

TEST(fd_stream_of_zeros_refused_at_once)
{
	appkg_reader *r = appkg_reader_new();
	int fd = pipe_from_child("", 0, 64u << 20), rc;

	CHECK(r && fd >= 0);
	rc = appkg_reader_open_fd(r, fd);
	harness_msg = appkg_reader_error(r);
	close(fd);
	reap();
	CHECK_EQ(rc, APPKG_ERR_NOT_APPKG);
	appkg_reader_free(r);
}

TEST(fd_stream_of_a_package_is_read)
{
	appkg_reader *r = appkg_reader_new();
	struct buf pkg = {0};
	struct appkg_err e = {0};
	int fd, rc;

	CHECK(r && io_read_file("tests/vectors/valid/v1.0-plain.appkg", &pkg, 1u << 20, &e) == 0);
	fd = pipe_from_child(pkg.data, pkg.len, 0);
	CHECK(fd >= 0);
	rc = appkg_reader_open_fd(r, fd);
	harness_msg = appkg_reader_error(r);
	close(fd);
	reap();
	buf_free(&pkg);
	CHECK_EQ(rc, 0);
	CHECK(appkg_reader_member_count(r) > 1);
	appkg_reader_free(r);
}

TEST(spool_limit)
{
	struct appkg_err e = {0};
	int fd, out;
	struct stat st;

	/* exactly the limit: copied whole */
	fd = pipe_from_child(zstd_magic, sizeof(zstd_magic), 1000 - sizeof(zstd_magic));
	CHECK(fd >= 0);
	out = io_spool(fd, 1000, zstd_magic, sizeof(zstd_magic), &e);
	close(fd);
	reap();
	harness_msg = e.msg;
	CHECK(out >= 0);
	CHECK(fstat(out, &st) == 0);
	CHECK_EQ(st.st_size, 1000);
	close(out);
	/* one byte more: refused, whatever follows */
	fd = pipe_from_child(zstd_magic, sizeof(zstd_magic), 1u << 20);
	CHECK(fd >= 0);
	out = io_spool(fd, 1000, zstd_magic, sizeof(zstd_magic), &e);
	close(fd);
	reap();
	harness_msg = e.msg;
	CHECK_EQ(out, APPKG_ERR_LIMIT_TOTAL);
	CHECK_EQ(appkg_error_class(out), APPKG_EXIT_REJECTED);
	CHECK(strstr(e.msg, "1000-byte limit") != NULL);
}

TEST(spool_magic_split_across_reads)
{
	struct appkg_err e = {0};
	int p[2], out;
	pid_t pid;

	/* the magic arrives in pieces (a pause between writes): checked once four bytes are in */
	CHECK(pipe(p) == 0);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (write(p[1], "\x28", 1) != 1 || usleep(100000) ||
		    write(p[1], "\xB5\x2F", 2) != 2 || usleep(100000) ||
		    write(p[1], "\xFC and more", 11) != 11)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	CHECK(pid > 0);
	out = io_spool(p[0], 1000, zstd_magic, sizeof(zstd_magic), &e);
	close(p[0]);
	reap();
	harness_msg = e.msg;
	CHECK_EQ(out, APPKG_ERR_NOT_APPKG);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	alarm(60); /* a hang is a failure, not a stuck test run */
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(path_directory_refused);
	RUN(path_fifo_without_writer_refused);
	RUN(path_link_to_dev_zero_refused);
	RUN(path_missing_is_no_file);
	RUN(fd_stream_of_zeros_refused_at_once);
	RUN(fd_stream_of_a_package_is_read);
	RUN(spool_limit);
	RUN(spool_magic_split_across_reads);
	{
		char path[300];
		snprintf(path, sizeof(path), "%s/fifo", dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/zero", dir);
		unlink(path);
		rmdir(dir);
	}
	return harness_total_failed != 0;
}
