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
}
