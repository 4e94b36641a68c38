import Foundation

/// Runs `body`, which creates and fills the run directory `dir` (probe run, synthesize run, merge output). If it
/// fails, `dir` did not exist before and no result was written, what the run created is removed again.
///
/// Why: a run whose first job failed left `run.json` and `.lock` behind, and the directory then refused the
/// corrected spec as "a run with other settings". Only a directory holding nothing but the run's own
/// bookkeeping (empty results, `run.json`, `.lock`, an empty `images/`) is removed; anything else stays.
func removingFailedEmptyRun<R>(at dir: URL, _ body: () throws -> R) throws -> R {
    let existed = FileManager.default.fileExists(atPath: dir.path)
    do {
        return try body()
    } catch {
        if !existed { removeIfNoResults(dir) }
        throw error
    }
}

private func removeIfNoResults(_ dir: URL) {
    let fm = FileManager.default
    let bookkeeping: Set<String> = ["results.jsonl", "run.json", ".lock", "images"]
    guard let items = try? fm.contentsOfDirectory(atPath: dir.path), Set(items).isSubset(of: bookkeeping) else {
        return
    }
    let results = dir.appendingPathComponent("results.jsonl").path
    if let size = (try? fm.attributesOfItem(atPath: results))?[.size] as? NSNumber, size.intValue > 0 { return }
    if let images = try? fm.contentsOfDirectory(atPath: dir.appendingPathComponent("images").path), !images.isEmpty {
        return
    }
    try? fm.removeItem(at: dir)
}
