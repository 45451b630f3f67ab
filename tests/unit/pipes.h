/* SPDX-License-Identifier: MIT */
/* Streams for the unit tests that open packages from pipes (test_open.c, test_spool.c). */
#ifndef APPKG_TEST_PIPES_H
#define APPKG_TEST_PIPES_H

#include <stddef.h>
#include <sys/wait.h>
#include <unistd.h>

/* A pipe whose read end is returned; a child writes len bytes of data (then n_zero zero
 * bytes) and exits. */
static inline int pipe_from_child(const void *data, size_t len, size_t n_zero)
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

static inline void reap(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

#endif
