import Foundation

/// A JSON object together with the file it came from, with typed getters whose errors name that file and key.
///
/// `JSONValue` is a plain enum and cannot remember its origin, so config readers go through this wrapper:
/// `try cfg.int("in_channels")` fails with "MODEL/unet/config.json: key 'in_channels' is missing" rather than a
/// context-free message. Nested values keep the path (`cfg.config("sub").int("x")` reports `sub.x`,
/// `cfg.array("merges")[12]` reports `merges[12]`; keys that are not plain names are quoted: `vocab["a b"]`).
public struct JSONConfig: Sendable {
    /// The wrapped value (usually an object).
    public let value: JSONValue
    /// File path used in error messages.
    public let file: String
    /// Key path of `value` inside the file ("" for the root).
    public var path: String { index.map { parentPath + "[\($0)]" } ?? parentPath }

    /// For an array element, the array's path; its index is appended only when a message asks for `path`, so
    /// wrapping the 48,894 merges of a tokenizer.json builds no strings.
    private let parentPath: String
    private let index: Int?

    public init(value: JSONValue, file: String, path: String = "") {
        self.init(value: value, file: file, parentPath: path, index: nil)
    }

    private init(value: JSONValue, file: String, parentPath: String, index: Int?) {
        self.value = value
        self.file = file
        self.parentPath = parentPath
        self.index = index
    }

    /// Reads and parses a JSON file.
    public init(contentsOf url: URL) throws {
        self.init(value: try JSONValue(contentsOf: url), file: url.path)
    }

    /// Keys of the object (sorted), or [] if the value is not an object.
    public var keys: [String] { value.object.map { $0.keys.sorted() } ?? [] }

    /// Raw access without type checking.
    public subscript(key: String) -> JSONValue? { value[key] }

    /// Whether `key` is present with a non-null value.
    public func has(_ key: String) -> Bool {
        if let v = value[key], !v.isNull { return true }
        return false
    }

