import CXRImaging
import Foundation

/// Combines the run directories of shards (or of separate runs of the same plan) into one: rows deduplicated by
/// id and sorted by their position in the plan (then id), so that merging N shards gives the same results file,
/// row for row, as one unsharded run. The files each row names (`ResultRow.outputFiles`) are copied along.
public enum RunMerge {
    /// What a merge did; `--json` prints it.
    public struct Outcome: Encodable {
        public var rows: Int
        public var duplicates: Int
        public var copiedFiles: Int

        enum CodingKeys: String, CodingKey { case rows, duplicates, copiedFiles = "copied_files" }
    }

    /// Merges `sources` (and anything already in `destination`) into `destination`; their rows are `Row`s.
    public static func merge<Row: ResultRow>(
        _ rowType: Row.Type, into destination: URL, from sources: [URL],
        resultsName: String = "results.jsonl"
    ) throws -> Outcome {
        guard !sources.isEmpty else { throw ProbeError("merge: name at least one run directory to merge") }
        let fm = FileManager.default
        do { try fm.createDirectory(at: destination, withIntermediateDirectories: true) } catch {
            throw ProbeError("\(destination.path): cannot create the merged run directory")
        }
        let lock = try RunLock(directory: destination)
        defer { withExtendedLifetime(lock) {} }
        var fingerprint: String?
        var info: RunInfo<Row.RunDetails>?
        var dirs = [URL]()
        if fm.fileExists(atPath: destination.appendingPathComponent(resultsName).path) { dirs.append(destination) }
        dirs += sources
        for dir in dirs {
            guard let i = try RunInfo<Row.RunDetails>.read(dir) else {
                throw ProbeError("\(dir.path): not a run directory (no run.json)")
            }
            let f = i.fingerprint
            if let fingerprint, f != fingerprint {
                throw ProbeError(
                    "\(dir.path): was run with different settings from \(dirs[0].path) (spec, model or classifiers); only shards of one plan can be merged"
                )
            }
            fingerprint = f
            if info == nil { info = i }
        }
        var byID = [String: Row]()
        var duplicates = 0, copied = 0
        for dir in dirs {
            let url = dir.appendingPathComponent(resultsName)
            guard fm.fileExists(atPath: url.path) else { throw ProbeError("\(dir.path): has no \(resultsName)") }
            for row in try ResultsLog<Row>.readRows(url) {
                let id = row.id
                if byID[id] != nil { duplicates += 1; continue }
                byID[id] = row
                guard dir.standardizedFileURL != destination.standardizedFileURL else { continue }
                // The row's own image and, for probe rows, its null edit's (shared by several rows: copied once).
                for out in row.outputFiles {
                    guard !out.contains(".."), !out.hasPrefix("/") else {
                        throw ProbeError("\(url.path): row \(id) names an output outside its run directory")
                    }
                    let src = dir.appendingPathComponent(out), dst = destination.appendingPathComponent(out)
                    if !fm.fileExists(atPath: dst.path) && fm.fileExists(atPath: src.path) {
                        try? fm.createDirectory(at: dst.deletingLastPathComponent(), withIntermediateDirectories: true)
                        guard let data = try? Data(contentsOf: src) else {
                            throw ProbeError("\(src.path): cannot read")
                        }
                        try AtomicFile.write([UInt8](data), to: dst, overwrite: true)
                        copied += 1
                    }
                }
            }
        }
        let rows = byID.values.sorted(by: Row.planOrder)
        var bytes = [UInt8]()
        for r in rows { bytes += try StableJSON.encode(r); bytes.append(10) }
        try AtomicFile.write(bytes, to: destination.appendingPathComponent(resultsName), overwrite: true)
        if var info {
            info.mergedFrom = sources.map(\.path)
            try info.write(to: destination)
        }
        return Outcome(rows: rows.count, duplicates: duplicates, copiedFiles: copied)
    }
}
