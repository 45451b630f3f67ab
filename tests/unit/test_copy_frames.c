/* SPDX-License-Identifier: MIT */
/*
 * Frames copied whole (appkg_writer_set_copy_frames), as a commit uses them: the frames of
 * unchanged members are the source's compressed bytes even when an edit moves every later
 * member; a source damaged on disk after it was opened is not copied from; the written file is
 * checked, a changed member read back in full and a copied frame compared with what was copied.
 */
#include <fcntl.h>
#include <sodium.h>
#include <zstd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../format/internal.h"
#include "../../format/writer.h"
#include "harness.h"

#define N 300
#define EDITED 100

static int count = N; /* resources in the source */

static char dir[] = "/tmp/appkg-copy-XXXXXX";
static char src_path[256], out_path[256];

static void body(char *out, size_t cap, int i, int grow)
{
	int n = snprintf(out, cap, "{\"n\": %d, \"text\": \"", i);

	for (int k = 0; k < 2000 + 37 * (i % 7) + grow && (size_t)n < cap - 4; k++)
		out[n++] = (char)('a' + (k * 7 + i) % 26);
	snprintf(out + n, cap - (size_t)n, "\"}\n");
}

static void name_of(char *out, size_t cap, int i)
{
	snprintf(out, cap, "item %03d", i);
}

/* The source package: count resources of about 2 KiB, several frames. */
static int make_source(void)
{
	appkg_writer *w = appkg_writer_new();
	char name[32], text[40000];
	int rc;

	appkg_writer_set_manifest(w, "{\"name\": \"copy\"}", 16);
	for (int i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		body(text, sizeof(text), i, 0);
		appkg_writer_add_resource(w, "pages", name, text, strlen(text));
	}
	rc = appkg_writer_finish_path(w, src_path);
	harness_msg = appkg_writer_error(w);
	appkg_writer_free(w);
	return rc;
}

/* A writer that copies every member from r but EDITED, which grows by 20 KB. */
static appkg_writer *commit_writer(appkg_reader *r)
{
	appkg_writer *w = appkg_writer_new();
	char name[32], text[40000];

	appkg_writer_set_verify(w, 1);
	appkg_writer_set_copy_frames(w, 1);
	appkg_writer_set_manifest(w, "{\"name\": \"copy\"}", 16);
	for (int i = 0; i < count; i++) {
		name_of(name, sizeof(name), i);
		if (i != EDITED) {
			appkg_writer_add_copy(w, "pages", name, r);
			continue;
		}
		body(text, sizeof(text), i, 20000);
		appkg_writer_add_resource(w, "pages", name, text, strlen(text));
	}
	return w;
}

static appkg_reader *open_path(const char *path)
{
	appkg_reader *r = appkg_reader_new();

	if (r && appkg_reader_open_path(r, path) == 0)
		return r;
	harness_msg = r ? appkg_reader_error(r) : "out of memory";
	appkg_reader_free(r);
	return NULL;
}

/* The frame of member i ("item %03d") in r. */
static uint32_t frame_of(appkg_reader *r, int i)
{
	char path[64];
	struct appkg_member m;

	snprintf(path, sizeof(path), "resources/pages/item %03d.json", i);
	return appkg_reader_find(r, path, &m) ? UINT32_MAX : m.frame;
}

/* How many data frames of a (other than frame 0, skip and the end frame) are found, byte for
 * byte, among the frames of b. */
static int frames_found(appkg_reader *a, appkg_reader *b, uint32_t skip, int *total)
{
	struct frame_info fa, fb, end;
	struct buf x = {0}, y = {0};
	int found = 0;
	uint32_t nb = 0;

	*total = 0;
	while (reader_frame_bytes(b, nb, &end, NULL) == 0)
		nb++;
	for (uint32_t f = 1; reader_frame_bytes(a, f + 1, &end, NULL) == 0; f++) {
		if (f == skip)
			continue;
		(*total)++;
		reader_frame_bytes(a, f, &fa, &x);
		for (uint32_t g = 1; g + 1 < nb; g++)
			if (reader_frame_bytes(b, g, &fb, &y) == 0 && y.len == x.len &&
			    !memcmp(x.data, y.data, x.len)) {
				found++;
				break;
			}
	}
	buf_free(&x);
	buf_free(&y);
	return found;
}

