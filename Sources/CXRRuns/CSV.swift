import Foundation

/// RFC 4180-style CSV reading and writing.
public enum CSV {
    public static func parse(_ text: String, file: String) throws -> [[String]] {
        var rows = [[String]](), row = [String](), field = "", quoted = false, afterQuote = false
        var chars = Array(text.unicodeScalars).makeIterator()
        var line = 1
        while let c = chars.next() {
            if quoted {
                if c == "\"" {
                    quoted = false; afterQuote = true
                } else {
                    if c == "\n" { line += 1 }; field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"":
                if afterQuote {
                    field.append("\""); quoted = true; afterQuote = false
                } else if field.isEmpty {
                    quoted = true
                } else {
                    throw ProbeError("\(file): line \(line): a quote inside an unquoted field")
                }
            case ",": row.append(field); field = ""; afterQuote = false
            case "\r": continue
            case "\n": row.append(field); rows.append(row); row = []; field = ""; afterQuote = false; line += 1
            default: field.unicodeScalars.append(c); afterQuote = false
            }
        }
        if quoted { throw ProbeError("\(file): an unterminated quoted field") }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// One field, quoted when needed.
    public static func field(_ s: String) -> String {
        if s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
            return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
        return s
    }

    public static func line(_ fields: [String]) -> String { fields.map(field).joined(separator: ",") + "\n" }
}
