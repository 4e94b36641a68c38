import Foundation

/// Values computed from a weight once and kept with it, such as its bf16 packed copy: built on first use by the
/// thread that needs it (others wait), then shared. A class so copies of a `Weight` share one cache.
///
/// `keeps` false makes every use build its own value and drop it afterwards: for a network that uses each weight
/// once or twice per run (the VAE), a kept copy saves nothing and only holds memory through the rest of the run.
final class DerivedValues: @unchecked Sendable {
    let keeps: Bool
    private let lock = NSLock()
    private var values: [String: AnyObject] = [:]

    init(keeps: Bool = true) { self.keeps = keeps }

    /// How many values are kept.
    var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return values.count
    }

    /// The value under `key`, made by `make` the first time (every time when not `keeps`).
    func value<T: AnyObject>(_ key: String, make: () -> T) -> T {
        guard keeps else { return make() }
        lock.lock()
        defer { lock.unlock() }
        if let v = values[key] as? T { return v }
        let v = make()
        values[key] = v
        return v
    }

    /// The float32 values under `key` (`count` of them, filled by `fill` the first time), or nil when keeping them
    /// would exceed `DerivedFloats.budget` or this cache does not keep values: the caller then computes them per use
    /// into scratch, as without a cache. Not keeping leaves the process-wide budget to the networks run every step:
    /// the text encoder and the VAE run before the UNet in an edit and would otherwise take it first.
    func floats(_ key: String, count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) -> DerivedFloats? {
        guard keeps else { return nil }
        lock.lock()
        defer { lock.unlock() }
        if let v = values[key] as? DerivedFloats { return v }
        guard let v = DerivedFloats(count: count, fill: fill) else { return nil }
        values[key] = v
        return v
    }
}

/// float32 values derived from a weight that are kept with it while they fit a process-wide budget: the widened
/// values of an fp16/bf16 weight, the Winograd transform of a 3x3 kernel.
///
/// Why: a small model's layers are cheap next to redoing this per call (widening and transforming the weights was
/// 5% of a 256 px edit with the bundled 4.2M-parameter model, whose copies take ~40 MB); a large model's are not,
/// and keeping all of an SD 1.5 UNet's would take 6 GB, so the budget keeps its first layers' and the rest are
/// recomputed per call as before. The values are the same either way.
final class DerivedFloats: @unchecked Sendable {
    /// Bytes all kept copies may take together.
    static let budget = 64 << 20
    nonisolated(unsafe) private static var used = 0
    private static let lock = NSLock()

    let base: UnsafeMutablePointer<Float>
    let count: Int

    /// `count` floats filled by `fill`, or nil when they do not fit the budget.
    init?(count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) {
        let bytes = count * MemoryLayout<Float>.stride
        Self.lock.lock()
        let fits = Self.used + bytes <= Self.budget
        if fits { Self.used += bytes }
        Self.lock.unlock()
        guard fits else { return nil }
        self.count = count
        base = .allocate(capacity: max(1, count))
        fill(base)
    }

    deinit {
        base.deallocate()
        Self.lock.lock()
        Self.used -= count * MemoryLayout<Float>.stride
        Self.lock.unlock()
    }
}
