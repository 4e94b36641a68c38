/// Writing JSON: the text Python's `json.dumps(value, sort_keys=True, ensure_ascii=False)` produces (with
/// `indent=2` when `pretty`), because the files cxr-edit writes (diffusers configs, tokenizer folders, safetensors
/// headers) are compared byte for byte with what Python wrote.
extension JSONValue {
    /// JSON text with object keys sorted by code point, as Python sorts them. `pretty` indents by two spaces like
    /// diffusers' `save_config`. Integral numbers are written without a fraction; non-finite numbers as
    /// `NaN`/`Infinity` (what Python writes and our parser reads back).
    public func serialized(pretty: Bool = true) -> String {
        var out = ""
        write(into: &out, pretty: pretty, indent: 0)
        return out
    }

    /// `s` as a JSON string literal: quotes, backslashes and control characters escaped, everything else verbatim,
    /// or, with `asciiOnly`, everything outside printable ASCII as `\uXXXX` (Python's `ensure_ascii=True`, for
    /// DICOM elements whose character set must not change). The one string quoting of cxr-edit's JSON writers.
    public static func quoted(_ s: String, asciiOnly: Bool = false) -> String {
        var out = ""
        writeString(s, into: &out, asciiOnly: asciiOnly)
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
            // Swift's `<` compares canonical forms; Python compares code points, and our output must match its.
            let keys = o.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
            for (i, k) in keys.enumerated() {
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

    private static func formatNumber(_ d: Double) -> String {
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        if d == d.rounded(), abs(d) < 1e15 {
            if d == 0 && d.sign == .minus { return "-0.0" }
            return String(Int64(d))
        }
        return "\(d)"
    }

    private static func writeString(_ s: String, into out: inout String, asciiOnly: Bool = false) {
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
                if u.value < 0x20 || (asciiOnly && u.value >= 0x7F) {
                    for unit in String(u).utf16 {
                        let hex = String(unit, radix: 16)
                        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                    }
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }
}
