/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the package reader on arbitrary bytes — open, every member in order, a
 * random read, in both the stop-at-first and the report-and-continue modes, from memory and
 * from a file (which reads frames through the chunked decoder: run.sh sets FRAME_CHUNK). */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "appkg/appkg.h"

static void count(void *ctx, int code, const char *message)
{
	(void)code;
	(void)message;
	++*(int *)ctx;
}

/* fd < 0: read from memory */
static void read_all(const uint8_t *data, size_t size, int fd, int report)
{
	appkg_reader *r = appkg_reader_new();
	struct appkg_member m;
	const void *p;
	size_t len;
	int problems = 0;

	if (report)
		appkg_reader_set_problem_handler(r, count, &problems);
	if ((fd < 0 ? appkg_reader_open_memory(r, data, size) : appkg_reader_open_fd(r, fd)) == 0) {
		while (appkg_reader_next(r, &m, &p) == 1)
			;
		if (appkg_reader_member_count(r) > 1 && appkg_reader_member(r, 1, &m) == 0)
			appkg_reader_read(r, m.path, &p, &len);
	}
	appkg_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz", 0);

	read_all(data, size, -1, 0);
	read_all(data, size, -1, 1);
	if (fd >= 0 && write(fd, data, size) == (ssize_t)size)
		read_all(data, size, fd, 1);
	if (fd >= 0)
		close(fd);
	return 0;
}
