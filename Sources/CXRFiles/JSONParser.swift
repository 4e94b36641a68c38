/// A strict recursive-descent JSON parser over raw bytes (RFC 8259 plus Python's `NaN`/`Infinity`).
///
/// Works directly on a memory-mapped safetensors header without copying it. Nesting is bounded by `maxDepth`
/// so hostile input cannot exhaust the stack; strings must be valid UTF-8 (lone surrogate escapes rejected).
struct JSONParser {
    private let bytes: UnsafeRawBufferPointer
    private var pos = 0
    private let source: String
    private let maxDepth: Int
    private let rejectDuplicates: Bool

    init(_ bytes: UnsafeRawBufferPointer, source: String, maxDepth: Int, rejectDuplicates: Bool) {
        self.bytes = bytes
        self.source = source
        self.maxDepth = maxDepth
        self.rejectDuplicates = rejectDuplicates
    }

    /// Parses one value followed only by whitespace.
    mutating func parseDocument() throws -> JSONValue {
        skipSpace()
        let v = try parseValue(depth: 0)
        skipSpace()
        if pos != bytes.count { throw fail("unexpected data after the JSON value") }
        return v
    }

    private func fail(_ what: String) -> InputFileError {
        InputFileError(.malformed, file: source, "invalid JSON at byte \(pos): \(what)")
    }

    private mutating func skipSpace() {
        while pos < bytes.count {
            let c = bytes[pos]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { pos += 1 } else { break }
        }
    }

    private mutating func expectLiteral(_ lit: StaticString) throws {
        let n = lit.utf8CodeUnitCount
        guard pos + n <= bytes.count else { throw fail("truncated literal") }
        let p = lit.utf8Start
        for i in 0..<n where bytes[pos + i] != p[i] { throw fail("unknown literal") }
        pos += n
    }

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard pos < bytes.count else { throw fail("unexpected end of input") }
        switch bytes[pos] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "N"): try expectLiteral("NaN"); return .number(.nan)
        case UInt8(ascii: "I"): try expectLiteral("Infinity"); return .number(.infinity)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character")
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else {
            throw InputFileError(.limit, file: source, "JSON nested deeper than \(maxDepth) levels")
        }
        pos += 1
        var dict = [String: JSONValue]()
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(dict) }
        while true {
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let key = try parseString()
            skipSpace()
            guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            pos += 1
            skipSpace()
            let value = try parseValue(depth: depth)
            if dict.updateValue(value, forKey: key) != nil, rejectDuplicates {
                throw InputFileError(.malformed, file: source, "duplicate key \(InputFileError.quote(key))")
            }
            skipSpace()
            guard pos < bytes.count else { throw fail("unterminated object") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "}") { pos += 1; return .object(dict) }
            throw fail("expected ',' or '}'")
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        guard depth <= maxDepth else {
            throw InputFileError(.limit, file: source, "JSON nested deeper than \(maxDepth) levels")
        }
        pos += 1
        var arr = [JSONValue]()
        skipSpace()
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
        while true {
            skipSpace()
            arr.append(try parseValue(depth: depth))
            skipSpace()
            guard pos < bytes.count else { throw fail("unterminated array") }
            if bytes[pos] == UInt8(ascii: ",") { pos += 1; continue }
            if bytes[pos] == UInt8(ascii: "]") { pos += 1; return .array(arr) }
            throw fail("expected ',' or ']'")
        }
    }

    private mutating func parseNumber() throws -> Double {
        let start = pos
        if bytes[pos] == UInt8(ascii: "-") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "I") {
                try expectLiteral("Infinity")
                return -.infinity
            }
        }
        func digits(_ p: inout Int) -> Int {
            let s = p
            while p < bytes.count, bytes[p] >= 0x30, bytes[p] <= 0x39 { p += 1 }
            return p - s
        }
        guard pos < bytes.count else { throw fail("truncated number") }
        if bytes[pos] == UInt8(ascii: "0") {
            pos += 1
        } else if digits(&pos) == 0 {
            throw fail("bad number")
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: ".") {
            pos += 1
            if digits(&pos) == 0 { throw fail("bad number fraction") }
        }
        if pos < bytes.count, bytes[pos] == UInt8(ascii: "e") || bytes[pos] == UInt8(ascii: "E") {
            pos += 1
            if pos < bytes.count, bytes[pos] == UInt8(ascii: "+") || bytes[pos] == UInt8(ascii: "-") { pos += 1 }
            if digits(&pos) == 0 { throw fail("bad number exponent") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<pos]), as: UTF8.self)
        guard let d = Double(text) else { throw fail("bad number") }
        return d
    }

    private func hex4(at p: Int) -> UInt32? {
        guard p + 4 <= bytes.count else { return nil }
        var v: UInt32 = 0
        for i in 0..<4 {
            let c = bytes[p + i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    private mutating func parseString() throws -> String {
        pos += 1  // opening quote
        let start = pos
        // Fast path: no escapes.
        while pos < bytes.count {
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") {
                let slice = UnsafeRawBufferPointer(rebasing: bytes[start..<pos])
                pos += 1
                guard let s = String(validating: slice, as: UTF8.self) else {
                    throw fail("string is not valid UTF-8")
                }
                return s
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 { throw fail("control character in string") }
            pos += 1
        }
        // Slow path with escapes.
        var buf = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[start..<pos]))
        while true {
            guard pos < bytes.count else { throw fail("unterminated string") }
            let c = bytes[pos]
            if c == UInt8(ascii: "\"") { pos += 1; break }
            if c < 0x20 { throw fail("control character in string") }
            if c != UInt8(ascii: "\\") { buf.append(c); pos += 1; continue }
            pos += 1
            guard pos < bytes.count else { throw fail("unterminated escape") }
            let e = bytes[pos]
            pos += 1
            switch e {
            case UInt8(ascii: "\""): buf.append(0x22)
            case UInt8(ascii: "\\"): buf.append(0x5C)
            case UInt8(ascii: "/"): buf.append(0x2F)
            case UInt8(ascii: "b"): buf.append(0x08)
            case UInt8(ascii: "f"): buf.append(0x0C)
            case UInt8(ascii: "n"): buf.append(0x0A)
            case UInt8(ascii: "r"): buf.append(0x0D)
            case UInt8(ascii: "t"): buf.append(0x09)
            case UInt8(ascii: "u"):
                guard var cp = hex4(at: pos) else { throw fail("bad \\u escape") }
                pos += 4
                if cp >= 0xD800 && cp < 0xDC00 {
                    guard pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u"),
                        let lo = hex4(at: pos + 2), lo >= 0xDC00, lo < 0xE000
                    else {
                        throw fail("unpaired surrogate in \\u escape")
                    }
                    pos += 6
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
                } else if cp >= 0xDC00 && cp < 0xE000 {
                    throw fail("unpaired surrogate in \\u escape")
                }
                guard let scalar = Unicode.Scalar(cp) else { throw fail("bad \\u escape") }
                buf.append(contentsOf: Array(String(Character(scalar)).utf8))
            default:
                throw fail("bad escape")
            }
        }
        guard let s = String(validating: buf, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
        return s
    }
}
