/* The CPU backend's thread pool: one job at a time, issued by one caller thread, which takes part.
 *
 * A job is fn over [0, n) cut into n_chunks contiguous chunks by a rule that depends only on n, grain and the
 * thread count, so which thread runs a chunk never changes what it computes. Chunk i is meant for worker i
 * (the caller is 0: consecutive loops over the same data then find it in the same core's cache), but a
 * thread that has finished its own chunk claims any chunk nobody has started. When another process holds a
 * worker's core, the threads that are running do that worker's share instead of waiting for it to be
 * scheduled again: the pool shrinks to the cores it gets, job by job. The caller waits only for chunks that
 * are running on other threads.
 *
 * Waiting (workers for the next job, the caller for the last running chunk) is a spin, because a training
 * step issues thousands of small loops and a wake-up through the kernel costs more than many of them, then
 * a block in the kernel (a futex on Linux, a condition variable elsewhere), so that a thread whose wait is
 * long gives its core to whoever can use it: a preempted worker, or another process. How long to spin
 * depends on whether the machine has a core to spare (see pool_update_spin): on a quiet machine a spinner only
 * burns a core nobody wants, and a long spin keeps the workers hot; when there are more runnable threads
 * than cores, every spin is taken from a thread with work to do, this pool's or another process's. */
#define _DEFAULT_SOURCE /* syscall() beside the project's _POSIX_C_SOURCE */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"

#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#define POOL_FUTEX 1
/* The kernel waits on a plain 32-bit word; an atomic_uint is one (same size, lock-free). */
_Static_assert(sizeof(atomic_uint) == sizeof(uint32_t), "futex words are 32-bit");
#else
#define POOL_FUTEX 0
#endif

/* Spin budgets in nanoseconds. Measured on a 2-core Zen 4 (U-Net 128 training steps, interleaved runs): with a
 * fixed 2 us spin a step was 1 to 11% slower than with 500 us on a quiet machine, and with 500 us 12 to 20%
 * slower than with 2 us beside one busy process. So: the long spin while the machine has a core to spare,
 * the short one while it is oversubscribed (see pool_probe_delay), which measured as fast as the better of
 * the two in both cases. SPIN_MAX_NS is short against a scheduler time slice (milliseconds). */
#define SPIN_MAX_NS 500000u
#define SPIN_MIN_NS 2000u
/* Without a probe (see pool_probe_delay), a spin that took this much longer than its budget lost the core
 * while spinning. */
#define SPIN_PREEMPTED_NS 200000u
/* Polls between two clock reads: a read (about 20 ns) costs about one poll, and a spin overshoots its
 * budget by at most 32 polls, under a microsecond. */
#define SPIN_POLLS_PER_CHECK 32
/* How often a waiting thread asks the kernel how long it waited for a core (a probe costs about 10 us),
 * and the share of that time above which the machine counts as oversubscribed. Measured per 10 ms window
 * during U-Net 128 steps on 2 cores: quiet, the share was 0 in half the windows and under 0.5% in 90% of
 * them; beside one busy process, 40% in half of them. */
#define PROBE_INTERVAL_NS 10000000u
#define PROBE_BUSY_SHARE  0.05

typedef struct spinner {
    unsigned budget_ns; /* how long the next wait spins before blocking */
    int probe;          /* 1: run-queue delays can be read, 0: not yet known, -1: they cannot */
    uint64_t probe_at;  /* clock at the last probe */
    uint64_t delay_at;  /* this thread's run-queue delay at the last probe, ns */
} spinner;

typedef struct worker {
    mg_pool *pool;
    int index;
    spinner spin;
    pthread_t thread;
} worker;

