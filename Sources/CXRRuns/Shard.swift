import Foundation

/// A disjoint, deterministic slice of a job list: item `k` (in the study's canonical order) belongs to shard
/// `k mod count`. Shards are numbered from 0, so `--shard $SLURM_ARRAY_TASK_ID/N` with `--array=0-(N-1)`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let all = Shard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex: Int, count: Int) { index = uncheckedIndex; self.count = count }

    /// The most shards a run may be split into.
    public static let maxCount = 100_000

    /// Parses "I/N" (0 <= I < N <= `maxCount`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= Self.maxCount, i >= 0, i < n
        else {
            throw ProbeError(.invalidShard(text: text))
        }
        index = i; count = n
    }

    public func contains(_ position: Int) -> Bool { position % count == index }

    public var description: String { "\(index)/\(count)" }
}
