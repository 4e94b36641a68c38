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
