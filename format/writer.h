/* SPDX-License-Identifier: MIT */
/* The writer's handle, shared by writer.c and writer_select.c; nothing here is public. */
#ifndef APPKG_WRITER_H
#define APPKG_WRITER_H

#include <pthread.h>
#include <sys/types.h>
#include <zstd.h>

#include "internal.h"
#include "signature.h"

#define MAX_THREADS 64

/* A resource file whose bytes a frame still lacks: read into in at offset by the thread that
 * compresses the frame, and checked against the size and digest taken when it was added. */
struct pending {
	const struct writer_member *m;
	size_t offset;
};

struct pending_list {
	struct pending *p;
	size_t n, cap;
};

/* Bytes of an open file, copied as they are (a source frame copied whole). */
struct file_range {
	int fd;
	uint64_t offset, len;
};

/* One frame on its way out: queued by finish, filled and compressed by a thread, written in
 * frame order by finish. */
struct slot {
	ZSTD_CCtx *cctx;
	struct buf in, out;
	struct pending_list pending;
	int copied; /* out already holds the frame, copied from the source package */
	int done;   /* filled and compressed: ready to write */
	struct file_range whole; /* or, with len > 0, the frame is this range of a source file */
	struct appkg_err err;
};

/* A frame of the output that is a source frame copied whole (appkg_writer_set_copy_frames):
 * once written, it is read back and compared with the source frame's bytes. */
struct copied_frame {
	uint32_t frame, src_frame;
	appkg_reader *src;
};

/* Where the member being put sits in its source package (writer_copy_put), valid or not. */
struct copy_source {
	int valid;
	appkg_reader *src;
	uint32_t frame, offset, dsize;
};

/* What writer_copy.c keeps about the frame being laid out. */
struct copy_state {
	struct copy_source next; /* the member about to be put */
	int clean;               /* every member so far is a copy at its own offset of one frame */
	appkg_reader *src;       /* that frame's package and number */
	uint32_t frame;
	int ended;               /* the last member put was a copy that ended its source frame */
	struct copied_frame *copied;
	size_t ncopied, copied_cap;
	int opens_output;        /* finish_path will open the output: the manifest is checked then */
	appkg_reader *output;    /* the reader that checked the output (appkg_writer_take_reader) */
	struct file_range run;   /* source frames copied whole, not yet written (len 0: none) */
	struct copy_run {        /* runs left for the check to copy (opens_output) and where */
		struct file_range from;
		uint64_t at;
	} *later;
	size_t nlater, later_cap;
	struct buf header;       /* a copied member's tar header, made when its frame is not */
};

struct appkg_writer {
	struct appkg_err err;
	int level, threads, finished, verify;
	uint64_t mtime;
	json_t *user;
	struct writer_member *members;
	size_t n, cap;
	struct strings_block *strings; /* where the next member's strings go (writer.c) */
	struct buf secrets;
	int has_secrets;
	char package_id[129];
	struct appkg_key *sign_key;
	struct buf signature;
	int has_signature, signature_dropped;
	struct buf user_text; /* the manifest as given: what a carried signature signed */
	int prune;
	char **only; /* the selection (appkg_writer_set_selection), or NULL */
	size_t nonly;
	appkg_problem_fn problem_fn;
	void *problem_ctx;
	char **rejected; /* paths of resources whose add failed, for the manifest check */
	size_t nrejected, rejected_cap;
	/* output state during finish */
	int fd;
	const char *out_name; /* named in write errors */
	struct slot *slots;
	uint32_t nslots;
	/* the pipeline: frames queued, taken by a thread and written, counted from frame 0 */
	uint32_t queued, taken, written;
	pthread_t *workers;
	int nworkers, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* any change of queued, taken, done or stop */
	struct pending_list cur_pending; /* the files cur still lacks */
	struct frame_info *frames;
	uint32_t nframes, frames_cap;
	struct index_entry *index;
	uint32_t nindex;
	struct buf cur;
	appkg_reader *cur_src; /* the package every member of cur was copied from, or NULL */
	int cur_members;
	appkg_progress_fn progress_fn; /* appkg_writer_set_progress */
	void *progress_ctx;
	uint64_t progress_done, progress_total;
	size_t progress_members;
	int copy_frames; /* appkg_writer_set_copy_frames */
	struct copy_state copy;
	struct stream *stream; /* resources framed as they are added, or NULL */
	struct prepare_pool *pool; /* read buffers kept from one directory's job to the next */
	/* encoders of threads that ended, at spare_level, for the next threads (under lock) */
	ZSTD_CCtx *spare_cctx[MAX_THREADS];
	int nspare, spare_level;
};

void writer_member_free(struct writer_member *m);

