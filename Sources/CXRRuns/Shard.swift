import Foundation

/// A disjoint, deterministic slice of a job list: item `k` (in the study's canonical order) belongs to shard
/// `k mod count`. Shards are numbered from 0, so `--shard $SLURM_ARRAY_TASK_ID/N` with `--array=0-(N-1)`.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public static let all = Shard(uncheckedIndex: 0, count: 1)

    init(uncheckedIndex: Int, count: Int) { index = uncheckedIndex; self.count = count }

    /// Parses "I/N" (0 <= I < N <= 100000).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= 100_000, i >= 0, i < n else {
            throw ProbeError("--shard must be I/N with 0 <= I < N <= 100000 (shards count from 0, like SLURM_ARRAY_TASK_ID), got '\(text)'")
        }
        index = i; count = n
    }

    public func contains(_ position: Int) -> Bool { position % count == index }

    public var description: String { "\(index)/\(count)" }
}
