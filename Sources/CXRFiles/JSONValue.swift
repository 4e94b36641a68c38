import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A parsed JSON document: what diffusers/transformers configs, `model_index.json`, sharded-checkpoint indexes,
/// safetensors headers and tokenizer files are made of. The one JSON reader of cxr-edit (typed access with errors
/// naming file and key: `JSONConfig`).
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
    /// Throws `InputFileError` naming `source` (shown in messages; defaults to "JSON"). `maxBytes` is for readers
    /// whose files are legitimately larger than configs (a tokenizer.json).
    public init(data: Data, source: String = "JSON", maxBytes: Int = JSONValue.maxBytes) throws {
        guard data.count <= maxBytes else {
            throw InputFileError(
                .limit, file: source,
                "JSON is \(data.count) bytes, more than the \(maxBytes)-byte limit")
        }
        self = try data.withUnsafeBytes { raw in
            try JSONValue(parsing: raw, source: source, maxDepth: JSONValue.maxDepth, rejectingDuplicateKeys: false)
        }
    }

    /// Parses bytes in place (a memory-mapped safetensors header is not copied). `rejectingDuplicateKeys` is for
    /// formats that forbid them (safetensors), where last-wins would let two readers see different tensors.
    public init(
        parsing bytes: UnsafeRawBufferPointer, source: String, maxDepth: Int,
        rejectingDuplicateKeys: Bool
    ) throws {
        var parser = JSONParser(bytes, source: source, maxDepth: maxDepth, rejectDuplicates: rejectingDuplicateKeys)
        self = try parser.parseDocument()
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
                throw InputFileError(
                    e == ENOENT ? .missing : .io, file: path,
                    "cannot read: \(String(cString: strerror(e)))")
            case .isDirectory, .notRegularFile:
                throw InputFileError(.io, file: path, "not a regular file")
            case .tooLarge(let size, let limit):
                throw InputFileError(.limit, file: path, "JSON is \(size) bytes, more than the \(limit)-byte limit")
            case .readFailed(let e):
                throw InputFileError(.io, file: path, "cannot read: \(String(cString: strerror(e)))")
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
    public var typeName: String {
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
