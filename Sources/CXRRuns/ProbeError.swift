import Foundation

/// A probe or synthesize failure the user can act on. `description` is one line that names the file (spec,
/// run directory, results file) and the problem; the CLI prints it and exits 1.
///
/// Problems whose remedy is a choice of the caller (another run directory, a shard) carry their values in
/// `problem`, so the command line can name its own flags (`--out`, `--shard`) while `description` names none.
public struct ProbeError: Error, CustomStringConvertible, Equatable {
    /// A problem of where or how a run was asked to go, with the offending values.
    public enum Problem: Equatable, Sendable {
        /// Another process holds the lock of the run directory at `path`.
        case runDirectoryBusy(path: String)
        /// The run directory at `path` belongs to a run of other settings.
        case runSettingsDiffer(path: String)
        /// `text` is not a shard "I/N" with 0 <= I < N <= `Shard.maxCount`.
        case invalidShard(text: String)
    }

    public let description: String
    /// The typed problem, when the error is one a caller may phrase itself; nil for all others.
    public let problem: Problem?

    public init(_ description: String) {
        self.description = description.split(whereSeparator: \.isNewline).joined(separator: " ")
        problem = nil
    }

    public init(_ problem: Problem) {
        description = problem.description.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.problem = problem
    }
}

extension ProbeError.Problem: CustomStringConvertible {
    /// The problem in the run machinery's own words (no command-line flags).
    public var description: String {
        switch self {
        case .runDirectoryBusy(let path):
            return "\(path): another cxr-edit process is writing this run directory (use another run directory, "
                + "or one directory per shard)"
        case .runSettingsDiffer(let path):
            return "\(path): this run directory was started with different settings (spec, model or classifiers); "
                + "use a new run directory"
        case .invalidShard(let text):
            return "a shard must be I/N with 0 <= I < N <= \(Shard.maxCount) (shards count from 0, like "
                + "SLURM_ARRAY_TASK_ID), got '\(text)'"
        }
    }
}
