#ifndef CXR_THREAD_POOL_H
#define CXR_THREAD_POOL_H

/* The worker threads of cxr-edit's parallel loops (Parallel in Sources/CXRTensor/Threads.swift).

   Why not Dispatch: a bundled-model edit runs about 8,000 parallel loops of 10-100 microseconds each (every
   GEMM, norm and transform of 25 UNet calls). Dispatch wakes a sleeping worker for each one, which on the 2-core
   virtual machines measured took longer than the loop itself: the caller ran most loops alone, and 2 threads
   were slower than 1 (0.97 against 0.88 s for the edit). These workers spin for a short while after each loop
   (`spin_microseconds`), so the next one, a few microseconds later, starts on both cores at once; idle for
   longer, they sleep on a condition variable. While spinning they yield the core every few microseconds: on a
   machine whose other jobs leave cxr-edit one core, a worker sharing it with the caller must not take the
   caller's time (without the yields an edit took 1.4 s there, against 1.0 s with Dispatch; with them 0.87 s).

   A loop is `count` items claimed one at a time from a counter that also holds the loop's sequence number, so a
   worker arriving late can never claim an item of a later loop; the caller takes items too, and runs every item
   itself when no worker is quick enough. */

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*cxr_pool_task)(void *context, long index);

/* Runs task(context, i) for every i < count, on the calling thread and up to `workers` pool threads (started on
   first use, kept for the process's life), and returns when all have finished. A loop started while another
   runs (from another thread, or from inside a task) runs on its calling thread alone. */
void cxr_pool_run(int workers, long count, cxr_pool_task task, void *context);

/* How long a worker spins for the next loop before it sleeps (default 300; set before the first loop). */
void cxr_pool_set_spin_microseconds(long microseconds);

#ifdef __cplusplus
}
#endif

#endif
