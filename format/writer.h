/* SPDX-License-Identifier: MIT */
/* The writer's handle, shared by writer.c and writer_select.c; nothing here is public. */
#ifndef APPKG_WRITER_H
#define APPKG_WRITER_H

#include <zstd.h>

#include "internal.h"
#include "signature.h"

#define MAX_THREADS 64

struct slot {
	ZSTD_CCtx *cctx;
	struct buf in, out;
	int copied; /* out already holds the frame, copied from the source package */
	struct appkg_err err;
};

struct appkg_writer {
	struct appkg_err err;
	int level, threads, finished, verify;
	uint64_t mtime;
	json_t *user;
	struct writer_member *members;
	size_t n, cap;
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
	int used;
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
};

void writer_member_free(struct writer_member *m);
/* Keep only the closure of w->only (members and user entries); 0 or an error code. */
int writer_apply_selection(appkg_writer *w);

#endif
