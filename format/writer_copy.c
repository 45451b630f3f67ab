/* SPDX-License-Identifier: MIT */
/*
 * Frames copied whole (appkg_writer_set_copy_frames), for a commit that costs what changed.
 * Members copied from a package keep the frames they had there: a frame starts where a
 * source frame started and after a member that ended one, and only a frame holding something
 * else (a new or changed member, or a gap where a member was removed) follows the size rule.
 * A frame that is exactly one source frame, with the same tar mtime, is not decoded: its
 * compressed bytes are copied as they are, file to file by the kernel (copy_file_range), a
 * run of consecutive source frames at once; any other frame has its copied members decoded
 * from the source (digest checked) and is compressed anew. When the output is to be opened
 * (finish_path), the runs are left as holes and copied on a thread beside that open, which
 * needs only frame 0 and the end. The written file is then fsynced and read back, the three
 * at once: every frame that was compressed anew is decoded and each
 * of its members read in full, with every check a reader makes, and each frame copied whole is
 * read as stored and compared byte for byte with the source frame, read again.
 * A source file that changed on disk since it was opened is not copied from whole (its frames
 * are decoded and checked instead), and one that changed while the package was written fails
 * the check. The manifest is checked when the output is opened (not before, twice), and the
 * reader that checked the output is kept for the caller (appkg_writer_take_reader), so that a
 * mount serves the new package without opening it again. Spec §3.2, "Frames kept by a commit".
 */
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "writer.h"

/* Frame 0 of a commit, the manifest, is made anew by every commit: libzstd's level 1 makes it
 * in about a third of level 3's time and, on manifest text, smaller (100,000 resources: 28 MB
 * of text, 4.68 against 5.28 MB, 29 against 79 ms of CPU). A level above the default (3) is
 * kept as asked. */
int writer_copy_frame0_level(const appkg_writer *w)
{
	return w->copy_frames && w->level > 1 && w->level <= 3 ? 1 : w->level;
}

int writer_copy_put(appkg_writer *w, const struct writer_member *m)
{
	struct appkg_member from;
	struct frame_info fi;
	int rc;

	if ((rc = appkg_reader_find(m->src, m->path, &from)) ||
	    (rc = reader_frame_bytes(m->src, from.frame, &fi, NULL)))
		return appkg_fail(&w->err, rc, "%s: not in the source package", m->path);
	w->copy.next = (struct copy_source){.valid = 1, .src = m->src, .frame = from.frame,
					    .offset = from.offset, .dsize = fi.dsize};
	rc = writer_put_later(w, m);
	w->copy.next.valid = 0;
	return rc;
}

int writer_copy_starts_frame(appkg_writer *w, const char *path, uint64_t size)
{
	const struct copy_source *n = &w->copy.next;

	if (w->cur.len == 0)
		return 0;
	if ((n->valid && n->offset == 0) || w->copy.ended)
		return 1; /* a source frame starts, or the one before ended */
	if (n->valid && w->copy.clean && n->src == w->copy.src && n->frame == w->copy.frame &&
	    n->offset == w->cur.len)
		return 0; /* the source frame goes on */
	return w->cur.len + tar_entry_bytes(path, size) > APPKG_FRAME_TARGET;
}

void writer_copy_note(appkg_writer *w, const struct index_entry *x)
{
	const struct copy_source *n = &w->copy.next;
	struct copy_state *c = &w->copy;

	if (x->offset == 0) {
		c->clean = n->valid && n->offset == 0;
		c->src = n->src;
		c->frame = n->frame;
	} else {
		c->clean = c->clean && n->valid && n->src == c->src && n->frame == c->frame &&
			   n->offset == x->offset;
	}
	c->ended = n->valid && n->offset + tar_entry_bytes(x->path, x->size) == n->dsize;
}

/* The current frame is one source frame, whole, as the source's file still is? */
static int whole_source_frame(appkg_writer *w)
{
	struct copy_state *c = &w->copy;
	struct frame_info fi;

	return c->clean && c->ended && !reader_frame_bytes(c->src, c->frame, &fi, NULL) &&
	       fi.dsize == w->cur.len && reader_tar_mtime(c->src) == w->mtime &&
	       !reader_file_changed(c->src);
}

