/* SPDX-License-Identifier: MIT */
/*
 * io_spool, the copy of a package stream into a temporary file (issue 10, item 15): only up to
 * its limit (a small one here; the reader's, APPKG_MAX_SPOOL_SIZE, is 1 GiB) and only while the
 * stream starts with the given magic, checked however the first bytes arrive. alarm() is the
 * hang guard.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../format/internal.h"
#include "harness.h"
#include "pipes.h"

static const unsigned char zstd_magic[4] = {0x28, 0xB5, 0x2F, 0xFD};

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
	RUN(spool_limit);
	RUN(spool_magic_split_across_reads);
	return harness_total_failed != 0;
}
