import Foundation

/// Typed access to a component's `config.json`, with one-line errors that name the file and key.
///
/// diffusers and transformers write many keys as "int or list" or "null or value"; the accessors here accept
/// exactly the forms those libraries accept.
public struct ConfigReader {
    public let values: [String: Any]
    /// The file name used in error messages.
    public let file: String

    public init(values: [String: Any], file: String) {
        self.values = values
        self.file = file
    }

    /// Parses JSON text (an object at top level).
    public init(data: Data, file: String) throws {
        guard data.count <= 16 << 20 else { throw ModelError.badConfig(file: file, message: "file is larger than 16 MB") }
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: data) } catch {
            throw ModelError.badConfig(file: file, message: "not valid JSON")
        }
        guard let dict = obj as? [String: Any] else {
            throw ModelError.badConfig(file: file, message: "top level is not a JSON object")
        }
        self.init(values: dict, file: file)
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw ModelError.badConfig(file: url.path, message: "cannot be read")
        }
        try self.init(data: data, file: url.path)
    }

    /// Whether `key` is absent or JSON null.
    public func isNull(_ key: String) -> Bool { values[key] == nil || values[key] is NSNull }

    private func wrongType(_ key: String, _ expected: String) -> ModelError {
        .badConfig(file: file, message: "key '\(key)' should be \(expected)")
    }

    private func number(_ v: Any) -> Double? {
        guard let n = v as? NSNumber, !Self.isBoolean(n) else { return nil }
        return n.doubleValue
    }

    /// JSON true/false arrive as NSNumber too; tell them apart from numbers by their type encoding.
    private static func isBoolean(_ n: NSNumber) -> Bool { String(cString: n.objCType) == "c" }

    private func boolean(_ v: Any) -> Bool? {
        guard let n = v as? NSNumber, Self.isBoolean(n) else { return nil }
        return n.boolValue
    }

    private func integer(_ v: Any) -> Int? {
        guard let d = number(v), d == d.rounded(), abs(d) < 1e15 else { return nil }
        return Int(d)
    }

    public func int(_ key: String) throws -> Int {
        guard !isNull(key) else { throw ModelError.badConfig(file: file, message: "missing key '\(key)'") }
        guard let i = integer(values[key]!) else { throw wrongType(key, "an integer") }
        return i
    }

    public func int(_ key: String, default d: Int) throws -> Int { isNull(key) ? d : try int(key) }

    public func optionalInt(_ key: String) throws -> Int? { isNull(key) ? nil : try int(key) }

    public func double(_ key: String) throws -> Double {
        guard !isNull(key) else { throw ModelError.badConfig(file: file, message: "missing key '\(key)'") }
        guard let d = number(values[key]!) else { throw wrongType(key, "a number") }
        return d
    }

    public func double(_ key: String, default d: Double) throws -> Double { isNull(key) ? d : try double(key) }

    public func bool(_ key: String, default d: Bool) throws -> Bool {
        if isNull(key) { return d }
        guard let b = boolean(values[key]!) else { throw wrongType(key, "true or false") }
        return b
    }

    public func string(_ key: String) throws -> String {
        guard !isNull(key) else { throw ModelError.badConfig(file: file, message: "missing key '\(key)'") }
        guard let s = values[key] as? String else { throw wrongType(key, "a string") }
        return s
    }

    public func string(_ key: String, default d: String) throws -> String { isNull(key) ? d : try string(key) }

    public func optionalString(_ key: String) throws -> String? { isNull(key) ? nil : try string(key) }

    public func stringArray(_ key: String) throws -> [String] {
        guard !isNull(key) else { throw ModelError.badConfig(file: file, message: "missing key '\(key)'") }
        guard let a = values[key] as? [Any], let s = a as? [String] else { throw wrongType(key, "a list of strings") }
        return s
    }

    public func intArray(_ key: String) throws -> [Int] {
        guard !isNull(key) else { throw ModelError.badConfig(file: file, message: "missing key '\(key)'") }
        guard let a = values[key] as? [Any] else { throw wrongType(key, "a list of integers") }
        var out = [Int]()
        for v in a {
            guard let i = integer(v) else { throw wrongType(key, "a list of integers") }
            out.append(i)
        }
        return out
    }

    /// A key that may be a single integer (repeated `count` times) or a list of `count` integers.
    public func intOrList(_ key: String, count: Int) throws -> [Int] {
        if let v = values[key], let i = integer(v) { return Array(repeating: i, count: count) }
        let a = try intArray(key)
        guard a.count == count else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' has \(a.count) entries, expected \(count)")
        }
        return a
    }

    /// A key that may be a single bool (repeated) or a list of bools.
    public func boolOrList(_ key: String, count: Int, default d: Bool) throws -> [Bool] {
        if isNull(key) { return Array(repeating: d, count: count) }
        if let b = boolean(values[key]!) { return Array(repeating: b, count: count) }
        guard let a = (values[key] as? [Any])?.compactMap({ boolean($0) }), a.count == count else { throw wrongType(key, "a bool or a list of \(count) bools") }
        return a
    }

    /// Positive integer check with a clear message (guards against configs that would allocate absurd tensors).
    public func positive(_ key: String, _ v: Int, max: Int = 1 << 20) throws -> Int {
        guard v > 0 && v <= max else {
            throw ModelError.badConfig(file: file, message: "key '\(key)' = \(v) is out of range 1...\(max)")
        }
        return v
    }
}