static int read_all(appkg_reader *r)
{
	struct appkg_member m;
	const void *data;
	int rc;

	while ((rc = appkg_reader_next(r, &m, &data)) == 1)
		;
	harness_msg = appkg_reader_error(r);
	return rc;
}

static void flip(const char *path, uint64_t at)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	if (fd >= 0 && pread(fd, &c, 1, (off_t)at) == 1) {
		c ^= 0x55;
		if (pwrite(fd, &c, 1, (off_t)at) != 1)
			harness_msg = "cannot write";
	}
	if (fd >= 0)
		close(fd);
}

/* Every frame but the edited member's is copied, though the edit moves every later member by
 * 20 KB: the frames follow the source's, not the size rule (which would shift them all). */
TEST(test_copy_frames_keeps_unchanged_frames)
{
	appkg_reader *r, *out = NULL;
	appkg_writer *w;
	int total, found;

	CHECK_EQ(make_source(), 0);
	CHECK((r = open_path(src_path)) != NULL);
	w = commit_writer(r);
	CHECK_EQ(appkg_writer_finish_path(w, out_path), 0);
	appkg_writer_free(w);
	if ((out = open_path(out_path)) != NULL) {
		CHECK_EQ(read_all(out), 0);
		found = frames_found(r, out, frame_of(r, EDITED), &total);
		CHECK(total >= 3);
		CHECK_EQ(found, total);
	}
	appkg_reader_free(out);
	appkg_reader_free(r);
	CHECK(out != NULL);
}

/* A frame damaged on disk after the source was opened is not copied as it is: its members are
 * decoded, the damage is found and nothing is written. */
TEST(test_copy_frames_source_damaged_after_open)
{
	appkg_reader *r;
	appkg_writer *w;
	struct frame_info fi;
	struct stat st;
	uint32_t f;
	int rc;

	CHECK_EQ(make_source(), 0);
	CHECK((r = open_path(src_path)) != NULL);
	f = frame_of(r, EDITED) == 1 ? 2 : 1;
	CHECK_EQ(reader_frame_bytes(r, f, &fi, NULL), 0);
	usleep(30000); /* past the file system's timestamp granularity */
	flip(src_path, fi.offset + fi.csize / 2);
	unlink(out_path);
	w = commit_writer(r);
	rc = appkg_writer_finish_path(w, out_path);
	harness_msg = appkg_writer_error(w);
	CHECK(rc != 0);
	CHECK(strstr(appkg_writer_error(w), "frame") || strstr(appkg_writer_error(w), "digest"));
	appkg_writer_free(w);
	appkg_reader_free(r);
	CHECK(stat(out_path, &st) != 0);
}

/* The written file is checked: a byte changed in a copied frame is found against the source, one in
 * the frame compressed anew when the changed member is read back. */
TEST(test_copy_frames_output_checked)
{
	appkg_reader *r, *out;
	appkg_writer *w;
	struct frame_info copied, fresh;
	uint32_t f;
	int fd;

	CHECK_EQ(make_source(), 0);
	CHECK((r = open_path(src_path)) != NULL);
	w = commit_writer(r);
	fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(appkg_writer_finish_fd(w, fd), 0);
	CHECK_EQ(writer_copy_verify(w, fd, out_path), 0);
	CHECK((out = open_path(out_path)) != NULL);
	f = frame_of(out, EDITED);
	reader_frame_bytes(out, f, &fresh, NULL);
	reader_frame_bytes(out, f == 1 ? f + 1 : 1, &copied, NULL);
	appkg_reader_free(out);
	flip(out_path, copied.offset + copied.csize / 2);
	CHECK(writer_copy_verify(w, fd, out_path) != 0);
	harness_msg = appkg_writer_error(w);
	CHECK(strstr(appkg_writer_error(w), "differs from the source frame") != NULL);
	flip(out_path, copied.offset + copied.csize / 2);
	w->err = (struct appkg_err){0}; /* the first failure's message would stay */
	CHECK_EQ(writer_copy_verify(w, fd, out_path), 0);
	flip(out_path, fresh.offset + fresh.csize / 2);
	CHECK(writer_copy_verify(w, fd, out_path) != 0);
	harness_msg = appkg_writer_error(w);
	CHECK(strstr(appkg_writer_error(w), "does not verify") != NULL);
	close(fd);
	appkg_writer_free(w);
	appkg_reader_free(r);
}

