/* SPDX-License-Identifier: MIT */
/*
 * The resource files of a directory, read, checked and digested ahead on the writer's threads
 * while the walk adds them in name order (writer_prepare_start, _wait, _end).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <jansson.h>

#include "internal.h"
#include "writer.h"

/* A prepared file's problem when there was no memory to keep it: shared, never freed. */
static struct appkg_err prepare_no_memory = {APPKG_ERR_NO_MEMORY, "out of memory", 0, 0};

/* What prepare_bytes found about p, forgotten. */
static void prepare_forget(struct writer_prepared *p)
{
	p->data.len = 0;
	if (p->err != &prepare_no_memory)
		free(p->err);
	p->err = NULL;
}

/* Read a resource file into p->data, then scan and check its bytes into p: the work of adding
 * it that touches no handle, so any thread may do it. The bytes stay in p->data for the add,
 * which frames them (read once). 1 when they are ready to digest; 0 with the problem kept in
 * p->err, and the bytes dropped. *mode (if mode): io_read_file_at's. */
static int prepare_bytes(struct writer_prepared *p, mode_t *mode)
{
	char subject[2 * 256 + 32]; /* the walk's type and name are file names */
	struct appkg_err e;
	int ok = 0;

	e.code = 0;
	if (!writer_resource_path(subject, sizeof(subject), p->type, p->name))
		appkg_fail(&e, APPKG_ERR_NAME_LENGTH, "%s: path too long", p->fs_path);
	else if (!io_read_file_at(p->dirfd >= 0 ? p->dirfd : AT_FDCWD,
				  p->dirfd >= 0 ? p->file : p->fs_path, p->fs_path, &p->data,
				  APPKG_MAX_RESOURCE_SIZE, mode, &e) &&
		 !writer_check_bytes(&e, &p->m, p->data.data, p->data.len, subject)) {
		p->m.size = p->data.len;
		ok = 1;
	}
	if (!e.code)
		return ok;
	prepare_forget(p);
	if ((p->err = malloc(sizeof(*p->err))))
		*p->err = e;
	else
		p->err = &prepare_no_memory;
	return 0;
}

/* prepare_bytes, then the digest of the bytes. */
void writer_prepare_one(struct writer_prepared *p)
{
	if (prepare_bytes(p, NULL))
		digest_bytes(p->m.digest, p->data.data, p->data.len);
}

/* How far the threads may read ahead of the caller: items and bytes held (the item the
 * caller waits for is always taken). */
#define PREPARE_AHEAD_ITEMS 256
#define PREPARE_AHEAD_BYTES (8u << 20)
/* A thread digests the files it reads a batch at a time, on the eight lanes of
 * blake2b_256_many: up to PREPARE_BATCH items, read one after the other until
 * PREPARE_BATCH_BYTES are read. The items of a batch count as held once they are seen, so
 * the bytes held ahead may exceed PREPARE_AHEAD_BYTES by a batch a thread, at most
 * PREPARE_BATCH_BYTES and one file (a thread read up to one file past it before). */
#define PREPARE_BATCH 16
#define PREPARE_BATCH_BYTES (512u << 10)
/* Buffers kept for reuse, and the largest one kept: reading into memory that is already
 * mapped spares a page fault per page of every file. */
#define PREPARE_POOL (PREPARE_AHEAD_ITEMS + PREPARE_BATCH * MAX_THREADS + 2)
#define PREPARE_POOL_MAX_CAP (1u << 20)

/* Files prepared ahead by threads while the caller walks them in order (writer_prepare_start,
 * _wait, _end): item i is seen once a thread is through with it, done if it was prepared,
 * both under the lock; the caller, waiting for one, prepares the next untaken item itself.
 * The items before the one the caller waits for are done with: their bytes go back to the
 * pool. With no thread (-T 1) the caller prepares each item as it waits for it. A thread
 * takes items a batch at a time (prepare_batch), the caller one at a time. */
struct prepare_job {
	struct writer_prepared *items;
	size_t n, next;  /* next: the first item no thread has taken */
	size_t waited;   /* the item the caller waits for or adds */
	size_t held;     /* bytes of prepared items from waited on */
	int stop;
	size_t wants;    /* the item the caller sleeps on, or SIZE_MAX */
	int blocked;     /* threads asleep until the caller moves on */
	pthread_mutex_t lock;
	pthread_cond_t seen, room; /* the item the caller wants seen; room to read ahead, or stop */
	pthread_t tid[MAX_THREADS];
	int nthreads;
	struct prepare_pool *pool; /* the writer's */
};

/* Empty buffers to read into, kept by the writer from one job to the next. */
struct prepare_pool {
	struct buf b[PREPARE_POOL];
	size_t n;
};

void writer_pool_free(struct prepare_pool *pool)
{
	while (pool && pool->n)
		buf_free(&pool->b[--pool->n]);
	free(pool);
}

/* The next item to take, under the lock: a thread waits while it would run too far ahead, the
 * caller (own) never does. n when none is left. */
