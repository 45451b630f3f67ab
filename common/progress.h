/* SPDX-License-Identifier: MIT */
/*
 * A one-line progress display on stderr for the tools (zstd's CLI does the same): bytes and
 * members done, rate and time left, redrawn at most a few times a second. By default it shows
 * only when stderr is a terminal and the work has run for over a second, and the line is
 * erased at the end, so that a short run leaves nothing on the screen and a piped one writes
 * nothing. The library reports progress through appkg_writer_set_progress and
 * appkg_reader_set_progress; fe_progress_update has the callback's shape.
 */
#ifndef APPKG_PROGRESS_H
#define APPKG_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

/* When to show it: FE_PROGRESS_AUTO (terminal and over a second), FE_PROGRESS_NEVER
 * (--quiet), FE_PROGRESS_ALWAYS (--progress: from the first update, terminal or not). */
enum fe_progress_mode { FE_PROGRESS_AUTO = 0, FE_PROGRESS_NEVER, FE_PROGRESS_ALWAYS };

struct fe_progress;

/* A display whose lines start with "prog: label:" (label: what is being done, "packing").
 * NULL when out of memory, which callers may pass on: every call takes NULL. */
struct fe_progress *fe_progress_new(const char *label, enum fe_progress_mode mode);

/* An appkg_progress_fn: ctx is the struct fe_progress. */
void fe_progress_update(void *ctx, uint64_t bytes_done, uint64_t bytes_total,
			size_t members_done, size_t members_total);

/* Erase the line if one was drawn (a newline instead when stderr is not a terminal) and free
 * the display. Call it before printing anything else on stderr. */
void fe_progress_end(struct fe_progress *p);

#endif
