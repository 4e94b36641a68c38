import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An append-only JSON-lines file that survives crashes: each row is written with one `write(2)` on an
/// `O_APPEND` descriptor and `fsync`ed before the next one starts, so after a SIGKILL or power loss the file is
/// every finished row plus at most one torn (unterminated) last line. Opening the log truncates such a line and
/// reads the finished rows, so a rerun skips exactly those.
///
/// Shared by `probe` and `synthesize` (one row per counterfactual / per generated image).
public final class ResultsLog<Row: ResultRow> {
    public let url: URL
    /// Rows already in the file, in file order.
    public private(set) var rows: [Row] = []
    /// Their ids.
    public private(set) var finishedIDs: Set<String> = []
    /// Bytes of an unterminated last line that were cut off on open (0 if the file was clean).
    public private(set) var truncatedBytes = 0
    private var fd: Int32 = -1

    public static var maxRowBytes: Int { 4 << 20 }

    /// Opens (creating if needed) the log, truncating a torn last line.
    public init(url: URL) throws {
        self.url = url
        let name = url.path
        fd = open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw ProbeError("\(name): cannot open the results file: \(String(cString: strerror(errno)))")
        }
        do { try load() } catch { close(fd); fd = -1; throw error }
    }

    deinit { if fd >= 0 { close(fd) } }

    private func load() throws {
        let name = url.path
        guard let data = try? Data(contentsOf: url) else { throw ProbeError("\(name): cannot read the results file") }
        if let last = data.last, last != UInt8(ascii: "\n") {
            // A torn last line from a crash mid-write: drop it (its row is redone).
            let cut = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            guard ftruncate(fd, off_t(cut)) == 0, fsync(fd) == 0 else {
                throw ProbeError("\(name): cannot truncate a torn last line: \(String(cString: strerror(errno)))")
            }
            truncatedBytes = data.count - cut
        }
        for row in try Self.decode(data, file: url) {
            // Duplicates cannot arise under the run lock; keep the first if a hand-merge made some.
            if finishedIDs.insert(row.id).inserted { rows.append(row) }
        }
    }

    /// Appends one row: one write, then fsync.
    public func append(_ row: Row) throws {
        var line = try StableJSON.encode(row)
        line.append(UInt8(ascii: "\n"))
        guard line.count <= Self.maxRowBytes else {
            throw ProbeError("\(url.path): a result row of \(line.count) bytes exceeds the limit")
        }
        try line.withUnsafeBytes { buf in
            var off = 0
            while off < buf.count {
                guard let base = buf.baseAddress else { return }
                let n = write(fd, base + off, buf.count - off)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ProbeError("\(url.path): cannot append a result: \(String(cString: strerror(errno)))")
                }
                off += n
            }
        }
        guard fsync(fd) == 0 else { throw ProbeError("\(url.path): fsync failed: \(String(cString: strerror(errno)))") }
        finishedIDs.insert(row.id)
        rows.append(row)
    }

    /// Reads the rows of a results file without opening it for writing (reports, merges). An unterminated last
    /// line is a row being written (or torn by a crash) and is ignored.
    public static func readRows(_ url: URL) throws -> [Row] {
        guard let data = try? Data(contentsOf: url) else {
            throw ProbeError("\(url.path): cannot read the results file")
        }
        return try decode(data, file: url)
    }

    /// The rows of the complete lines of `data` (an unterminated last line is left out), in file order.
    static func decode(_ data: Data, file url: URL) throws -> [Row] {
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if data.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
        var rows = [Row]()
        for (i, line) in lines.enumerated() where !line.isEmpty {
            rows.append(try RowDecoding.decode(Row.self, from: Data(line), file: url, line: i + 1))
        }
        return rows
    }
}
