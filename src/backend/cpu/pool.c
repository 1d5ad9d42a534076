/* The CPU backend's thread pool: one job at a time, published under a mutex with a generation
 * counter; worker i runs chunk i, the caller runs chunk 0 and waits for the rest. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "pool.h"

typedef struct worker {
    mg_pool *pool;
    int index;
    pthread_t thread;
} worker;

struct mg_pool {
    int n_threads;
    worker *workers;
    pthread_mutex_t lock;
    pthread_cond_t wake, done;
    unsigned long generation;
    bool stop;
    /* the current job */
    mg_pool_fn fn;
    void *arg;
    size_t n;
    int n_chunks;
    int pending;
};

static void chunk_bounds(size_t n, int n_chunks, int i, size_t *begin, size_t *end)
{
    *begin = n * (size_t)i / (size_t)n_chunks;
    *end = n * (size_t)(i + 1) / (size_t)n_chunks;
}

static void *worker_main(void *p)
{
    worker *w = p;
    mg_pool *pool = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->generation == seen && !pool->stop)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stop)
            break;
        seen = pool->generation;
        if (w->index >= pool->n_chunks)
            continue;
        mg_pool_fn fn = pool->fn;
        void *arg = pool->arg;
        size_t begin, end;
        chunk_bounds(pool->n, pool->n_chunks, w->index, &begin, &end);
        pthread_mutex_unlock(&pool->lock);
        fn(arg, begin, end);
        pthread_mutex_lock(&pool->lock);
        if (--pool->pending == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->lock);
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
    pthread_cond_init(&pool->done, NULL);
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
    pool->stop = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 1; pool->workers && i < pool->n_threads; i++)
        pthread_join(pool->workers[i].thread, NULL);
    pthread_cond_destroy(&pool->done);
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
    pthread_mutex_lock(&pool->lock);
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->n_chunks = n_chunks;
    pool->pending = n_chunks - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);

    size_t begin, end;
    chunk_bounds(n, n_chunks, 0, &begin, &end);
    fn(arg, begin, end);

    pthread_mutex_lock(&pool->lock);
    while (pool->pending > 0)
        pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
}
