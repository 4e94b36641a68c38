import COpenBLAS
import Dispatch
import Foundation

/// The one thread budget shared by OpenBLAS and our own parallel loops.
///
/// BLAS calls and our `Parallel.for` loops never run at the same time (every kernel is a sequence of
/// phases), so both may use the whole budget without oversubscribing the cores.
public enum ComputeThreads {
    nonisolated(unsafe) private static var _count: Int = defaultCount()

    /// Cores available to this process (honours `CXR_EDIT_THREADS`).
    public static func defaultCount() -> Int {
        if let s = ProcessInfo.processInfo.environment["CXR_EDIT_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// Current number of threads.
    public static var count: Int { _count }

    /// Sets the number of threads for BLAS and for our loops. Call once, before any computation.
    public static func set(_ n: Int) {
        _count = max(1, n)
        openblas_set_num_threads(Int32(_count))
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

    /// Makes sure OpenBLAS uses our budget (it defaults to all cores, or OPENBLAS_NUM_THREADS).
    public static func applyToBLAS() {
        openblas_set_num_threads(Int32(_count))
    }
}

/// Data-parallel loops over Dispatch, bounded by `ComputeThreads.count`.
public enum Parallel {
    /// Runs `body(i)` for i in 0..<n, split into contiguous chunks over the thread budget.
    @inline(__always)
    public static func `for`(_ n: Int, minChunk: Int = 1, _ body: (Int) -> Void) {
        let threads = ComputeThreads.count
        if threads <= 1 || n <= minChunk {
            for i in 0..<n { body(i) }
            return
        }
        let chunks = min(threads, (n + minChunk - 1) / minChunk)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                let lo = n * c / chunks, hi = n * (c + 1) / chunks
                for i in lo..<hi { body(i) }
            }
        }
    }

    /// Runs `body(lo, hi)` over contiguous ranges covering 0..<n.
    @inline(__always)
    public static func ranges(_ n: Int, minChunk: Int = 1024, _ body: (Int, Int) -> Void) {
        let threads = ComputeThreads.count
        if threads <= 1 || n <= minChunk {
            body(0, n)
            return
        }
        let chunks = min(threads, (n + minChunk - 1) / minChunk)
        withoutActuallyEscaping(body) { body in
            DispatchQueue.concurrentPerform(iterations: chunks) { c in
                body(n * c / chunks, n * (c + 1) / chunks)
            }
        }
    }
}
