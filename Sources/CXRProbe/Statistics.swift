import Foundation

/// SplitMix64: a tiny seeded generator, so bootstrap intervals are the same on every run and machine.
public struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A mean with a percentile bootstrap confidence interval.
public struct Estimate: Equatable, Codable, Sendable {
    public var mean: Double
    public var low: Double
    public var high: Double
    public var n: Int
    /// Independent units resampled (images for a cluster bootstrap); nil when the values themselves were.
    public var clusters: Int?

    public init(mean: Double, low: Double, high: Double, n: Int, clusters: Int? = nil) {
        self.mean = mean; self.low = low; self.high = high; self.n = n; self.clusters = clusters
    }

    enum CodingKeys: String, CodingKey {
        case mean, n, low = "ci_low", high = "ci_high", clusters = "images"
    }
}

public enum Bootstrap {
    /// Mean of `values` and its `level` percentile-bootstrap interval from `resamples` resamples drawn with `seed`.
    /// nil for no values; a single value gives a zero-width interval.
    public static func mean(_ values: [Double], resamples: Int = 1000, level: Double = 0.95, seed: UInt64 = 20_240_917)
        -> Estimate?
    {
        guard !values.isEmpty else { return nil }
        let n = values.count
        let m = values.reduce(0, +) / Double(n)
        guard n > 1, resamples > 0 else { return Estimate(mean: m, low: m, high: m, n: n) }
        var rng = SplitMix64(seed: seed)
        var means = [Double]()
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var s = 0.0
            for _ in 0..<n { s += values[Int(rng.next() % UInt64(n))] }
            means.append(s / Double(n))
        }
        means.sort()
        let alpha = (1 - level) / 2
        func q(_ p: Double) -> Double { means[min(resamples - 1, max(0, Int((p * Double(resamples)).rounded(.down))))] }
        return Estimate(mean: m, low: q(alpha), high: q(1 - alpha), n: n)
    }
}

extension Bootstrap {
    /// Mean of all values and its percentile-bootstrap interval resampling *clusters* (here: images) with
    /// replacement: the rows of one image (its strengths, seeds, severities) are not independent, so resampling
    /// rows would give intervals that are too narrow. Each resample's mean is the mean over the values of the drawn
    /// clusters (a cluster drawn twice counts twice). A single cluster gives a zero-width interval.
    public static func clusterMean(
        _ values: [(cluster: String, value: Double)], resamples: Int = 1000,
        level: Double = 0.95, seed: UInt64 = 20_240_917
    ) -> Estimate? {
        guard !values.isEmpty else { return nil }
        var order = [String]()
        var groups = [String: (sum: Double, count: Int)]()
        for (c, v) in values {
            if groups[c] == nil { order.append(c) }
            let g = groups[c] ?? (0, 0)
            groups[c] = (g.sum + v, g.count + 1)
        }
        let clusters = order.map { groups[$0]! }
        let total = clusters.reduce(0.0) { $0 + $1.sum }, count = clusters.reduce(0) { $0 + $1.count }
        let m = total / Double(count)
        let k = clusters.count
        guard k > 1, resamples > 0 else { return Estimate(mean: m, low: m, high: m, n: values.count, clusters: k) }
        var rng = SplitMix64(seed: seed)
        var means = [Double]()
        means.reserveCapacity(resamples)
        for _ in 0..<resamples {
            var s = 0.0, n = 0
            for _ in 0..<k {
                let c = clusters[Int(rng.next() % UInt64(k))]
                s += c.sum; n += c.count
            }
            means.append(s / Double(n))
        }
        means.sort()
        let alpha = (1 - level) / 2
        func q(_ p: Double) -> Double { means[min(resamples - 1, max(0, Int((p * Double(resamples)).rounded(.down))))] }
        return Estimate(mean: m, low: q(alpha), high: q(1 - alpha), n: values.count, clusters: k)
    }
}