/* The frame just cut is copied whole from frame `from` of src: noted for the check. */
static int note_copied(appkg_writer *w, appkg_reader *src, uint32_t from)
{
	struct copy_state *c = &w->copy;

	if (c->ncopied == c->copied_cap) {
		size_t cap = c->copied_cap ? 2 * c->copied_cap : 64;
		void *p = realloc(c->copied, cap * sizeof(*c->copied));
		if (!p)
			return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		c->copied = p;
		c->copied_cap = cap;
	}
	c->copied[c->ncopied++] = (struct copied_frame){.frame = w->nframes - 1, .src_frame = from,
							 .src = src};
	return 0;
}

/* The tar entry of a copied member (header, bytes decoded from its source with size and
 * digest checked, padding) where writer_put_later left room for it. */
static int fill_copy(appkg_writer *w, const struct pending *p)
{
	struct buf *h = &w->copy.header;
	unsigned char *at = w->cur.data + p->offset;
	const void *data;
	size_t len;
	int rc = reader_read_digest_only(p->m->src, p->m->path, &data, &len);

	if (rc)
		return appkg_fail(&w->err, rc, "%s", appkg_reader_error(p->m->src));
	if (len != p->m->size)
		return appkg_fail(&w->err, APPKG_ERR_SIZE_MISMATCH, "%s: size differs from the index",
				  p->m->path);
	h->len = 0;
	if (tar_put_header(h, p->m->path, len, w->mtime))
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	memcpy(at, h->data, h->len);
	memcpy(at + h->len, data, len);
	memset(at + h->len + len, 0, tar_entry_bytes(p->m->path, len) - h->len - len);
	return 0;
}

int writer_copy_cut(appkg_writer *w, struct slot *s)
{
	struct pending_list *l = &w->cur_pending;
	int whole = whole_source_frame(w), fd, rc;
	appkg_reader *src = w->copy.src;
	struct frame_info fi;
	size_t kept = 0;

	w->copy.clean = w->copy.ended = 0;
	s->whole.len = 0;
	if (whole) {
		fd = reader_source_fd(src);
		rc = reader_frame_bytes(src, w->copy.frame, &fi, fd < 0 ? &s->out : NULL);
		if (rc) {
			appkg_fail(&w->err, rc, "%s", appkg_reader_error(src));
			return -1;
		}
		if (fd >= 0) /* copied file to file by the kernel when written */
			s->whole = (struct file_range){.fd = fd, .offset = fi.offset, .len = fi.csize};
		l->n = 0; /* every member of the frame is in those bytes */
		return note_copied(w, src, w->copy.frame) ? -1 : 1;
	}
	for (size_t i = 0; i < l->n; i++) {
		if (!l->p[i].m->src)
			l->p[kept++] = l->p[i]; /* a file: read by the frame's thread */
		else if (fill_copy(w, &l->p[i]))
			return -1;
	}
	l->n = kept;
	return 0;
}

/* The run is copied later, where the output is now: a hole is left for it. */
static int leave_for_later(appkg_writer *w, const struct file_range *run)
{
	struct copy_state *c = &w->copy;
	off_t at = lseek(w->fd, 0, SEEK_CUR);

	if (c->nlater == c->later_cap) {
		size_t cap = c->later_cap ? 2 * c->later_cap : 16;
		void *p = realloc(c->later, cap * sizeof(*c->later));
		if (!p)
			return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
		c->later = p;
		c->later_cap = cap;
	}
	if (at < 0 || lseek(w->fd, (off_t)run->len, SEEK_CUR) < 0)
		return appkg_fail(&w->err, APPKG_ERR_IO, "%s: seek: %s", w->out_name, strerror(errno));
	c->later[c->nlater++] = (struct copy_run){.from = *run, .at = (uint64_t)at};
	return 0;
}

int writer_copy_flush(appkg_writer *w)
{
	struct file_range *run = &w->copy.run;
	int rc;

	if (run->len == 0)
		return 0;
	if (w->copy.opens_output)
		rc = leave_for_later(w, run);
	else
		rc = io_copy_range(run->fd, run->offset, run->len, w->fd, w->out_name, &w->err);
	run->len = 0;
	return rc;
}

int writer_copy_whole(appkg_writer *w, const struct slot *s)
{
	struct file_range *run = &w->copy.run;

	if (run->len && (run->fd != s->whole.fd || run->offset + run->len != s->whole.offset) &&
	    writer_copy_flush(w))
		return w->err.code;
	if (run->len)
		run->len += s->whole.len;
	else
		*run = s->whole;
	return 0;
}