static size_t take_next(struct prepare_job *j, int own)
{
	for (;;) {
		size_t i = j->next;
		if (j->stop || i >= j->n)
			return j->n;
		if (own || i == j->waited ||
		    (i < j->waited + PREPARE_AHEAD_ITEMS && j->held < PREPARE_AHEAD_BYTES)) {
			j->next++;
			return i;
		}
		j->blocked++;
		pthread_cond_wait(&j->room, &j->lock);
		j->blocked--;
	}
}

/* Under the lock: p's bytes back to the pool (or freed). */
static void pool_put(struct prepare_job *j, struct writer_prepared *p)
{
	if (p->data.data && j->pool && j->pool->n < PREPARE_POOL &&
	    p->data.cap <= PREPARE_POOL_MAX_CAP) {
		p->data.len = 0;
		j->pool->b[j->pool->n++] = p->data;
		p->data = (struct buf){0};
	}
	buf_free(&p->data);
}

/* Under the lock: take item i, with a buffer from the pool to read it into. */
static struct writer_prepared *take_item(struct prepare_job *j, size_t i)
{
	struct writer_prepared *p = &j->items[i];

	if (!p->skip && !p->data.data && j->pool && j->pool->n)
		p->data = j->pool->b[--j->pool->n];
	return p;
}

/* What a thread found of a taken item, kept until it is seen. */
struct prepare_found {
	size_t i;
	int done, stated, digest; /* digest: read and checked, to digest */
	mode_t mode;
};

/* Read and check item f->i if it is a regular file: only a regular file is read ahead (never
 * a device or a FIFO); anything else, if the walk takes it for a resource after all, is read
 * when added and refused then. The digest is left to the caller (f->digest). A file the
 * directory listed as regular is opened at once (O_NONBLOCK, no open of a FIFO can block),
 * and the fstat of what opened tells: one path lookup instead of two. Anything else (or a
 * file that changed meanwhile, or did not open) is looked at with lstat first. */
static void prepare_found(struct prepare_job *j, struct prepare_found *f)
{
	struct writer_prepared *p = &j->items[f->i];
	struct stat st;
	mode_t mode = 0; /* stays 0 when no open was tried (a name too long) */

	f->done = f->stated = f->digest = 0;
	f->mode = 0;
	if (p->skip)
		return; /* prepared when added, if it is */
	if (p->listed_regular) {
		f->digest = prepare_bytes(p, &mode);
		if (S_ISREG(mode)) {
			f->done = f->stated = 1;
			f->mode = mode;
			return;
		}
		prepare_forget(p);
		f->digest = 0;
	}
	f->stated = (p->dirfd >= 0 ? fstatat(p->dirfd, p->file, &st, AT_SYMLINK_NOFOLLOW)
				   : lstat(p->fs_path, &st)) == 0;
	if (f->stated)
		f->mode = st.st_mode;
	if (f->stated && S_ISREG(st.st_mode)) {
		f->digest = prepare_bytes(p, NULL);
		f->done = 1;
	}
}

/* Under the lock: item f->i is seen, its bytes held ahead or, when the caller has passed it,
 * given back. */
static void mark_seen(struct prepare_job *j, const struct prepare_found *f)
{
	struct writer_prepared *p = &j->items[f->i];

	if (p->skip)
		return;
	p->done = f->done;
	p->stated = f->stated;
	p->mode = f->mode;
	p->seen = 1;
	if (f->i >= j->waited) {
		p->held = p->data.len;
		j->held += p->held;
	} else {
		pool_put(j, p);
	}
	if (j->wants == f->i)
		pthread_cond_signal(&j->seen);
}

/* The caller: take the next item nobody took and prepare it; 0 when none was left. */
static int prepare_next(struct prepare_job *j)
{
	struct prepare_found f;

	pthread_mutex_lock(&j->lock);
	f.i = take_next(j, 1);
	if (f.i < j->n)
		take_item(j, f.i);
	pthread_mutex_unlock(&j->lock);
	if (f.i >= j->n)
		return 0;
	prepare_found(j, &f);
	if (f.digest)
		digest_bytes(j->items[f.i].m.digest, j->items[f.i].data.data,
			     j->items[f.i].data.len);
	pthread_mutex_lock(&j->lock);
	mark_seen(j, &f);
	pthread_mutex_unlock(&j->lock);
	return 1;
}

/* Under the lock: one more item for the k items of batch, or n. The batch never
 * waits for room (it holds items the caller may want), and stops growing once the caller
 * waits for one of its items. */
static size_t take_more(struct prepare_job *j, const struct prepare_found *batch, size_t k)
{
	size_t i = j->next;

	for (size_t b = 0; b < k; b++)
		if (j->wants == batch[b].i)
			return j->n;
	if (j->stop || i >= j->n || i >= j->waited + PREPARE_AHEAD_ITEMS ||
	    j->held >= PREPARE_AHEAD_BYTES)
		return j->n;
	j->next++;
	return i;
}

