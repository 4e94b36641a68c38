import CXRFiles
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed JSON document: what diffusers/transformers configs, `model_index.json`, sharded-checkpoint indexes
/// and safetensors headers are made of.
///
/// Our own parser (not `JSONSerialization`) so that limits are enforced before memory is spent, duplicate keys
/// can be detected (safetensors headers must reject them), and numbers keep full `Double` precision.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Largest document `init(data:)` accepts (configs are a few KB; this only stops hostile input).
    public static let maxBytes = 16 * 1024 * 1024
    /// Deepest nesting of arrays/objects `init(data:)` accepts.
    public static let maxDepth = 64

    /// Parses UTF-8 JSON text. Duplicate keys: the last one wins, as in Python's `json` (which wrote the file).
    /// Throws `CheckpointError` naming `source` (shown in messages; defaults to "JSON").
    public init(data: Data, source: String = "JSON") throws {
        guard data.count <= JSONValue.maxBytes else {
            throw CheckpointError(.limit, file: source,
                                  "JSON is \(data.count) bytes, more than the \(JSONValue.maxBytes)-byte limit")
        }
        self = try data.withUnsafeBytes { raw in
            var p = JSONParser(raw, source: source, maxDepth: JSONValue.maxDepth, rejectDuplicates: false)
            return try p.parseDocument()
        }
    }

    /// Reads and parses a JSON file; errors name the file. The size limit is checked with `fstat` on the opened
    /// file (so a symbolic link is judged by its target) before anything is read; only regular files are read.
    public init(contentsOf url: URL) throws {
        let data = try JSONValue.readRegularFile(url, limit: JSONValue.maxBytes)
        try self.init(data: data, source: url.path)
    }

    /// The bytes of a regular file no larger than `limit`, read through one descriptor (`BoundedFile`).
    static func readRegularFile(_ url: URL, limit: Int) throws -> Data {
        let path = url.path
        do {
            return try BoundedFile.read(url, limit: limit)
        } catch let failure as BoundedFile.Failure {
            switch failure {
            case .cannotOpen(let e):
                throw CheckpointError(e == ENOENT ? .missing : .io, file: path, "cannot read: \(String(cString: strerror(e)))")
            case .isDirectory, .notRegularFile:
                throw CheckpointError(.io, file: path, "not a regular file")
            case .tooLarge(let size, let limit):
                throw CheckpointError(.limit, file: path, "JSON is \(size) bytes, more than the \(limit)-byte limit")
            case .readFailed(let e):
                throw CheckpointError(.io, file: path, "cannot read: \(String(cString: strerror(e)))")
            }
        }
    }

    // MARK: Accessors (nil when the value is not of that type)

    /// The value for `key` when this is an object containing it.
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Element `index` when this is an array and the index is in range.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, index >= 0, index < a.count { return a[index] }
        return nil
    }

    public var isNull: Bool { if case .null = self { return true } else { return false } }
    public var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var double: Double? { if case .number(let d) = self { return d } else { return nil } }
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var array: [JSONValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var object: [String: JSONValue]? { if case .object(let o) = self { return o } else { return nil } }

    /// The number as an `Int` when it is integral and exactly representable (|x| <= 2^53).
    public var int: Int? {
        guard case .number(let d) = self, d.isFinite, d == d.rounded(), abs(d) <= 9_007_199_254_740_992 else {
            return nil
        }
        return Int(d)
    }

    /// Array of integers, or nil if this is not an array or any element is not an integer.
    public var intArray: [Int]? {
        guard let a = array else { return nil }
        var out = [Int]()
        out.reserveCapacity(a.count)
        for v in a { guard let i = v.int else { return nil }; out.append(i) }
        return out
    }

    /// Array of strings, or nil if this is not an array or any element is not a string.
    public var stringArray: [String]? {
        guard let a = array else { return nil }
        var out = [String]()
        out.reserveCapacity(a.count)
        for v in a { guard let s = v.string else { return nil }; out.append(s) }
        return out
    }

    /// Array of numbers, or nil if this is not an array or any element is not a number.
    public var doubleArray: [Double]? {
        guard let a = array else { return nil }
        var out = [Double]()
        out.reserveCapacity(a.count)
        for v in a { guard let d = v.double else { return nil }; out.append(d) }
        return out
    }

    /// Short type name for error messages.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .number: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

// MARK: Serialization

extension JSONValue {
    /// JSON text with object keys sorted (stable output, as `json.dumps(sort_keys=True)`), for writing configs.
    /// `pretty` indents by two spaces like diffusers' `save_config`. Integral numbers are written without a
    /// fraction; non-finite numbers as `NaN`/`Infinity` (what Python writes and our parser reads back).
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    private func write(into out: inout String, pretty: Bool, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let d): out += JSONValue.formatNumber(d)
        case .string(let s): JSONValue.writeString(s, into: &out)
        case .array(let a):
            if a.isEmpty { out += "[]"; return }
            out += "["
            for (i, v) in a.enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                v.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { out += "\n" + String(repeating: " ", count: indent) }
            out += "]"
        case .object(let o):
            if o.isEmpty { out += "{}"; return }
            out += "{"
            for (i, k) in o.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                if pretty { out += "\n" + String(repeating: " ", count: indent + 2) }
                JSONValue.writeString(k, into: &out)
                out += pretty ? ": " : ":"
                o[k]!.write(into: &out, pretty: pretty, indent: indent + 2)
            }
            if pretty { out += "\n" + String(repeating: " ", count: indent) }
            out += "}"
        }
    }

    static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        if d == d.rounded(), abs(d) < 1e15 {
            if d == 0 && d.sign == .minus { return "-0.0" }
            return String(Int64(d))
        }
        return "\(d)"
    }

    static func writeString(_ s: String, into out: inout String) {
        out += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{8}": out += "\\b"
            case "\u{C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
