/* SPDX-License-Identifier: MIT */
/*
 * The writer's frame pipeline through the public header: resource files packed into several
 * frames give the same bytes with 1, 2 or 4 threads, and a file that changes between
 * appkg_writer_add_file and finish (same size with other bytes, grown, shrunk or gone) is
 * refused with any number of threads, wherever its frame falls, when finish reads it again
 * (files added out of path order); added in path order, each file is read once and framed
 * from the bytes checked at add, so the package holds those bytes whatever happens later.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "appkg/appkg.h"
#include "harness.h"

#define N_FILES 64 /* 64 x ~6.5 KiB: four frames of 128 KiB */

static char dir[64];

static void file_path(char *out, size_t cap, int i)
{
	snprintf(out, cap, "%s/r%02d.json", dir, i);
}

/* Text that compresses, but not to nothing: words drawn by a fixed generator. */
static void write_file(int i)
{
	static const char *const words[] = {"alpha", "beta", "gamma", "delta", "select", "from",
					    "where", "order", "group", "limit", "join", "on"};
	unsigned seed = 2166136261u ^ (unsigned)i;
	char path[128];
	FILE *f;

	file_path(path, sizeof(path), i);
	f = fopen(path, "w");
	fprintf(f, "{\"n\": %d, \"text\": \"", i);
	for (int k = 0; k < 1200; k++) {
		seed = seed * 1103515245u + 12345u;
		fprintf(f, "%s ", words[(seed >> 16) % 12]);
	}
	fprintf(f, "\"}\n");
	fclose(f);
}

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/appkg-threads-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	for (int i = 0; i < N_FILES; i++)
		write_file(i);
}

static void remove_dir(void)
{
	char path[128];

	for (int i = 0; i < N_FILES; i++) {
		file_path(path, sizeof(path), i);
		unlink(path);
	}
	rmdir(dir);
}

/* Add every file (in path order, or the reverse), let change() alter one of them, and finish
 * with threads into memory. The writer's code is returned; *out (freed by the caller) holds
 * the package when it is 0. */
static int pack_order(int threads, int reverse, void (*change)(int), int victim,
		      unsigned char **out, size_t *len, char *msg, size_t msg_cap)
{
	appkg_writer *w = appkg_writer_new();
	char path[128], name[16];
	FILE *f = tmpfile();
	int rc = appkg_writer_set_manifest(w, "{\"name\": \"threads\"}", 19);
	long n;

	for (int k = 0; k < N_FILES && !rc; k++) {
		int i = reverse ? N_FILES - 1 - k : k;
		file_path(path, sizeof(path), i);
		snprintf(name, sizeof(name), "r%02d", i);
		rc = appkg_writer_add_file(w, "queries", name, path);
	}
	if (!rc)
		rc = appkg_writer_set_threads(w, threads);
	if (change)
		change(victim);
	if (!rc)
		rc = appkg_writer_finish_fd(w, fileno(f));
	snprintf(msg, msg_cap, "%s", appkg_writer_error(w));
	*out = NULL;
	if (!rc) {
		n = lseek(fileno(f), 0, SEEK_END);
		*out = malloc((size_t)n);
		if (pread(fileno(f), *out, (size_t)n, 0) != n)
			rc = -1;
		*len = (size_t)n;
	}
	fclose(f);
	appkg_writer_free(w);
	return rc;
}

static int pack(int threads, void (*change)(int), int victim, unsigned char **out, size_t *len,
		char *msg, size_t msg_cap)
{
	return pack_order(threads, 0, change, victim, out, len, msg, msg_cap);
}

