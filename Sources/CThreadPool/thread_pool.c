#include "cxr_thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
static inline void relax(void) { _mm_pause(); }
#elif defined(__aarch64__)
static inline void relax(void) { __asm__ __volatile__("yield"); }
#else
static inline void relax(void) {}
#endif

enum { MAX_WORKERS = 255 };

/* A loop's task; two slots, as loop n + 1 is published while a late worker may still read loop n's (it then
   fails to claim). The fields are atomic only because such a reader may race with the next publication. */
struct loop {
    _Atomic(cxr_pool_task) task;
    _Atomic(void *) context;
    _Atomic long count;
    _Atomic long done;
};

static struct loop loops[2];
/* Sequence number of the current loop (high 32 bits) and its next unclaimed item (low 32 bits). */
static _Atomic uint64_t ticket;
static _Atomic int sleepers;
static pthread_mutex_t sleep_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sleep_cond = PTHREAD_COND_INITIALIZER;
/* Held by the thread running a loop: another thread's loop meanwhile runs on its own thread alone. */
static pthread_mutex_t run_mutex = PTHREAD_MUTEX_INITIALIZER;
static int started;
static long spin_ns = 300 * 1000;

void cxr_pool_set_spin_microseconds(long microseconds) { spin_ns = microseconds * 1000; }

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

/* Claims and runs items of loop `sequence` until none is left (or a later loop has started). */
static void work(uint32_t sequence) {
    struct loop *l = &loops[sequence & 1];
    uint64_t t = atomic_load_explicit(&ticket, memory_order_acquire);
    for (;;) {
        if ((uint32_t)(t >> 32) != sequence) return;
        long count = atomic_load_explicit(&l->count, memory_order_relaxed);
        long i = (long)(uint32_t)t;
        if (i >= count) return;
        if (!atomic_compare_exchange_weak_explicit(&ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire))
            continue;
        cxr_pool_task task = atomic_load_explicit(&l->task, memory_order_relaxed);
        task(atomic_load_explicit(&l->context, memory_order_relaxed), i);
        atomic_fetch_add_explicit(&l->done, 1, memory_order_release);
        t = atomic_load_explicit(&ticket, memory_order_acquire);
    }
}

static void *worker_main(void *unused) {
    (void)unused;
    uint32_t seen = (uint32_t)(atomic_load(&ticket) >> 32);
    for (;;) {
        long spun_since = now_ns();
        int spins = 0;
        uint32_t sequence;
        while ((sequence = (uint32_t)(atomic_load_explicit(&ticket, memory_order_acquire) >> 32)) == seen) {
            relax();
            /* Now and then give the core to whatever else could run on it (on a busy machine, maybe the caller). */
            if (++spins % 128 != 0) continue;
            sched_yield();
            if (now_ns() - spun_since < spin_ns) continue;
            pthread_mutex_lock(&sleep_mutex);
            atomic_fetch_add(&sleepers, 1);
            while ((uint32_t)(atomic_load(&ticket) >> 32) == seen) pthread_cond_wait(&sleep_cond, &sleep_mutex);
            atomic_fetch_sub(&sleepers, 1);
            pthread_mutex_unlock(&sleep_mutex);
            spun_since = now_ns();
        }
        seen = sequence;
        work(sequence);
    }
    return NULL;
}

void cxr_pool_run(int workers, long count, cxr_pool_task task, void *context) {
    if (workers <= 0 || count <= 1 || count > INT32_MAX || pthread_mutex_trylock(&run_mutex) != 0) {
        for (long i = 0; i < count; i++) task(context, i);
        return;
    }
    if (workers > MAX_WORKERS) workers = MAX_WORKERS;
    while (started < workers) {
        pthread_t thread;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        int failed = pthread_create(&thread, &attr, worker_main, NULL);
        pthread_attr_destroy(&attr);
        if (failed) break; /* run with the workers there are (the caller alone at worst) */
        started++;
    }
    uint32_t sequence = (uint32_t)(atomic_load(&ticket) >> 32) + 1;
    struct loop *l = &loops[sequence & 1];
    atomic_store_explicit(&l->task, task, memory_order_relaxed);
    atomic_store_explicit(&l->context, context, memory_order_relaxed);
    atomic_store_explicit(&l->count, count, memory_order_relaxed);
    atomic_store_explicit(&l->done, 0, memory_order_relaxed);
    atomic_store(&ticket, (uint64_t)sequence << 32); /* publishes the slot (sequentially consistent) */
    if (atomic_load(&sleepers) > 0) {
        pthread_mutex_lock(&sleep_mutex);
        pthread_cond_broadcast(&sleep_cond);
        pthread_mutex_unlock(&sleep_mutex);
    }
    work(sequence);
    /* Items a worker claimed may still run: wait, yielding now and then in case that worker shares our core. */
    for (int spins = 1; atomic_load_explicit(&l->done, memory_order_acquire) < count; spins++) {
        relax();
        if (spins % 1024 == 0) sched_yield();
    }
    pthread_mutex_unlock(&run_mutex);
}