    /// `path.key`, or `path["key"]` when the key is not a plain name (tokens such as `a</w>` or `a.b` would make a
    /// dotted path ambiguous).
    private func keyPath(_ key: String) -> String {
        let plain =
            !key.isEmpty
            && key.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
                    || c == 0x2D
            }
        if !plain { return path + "[" + JSONValue.quoted(key) + "]" }
        return path.isEmpty ? key : path + "." + key
    }

    private func missing(_ key: String) -> InputFileError {
        InputFileError(.missing, file: file, "key \(InputFileError.quote(keyPath(key))) is missing")
    }

    private func wrong(_ key: String, _ expected: String, _ got: JSONValue) -> InputFileError {
        InputFileError(
            .malformed, file: file,
            "key \(InputFileError.quote(keyPath(key))) should be \(expected), found \(got.typeName)")
    }

    private func require(_ key: String) throws -> JSONValue {
        guard case .object(let o) = value else {
            throw InputFileError(
                .malformed, file: file,
                "\(path.isEmpty ? "document" : InputFileError.quote(path)) is not an object")
        }
        guard let v = o[key] else { throw missing(key) }
        return v
    }

    /// Present and non-null value for `key`, nil otherwise (for the `opt*` getters).
    private func optional(_ key: String) throws -> JSONValue? {
        guard case .object(let o) = value else {
            throw InputFileError(
                .malformed, file: file,
                "\(path.isEmpty ? "document" : InputFileError.quote(path)) is not an object")
        }
        guard let v = o[key], !v.isNull else { return nil }
        return v
    }

    /// Required integer (an integral JSON number).
    public func int(_ key: String) throws -> Int {
        let v = try require(key)
        guard let i = v.int else { throw wrong(key, "an integer", v) }
        return i
    }

    /// Required number (integers accepted).
    public func double(_ key: String) throws -> Double {
        let v = try require(key)
        guard let d = v.double else { throw wrong(key, "a number", v) }
        return d
    }

    /// Required string.
    public func string(_ key: String) throws -> String {
        let v = try require(key)
        guard let s = v.string else { throw wrong(key, "a string", v) }
        return s
    }

    /// Required boolean.
    public func bool(_ key: String) throws -> Bool {
        let v = try require(key)
        guard let b = v.bool else { throw wrong(key, "true or false", v) }
        return b
    }

    /// Required array whose elements are all integers.
    public func intArray(_ key: String) throws -> [Int] {
        let v = try require(key)
        guard let a = v.intArray else { throw wrong(key, "an array of integers", v) }
        return a
    }

    /// Required array whose elements are all numbers.
    public func doubleArray(_ key: String) throws -> [Double] {
        let v = try require(key)
        guard let a = v.doubleArray else { throw wrong(key, "an array of numbers", v) }
        return a
    }

    /// Required array whose elements are all strings.
    public func stringArray(_ key: String) throws -> [String] {
        let v = try require(key)
        guard let a = v.stringArray else { throw wrong(key, "an array of strings", v) }
        return a
    }

    /// The nested object at `key`, keeping file and path for its own errors.
    public func config(_ key: String) throws -> JSONConfig {
        let v = try require(key)
        guard case .object = v else { throw wrong(key, "an object", v) }
        return JSONConfig(value: v, file: file, path: keyPath(key))
    }

    /// Elements of the required array at `key`, each keeping file and path (`key[3]`) for its own errors.
    public func array(_ key: String) throws -> [JSONConfig] {
        let v = try require(key)
        guard let a = v.array else { throw wrong(key, "an array", v) }
        return elements(a, key: key)
    }

    /// Elements of the array at `key`, nil when the key is missing or null.
    public func optArray(_ key: String) throws -> [JSONConfig]? {
        guard let v = try optional(key) else { return nil }
        guard let a = v.array else { throw wrong(key, "an array", v) }
        return elements(a, key: key)
    }

    private func elements(_ a: [JSONValue], key: String) -> [JSONConfig] {
        let base = keyPath(key)
        return a.indices.map { JSONConfig(value: a[$0], file: file, parentPath: base, index: $0) }
    }

    /// The nested object at `key`, nil when the key is missing or null.
    public func optConfig(_ key: String) throws -> JSONConfig? {
        guard let v = try optional(key) else { return nil }
        guard case .object = v else { throw wrong(key, "an object", v) }
        return JSONConfig(value: v, file: file, path: keyPath(key))
    }

    /// A malformed-value error the typed getters cannot express (a range, a pairing), naming the file and the key
    /// path of this value, or of its member `key`: "FILE: model.merges[12]: expected a pair of strings" (at the
    /// root: "FILE: message").
    public func invalid(_ what: String, key: String? = nil) -> InputFileError {
        let location = key.map(keyPath) ?? path
        if location.isEmpty { return InputFileError(.malformed, file: file, what) }
        // Keys come from the file: a hostile one may be megabytes long or hold line breaks.
        let shown = location.count > 120 ? String(location.prefix(120)) + "…" : location
        return InputFileError(.malformed, file: file, "\(InputFileError.oneLine(shown)): \(what)")
    }

    /// Missing or null keys give `default`; a present value of the wrong type is still an error.
    public func optInt(_ key: String, default d: Int) throws -> Int {
        guard let v = try optional(key) else { return d }
        guard let i = v.int else { throw wrong(key, "an integer", v) }
        return i
    }

    public func optDouble(_ key: String, default d: Double) throws -> Double {
        guard let v = try optional(key) else { return d }
        guard let x = v.double else { throw wrong(key, "a number", v) }
        return x
    }

    public func optString(_ key: String, default d: String) throws -> String {
        guard let v = try optional(key) else { return d }
        guard let s = v.string else { throw wrong(key, "a string", v) }
        return s
    }

    /// Missing/null gives nil (for keys such as `cross_attention_dim` whose absence means something).
    public func optString(_ key: String) throws -> String? {
        guard let v = try optional(key) else { return nil }
        guard let s = v.string else { throw wrong(key, "a string", v) }
        return s
    }

    /// Missing/null gives nil; a string that is not one of `T`'s raw values is refused with the key, the value and
    /// the accepted values, so a typo in a config names its own fix instead of failing later without context.
    public func optEnum<T>(_ key: String, as type: T.Type = T.self) throws -> T?
    where T: RawRepresentable & CaseIterable, T.RawValue == String {
        guard let s = try optString(key) else { return nil }
        guard let v = T(rawValue: s) else {
            let accepted = T.allCases.map(\.rawValue).joined(separator: ", ")
            throw InputFileError(
                .unsupported, file: file,
                "key \(InputFileError.quote(keyPath(key))) has unknown value "
                    + "\(InputFileError.quote(s)) (\(accepted))")
        }
        return v
    }

    public func optInt(_ key: String) throws -> Int? {
        guard let v = try optional(key) else { return nil }
        guard let i = v.int else { throw wrong(key, "an integer", v) }
        return i
    }

    public func optDouble(_ key: String) throws -> Double? {
        guard let v = try optional(key) else { return nil }
        guard let x = v.double else { throw wrong(key, "a number", v) }
        return x
    }

    public func optBool(_ key: String, default d: Bool) throws -> Bool {
        guard let v = try optional(key) else { return d }
        guard let b = v.bool else { throw wrong(key, "true or false", v) }
        return b
    }

    public func optIntArray(_ key: String, default d: [Int]) throws -> [Int] {
        guard let v = try optional(key) else { return d }
        guard let a = v.intArray else { throw wrong(key, "an array of integers", v) }
        return a
    }

    public func optStringArray(_ key: String, default d: [String]) throws -> [String] {
        guard let v = try optional(key) else { return d }
        guard let a = v.stringArray else { throw wrong(key, "an array of strings", v) }
        return a
    }

    /// An integer or an array of integers (diffusers allows e.g. `attention_head_dim: 8` or `[5, 10, 20, 20]`);
    /// a scalar is repeated `count` times.
    public func intOrIntArray(_ key: String, count: Int) throws -> [Int] {
        let v = try require(key)
        if let i = v.int { return [Int](repeating: i, count: max(0, count)) }
        if let a = v.intArray { return a }
        throw wrong(key, "an integer or an array of integers", v)
    }
}

extension JSONValue {
    /// Wraps this value with the file name used in typed-getter errors.
    public func config(file: String) -> JSONConfig { JSONConfig(value: self, file: file) }
}
