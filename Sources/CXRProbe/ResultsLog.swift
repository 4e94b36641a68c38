import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An append-only JSON-lines file that survives crashes: each row is written with one `write(2)` on an
/// `O_APPEND` descriptor and `fsync`ed before the next one starts, so after a SIGKILL or power loss the file is
/// every finished row plus at most one torn (unterminated) last line. Opening the log truncates such a line and
/// reads the ids of the finished rows, so a rerun skips exactly those.
///
/// Shared by `probe` and `synthesize` (one row per counterfactual / per generated image).
public final class ResultsLog {
    public let url: URL
    /// Rows already in the file, in file order.
    public private(set) var rows: [[String: Any]] = []
    /// Their ids.
    public private(set) var finishedIDs: Set<String> = []
    /// Bytes of an unterminated last line that were cut off on open (0 if the file was clean).
    public private(set) var truncatedBytes = 0
    private var fd: Int32 = -1

    public static let maxRowBytes = 4 << 20

    /// Opens (creating if needed) the log, truncating a torn last line.
    public init(url: URL) throws {
        self.url = url
        let name = url.path
        fd = open(url.path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ProbeError("\(name): cannot open the results file: \(String(cString: strerror(errno)))") }
        do { try load() } catch { close(fd); fd = -1; throw error }
    }

    deinit { if fd >= 0 { close(fd) } }

    private func load() throws {
        let name = url.path
        guard let data = try? Data(contentsOf: url) else { throw ProbeError("\(name): cannot read the results file") }
        var end = data.count
        if let last = data.last, last != UInt8(ascii: "\n") {
            // A torn last line from a crash mid-write: drop it (its row is redone).
            let cut = data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
            guard ftruncate(fd, off_t(cut)) == 0, fsync(fd) == 0 else {
                throw ProbeError("\(name): cannot truncate a torn last line: \(String(cString: strerror(errno)))")
            }
            truncatedBytes = data.count - cut
            end = cut
        }
        var lineNo = 0
        var start = 0
        let bytes = [UInt8](data.prefix(end))
        while start < end {
            lineNo += 1
            let stop = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) ?? end
            defer { start = stop + 1 }
            if stop == start { continue }
            guard let obj = ExactJSON.object(Data(bytes[start..<stop])),
                  let id = obj["id"] as? String else {
                throw ProbeError("\(name): line \(lineNo) is not a result row (JSON object with an id); the file was edited by hand?")
            }
            // Duplicates cannot arise under the run lock; keep the first if a hand-merge made some.
            if finishedIDs.insert(id).inserted { rows.append(obj) }
        }
    }

    /// Appends one row (must have a string `id`): one write, then fsync.
    public func append(_ row: [String: Any]) throws {
        guard let id = row["id"] as? String else { throw ProbeError("\(url.path): internal error: a row without an id") }
        var line = try StableJSON.encode(row)
        line.append(UInt8(ascii: "\n"))
        guard line.count <= Self.maxRowBytes else { throw ProbeError("\(url.path): a result row of \(line.count) bytes exceeds the limit") }
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
        finishedIDs.insert(id)
        rows.append(row)
    }

    /// Reads the rows of a results file without opening it for writing (reports, merges). An unterminated last
    /// line is a row being written (or torn by a crash) and is ignored.
    public static func readRows(_ url: URL) throws -> [[String: Any]] {
        guard let data = try? Data(contentsOf: url) else { throw ProbeError("\(url.path): cannot read the results file") }
        var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if data.last != UInt8(ascii: "\n"), !lines.isEmpty { lines.removeLast() }
        var rows = [[String: Any]]()
        for (i, line) in lines.enumerated() where !line.isEmpty {
            guard let obj = ExactJSON.object(Data(line)), obj["id"] is String else {
                throw ProbeError("\(url.path): line \(i + 1) is not a result row")
            }
            rows.append(obj)
        }
        return rows
    }
}

/// JSON with sorted keys and no escaped slashes: the same row always gives the same bytes.
public enum StableJSON {
    public static func encode(_ obj: Any) throws -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(obj) else { throw ProbeError("internal error: a row is not valid JSON (NaN or infinity?)") }
        return [UInt8](try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    public static func string(_ obj: Any) throws -> String { String(decoding: try encode(obj), as: UTF8.self) }

    /// Pretty, sorted, for summary/manifest files.
    public static func pretty(_ obj: Any) throws -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(obj) else { throw ProbeError("internal error: a summary is not valid JSON") }
        return [UInt8](try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])) + [10]
    }
}

/// Finite numbers only: NaN/infinity become nil (JSON null).
func jsonFinite(_ x: Double?) -> Any {
    guard let x, x.isFinite else { return NSNull() }
    return x
}

/// Reads a JSON object with every number exactly as written: JSONSerialization's reader rounds about half of all
/// 17-digit doubles to a neighbour, so rows read back (and merged, and reported) changed in their last digits.
/// Integers come back as integer NSNumbers and booleans as boolean ones, as JSONSerialization gives them.
enum ExactJSON: Decodable {
    case null, bool(Bool), int(Int), double(Double), string(String), array([ExactJSON]), object([String: ExactJSON])

    init(from decoder: Decoder) throws {
        if let c = try? decoder.container(keyedBy: Key.self) {
            var o = [String: ExactJSON]()
            for k in c.allKeys { o[k.stringValue] = try c.decode(ExactJSON.self, forKey: k) }
            self = .object(o)
        } else if var c = try? decoder.unkeyedContainer() {
            var a = [ExactJSON]()
            while !c.isAtEnd { a.append(try c.decode(ExactJSON.self)) }
            self = .array(a)
        } else {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let i = try? c.decode(Int.self) { self = .int(i) }
            else if let d = try? c.decode(Double.self) { self = .double(d) }
            else { self = .string(try c.decode(String.self)) }
        }
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    var foundation: Any {
        switch self {
        case .null: return NSNull()
        case .bool(let b): return NSNumber(value: b)
        case .int(let i): return NSNumber(value: i)
        case .double(let d): return NSNumber(value: d)
        case .string(let s): return s
        case .array(let a): return a.map(\.foundation)
        case .object(let o): return o.mapValues(\.foundation)
        }
    }

    static func object(_ data: Data) -> [String: Any]? {
        (try? JSONDecoder().decode(ExactJSON.self, from: data))?.foundation as? [String: Any]
    }
}
