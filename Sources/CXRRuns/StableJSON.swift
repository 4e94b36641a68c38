import Foundation

/// JSON with sorted keys and no escaped slashes: the same row always gives the same bytes.
///
/// JSONEncoder sorts keys by their bytes while JSONSerialization sorts them case-insensitively and numerically
/// ("Abnormal" before "AP view"), so a value is encoded, read back exactly (`ExactJSON`) and written by
/// JSONSerialization: rows, run.json and summaries written now and by earlier versions have one layout, line for
/// line, and the hashes of plan settings stay those of the runs they identify.
public enum StableJSON {
    /// One line (a results.jsonl row, a hash input, a `--json` output).
    public static func encode<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let error = ProbeError("internal error: a row is not valid JSON (NaN or infinity?)")
        return try write(try tree(value, error), options: [.sortedKeys, .withoutEscapingSlashes], error)
    }

    public static func string<Value: Encodable>(_ value: Value) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// Text in the layout of the commands' `--json` outputs that predate this type (`explain --list`, `generate`,
    /// `provenance`): sorted the same, with slashes escaped ("\/") as JSONSerialization does by default, so that they
    /// print what they did; `pretty` indents (no final newline).
    public static func string<Value: Encodable>(
        _ value: Value, escapingSlashes: Bool,
        pretty: Bool = false
    ) throws -> String {
        let error = ProbeError("internal error: a --json output is not valid JSON (NaN or infinity?)")
        var options: JSONSerialization.WritingOptions = [.sortedKeys]
        if !escapingSlashes { options.insert(.withoutEscapingSlashes) }
        if pretty { options.insert(.prettyPrinted) }
        return String(decoding: try write(try tree(value, error), options: options, error), as: UTF8.self)
    }

    /// Pretty, sorted, with a final newline, for summary, manifest and run.json files.
    public static func pretty<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let error = ProbeError("internal error: a summary is not valid JSON")
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return try write(try tree(value, error), options: options, error) + [10]
    }

    /// A number as results.jsonl writes it: integral values without a decimal point ("3", not "3.0"). CSV and HTML
    /// reports show numbers this way, as they did when they were made from the JSON text.
    public static func text(_ x: Double) -> String {
        let s = "\(x)"
        guard s.hasSuffix(".0") else { return s }
        return s == "-0.0" ? "0" : String(s.dropLast(2))
    }

    private static func tree<Value: Encodable>(_ value: Value, _ error: ProbeError) throws -> ExactJSON {
        if let tree = value as? ExactJSON { return tree }
        guard let tree = try? ExactJSON(encoding: value) else { throw error }
        return tree
    }

    private static func write(
        _ tree: ExactJSON, options: JSONSerialization.WritingOptions,
        _ error: ProbeError
    ) throws -> [UInt8] {
        let object = tree.foundation
        guard JSONSerialization.isValidJSONObject(object) else { throw error }
        return [UInt8](try JSONSerialization.data(withJSONObject: object, options: options))
    }
}
