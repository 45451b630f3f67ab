/* SPDX-License-Identifier: MIT */
/*
 * The progress line the tools draw on stderr (see progress.h). Time is the monotonic clock;
 * the rate is the average since the start, which is steady enough for one pass over a package
 * and needs no history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fe.h"
#include "progress.h"

#define SHOW_AFTER 1.0 /* seconds of work before an automatic display appears */
#define REDRAW 0.2     /* seconds between redraws on a terminal */
#define RELOG 1.0      /* seconds between lines when stderr is not a terminal (--progress) */

struct fe_progress {
	const char *label;
	enum fe_progress_mode mode;
	int tty, drawn;
	double start, last;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct fe_progress *fe_progress_new(const char *label, enum fe_progress_mode mode)
{
	struct fe_progress *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->label = label;
	p->mode = mode;
	p->tty = isatty(2);
	p->start = now();
	return p;
}

/* "12.3 MiB" into out. */
static void human(char *out, size_t cap, double bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t u = 0;

	while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(*units)) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static int due(struct fe_progress *p, double t, int last_call)
{
	if (p->mode == FE_PROGRESS_NEVER)
		return 0;
	if (p->mode == FE_PROGRESS_AUTO && (!p->tty || t - p->start < SHOW_AFTER))
		return 0;
	if (last_call)
		return p->drawn; /* the final state, only over a line already there */
	return !p->drawn || t - p->last >= (p->tty ? REDRAW : RELOG);
}

/* The line, cut to the terminal's width: a line that wrapped could not be erased with "\r". */
static void draw(struct fe_progress *p, char *line)
{
	struct winsize ws;

	if (p->tty && ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 && strlen(line) >= ws.ws_col)
		line[ws.ws_col - 1] = '\0';
	fprintf(stderr, p->tty ? "\r%s\033[K" : "%s\n", line);
	fflush(stderr);
}

void fe_progress_update(void *ctx, uint64_t bytes_done, uint64_t bytes_total,
			size_t members_done, size_t members_total)
{
	struct fe_progress *p = ctx;
	double t = now(), elapsed, rate;
	char done[32], total[32], speed[32], left[32] = "", line[256];

	if (!p || !due(p, t, bytes_done >= bytes_total && members_done >= members_total))
		return;
	elapsed = t - p->start;
	rate = elapsed > 0 ? (double)bytes_done / elapsed : 0;
	human(done, sizeof(done), (double)bytes_done);
	human(total, sizeof(total), (double)bytes_total);
	human(speed, sizeof(speed), rate);
	if (rate > 0 && bytes_done < bytes_total) {
		unsigned long s = (unsigned long)((double)(bytes_total - bytes_done) / rate + 0.5);
		snprintf(left, sizeof(left), ", %lu:%02lu left", s / 60, s % 60);
	}
	snprintf(line, sizeof(line), "%s: %s: %s / %s (%d%%), %zu/%zu members, %s/s%s", fe_prog,
		 p->label, done, total,
		 bytes_total ? (int)(100.0 * (double)bytes_done / (double)bytes_total) : 100,
		 members_done, members_total, speed, left);
	draw(p, line);
	p->drawn = 1;
	p->last = t;
}

void fe_progress_end(struct fe_progress *p)
{
	if (!p)
		return;
	if (p->drawn && p->tty) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	free(p);
}
