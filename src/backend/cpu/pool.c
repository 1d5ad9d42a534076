/* The CPU backend's thread pool: one job at a time. The caller publishes a job by bumping an atomic
 * generation counter; workers spin on it for a short while (a training step issues thousands of small
 * parallel loops, and waking sleeping threads through the kernel for each would cost more than the loops)
 * and then sleep on a condition variable. Worker i runs chunk i, the caller runs chunk 0 and waits for
 * the rest. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pool.h"

/* Polls of the generation counter before a worker goes to sleep: tens of microseconds. */
#define POOL_SPIN 20000

typedef struct worker {
    mg_pool *pool;
    int index;
    pthread_t thread;
} worker;

struct mg_pool {
    int n_threads;
    worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    atomic_uint generation;
    atomic_int pending;  /* workers that have not finished with the current job */
    atomic_int sleepers; /* workers blocked on `wake` */
    atomic_bool stop;
    /* the current job, written before `generation` is bumped */
    mg_pool_fn fn;
    void *arg;
    size_t n;
    int n_chunks;
};

static void chunk_bounds(size_t n, int n_chunks, int i, size_t *begin, size_t *end)
{
    *begin = n * (size_t)i / (size_t)n_chunks;
    *end = n * (size_t)(i + 1) / (size_t)n_chunks;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Waits until the generation differs from seen (or stop); returns the new generation. */
static unsigned worker_wait(mg_pool *pool, unsigned seen)
{
    for (int i = 0; i < POOL_SPIN; i++) {
        unsigned g = atomic_load_explicit(&pool->generation, memory_order_acquire);
        if (g != seen || atomic_load_explicit(&pool->stop, memory_order_relaxed))
            return g;
        cpu_relax();
    }
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add(&pool->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&pool->generation)) == seen && !atomic_load(&pool->stop))
        pthread_cond_wait(&pool->wake, &pool->lock);
    atomic_fetch_sub(&pool->sleepers, 1);
    pthread_mutex_unlock(&pool->lock);
    return g;
}

static void *worker_main(void *p)
{
    worker *w = p;
    mg_pool *pool = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = worker_wait(pool, seen);
        if (atomic_load(&pool->stop))
            break;
        /* Every worker acknowledges every job, with or without a chunk of it, so none can still be
         * reading this job's fields when the caller publishes the next one. */
        if (w->index < pool->n_chunks) {
            size_t begin, end;
            chunk_bounds(pool->n, pool->n_chunks, w->index, &begin, &end);
            pool->fn(pool->arg, begin, end);
        }
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
    return NULL;
}

mg_pool *mg_pool_new(int n_threads)
{
    mg_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->n_threads = n_threads < 1 ? 1 : n_threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->workers = calloc((size_t)pool->n_threads, sizeof *pool->workers);
    if (!pool->workers) {
        mg_pool_free(pool);
        return NULL;
    }
    for (int i = 1; i < pool->n_threads; i++) {
        worker *w = &pool->workers[i];
        w->pool = pool;
        w->index = i;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            pool->n_threads = i; /* only workers 1..i-1 exist */
            mg_pool_free(pool);
            return NULL;
        }
    }
    return pool;
}

void mg_pool_free(mg_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stop, true);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; pool->workers && i < pool->n_threads; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->workers);
    free(pool);
}

int mg_pool_threads(const mg_pool *pool) { return pool->n_threads; }

void mg_pool_for(mg_pool *pool, size_t n, size_t grain, mg_pool_fn fn, void *arg)
{
    if (n == 0)
        return;
    if (grain < 1)
        grain = 1;
    size_t max_chunks = (n + grain - 1) / grain;
    int n_chunks = max_chunks < (size_t)pool->n_threads ? (int)max_chunks : pool->n_threads;
    if (n_chunks <= 1) {
        fn(arg, 0, n);
        return;
    }
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->n_chunks = n_chunks;
    atomic_store_explicit(&pool->pending, pool->n_threads - 1, memory_order_relaxed);
    /* Sequentially consistent, like the sleeper's increment of `sleepers` before it rechecks the
     * generation: either the worker sees the new job or this thread sees the sleeper and wakes it. */
    atomic_fetch_add(&pool->generation, 1);
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    size_t begin, end;
    chunk_bounds(n, n_chunks, 0, &begin, &end);
    fn(arg, begin, end);
    /* Spin briefly, then yield: a worker preempted by another process must get the core back. */
    for (int i = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; i++) {
        if (i < POOL_SPIN)
            cpu_relax();
        else
            sched_yield();
    }
}
