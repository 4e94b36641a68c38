/// A row of a results file (results.jsonl): one finished job of a run. The run machinery (log, resume, merge) needs
/// only what this protocol names; the probe and synthesize rows carry the rest.
public protocol ResultRow: Codable, Sendable {
    /// What run.json records for a run of these rows beside the common keys (`RunInfo.details`); a merge keeps it.
    associatedtype RunDetails: Codable = NoRunDetails
    /// The row layout this type reads and writes, as rows record it in `schema` ("cxr-edit.probe/2"). A results
    /// file of another layout is refused with its file, line and schema named.
    static var schema: String { get }
    /// Stable across reruns, shards and merges: a rerun skips the rows whose id it finds.
    var id: String { get }
    /// Position of the job in its plan: a merge sorts rows by it, so N shards merge to the rows of one run.
    var position: Int { get }
    /// Files the row names, relative to its run directory; a merge copies them along.
    var outputFiles: [String] { get }
}

extension ResultRow {
    /// Plan order: `position`, then `id`.
    public static func planOrder(_ a: Self, _ b: Self) -> Bool {
        a.position != b.position ? a.position < b.position : a.id < b.id
    }
}
