import Foundation

/// JSON with sorted keys and no escaped slashes: the same row always gives the same bytes.
public enum StableJSON {
    public static func encode(_ obj: Any) throws -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(obj) else {
            throw ProbeError("internal error: a row is not valid JSON (NaN or infinity?)")
        }
        return [UInt8](try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys, .withoutEscapingSlashes]))
    }

    /// A typed value in the same layout. JSONEncoder sorts keys by their bytes while JSONSerialization sorts them
    /// case-insensitively and numerically ("Abnormal" before "AP view"), so the value is encoded, read back exactly
    /// and written by JSONSerialization: rows written now and by earlier versions have one layout, line for line.
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        guard let data = try? JSONEncoder().encode(value),
              let tree = try? JSONDecoder().decode(ExactJSON.self, from: data) else {
            throw ProbeError("internal error: a row is not valid JSON (NaN or infinity?)")
        }
        return try encode(tree.foundation)
    }

    /// A typed value as the JSON object JSONSerialization would read from its encoding (numbers exact); empty
    /// when the value does not encode to an object.
    public static func object<Value: Encodable>(_ value: Value) -> [String: Any] {
        guard let data = try? JSONEncoder().encode(value),
              let tree = try? JSONDecoder().decode(ExactJSON.self, from: data) else { return [:] }
        return tree.foundation as? [String: Any] ?? [:]
    }

    public static func string(_ obj: Any) throws -> String { String(decoding: try encode(obj), as: UTF8.self) }

    /// Pretty, sorted, for summary/manifest files.
    public static func pretty(_ obj: Any) throws -> [UInt8] {
        guard JSONSerialization.isValidJSONObject(obj) else {
            throw ProbeError("internal error: a summary is not valid JSON")
        }
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return [UInt8](try JSONSerialization.data(withJSONObject: obj, options: options)) + [10]
    }

    /// A typed summary in the same pretty layout.
    public static func pretty<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        guard let data = try? JSONEncoder().encode(value),
              let tree = try? JSONDecoder().decode(ExactJSON.self, from: data) else {
            throw ProbeError("internal error: a summary is not valid JSON")
        }
        return try pretty(tree.foundation)
    }

    /// A number as results.jsonl writes it: integral values without a decimal point ("3", not "3.0"). CSV and HTML
    /// reports show numbers this way, as they did when they were made from the JSON text.
    public static func text(_ x: Double) -> String {
        let s = "\(x)"
        guard s.hasSuffix(".0") else { return s }
        return s == "-0.0" ? "0" : String(s.dropLast(2))
    }
}