/* With many frames copied whole, read back on a thread beside the open of the output: a byte
 * changed in the first copied frame or in the last is found all the same. */
TEST(test_copy_frames_checked_on_two_threads)
{
	appkg_reader *r, *out;
	appkg_writer *w;
	struct frame_info first, last, end;
	uint32_t f, nframes = 0;
	int fd;

	count = 3000; /* some 50 frames */
	CHECK_EQ(make_source(), 0);
	CHECK((r = open_path(src_path)) != NULL);
	w = commit_writer(r);
	fd = open(out_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(appkg_writer_finish_fd(w, fd), 0);
	CHECK_EQ(writer_copy_verify(w, fd, out_path), 0);
	CHECK((out = open_path(out_path)) != NULL);
	while (reader_frame_bytes(out, nframes, &end, NULL) == 0)
		nframes++;
	f = frame_of(out, EDITED);
	CHECK(nframes > 40 && f > 1 && f + 2 < nframes);
	reader_frame_bytes(out, 1, &first, NULL);
	reader_frame_bytes(out, nframes - 2, &last, NULL);
	appkg_reader_free(out);
	for (int k = 0; k < 2; k++) {
		const struct frame_info *x = k ? &last : &first;
		flip(out_path, x->offset + x->csize / 2);
		w->err = (struct appkg_err){0};
		CHECK(writer_copy_verify(w, fd, out_path) != 0);
		harness_msg = appkg_writer_error(w);
		CHECK(strstr(appkg_writer_error(w), "differs from the source frame") != NULL);
		flip(out_path, x->offset + x->csize / 2);
	}
	w->err = (struct appkg_err){0};
	CHECK_EQ(writer_copy_verify(w, fd, out_path), 0);
	close(fd);
	appkg_writer_free(w);
	appkg_reader_free(r);
	count = N;
}

/* Frame 0 of r, decoded and compressed again at level: the same bytes? */
static int frame0_at_level(appkg_reader *r, int level)
{
	struct buf packed = {0}, text = {0}, again = {0};
	struct appkg_err e = {0};
	struct frame_info fi;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	ZSTD_CCtx *c = frame_encoder_new(level);
	int same = d && c && !reader_frame_bytes(r, 0, &fi, &packed) &&
		   !frame_decode(d, packed.data, packed.len, &text, fi.dsize, &e) &&
		   !frame_encode(c, text.data, text.len, &again, &e) && again.len == packed.len &&
		   !memcmp(again.data, packed.data, packed.len);

	ZSTD_freeDCtx(d);
	ZSTD_freeCCtx(c);
	buf_free(&packed);
	buf_free(&text);
	buf_free(&again);
	return same;
}

/* A commit makes the manifest's frame at level 1 where the writer's level is the default 3
 * (a pack keeps 3 for it), and keeps a higher level as asked. */
TEST(test_copy_frames_manifest_frame_level)
{
	appkg_reader *r, *out;
	appkg_writer *w;

	CHECK_EQ(make_source(), 0);
	CHECK((r = open_path(src_path)) != NULL);
	CHECK(frame0_at_level(r, 3));
	for (int level = 3; level <= 5; level += 2) {
		w = commit_writer(r);
		appkg_writer_set_level(w, level);
		unlink(out_path);
		CHECK_EQ(appkg_writer_finish_path(w, out_path), 0);
		appkg_writer_free(w);
		CHECK((out = open_path(out_path)) != NULL);
		CHECK(frame0_at_level(out, level == 3 ? 1 : level));
		CHECK(!frame0_at_level(out, level == 3 ? 3 : 1));
		appkg_reader_free(out);
	}
	appkg_reader_free(r);
}

int main(void)
{
	if (sodium_init() < 0 || !mkdtemp(dir))
		return 1;
	snprintf(src_path, sizeof(src_path), "%s/src.appkg", dir);
	snprintf(out_path, sizeof(out_path), "%s/out.appkg", dir);
	RUN(test_copy_frames_keeps_unchanged_frames);
	RUN(test_copy_frames_source_damaged_after_open);
	RUN(test_copy_frames_output_checked);
	RUN(test_copy_frames_checked_on_two_threads);
	RUN(test_copy_frames_manifest_frame_level);
	unlink(src_path);
	unlink(out_path);
	rmdir(dir);
	return harness_total_failed != 0;
}