/* A resource file to add (appkg_writer_add_file) whose reading, checks and digest may be done
 * ahead, on several threads: type, name and fs_path are borrowed, skip says not to read it
 * ahead (it is read when added, if it is), the rest is the outcome. Only a regular file is
 * read ahead. With dirfd >= 0 the file is file in that directory, opened and stat'ed by it
 * (one short lookup instead of the whole path). The lstat taken before reading it ahead is
 * kept (stated, mode) so that the walk need not take another. */
struct writer_prepared {
	const char *type, *name, *fs_path;
	int dirfd;
	const char *file;
	int skip, done, seen; /* done: prepared; seen: a thread is through with it */
	int listed_regular;   /* its directory entry said a regular file (d_type) */
	int stated;           /* mode holds its lstat */
	mode_t mode;
	struct appkg_err *err;    /* the problem with the file's bytes (malloc'd), or NULL */
	struct writer_member m;   /* size, digest, uses, secret_refs, placeholders */
	struct buf data;          /* the bytes checked and digested, until they are added */
	size_t held;              /* bytes of data the job counts as held ahead */
};
/* Start preparing items on w->threads threads (NULL, and nothing started, with one thread):
 * writer_prepare_wait(job, i) returns once item i is ready (helping while it waits; the items
 * before i are then done with, and their bytes freed: the threads read only a bounded number
 * of bytes ahead of the caller), and
 * writer_prepare_end stops the threads and frees the job; the items stay the caller's.
 * Nothing of w is touched but its thread count. */
struct prepare_job *writer_prepare_start(appkg_writer *w, struct writer_prepared *items, size_t n);
void writer_prepare_wait(struct prepare_job *job, size_t i);
void writer_prepare_end(struct prepare_job *job);
/* appkg_writer_add_file with the work done ahead (or done now when it was not). */
int writer_add_prepared(appkg_writer *w, struct writer_prepared *p);
void writer_prepared_free(struct writer_prepared *p);
/* Read, check and digest p now (what a thread would have done). */
void writer_prepare_one(struct writer_prepared *p);
/* The read buffers the jobs kept (w->pool). */
void writer_pool_free(struct prepare_pool *pool);
char *writer_resource_path(char *b, size_t cap, const char *type, const char *name);
int writer_check_bytes(struct appkg_err *e, struct writer_member *m, const void *data,
		       size_t len, const char *subject);
/* writer_copy.c, with copy_frames set. A member copied from a package: put where its source
 * frame puts it, its bytes left for writer_copy_cut. */
int writer_copy_put(appkg_writer *w, const struct writer_member *m);
/* The compression level of frame 0 (a commit's differs from the writer's level). */
int writer_copy_frame0_level(const appkg_writer *w);
/* Does the member of path and size start a new frame (instead of the size rule)? */
int writer_copy_starts_frame(appkg_writer *w, const char *path, uint64_t size);
/* The member x was just put into the current frame. */
void writer_copy_note(appkg_writer *w, const struct index_entry *x);
/* The current frame is cut as output frame w->nframes - 1 into slot s: 1 with the slot
 * holding a source frame copied whole (its bytes in s->out, or its range in s->whole), 0 with
 * the copied members' bytes filled in (to compress), or an error. */
int writer_copy_cut(appkg_writer *w, struct slot *s);
/* Write the slot's frame copied whole: its range joins those not yet written when it follows
 * them in the same file, else they are written first. */
int writer_copy_whole(appkg_writer *w, const struct slot *s);
/* Write the source ranges not yet written, before any other bytes: or, when the output is to
 * be opened (finish_path), leave room for them, for writer_copy_verify to copy beside the open. */
int writer_copy_flush(appkg_writer *w);
/* verify for copy_frames: the written file fd (tmp) read back; 0 or an error on w. */
int writer_copy_verify(appkg_writer *w, int fd, const char *tmp);
void writer_copy_free(appkg_writer *w);
/* The index entry of a member copied from a package (writer_copy_put) and room for its tar
 * entry in the frame: made at the cut (writer_copy_cut) only if the frame is not copied whole. */
int writer_put_later(appkg_writer *w, const struct writer_member *m);
/* Room for one more frame in w->frames. */
int writer_grow_frames(appkg_writer *w);
/* writer_frame0.c. Frame 0, the manifest of len bytes (measured) and the signature's entry,
 * made, checked, digested (into digest), compressed and written; then, once w->index is
 * allocated, their entries in it. */
int writer_frame0(appkg_writer *w, size_t len, unsigned char *digest);
void writer_index_frame0(appkg_writer *w, size_t len, const unsigned char *digest);

/* Keep only the closure of w->only (members and user entries); 0 or an error code. */
int writer_apply_selection(appkg_writer *w);

#endif