struct mg_pool {
    int n_threads;
    worker *workers;
    /* Per chunk slot, the generation of the last job whose chunk i was claimed (or that had no chunk i). Every
     * slot holds generation - 1 when a job is published, since the previous job ended only once all of its
     * chunks were claimed and finished; claiming chunk i of job g is the one transition g - 1 -> g, which
     * exactly one thread wins, and which a thread still holding an old generation cannot make. */
    atomic_uint *claimed;
    /* Bumped (release) after the job below is written; futex word the sleeping workers wait on. */
    _Alignas(64) atomic_uint generation;
    atomic_int sleepers; /* workers blocked on generation, or about to be */
    atomic_bool stop;
    /* The current job: written by the caller before generation is bumped, read by a worker only after it has
     * claimed a chunk of that very job, which keeps the job current until the chunk is finished. */
    mg_pool_fn fn;
    void *arg;
    size_t n;
    int n_chunks;
    /* Chunks of the current job not finished yet; futex word the caller waits on. Written by every thread
     * at the end of a chunk, so kept off the line the workers poll. */
    _Alignas(64) atomic_uint remaining;
    atomic_bool caller_sleeping;
    spinner caller_spin;
#if !POOL_FUTEX
    pthread_mutex_t lock;
    pthread_cond_t wake;
#endif
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
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static uint64_t pool_read_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ blocking */
/* Sleeps while *word == expected. May return early (spurious wake-up, signal): every caller loops on its
 * condition. A waker changes the word first and wakes second, and the kernel compares the word under the
 * lock the wake takes (the fallback: under the mutex the waker takes), so a change made after the
 * sleeper's last look always finds it queued. */
static void pool_block_word(mg_pool *pool, atomic_uint *word, unsigned expected)
{
#if POOL_FUTEX
    (void)pool;
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
#else
    pthread_mutex_lock(&pool->lock);
    while (atomic_load(word) == expected)
        pthread_cond_wait(&pool->wake, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
#endif
}

static void pool_wake_word(mg_pool *pool, atomic_uint *word, int count)
{
#if POOL_FUTEX
    (void)pool;
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
#else
    (void)word, (void)count; /* one condition variable for both words: wake everyone, they recheck */
    pthread_mutex_lock(&pool->lock);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
#endif
}

/* ------------------------------------------------------------------ spinning */
/* Spins until (*word == value) == want_equal or the budget is spent; true when the condition held. The
 * acquire loads pair with the release that changed the word. *elapsed_ns: how long the spin took. */
static bool pool_spin_word(const atomic_uint *word, unsigned value, bool want_equal, unsigned budget_ns,
                           uint64_t *elapsed_ns)
{
    uint64_t start = pool_read_clock(), now = start;
    bool met = false;
    while (!met) {
        for (int i = 0; i < SPIN_POLLS_PER_CHECK; i++) {
            if ((atomic_load_explicit(word, memory_order_acquire) == value) == want_equal) {
                met = true;
                break;
            }
            cpu_relax();
        }
        now = pool_read_clock();
        if (now - start >= budget_ns)
            break;
    }
    *elapsed_ns = now - start;
    return met;
}

/* The time the calling thread has spent runnable but waiting for a core, from the kernel's scheduler
 * statistics (Linux 3.17 and later); false where they cannot be read. */
static bool pool_read_delay(uint64_t *delay_ns)
{
#if defined(__linux__)
    int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char text[128];
    ssize_t len = read(fd, text, sizeof text - 1);
    close(fd);
    unsigned long long on_cpu, waiting;
    if (len <= 0)
        return false;
    text[len] = '\0';
    if (sscanf(text, "%llu %llu", &on_cpu, &waiting) != 2)
        return false;
    *delay_ns = waiting;
    return true;
#else
    (void)delay_ns;
    return false;
#endif
}

/* Every PROBE_INTERVAL_NS: did this thread wait for a core for more than PROBE_BUSY_SHARE of the time
 * since the last probe? Sets the budget from the answer. False where no probe is possible. A thread that
 * becomes the caller after another had been (the pool allows any one caller at a time) compares its
 * delay with the other's once, which costs one interval of a wrong budget. */
static bool pool_probe_delay(spinner *s, uint64_t now)
{
    if (s->probe < 0)
        return false;
    if (s->probe > 0 && now - s->probe_at < PROBE_INTERVAL_NS)
        return true;
    uint64_t delay;
    if (!pool_read_delay(&delay)) {
        s->probe = -1;
        return false;
    }
    if (s->probe > 0) {
        double share = delay > s->delay_at ? (double)(delay - s->delay_at) / (double)(now - s->probe_at) : 0;
        s->budget_ns = share > PROBE_BUSY_SHARE ? SPIN_MIN_NS : SPIN_MAX_NS;
    }
    s->probe = 1;
    s->probe_at = now;
    s->delay_at = delay;
    return true;
}

/* After a wait that spun: the probe decides where there is one. Elsewhere, a spin that took far longer
 * than its budget was preempted, which means more runnable threads than cores, and drops to the floor; a
 * spin that ran out halves the next one (spinning through gaps that long only burns a core another thread
 * may want); a spin that succeeded doubles it. */
static void pool_update_spin(spinner *s, bool met, uint64_t elapsed_ns)
{
    if (pool_probe_delay(s, pool_read_clock()))
        return;
    unsigned b = s->budget_ns;
    if (elapsed_ns > (uint64_t)b + SPIN_PREEMPTED_NS)
        b = SPIN_MIN_NS;
    else if (met)
        b = b > SPIN_MAX_NS / 2 ? SPIN_MAX_NS : 2 * b;
    else
        b = b / 2 < SPIN_MIN_NS ? SPIN_MIN_NS : b / 2;
    s->budget_ns = b;
}

/* ------------------------------------------------------------------ jobs */
/* Runs every chunk of job g this thread can claim, its own (first) before the others. */
static void pool_run_chunks(mg_pool *pool, unsigned g, int first)
{
    int n_threads = pool->n_threads;
    for (int k = 0; k < n_threads; k++) {
        int i = first + k < n_threads ? first + k : first + k - n_threads;
        unsigned expected = g - 1;
        /* Relaxed is enough: the job's fields were made visible by the acquire load of generation (or, for
         * the caller, are its own writes), and a slot's value says nothing about other memory. A thread whose
         * g is stale fails here: every slot has moved on to at least g, and the compare-exchange, unlike the
         * plain load before it, always reads the latest value. (A thread stale by exactly 2^32 jobs would
         * not fail, but that is hours of loops while it slept.) */
        if (atomic_load_explicit(&pool->claimed[i], memory_order_relaxed) != expected ||
            !atomic_compare_exchange_strong_explicit(&pool->claimed[i], &expected, g, memory_order_relaxed,
                                                     memory_order_relaxed))
            continue;
        size_t begin, end;
        chunk_bounds(pool->n, pool->n_chunks, i, &begin, &end);
        pool->fn(pool->arg, begin, end);
        /* Sequentially consistent (a release at least, so the caller's acquire sees the chunk's writes and
         * this thread's reads of the job are over before the caller writes the next one): with the caller's
         * store of caller_sleeping before its last look at remaining, either the caller sees 0 or this
         * thread sees it asleep and wakes it. */
        if (atomic_fetch_sub(&pool->remaining, 1) == 1 && atomic_load(&pool->caller_sleeping))
            pool_wake_word(pool, &pool->remaining, 1);
    }
}

/* Waits until generation differs from seen; returns it. */
static unsigned pool_wait_job(worker *w, unsigned seen)
{
    mg_pool *pool = w->pool;
    uint64_t elapsed;
    bool met = pool_spin_word(&pool->generation, seen, false, w->spin.budget_ns, &elapsed);
    pool_update_spin(&w->spin, met, elapsed);
    if (met)
        return atomic_load_explicit(&pool->generation, memory_order_acquire);
    /* Sequentially consistent increment before the last look at generation, against the caller's bump
     * before its look at sleepers: either this thread sees the job or the caller sees a sleeper. */
    atomic_fetch_add(&pool->sleepers, 1);
    unsigned g;
    while ((g = atomic_load(&pool->generation)) == seen)
        pool_block_word(pool, &pool->generation, seen);
    atomic_fetch_sub_explicit(&pool->sleepers, 1, memory_order_relaxed);
    return g;
}

static void *worker_main(void *p)
{
    worker *w = p;
    mg_pool *pool = w->pool;
    unsigned seen = 0;
    for (;;) {
        seen = pool_wait_job(w, seen);
        /* mg_pool_free stores stop before it bumps generation, so the acquire that saw the bump sees it. */
        if (atomic_load_explicit(&pool->stop, memory_order_relaxed))
            break;
        pool_run_chunks(pool, seen, w->index);
    }
    return NULL;
}

/* Waits until every chunk of the current job is finished. */
static void pool_wait_chunks(mg_pool *pool)
{
    if (atomic_load_explicit(&pool->remaining, memory_order_acquire) == 0)
        return; /* nothing to wait for: no spin, no clock */
    uint64_t elapsed;
    bool met = pool_spin_word(&pool->remaining, 0, true, pool->caller_spin.budget_ns, &elapsed);
    pool_update_spin(&pool->caller_spin, met, elapsed);
    if (met)
        return;
    unsigned r;
    /* The other half of the handshake in pool_run_chunks: the flag goes up before the last look. */
    atomic_store(&pool->caller_sleeping, true);
    while ((r = atomic_load(&pool->remaining)) != 0)
        pool_block_word(pool, &pool->remaining, r);
    atomic_store_explicit(&pool->caller_sleeping, false, memory_order_relaxed);
}

/* ------------------------------------------------------------------ public */
mg_pool *mg_pool_new(int n_threads)
{
    mg_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->n_threads = n_threads < 1 ? 1 : n_threads;
#if !POOL_FUTEX
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
#endif
    pool->caller_spin.budget_ns = SPIN_MAX_NS;
    pool->workers = calloc((size_t)pool->n_threads, sizeof *pool->workers);
    pool->claimed = calloc((size_t)pool->n_threads, sizeof *pool->claimed);
    if (!pool->workers || !pool->claimed) {
        pool->n_threads = 1; /* no worker has been started */
        mg_pool_free(pool);
        return NULL;
    }
    for (int i = 0; i < pool->n_threads; i++)
        atomic_init(&pool->claimed[i], 0);
    for (int i = 1; i < pool->n_threads; i++) {
        worker *w = &pool->workers[i];
        w->pool = pool;
        w->index = i;
        w->spin.budget_ns = SPIN_MAX_NS;
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
    atomic_store(&pool->stop, true);
    atomic_fetch_add(&pool->generation, 1);
    pool_wake_word(pool, &pool->generation, INT_MAX);
    for (int i = 1; pool->workers && i < pool->n_threads; i++)
        pthread_join(pool->workers[i].thread, NULL);
#if !POOL_FUTEX
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
#endif
    free(pool->claimed);
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
    /* No thread reads these now: the last job's chunks are all finished (pool_wait_chunks), and a new one
     * can be claimed only after the bump below. */
    pool->fn = fn;
    pool->arg = arg;
    pool->n = n;
    pool->n_chunks = n_chunks;
    unsigned g = atomic_load_explicit(&pool->generation, memory_order_relaxed) + 1;
    for (int i = n_chunks; i < pool->n_threads; i++) /* slots without a chunk: claimed already */
        atomic_store_explicit(&pool->claimed[i], g, memory_order_relaxed);
    atomic_store_explicit(&pool->remaining, (unsigned)n_chunks, memory_order_relaxed);
    /* Sequentially consistent (a release at least, for the stores above), against a sleeper's increment of
     * sleepers before its last look at generation. Only as many workers as there are chunks besides the
     * caller's are woken; the others would find nothing to claim. */
    atomic_store(&pool->generation, g);
    int sleepers = atomic_load(&pool->sleepers);
    if (sleepers > 0)
        pool_wake_word(pool, &pool->generation, sleepers < n_chunks - 1 ? sleepers : n_chunks - 1);
    pool_run_chunks(pool, g, 0);
    pool_wait_chunks(pool);
}
