/// The byte-level alphabet of GPT-2/CLIP: every byte 0...255 is shown as a printable unicode character, so
/// that BPE works on strings without whitespace or control characters. The order is the one CLIP uses to
/// number its first 256 vocabulary entries (printable ASCII, then '¡'...'¬', '®'...'ÿ', then the rest).
enum ByteLevel {
    /// `characters[i]` is the character for byte `order[i]`, in vocabulary order.
    static let order: [UInt8] = {
        var bytes = [UInt8]()
        bytes += (33...126).map { UInt8($0) }
        bytes += (161...172).map { UInt8($0) }
        bytes += (174...255).map { UInt8($0) }
        let printable = Set(bytes)
        for b in 0...255 where !printable.contains(UInt8(b)) { bytes.append(UInt8(b)) }
        return bytes
    }()

    /// Character for each byte value (index = byte).
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var extra: UInt32 = 256
        for b in 0...255 {
            let printable = (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b)
            if printable {
                table[b] = Unicode.Scalar(UInt8(b))
            } else {
                table[b] = Unicode.Scalar(extra) ?? " "
                extra += 1
            }
        }
        return table
    }()

    /// Inverse of `byteToScalar`, for decoding.
    static let scalarToByte: [UInt32: UInt8] = {
        var map = [UInt32: UInt8]()
        for b in 0...255 { map[byteToScalar[b].value] = UInt8(b) }
        return map
    }()

    /// The 256 alphabet strings in vocabulary order.
    static var alphabet: [String] { order.map { String(Character(byteToScalar[Int($0)])) } }

    /// Bytes of a vocabulary token: mapped back through the alphabet, or the token's own UTF-8 when one of its
    /// characters is outside the alphabet (what the `tokenizers` ByteLevel decoder does, e.g. for `<|...|>`).
    static func bytes(ofToken token: String) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(token.unicodeScalars.count)
        for s in token.unicodeScalars {
            guard let b = scalarToByte[s.value] else { return Array(token.utf8) }
            out.append(b)
        }
        return out
    }
}