/* The runs left for later copied into the output, then its fsync, on a thread: the disk is
 * waited for while the CPUs check. The check of the copied frames waits for the copies. */
struct output_sync {
	int fd, err; /* errno of a failed fsync, or 0 */
	const struct copy_run *runs;
	size_t nruns;
	const char *name;
	struct appkg_err copy_err; /* a copy that failed */
	int copied;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* copied */
};

static void *sync_run(void *arg)
{
	struct output_sync *s = arg;
	int rc = 0;

	for (size_t i = 0; i < s->nruns && !rc; i++)
		rc = io_copy_range_at(s->runs[i].from.fd, s->runs[i].from.offset, s->runs[i].from.len,
				      s->fd, s->runs[i].at, s->name, &s->copy_err);
	pthread_mutex_lock(&s->lock);
	s->copied = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	s->err = !rc && fsync(s->fd) ? errno : 0;
	return NULL;
}

/* 1 once the runs are in the output, 0 if they could not be. */
static int wait_copied(struct output_sync *s)
{
	pthread_mutex_lock(&s->lock);
	while (!s->copied)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	return !s->copy_err.code;
}

/* The frames copied whole, read back from the written file and compared with the source's
 * frames, on a thread of their own while the output is opened (13 MB for M, 76 MB for L). The
 * thread reads each frame with pread where the writer put it, and the source frame as the open
 * of the source found it, and touches nothing another thread writes; once the open has read the
 * output's seek table, each copied frame must be where the writer put it, so that what was
 * compared is what the table names. The first failure in frame order is the one reported. */
struct copied_check {
	struct output_sync *sync; /* the frames are there once it copied them */
	const struct copied_frame *from, *to;
	const struct frame_info *frames; /* the writer's, by output frame */
	int fd;
	const struct copied_frame *bad; /* the first that failed, and how */
	enum { CHECKED, UNREADABLE, SOURCE_UNREADABLE, DIFFERS, SOURCE_CHANGED, NO_MEMORY } what;
	struct appkg_err err; /* why it could not be read */
};

static void *check_copied_run(void *arg)
{
	struct copied_check *h = arg;
	struct buf bytes = {0}, source = {0};

	if (!wait_copied(h->sync))
		return NULL; /* the copy's failure is the one said */
	for (const struct copied_frame *f = h->from; f < h->to && h->what == CHECKED; f++) {
		const struct frame_info *fi = &h->frames[f->frame];
		if (buf_reserve(&bytes, fi->csize))
			h->what = NO_MEMORY;
		else if (io_pread_all(h->fd, bytes.data, fi->csize, fi->offset, &h->err))
			h->what = UNREADABLE;
		else if (reader_frame_read(f->src, f->src_frame, &source, &h->err))
			h->what = SOURCE_UNREADABLE;
		else if (source.len != fi->csize || memcmp(source.data, bytes.data, fi->csize))
			h->what = DIFFERS;
		else if (reader_file_changed(f->src))
			h->what = SOURCE_CHANGED;
		h->bad = f;
	}
	buf_free(&bytes);
	buf_free(&source);
	return NULL;
}

static int copied_failed(appkg_writer *w, const struct copied_check *h, const char *tmp)
{
	switch (h->what) {
	case UNREADABLE:
		return appkg_fail(&w->err, h->err.code, "%s: written package does not verify: frame "
				  "%u: %s", tmp, h->bad->frame, h->err.msg);
	case SOURCE_UNREADABLE:
		return appkg_fail(&w->err, h->err.code, "the source package cannot be read again: "
				  "%s", h->err.msg);
	case DIFFERS:
		return appkg_fail(&w->err, APPKG_ERR_IO, "%s: frame %u differs from the source frame "
				  "copied into it", tmp, h->bad->frame);
	case SOURCE_CHANGED:
		return appkg_fail(&w->err, APPKG_ERR_SOURCE, "the source package changed on disk "
				  "while it was copied from");
	case NO_MEMORY:
		return appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	default:
		return 0;
	}
}

/* The output's seek table, as the open read it, puts every copied frame where the writer
 * wrote it (and so where the thread hashed it). */
