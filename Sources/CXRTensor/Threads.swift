import CThreadPool
import Foundation

/// The one thread budget of our parallel loops, which also split every GEMM among the threads (`gemm`).
///
/// oneDNN's sgemm runs single-threaded on the calling thread (`cxr_dnnl_sgemm`). Why: at the small shapes of a
/// 256 px edit (a UNet call is ~200 GEMMs of 1-10 MFLOP) a BLAS's own threading cost more than it gave (measured
/// with OpenBLAS, which cxr-edit used before): each threaded call hands work to its worker threads and waits for
/// them, and the workers then spin, competing with our own loops for the cores. A GEMM split by our loops is one
/// hand-off, and a Winograd convolution spreads its 16 GEMMs over the threads in one. A GEMM's cut into calls is
/// fixed by its shape (`GEMMCallPartition`), so results do not depend on the thread count.
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
    }

    /// Address space a run needs besides the per-thread share: runtime, libraries (oneDNN's generated kernels
    /// included), model, images (bytes). Measured under `ulimit -v`: the bundled model's 512 px edit needs
    /// 425-434 MB at 1 and 2 threads (Zen 5, oneDNN 2.6.3); rounded up to 448 MiB.
    public static let baseAddressSpace = 448 << 20
    /// Address space each thread adds: its stack (8 MiB, the default RLIMIT_STACK) and the 64 MiB glibc reserves
    /// for the thread's malloc arena, where oneDNN's packing buffers live. Measured: 72 MiB per thread of 16
    /// threads, each running UNet-shaped sgemms (VmPeak).
    public static let addressSpacePerThread = 72 << 20

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
    /// Why: a run that meets the limit inside the work ends badly (a Swift allocation's fatal error, and oneDNN
    /// crashes if it cannot get memory while generating its kernels; OpenBLAS, used before, even retried its buffer
    /// for ever), so the count must fit before the first GEMM rather than fail inside it.
    public static func fitting(_ n: Int, limit: Int? = addressSpaceLimit()) -> Int? {
        guard let limit else { return max(1, n) }
        let fit = (limit - baseAddressSpace) / addressSpacePerThread
        return fit >= 1 ? min(max(1, n), fit) : nil
    }

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
