import Foundation

/// Values computed from a weight once and kept with it, such as its bf16 packed copy: built on first use by the
/// thread that needs it (others wait), then shared. A class so copies of a `Weight` share one cache.
final class DerivedValues: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: AnyObject] = [:]

    /// The value under `key`, made by `make` the first time.
    func value<T: AnyObject>(_ key: String, make: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        if let v = values[key] as? T { return v }
        let v = make()
        values[key] = v
        return v
    }
}
