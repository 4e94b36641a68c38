import Foundation

/// A scoped cache of large tensor buffers, so that a model's layers reuse the memory of the activations they are done
/// with instead of asking the kernel for fresh pages.
///
/// Why: glibc serves every block above 32 MiB (its largest mmap threshold, see `HeapSettings`) with a fresh mmap and
/// unmaps it when freed, so each 128-channel 512 px activation of a VAE decode (128 MiB) is faulted in and zeroed by
/// the kernel page by page, layer after layer: about a fifth of a 512 px bf16 decode. Serving such blocks from the heap
/// instead (`M_MMAP_MAX` 0) removed that cost but raised a whole edit's peak memory (freed holes in the heap are
/// reused for other sizes and stay resident). This pool reuses exact sizes only and holds nothing at its peak:
///
/// - `recycle(_:)` moves a finished tensor's buffer into the pool of the calling thread's scope (`withScope`);
/// - `Tensor(unfilled:)` takes a buffer of exactly its element count from it (a hit);
/// - on a miss, the pool frees everything it holds before the new buffer is allocated.
///
/// So the memory of pooled and live buffers together only grows at a miss, where it equals what it would be without
/// the pool (live buffers plus the new one): its peak is never above the pool-less peak. The scope frees what is left
/// when it ends. Buffers below `minimumCount` floats (which glibc's heap already reuses) are not pooled.
///
/// Swift arrays are copy-on-write, so a recycled buffer whose storage something else still references is never
/// written over: the tensor taking it copies first (correct, only slower), and the other holder keeps its values.
public final class TensorBufferPool: @unchecked Sendable {
    /// Element counts from which buffers are pooled: 32 MiB of floats, what glibc would map afresh. Tests lower it so
    /// that a small model's activations go through the pool too.
    nonisolated(unsafe) public static var minimumCount = (32 << 20) / MemoryLayout<Float>.stride

    private let lock = NSLock()
    private var buffers: [Int: [[Float]]] = [:]
    private var hitCount = 0, missCount = 0

    init() {}

    /// Counts of buffers served from the pool and allocated anew (for tests and diagnostics).
    public var statistics: (hits: Int, misses: Int, cachedFloats: Int) {
        lock.lock()
        defer { lock.unlock() }
        return (hitCount, missCount, buffers.values.reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } })
    }

    /// Runs `body` with a pool of its own as the calling thread's (replacing any outer one for the duration) and frees
    /// the pool's buffers at the end. The pool is handed to `body` so callers can read its statistics.
    public static func withScope<R>(_ body: (TensorBufferPool) throws -> R) rethrows -> R {
        let pool = TensorBufferPool()
        let outer = pthread_getspecific(currentKey)
        pthread_setspecific(currentKey, Unmanaged.passUnretained(pool).toOpaque())
        defer {
            pthread_setspecific(currentKey, outer)
            pool.drain()
        }
        return try withExtendedLifetime(pool) { try body(pool) }
    }

    /// The pool of the calling thread's innermost `withScope`, if any.
    static var current: TensorBufferPool? {
        pthread_getspecific(currentKey).map { Unmanaged<TensorBufferPool>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Moves `tensor`'s buffer into the current pool (leaving `tensor` empty) when there is one and the buffer is
    /// large enough to pool; otherwise leaves `tensor` as it is. Call it once a tensor's values are no longer needed.
    public static func recycle(_ tensor: inout Tensor) {
        guard tensor.count >= minimumCount, let pool = current else { return }
        var data: [Float] = []
        swap(&data, &tensor.data)
        tensor.shape = [0]
        pool.give(data)
    }

    /// A buffer of exactly `count` floats from the current pool (contents undefined), or nil where there is no pool,
    /// `count` is below `minimumCount`, or the pool has none of that size (then it frees what it holds).
    static func take(_ count: Int) -> [Float]? {
        guard count >= minimumCount, let pool = current else { return nil }
        return pool.take(count)
    }

    private func give(_ data: [Float]) {
        lock.lock()
        buffers[data.count, default: []].append(data)
        lock.unlock()
    }

    private func take(_ count: Int) -> [Float]? {
        lock.lock()
        defer { lock.unlock() }
        if var list = buffers[count], let data = list.popLast() {
            buffers[count] = list.isEmpty ? nil : list
            hitCount += 1
            return data
        }
        missCount += 1
        // Freed before the caller allocates, so the pooled and live buffers never exceed the pool-less peak.
        buffers.removeAll()
        return nil
    }

    private func drain() {
        lock.lock()
        buffers.removeAll()
        lock.unlock()
    }

    /// The thread-specific current pool (an unretained pointer; `withScope` keeps the pool alive).
    private static let currentKey: pthread_key_t = makeThreadSpecificKey()
}