static int copied_in_place(appkg_writer *w, appkg_reader *r, const char *tmp)
{
	const struct copied_frame *c = w->copy.copied;
	struct frame_info fi;
	int rc;

	for (size_t i = 0; i < w->copy.ncopied; i++) {
		const struct frame_info *put = &w->frames[c[i].frame];
		if ((rc = reader_frame_bytes(r, c[i].frame, &fi, NULL)))
			return appkg_fail(&w->err, rc, "%s: written package does not verify: %s",
					  tmp, appkg_reader_error(r));
		if (fi.offset != put->offset || fi.csize != put->csize)
			return appkg_fail(&w->err, APPKG_ERR_IO, "%s: frame %u is not where it was "
					  "written", tmp, c[i].frame);
	}
	return 0;
}

/* Every member of the frames compressed anew, read in full: 0 or the reader's code. Frame 0
 * and the end frame are checked by the open, the frames copied whole by their bytes. */
static int read_anew(const appkg_writer *w, appkg_reader *r)
{
	const struct copied_frame *f = w->copy.copied, *end = f + w->copy.ncopied;
	struct appkg_member m;
	const void *data;
	size_t len;
	int rc;

	for (size_t i = 0; appkg_reader_member(r, i, &m) == 0; i++) {
		while (f < end && f->frame < m.frame)
			f++;
		if (m.frame == 0 || (f < end && f->frame == m.frame))
			continue;
		if ((rc = appkg_reader_read(r, m.path, &data, &len)))
			return rc;
	}
	return 0;
}

/* The package is written: the members and their index entries are not needed to check it,
 * and their memory (some 30 MB for 100,000 members) goes before the output is opened, which
 * takes as much again. */
static void drop_members(appkg_writer *w)
{
	for (size_t i = 0; i < w->n; i++)
		writer_member_free(&w->members[i]);
	free(w->members);
	free(w->index);
	w->members = NULL;
	w->index = NULL;
	w->n = w->cap = 0;
	w->nindex = 0;
}

/* The frames copied whole put into the output and the output fsynced, the output opened (every
 * check of an open), its frames compressed anew read in full and its frames copied whole
 * compared with the source's, the three at once; a failure is reported in that order, as if
 * they had run one after the other. */
int writer_copy_verify(appkg_writer *w, int fd, const char *tmp)
{
	struct output_sync s = {.fd = fd, .runs = w->copy.later, .nruns = w->copy.nlater,
				.name = tmp};
	struct copied_check h = {.sync = &s, .from = w->copy.copied,
				 .to = w->copy.copied + w->copy.ncopied, .frames = w->frames, .fd = fd};
	appkg_reader *r = appkg_reader_new();
	pthread_t syncer, hasher;
	int synced, hashed, rc = APPKG_ERR_NO_MEMORY;

	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	synced = pthread_create(&syncer, NULL, sync_run, &s) == 0;
	hashed = r && h.from < h.to && pthread_create(&hasher, NULL, check_copied_run, &h) == 0;
	drop_members(w);
	if (r && !(rc = appkg_reader_open_path(r, tmp)))
		rc = read_anew(w, r);
	if (synced)
		pthread_join(syncer, NULL);
	else
		sync_run(&s);
	if (hashed)
		pthread_join(hasher, NULL);
	else if (r && !rc)
		check_copied_run(&h);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.lock);
	w->copy.nlater = 0; /* copied: a check made again does not copy again */
	if (s.copy_err.code)
		rc = appkg_fail(&w->err, s.copy_err.code, "%s", s.copy_err.msg);
	else if (s.err)
		rc = appkg_fail(&w->err, s.err == ENOSPC ? APPKG_ERR_NO_SPACE : APPKG_ERR_IO,
				"%s: fsync: %s", tmp, strerror(s.err));
	else if (!r)
		rc = appkg_fail(&w->err, APPKG_ERR_NO_MEMORY, "out of memory");
	else if (rc)
		appkg_fail(&w->err, rc, "%s: written package does not verify: %s", tmp,
			   appkg_reader_error(r));
	else if (!(rc = copied_in_place(w, r, tmp)) && copied_failed(w, &h, tmp))
		rc = w->err.code;
	if (rc == 0) {
		appkg_reader_free(w->copy.output); /* a check made again replaces the last one's */
		w->copy.output = r;
	} else {
		appkg_reader_free(r);
	}
	return rc;
}

appkg_reader *appkg_writer_take_reader(appkg_writer *w)
{
	appkg_reader *r = w->copy.output;

	w->copy.output = NULL;
	return r;
}

void writer_copy_free(appkg_writer *w)
{
	free(w->copy.copied);
	free(w->copy.later);
	buf_free(&w->copy.header);
	appkg_reader_free(w->copy.output);
	w->copy = (struct copy_state){0};
}
