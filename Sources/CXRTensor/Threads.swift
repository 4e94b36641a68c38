import COpenBLAS
import CThreadPool
import Foundation

/// The one thread budget of our parallel loops, which also split every GEMM among the threads (`gemm`).
///
/// OpenBLAS itself runs single-threaded. Why: at the small shapes of a 256 px edit (a UNet call is ~200 GEMMs of
/// 1-10 MFLOP) its threading cost more than it gave: each threaded call hands work to its worker threads and waits
/// for them, and the workers then spin for ~0.1 s (sched_yield), competing with our own loops for the cores. A GEMM
/// split by our loops is one hand-off, and a Winograd convolution spreads its 16 GEMMs over the threads in one. The
/// splits keep every element's arithmetic that of one single-threaded call (`gemmRowBlock`), so results no longer
/// depend on the thread count (OpenBLAS's own threading changed the last bits of some elements).
public enum ComputeThreads {
    nonisolated(unsafe) private static var _count: Int = defaultCount()

    /// Cores available to this process (honours `CXR_EDIT_THREADS`).
    public static func defaultCount() -> Int {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Current number of threads.
    public static var count: Int { _count }

    /// Sets the number of threads for our loops and GEMMs. Call once, before any computation.
    public static func set(_ n: Int) {
        _count = max(1, n)
        OpenBLASThreads.singleThreaded()
    }

    /// Address space a run needs besides the per-thread share: runtime, libraries, model, images (bytes).
    public static let baseAddressSpace = 768 << 20
    /// Address space each thread adds: OpenBLAS's 128 MiB work buffer plus its stack.
    public static let addressSpacePerThread = 136 << 20

    /// The address-space limit (`ulimit -v`, RLIMIT_AS) in bytes, or nil when there is none.
    public static func addressSpaceLimit() -> Int? {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_AS.rawValue), &rl) == 0, rl.rlim_cur != rlim_t.max,
            rl.rlim_cur < rlim_t(Int.max)
        else { return nil }
        return Int(rl.rlim_cur)
    }

    /// `n` threads reduced to what fits the address-space limit, or nil when not even one thread fits.
    ///
    /// Why: when OpenBLAS cannot map a thread's work buffer it retries for ever (a silent hang under a
    /// 400-700 MB limit), and threads it could not start made it hang at exit; so the count must fit before
    /// the first BLAS call rather than fail inside it.
    public static func fitting(_ n: Int, limit: Int? = addressSpaceLimit()) -> Int? {
        guard let limit else { return max(1, n) }
        let fit = (limit - baseAddressSpace) / addressSpacePerThread
        return fit >= 1 ? min(max(1, n), fit) : nil
    }

}

/// OpenBLAS kept to the calling thread (see `ComputeThreads`).
enum OpenBLASThreads {
    private static let once: Void = {
        openblas_set_num_threads(1)
        // The worker threads OpenBLAS started when it loaded are never used now, but each spins in sched_yield
        // for its thread timeout first (about 0.1 s), on the core the first loops of an edit need. pthreads builds
        // (Debian's) export the call that ends them; others run on as before.
        #if os(Linux)
            typealias Shutdown = @convention(c) () -> Int32
            // RTLD_DEFAULT (a null handle): the symbol as the process resolves it, i.e. OpenBLAS's.
            if let symbol = dlsym(nil, "blas_thread_shutdown_") {
                _ = unsafeBitCast(symbol, to: Shutdown.self)()
            }
        #endif
    }()

    /// Makes OpenBLAS single-threaded (it starts with all cores, or OPENBLAS_NUM_THREADS) and ends its idle worker
    /// threads; cheap after the first call.
    @inline(__always)
    static func singleThreaded() { once }
}

/// Data-parallel loops on the calling thread and CThreadPool's workers, bounded by `ComputeThreads.count`.
///
/// Why not Dispatch's `concurrentPerform`: it wakes a sleeping worker for every loop, which on the 2-core machines
/// measured took longer than most of a small model's loops, so the caller ran them alone and 2 threads were slower
/// than 1; the pool's workers spin briefly between loops (see `cxr_pool_run`).
///
/// A loop started inside another loop's body runs inline on that thread: the outer loop already occupies every
/// thread, and a hand-off per inner loop would cost more than it saves (a GEMM inside a Winograd worker).
public enum Parallel {
    /// Runs `body(i)` for i in 0..<n, split into contiguous chunks over the thread budget.
    @inline(__always)
    public static func `for`(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
        let threads = ComputeThreads.count
        if threads <= 1 || n <= minChunk || isInsideLoop {
            for i in 0..<n { body(i) }
            return
        }
        let chunks = min(threads, (n + minChunk - 1) / minChunk)
        fork(chunks) { c in
            let lo = n * c / chunks, hi = n * (c + 1) / chunks
            for i in lo..<hi { body(i) }
        }
    }

    /// Runs `body(lo, hi)` over contiguous ranges covering 0..<n.
    @inline(__always)
    public static func ranges(_ n: Int, minChunk: Int = 1024, _ body: (Int, Int) -> Void) {
        let threads = ComputeThreads.count
        if threads <= 1 || n <= minChunk || isInsideLoop {
            body(0, n)
            return
        }
        let chunks = min(threads, (n + minChunk - 1) / minChunk)
        fork(chunks) { c in body(n * c / chunks, n * (c + 1) / chunks) }
    }

    /// Marks the threads running a loop's body (a thread-specific value: non-nil inside).
    private static let insideKey: pthread_key_t = makeThreadSpecificKey()

    /// Whether this thread is running the body of a parallel loop.
    static var isInsideLoop: Bool { pthread_getspecific(insideKey) != nil }

    /// Workers beyond the cores would only spin against each other (`--threads` above the core count).
    private static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs item `c` of a loop whose `(Int) -> Void` body `context` points to, marked as inside a loop.
    private static let runItem: cxr_pool_task = { context, c in
        pthread_setspecific(Parallel.insideKey, UnsafeRawPointer(bitPattern: 1))
        context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(c)
        pthread_setspecific(Parallel.insideKey, nil)
    }

    /// `body(c)` for c in 0..<chunks on the calling thread and the pool's workers (`cxr_pool_run`), each marked as
    /// inside a loop.
    private static func fork(_ chunks: Int, _ body: (Int) -> Void) {
        withoutActuallyEscaping(body) { body in
            var task = body
            withUnsafeMutablePointer(to: &task) { context in
                cxr_pool_run(Int32(min(ComputeThreads.count, cores) - 1), chunks, Parallel.runItem, context)
            }
        }
    }
}
