import Foundation

/// Wall time per kernel family, for finding where a model spends its time (`CXR_EDIT_PROFILE=1`).
/// Disabled, it costs one branch per kernel call.
public enum Profiler {
    public static let enabled: Bool = ProcessInfo.processInfo.environment["CXR_EDIT_PROFILE"] == "1"
    nonisolated(unsafe) private static var totals: [String: (seconds: Double, calls: Int)] = [:]
    private static let lock = NSLock()

    @inline(__always)
    public static func measure<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        guard enabled else { return try body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        let r = try body()
        let dt = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        lock.lock()
        let old = totals[name] ?? (0, 0)
        totals[name] = (old.seconds + dt, old.calls + 1)
        lock.unlock()
        return r
    }

    /// The accumulated table, largest first, and a reset.
    public static func report() -> String {
        lock.lock()
        defer { totals = [:]; lock.unlock() }
        let total = totals.values.reduce(0) { $0 + $1.seconds }
        return totals.sorted { $0.value.seconds > $1.value.seconds }.map {
            String(
                format: "%-22@ %8.3f s %5.1f%% %7d calls", $0.key as NSString, $0.value.seconds,
                100 * $0.value.seconds / max(total, 1e-9), $0.value.calls)
        }.joined(separator: "\n")
    }
}
