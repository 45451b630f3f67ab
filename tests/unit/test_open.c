/* SPDX-License-Identifier: MIT */
/*
 * Opening packages that are not regular files (issue 10, item 15), through the public
 * interface: by path only a regular file is read, refused otherwise before a byte is read and
 * without blocking (a FIFO with no writer, a link to /dev/zero, a directory); a descriptor that
 * is a stream is copied only while it starts with a zstd frame (the limit on its size is
 * checked in test_spool.c). alarm() is the hang guard.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"
#include "pipes.h"

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

/* The whole of a small file, malloc'd. */
static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *p = malloc(1u << 20);

	*len = f && p ? fread(p, 1, 1u << 20, f) : 0;
	if (f)
		fclose(f);
	return p;
}

TEST(fd_stream_of_a_package_is_read)
{
	appkg_reader *r = appkg_reader_new();
	size_t len;
	unsigned char *pkg = slurp("tests/vectors/valid/v1.0-plain.appkg", &len);
	int fd, rc;

	CHECK(r && pkg && len > 0);
	fd = pipe_from_child(pkg, len, 0);
	free(pkg);
	CHECK(fd >= 0);
	rc = appkg_reader_open_fd(r, fd);
	harness_msg = appkg_reader_error(r);
	close(fd);
	reap();
	CHECK_EQ(rc, 0);
	CHECK(appkg_reader_member_count(r) > 1);
	appkg_reader_free(r);
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
