/* A persistent pthread pool for parallel loops. The calling thread takes part; waiting threads spin briefly
 * and then block in the kernel, so an idle pool uses no CPU and a busy machine gets its cores back. */
#ifndef MRIGAN_POOL_H
#define MRIGAN_POOL_H

#include <stddef.h>

typedef struct mg_pool mg_pool;
typedef void (*mg_pool_fn)(void *arg, size_t begin, size_t end);

/* NULL when threads cannot be started. n_threads >= 1 (1: everything runs in the caller). */
mg_pool *mg_pool_new(int n_threads);
void mg_pool_free(mg_pool *pool);
int mg_pool_threads(const mg_pool *pool);
/* Runs fn over [0, n) split into at most n_threads contiguous chunks of at least grain items each.
 * The split depends only on n, grain and the thread count; which thread runs a chunk does not (a thread
 * that is running takes over the chunks of one that another process keeps off its core), so fn must not
 * depend on the thread it runs on. One caller at a time; fn must not call mg_pool_for on the same pool. */
void mg_pool_for(mg_pool *pool, size_t n, size_t grain, mg_pool_fn fn, void *arg);

#endif