TEST(test_same_bytes_with_1_2_4_threads)
{
	unsigned char *one, *two, *four;
	size_t l1 = 0, l2 = 0, l4 = 0;
	char msg[512];

	make_dir();
	harness_msg = msg;
	CHECK_EQ(pack(1, NULL, 0, &one, &l1, msg, sizeof(msg)), 0);
	CHECK_EQ(pack(2, NULL, 0, &two, &l2, msg, sizeof(msg)), 0);
	CHECK_EQ(pack(4, NULL, 0, &four, &l4, msg, sizeof(msg)), 0);
	CHECK(l1 > 0 && l1 == l2 && l1 == l4);
	CHECK(one && two && four && !memcmp(one, two, l1) && !memcmp(one, four, l1));
	free(two);
	free(four);
	/* out of path order, finish lays the frames out and reads the files again: same bytes */
	CHECK_EQ(pack_order(2, 1, NULL, 0, &two, &l2, msg, sizeof(msg)), 0);
	CHECK(l2 == l1 && two && !memcmp(one, two, l1));
	free(one);
	free(two);
	remove_dir();
}

static void flip_one_byte(int i) /* same size, other bytes: only the digest tells */
{
	char path[128];
	FILE *f;

	file_path(path, sizeof(path), i);
	f = fopen(path, "r+");
	fseek(f, 20, SEEK_SET);
	fputc('Z', f);
	fclose(f);
}

static void grow(int i)
{
	char path[128];
	FILE *f;

	file_path(path, sizeof(path), i);
	f = fopen(path, "a");
	fputc(' ', f);
	fclose(f);
}

static void shrink(int i)
{
	char path[128];

	file_path(path, sizeof(path), i);
	if (truncate(path, 100) != 0)
		abort();
}

static void delete(int i)
{
	char path[128];

	file_path(path, sizeof(path), i);
	unlink(path);
}

/* Each change, to a file of the first, a middle and the last frame, with each thread count,
 * files added out of path order: finish reads them again and checks each against its digest. */
TEST(test_file_changed_after_add_is_refused)
{
	void (*changes[])(int) = {flip_one_byte, grow, shrink, delete};
	static const int victims[] = {0, N_FILES / 2, N_FILES - 1};
	static const int threads[] = {1, 2, 4};
	unsigned char *pkg;
	size_t len;
	char msg[512];
	int rc;

	for (size_t c = 0; c < sizeof(changes) / sizeof(changes[0]); c++)
		for (size_t v = 0; v < 3; v++)
			for (size_t t = 0; t < 3; t++) {
				make_dir();
				rc = pack_order(threads[t], 1, changes[c], victims[v], &pkg, &len, msg,
						sizeof(msg));
				harness_msg = msg;
				if (changes[c] == delete)
					CHECK(rc != 0 && strstr(msg, "cannot open") != NULL);
				else
					CHECK(rc == APPKG_ERR_SOURCE &&
					      strstr(msg, "changed while packing") != NULL);
				free(pkg);
				remove_dir();
			}
}

/* Files added in path order are framed from the bytes read at add: a change after the add
 * leaves the package exactly as packing the unchanged files makes it. */
TEST(test_file_changed_after_add_in_order_keeps_checked_bytes)
{
	void (*changes[])(int) = {flip_one_byte, grow, shrink, delete};
	static const int victims[] = {0, N_FILES / 2, N_FILES - 1};
	unsigned char *ref, *pkg;
	size_t ref_len = 0, len = 0;
	char msg[512];

	make_dir();
	harness_msg = msg;
	CHECK_EQ(pack(1, NULL, 0, &ref, &ref_len, msg, sizeof(msg)), 0);
	remove_dir();
	for (size_t c = 0; c < sizeof(changes) / sizeof(changes[0]); c++)
		for (size_t v = 0; v < 3; v++) {
			make_dir();
			CHECK_EQ(pack(2, changes[c], victims[v], &pkg, &len, msg, sizeof(msg)), 0);
			CHECK(pkg && ref && len == ref_len && !memcmp(pkg, ref, len));
			free(pkg);
			remove_dir();
		}
	free(ref);
}

int main(void)
{
	RUN(test_same_bytes_with_1_2_4_threads);
	RUN(test_file_changed_after_add_is_refused);
	RUN(test_file_changed_after_add_in_order_keeps_checked_bytes);
	return harness_total_failed != 0;
}
