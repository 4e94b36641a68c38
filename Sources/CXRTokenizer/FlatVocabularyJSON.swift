import Foundation

/// A byte-level reader for the common form of `vocab.json`: one flat object of string keys and plain non-negative
/// integer ids (what transformers and Python's `json` write). Building a `JSONValue` per entry and converting it
/// afterwards was about a third of the tokenizer's construction, itself ~14% of a bundled-model edit's fixed cost.
///
/// It only ever returns what the general reader (`TokenizerFiles.vocabulary`) would return: anything outside the
/// simple form (other escapes than `\"`, `\\` and `\/`, numbers with a sign, fraction, exponent or leading zero, ids
/// of 2^31 or more, invalid UTF-8, an empty object, trailing data) gives nil, and the caller reads the file the
/// general way, with its messages. Duplicate keys keep the last id and the first spelling, as the general reader does.
enum FlatVocabularyJSON {
    /// The vocabulary in `data`, or nil when `data` is not in the simple form.
    static func parse(_ data: Data) -> [String: Int]? {
        data.withUnsafeBytes { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeRawBufferPointer) -> [String: Int]? {
        var reader = Reader(bytes: bytes)
        reader.skipSpace()
        guard reader.take(UInt8(ascii: "{")) else { return nil }
        // About 14 bytes per entry in CLIP's vocab.json; reserving avoids rehashing 49,408 keys several times.
        var vocab = [String: Int](minimumCapacity: bytes.count / 14)
        repeat {
            reader.skipSpace()
            guard let key = reader.string() else { return nil }
            reader.skipSpace()
            guard reader.take(UInt8(ascii: ":")) else { return nil }
            reader.skipSpace()
            guard let id = reader.id() else { return nil }
            vocab.updateValue(id, forKey: key)
            reader.skipSpace()
        } while reader.take(UInt8(ascii: ","))
        guard reader.take(UInt8(ascii: "}")) else { return nil }
        reader.skipSpace()
        guard reader.atEnd, !vocab.isEmpty else { return nil }
        return vocab
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var scratch = [UInt8]()

        var atEnd: Bool { position == bytes.count }

        mutating func skipSpace() {
            while position < bytes.count {
                switch bytes[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        /// A quoted string without control characters whose escapes are `\"`, `\\` or `\/` only.
        mutating func string() -> String? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = position
            while position < bytes.count {
                let c = bytes[position]
                if c == UInt8(ascii: "\"") {
                    defer { position += 1 }
                    return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                }
                if c == UInt8(ascii: "\\") { return escapedString(from: start) }
                if c < 0x20 { return nil }
                position += 1
            }
            return nil
        }

        private mutating func escapedString(from start: Int) -> String? {
            scratch.removeAll(keepingCapacity: true)
            scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
            while position < bytes.count {
                let c = bytes[position]
                position += 1
                if c == UInt8(ascii: "\"") { return String(validating: scratch, as: UTF8.self) }
                if c < 0x20 { return nil }
                if c != UInt8(ascii: "\\") {
                    scratch.append(c)
                    continue
                }
                guard position < bytes.count else { return nil }
                let e = bytes[position]
                position += 1
                guard e == UInt8(ascii: "\"") || e == UInt8(ascii: "\\") || e == UInt8(ascii: "/") else { return nil }
                scratch.append(e)
            }
            return nil
        }

        /// Digits without a leading zero (except "0" itself), below 2^31.
        mutating func id() -> Int? {
            let start = position
            var value = 0
            while position < bytes.count, (0x30...0x39).contains(bytes[position]) {
                value = value * 10 + Int(bytes[position] - 0x30)
                position += 1
                if position - start > 10 { return nil }
            }
            let count = position - start
            guard count > 0, count == 1 || bytes[start] != 0x30, value < 1 << 31 else { return nil }
            if position < bytes.count {
                switch bytes[position] {
                case UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E"): return nil
                default: break
                }
            }
            return value
        }
    }
}
