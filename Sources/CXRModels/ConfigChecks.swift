import CXRCheckpoint
import CXRFiles

/// Config getters the model builders need on top of `JSONConfig`'s typed access.
extension JSONConfig {
    /// Whether `key` is absent or JSON null.
    func isNull(_ key: String) -> Bool { !has(key) }

    /// A value that must lie in 1...max: guards against configs that would allocate absurd tensors.
    func positive(_ key: String, _ v: Int, max: Int = 1 << 20) throws -> Int {
        guard v > 0 && v <= max else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' = \(v) is out of range 1...\(max)")
        }
        return v
    }

    /// An optional number that must be finite and lie in `range` (open at 0 when `range` starts there: an
    /// epsilon or scaling factor of 0 divides by zero). Out-of-range values give NaN images, not errors, later.
    func number(_ key: String, default d: Double, above low: Double, upTo high: Double) throws -> Double {
        let v = try optDouble(key, default: d)
        guard v.isFinite, v > low, v <= high else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' = \(v) is out of range (\(low), \(high)]")
        }
        return v
    }

    /// An integer or a list of exactly `count` integers (one per block).
    func intOrList(_ key: String, count: Int) throws -> [Int] {
        let a = try intOrIntArray(key, count: count)
        guard a.count == count else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' has \(a.count) entries, expected \(count)")
        }
        return a
    }

    /// A bool or a list of `count` bools; absent means `d` for every block.
    func boolOrList(_ key: String, count: Int, default d: Bool) throws -> [Bool] {
        guard let v = self[key], !v.isNull else { return Array(repeating: d, count: count) }
        if let b = v.bool { return Array(repeating: b, count: count) }
        guard let a = v.array?.compactMap(\.bool), a.count == count else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' should be a bool or a list of \(count) bools")
        }
        return a
    }
}
