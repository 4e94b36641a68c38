import CXRSchedulers

/// The `scheduler:` key of the probe and synthesize specs, checked against the scheduler registry.
///
/// Why through `SchedulerKind`: the registry is the only list of scheduler names, so a scheduler added there is
/// accepted here (and by the CLI) without another list to update.
extension SpecReader {
    /// The scheduler name as written, lowercased (it is recorded in plans and rows as given), or nil when absent;
    /// a name no registered scheduler answers to fails with the key and the names that would work.
    func schedulerName(_ k: String) throws -> String? {
        guard let name = try string(k)?.lowercased() else { return nil }
        guard SchedulerKind(name: name) != nil else {
            throw fail(k, "unknown scheduler '\(name)' (choose one of \(SchedulerKind.nameList))")
        }
        return name
    }
}