/* Digest the items of a batch that were read and checked, all at once. */
static void digest_batch(struct prepare_job *j, const struct prepare_found *batch, size_t k)
{
	unsigned char out[PREPARE_BATCH][32];
	const void *data[PREPARE_BATCH];
	size_t len[PREPARE_BATCH], at[PREPARE_BATCH], n = 0;

	for (size_t b = 0; b < k; b++) {
		if (!batch[b].digest)
			continue;
		data[n] = j->items[batch[b].i].data.data;
		len[n] = j->items[batch[b].i].data.len;
		at[n++] = batch[b].i;
	}
	blake2b_256_many(out, data, len, n);
	for (size_t b = 0; b < n; b++)
		memcpy(j->items[at[b]].m.digest, out[b], 32);
}

/* A thread: take a batch of items nobody took, prepare them, digest them together, and only
 * then mark them seen; 0 when none was left. Only the first item is waited for (with no item
 * held yet), so the caller waiting for an item of a batch waits for reads and a digest, never
 * for itself. */
static int prepare_batch(struct prepare_job *j)
{
	struct prepare_found batch[PREPARE_BATCH];
	size_t k = 0, bytes = 0, i;

	pthread_mutex_lock(&j->lock);
	i = take_next(j, 0);
	while (i < j->n) {
		take_item(j, i);
		pthread_mutex_unlock(&j->lock);
		batch[k].i = i;
		prepare_found(j, &batch[k]);
		bytes += j->items[i].data.len;
		k++;
		pthread_mutex_lock(&j->lock);
		if (k == PREPARE_BATCH || bytes >= PREPARE_BATCH_BYTES)
			break;
		i = take_more(j, batch, k);
	}
	pthread_mutex_unlock(&j->lock);
	if (!k)
		return 0;
	digest_batch(j, batch, k);
	pthread_mutex_lock(&j->lock);
	for (size_t b = 0; b < k; b++)
		mark_seen(j, &batch[b]);
	pthread_mutex_unlock(&j->lock);
	return 1;
}

static void *prepare_some(void *arg)
{
	while (prepare_batch(arg))
		;
	return NULL;
}

struct prepare_job *writer_prepare_start(appkg_writer *w, struct writer_prepared *items, size_t n)
{
	struct prepare_job *j;

	if (n < 2 || !(j = calloc(1, sizeof(*j))))
		return NULL; /* each file is prepared when it is added */
	if (!w->pool)
		w->pool = calloc(1, sizeof(*w->pool)); /* NULL: no reuse, no harm */
	j->pool = w->pool;
	j->items = items;
	j->n = n;
	j->wants = SIZE_MAX;
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->seen, NULL);
	pthread_cond_init(&j->room, NULL);
	while (w->threads > 1 && j->nthreads < w->threads &&
	       pthread_create(&j->tid[j->nthreads], NULL, prepare_some, j) == 0)
		j->nthreads++;
	return j;
}

/* The caller is through with the items before i: their bytes go, the threads may go on. */
static void move_waited(struct prepare_job *j, size_t i)
{
	for (; j->waited < i; j->waited++) {
		struct writer_prepared *p = &j->items[j->waited];
		if (!p->seen && !p->skip)
			continue; /* still being read: its bytes go back when it is seen */
		j->held -= p->held;
		p->held = 0;
		pool_put(j, p);
	}
	/* the sleepers are woken once there is room for a good run, not for every item */
	if (j->blocked && j->next < j->waited + PREPARE_AHEAD_ITEMS / 2 &&
	    j->held < PREPARE_AHEAD_BYTES / 2)
		pthread_cond_broadcast(&j->room);
}

void writer_prepare_wait(struct prepare_job *j, size_t i)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	move_waited(j, i);
	while (!j->items[i].skip && !j->items[i].seen) {
		if (j->next <= i) {
			pthread_mutex_unlock(&j->lock);
			prepare_next(j);
			pthread_mutex_lock(&j->lock);
		} else {
			j->wants = i;
			pthread_cond_wait(&j->seen, &j->lock);
			j->wants = SIZE_MAX;
		}
	}
	pthread_mutex_unlock(&j->lock);
}

void writer_prepare_end(struct prepare_job *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->stop = 1; /* what is left is not needed */
	pthread_cond_broadcast(&j->room);
	pthread_mutex_unlock(&j->lock);
	for (int i = 0; i < j->nthreads; i++)
		pthread_join(j->tid[i], NULL);
	pthread_cond_destroy(&j->seen);
	pthread_cond_destroy(&j->room);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

void writer_prepared_free(struct writer_prepared *p)
{
	buf_free(&p->data);
	if (p->err != &prepare_no_memory)
		free(p->err);
	p->err = NULL;
	json_decref(p->m.uses);
	json_decref(p->m.secret_refs);
	p->m.uses = p->m.secret_refs = NULL;
}
