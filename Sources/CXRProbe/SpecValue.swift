import CXRFiles
import CXRPipelines
import CXRRuns
import Foundation
import Yams

/// A parsed YAML/JSON document as plain values, with the file name kept for error messages.
///
/// The YAML is composed to nodes (no Yams object construction) and converted here under limits on the number of
/// nodes, nesting depth and string length, so that a hostile spec (alias bombs, megabyte strings, 10,000-deep
/// nesting) fails with one line instead of exhausting memory. JSON is valid YAML and takes the same path.
public indirect enum SpecValue: Equatable, Sendable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
    case null
    case list([SpecValue])
    /// Keys in file order (duplicates are rejected while parsing).
    case map([(key: String, value: SpecValue)])

    public static func == (a: SpecValue, b: SpecValue) -> Bool {
        switch (a, b) {
        case (.string(let x), .string(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        case (.list(let x), .list(let y)): return x == y
        case (.map(let x), .map(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// Limits on what a spec may contain.
    public struct Limits: Sendable {
        public var maxBytes = 1 << 20
        public var maxNodes = 100_000
        public var maxDepth = 32
        public var maxStringLength = 4096
        public init() {}
    }

    /// Parses YAML (or JSON) text. `file` names the document in errors.
    public static func parse(_ text: String, file: String, limits: Limits = Limits()) throws -> SpecValue {
        guard text.utf8.count <= limits.maxBytes else {
            throw ProbeError("\(file): the spec is \(text.utf8.count) bytes; the limit is \(limits.maxBytes)")
        }
        // Before the composer, which recurses per level and would overflow the stack on a deeply nested text.
        let nesting = YAMLNesting.estimate(text)
        guard nesting <= limits.maxDepth + 1 else {
            throw ProbeError("\(file): the spec is nested deeper than \(limits.maxDepth) levels (about \(nesting))")
        }
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch let e as YamlError {
            throw ProbeError("\(file): not valid YAML/JSON: \(yamlProblem(e))")
        } catch {
            throw ProbeError("\(file): not valid YAML/JSON: \(error)")
        }
        guard let node else { throw ProbeError("\(file): the spec is empty") }
        var budget = limits.maxNodes
        return try convert(node, file: file, path: "", depth: 0, budget: &budget, limits: limits)
    }

    /// Reads and parses a spec file (`BoundedFile`: a regular file within `maxBytes`, judged by what was opened).
    public static func read(_ url: URL, limits: Limits = Limits()) throws -> SpecValue {
        let name = url.path
        let data: Data
        do {
            data = try BoundedFile.read(url, limit: limits.maxBytes)
        } catch let failure as BoundedFile.Failure {
            switch failure {
            case .cannotOpen: throw ProbeError("\(name): cannot open the spec file (missing or unreadable)")
            case .isDirectory: throw ProbeError("\(name): is a directory, not a spec file")
            case .tooLarge(let size, let limit):
                throw ProbeError("\(name): the spec is \(size) bytes; the limit is \(limit)")
            case .notRegularFile, .readFailed: throw ProbeError("\(name): the spec file: \(failure)")
            }
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ProbeError("\(name): the spec is not UTF-8 text")
        }
        return try parse(text, file: name, limits: limits)
    }

    static func yamlProblem(_ e: YamlError) -> String {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        case .reader(let problem, _, _, _): return problem
        default: return "\(e)".split(whereSeparator: \.isNewline).first.map(String.init) ?? "unknown error"
        }
    }

    private static func convert(
        _ node: Node, file: String, path: String, depth: Int, budget: inout Int,
        limits: Limits
    ) throws -> SpecValue {
        budget -= 1
        guard budget >= 0 else {
            throw ProbeError("\(file): the spec has more than \(limits.maxNodes) values (aliases included)")
        }
        guard depth <= limits.maxDepth else {
            throw ProbeError(
                "\(file): \(path.isEmpty ? "the spec" : path) is nested deeper than \(limits.maxDepth) levels")
        }
        switch node {
        case .scalar(let s):
            // Counted in Unicode scalars, not grapheme clusters: combining marks stack without limit on one
            // "character", which made the limit bypassable.
            guard s.string.unicodeScalars.count <= limits.maxStringLength else {
                throw ProbeError("\(file): \(path) is longer than \(limits.maxStringLength) characters")
            }
            // NUL and other control characters cannot be written into PNG text chunks (a NUL prompt failed only
            // when the first image was written, leaving the run directory tied to the bad spec) and have no
            // place in prompts, names or paths; tabs and line breaks are allowed.
            let isControl: (Unicode.Scalar) -> Bool = {
                ($0.value < 0x20 && !"\t\n\r".unicodeScalars.contains($0)) || (0x7F...0x9F).contains($0.value)
            }
            if let bad = s.string.unicodeScalars.first(where: isControl) {
                let code = String(format: "%04X", bad.value)
                throw ProbeError("\(file): \(path) contains the control character U+\(code)")
            }
            if s.style != .plain { return .string(s.string) }
            switch node.tag.description {
            case Tag.Name.int.rawValue: if let i = node.int { return .int(i) }
            case Tag.Name.float.rawValue: if let d = node.float { return .double(d) }
            case Tag.Name.bool.rawValue: if let b = node.bool { return .bool(b) }
            case Tag.Name.null.rawValue: return .null
            default: break
            }
            return .string(s.string)
        case .sequence(let seq):
            var out = [SpecValue]()
            for (i, item) in seq.enumerated() {
                out.append(
                    try convert(
                        item, file: file, path: "\(path)[\(i)]", depth: depth + 1, budget: &budget, limits: limits))
            }
            return .list(out)
        case .mapping(let map):
            var out = [(key: String, value: SpecValue)]()
            var seen = Set<String>()
            for (k, v) in map {
                guard case .scalar(let ks) = k else {
                    throw ProbeError("\(file): \(path.isEmpty ? "top level" : path) has a key that is not a plain name")
                }
                let key = ks.string
                let sub = path.isEmpty ? key : "\(path).\(key)"
                guard seen.insert(key).inserted else { throw ProbeError("\(file): \(sub) appears twice") }
                out.append(
                    (key, try convert(v, file: file, path: sub, depth: depth + 1, budget: &budget, limits: limits)))
            }
            return .map(out)
        }
    }

    // MARK: Access

    public subscript(key: String) -> SpecValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.key == key }?.value
    }

    public var keys: [String] {
        guard case .map(let pairs) = self else { return [] }
        return pairs.map(\.key)
    }

    /// A short rendering for error messages.
    var kindName: String {
        switch self {
        case .string: return "text"
        case .int: return "an integer"
        case .double: return "a number"
        case .bool: return "true/false"
        case .null: return "null"
        case .list: return "a list"
        case .map: return "a mapping"
        }
    }
}

/// Typed, error-reporting reads from a spec mapping: every message names the file and the key path.
struct SpecReader {
    let file: String
    let path: String
    let value: SpecValue

    init(file: String, path: String = "", value: SpecValue) {
        self.file = file; self.path = path; self.value = value
    }

    func key(_ k: String) -> String { path.isEmpty ? k : "\(path).\(k)" }

    func fail(_ k: String, _ message: String) -> ProbeError { ProbeError("\(file): \(key(k)): \(message)") }
    func failHere(_ message: String) -> ProbeError {
        ProbeError("\(file): \(path.isEmpty ? "top level" : path): \(message)")
    }

    /// Rejects keys outside `allowed` (catches typos such as `strenghts`).
    func only(_ allowed: [String]) throws {
        guard case .map = value else { throw failHere("must be a mapping (key: value), got \(value.kindName)") }
        for k in value.keys where !allowed.contains(k) {
            throw fail(k, "unknown key (allowed: \(allowed.joined(separator: ", ")))")
        }
    }

    func has(_ k: String) -> Bool { if let v = value[k], v != .null { return true } else { return false } }

    func string(_ k: String) throws -> String? {
        guard let v = value[k], v != .null else { return nil }
        switch v {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        default: throw fail(k, "must be text, got \(v.kindName)")
        }
    }

    func int(_ k: String, range: ClosedRange<Int>) throws -> Int? {
        guard let v = value[k], v != .null else { return nil }
        guard case .int(let i) = v else { throw fail(k, "must be an integer, got \(v.kindName)") }
        guard range.contains(i) else {
            throw fail(k, "must be between \(range.lowerBound) and \(range.upperBound), got \(i)")
        }
        return i
    }

    func double(_ k: String, range: ClosedRange<Double>, openLower: Bool = false) throws -> Double? {
        guard let v = value[k], v != .null else { return nil }
        return try Self.number(v, range: range, openLower: openLower) { self.fail(k, $0) }
    }

    func bool(_ k: String) throws -> Bool? {
        guard let v = value[k], v != .null else { return nil }
        guard case .bool(let b) = v else { throw fail(k, "must be true or false, got \(v.kindName)") }
        return b
    }

    /// `difference`, `on` or `off`; true / false (and YAML's on / off read as booleans) mean on / off.
    func detailMode(_ k: String) throws -> DetailMode? {
        guard let v = value[k], v != .null else { return nil }
        switch v {
        case .bool(let b): return b ? .transfer : .off
        case .string(let s):
            if let m = DetailMode(rawValue: s.lowercased()) { return m }
            throw fail(k, "must be difference, on or off, got '\(s)'")
        default: throw fail(k, "must be difference, on or off, got \(v.kindName)")
        }
    }

    static func number(_ v: SpecValue, range: ClosedRange<Double>, openLower: Bool, fail: (String) -> ProbeError) throws
        -> Double
    {
        let d: Double
        switch v {
        case .int(let i): d = Double(i)
        case .double(let x): d = x
        default: throw fail("must be a number, got \(v.kindName)")
        }
        let lowOK = openLower ? d > range.lowerBound : d >= range.lowerBound
        guard d.isFinite, lowOK, d <= range.upperBound else {
            throw fail("must be in \(openLower ? "(" : "[")\(range.lowerBound), \(range.upperBound)], got \(d)")
        }
        return d
    }

    /// A scalar or a list of scalars, as numbers.
    func doubles(_ k: String, range: ClosedRange<Double>, openLower: Bool = false, maxCount: Int) throws -> [Double]? {
        guard let v = value[k], v != .null else { return nil }
        let items: [SpecValue]
        if case .list(let l) = v { items = l } else { items = [v] }
        guard !items.isEmpty else { throw fail(k, "must not be empty") }
        guard items.count <= maxCount else { throw fail(k, "has \(items.count) entries; the limit is \(maxCount)") }
        return try items.enumerated().map { i, item in
            try Self.number(item, range: range, openLower: openLower) { self.fail("\(k)[\(i)]", $0) }
        }
    }

    /// A scalar or a list of integers; `a..b` ranges are accepted in text form ("0..9").
    func ints(_ k: String, range: ClosedRange<Int>, maxCount: Int) throws -> [Int]? {
        guard let v = value[k], v != .null else { return nil }
        let items: [SpecValue]
        if case .list(let l) = v { items = l } else { items = [v] }
        var out = [Int]()
        for (i, item) in items.enumerated() {
            switch item {
            case .int(let n):
                guard range.contains(n) else {
                    throw fail("\(k)[\(i)]", "must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
                }
                out.append(n)
            case .string(let s):
                let parts = s.components(separatedBy: "..")
                guard parts.count == 2, let a = Int(parts[0].trimmingCharacters(in: .whitespaces)),
                    let b = Int(parts[1].trimmingCharacters(in: .whitespaces)), a <= b,
                    range.contains(a), range.contains(b)
                else {
                    throw fail(
                        items.count == 1 ? k : "\(k)[\(i)]", "must be an integer or a range like \"0..9\", got \"\(s)\""
                    )
                }
                guard b - a < maxCount else { throw fail(k, "has more than \(maxCount) entries") }
                out += Array(a...b)
            default: throw fail(k, "must be an integer or a list of integers, got \(item.kindName)")
            }
            guard out.count <= maxCount else { throw fail(k, "has more than \(maxCount) entries") }
        }
        guard !out.isEmpty else { throw fail(k, "must not be empty") }
        return out
    }

    /// A scalar or a list of strings.
    func strings(_ k: String, maxCount: Int) throws -> [String]? {
        guard let v = value[k], v != .null else { return nil }
        let items: [SpecValue]
        if case .list(let l) = v { items = l } else { items = [v] }
        guard items.count <= maxCount else { throw fail(k, "has \(items.count) entries; the limit is \(maxCount)") }
        return try items.enumerated().map { i, item in
            switch item {
            case .string(let s): return s
            case .int(let n): return String(n)
            default: throw fail("\(k)[\(i)]", "must be text, got \(item.kindName)")
            }
        }
    }

    func list(_ k: String, maxCount: Int) throws -> [SpecReader]? {
        guard let v = value[k], v != .null else { return nil }
        guard case .list(let items) = v else { throw fail(k, "must be a list, got \(v.kindName)") }
        guard items.count <= maxCount else { throw fail(k, "has \(items.count) entries; the limit is \(maxCount)") }
        return items.enumerated().map { SpecReader(file: file, path: "\(key(k))[\($0)]", value: $1) }
    }

    func child(_ k: String) -> SpecReader? {
        guard let v = value[k], v != .null else { return nil }
        return SpecReader(file: file, path: key(k), value: v)
    }
}
