import Foundation

/// CRC-32 (ISO 3309 / PNG) with a table computed once; used to verify and write PNG chunks.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Continues a running CRC (start with 0) over `bytes`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = ~crc
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return ~c
    }

    public static func checksum<D: DataProtocol>(_ data: D) -> UInt32 {
        var crc: UInt32 = 0
        for region in data.regions { crc = region.withUnsafeBytes { update(crc, $0) } }
        return crc
    }
}

/// One PNG chunk located in a file buffer.
struct PNGChunk {
    let type: String
    /// Offset of the chunk data in the buffer.
    let dataOffset: Int
    let length: Int
}

/// The fields of IHDR.
struct PNGHeader {
    let width: Int
    let height: Int
    let bitDepth: Int
    let colorType: Int
    let interlace: Int
}

/// Walks and validates the chunk structure of a PNG ourselves, before libpng sees it, so that
/// damaged files get precise one-line errors (truncation, bad CRC, impossible header) and a
/// decompression bomb is refused from its IHDR before any pixel memory exists.
enum PNGStructure {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func be32(_ p: UnsafeRawBufferPointer, _ o: Int) -> UInt32 {
        UInt32(p[o]) << 24 | UInt32(p[o + 1]) << 16 | UInt32(p[o + 2]) << 8 | UInt32(p[o + 3])
    }

    /// Lists every chunk up to and including IEND, verifying lengths, types and CRCs.
    static func chunks(_ bytes: UnsafeRawBufferPointer, file: String) throws -> [PNGChunk] {
        guard bytes.count >= 8, zip(signature, bytes).allSatisfy({ $0 == $1 }) else {
            throw ImageError(file: file, "not a PNG file")
        }
        var out: [PNGChunk] = []
        var pos = 8
        while true {
            guard bytes.count - pos >= 8 else {
                throw ImageError(file: file, "truncated PNG data (no IEND chunk)")
            }
            let len = be32(bytes, pos)
            let typeBytes = [bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]
            guard typeBytes.allSatisfy({ (65...90).contains($0) || (97...122).contains($0) }) else {
                throw ImageError(file: file, "invalid PNG chunk type at offset \(pos + 4)")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            guard len <= 0x7FFF_FFFF else {
                throw ImageError(file: file, "invalid length \(len) of chunk \(type)")
            }
            let length = Int(len)
            guard bytes.count - pos - 12 >= length else {
                throw ImageError(file: file, "truncated PNG data (chunk \(type) declares \(length) bytes)")
            }
            let stored = be32(bytes, pos + 8 + length)
            let crc = CRC32.update(0, UnsafeRawBufferPointer(rebasing: bytes[(pos + 4)..<(pos + 8 + length)]))
            guard crc == stored else { throw ImageError(file: file, "bad CRC in chunk \(type)") }
            out.append(PNGChunk(type: type, dataOffset: pos + 8, length: length))
            pos += 12 + length
            if type == "IEND" { return out }
        }
    }

    /// Validates the chunk list and returns the header.
    static func header(_ bytes: UnsafeRawBufferPointer, chunks: [PNGChunk], file: String, limits: ImageLimits) throws
        -> PNGHeader
    {
        guard let first = chunks.first, first.type == "IHDR", first.length == 13 else {
            throw ImageError(file: file, "PNG does not start with a valid IHDR chunk")
        }
        let o = first.dataOffset
        let w = Int(be32(bytes, o)), h = Int(be32(bytes, o + 4))
        let depth = Int(bytes[o + 8]), color = Int(bytes[o + 9])
        let compression = Int(bytes[o + 10]), filter = Int(bytes[o + 11]), interlace = Int(bytes[o + 12])
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[color] else { throw ImageError(file: file, "invalid PNG colour type \(color)") }
        guard depths.contains(depth) else {
            throw ImageError(file: file, "invalid bit depth \(depth) for PNG colour type \(color)")
        }
        guard compression == 0, filter == 0, interlace <= 1 else {
            throw ImageError(file: file, "invalid PNG compression, filter or interlace method")
        }
        try limits.check(width: w, height: h, file: file)
        guard chunks.contains(where: { $0.type == "IDAT" }) else {
            throw ImageError(file: file, "PNG has no IDAT chunk")
        }
        if color == 3 && !chunks.contains(where: { $0.type == "PLTE" }) {
            throw ImageError(file: file, "palette PNG has no PLTE chunk")
        }
        return PNGHeader(width: w, height: h, bitDepth: depth, colorType: color, interlace: interlace)
    }
}

/// Encoding and decoding of PNG text chunks (tEXt, iTXt).
enum PNGText {
    /// A PNG keyword: 1–79 printable Latin-1 characters, no leading, trailing or double spaces.
    static func keywordBytes(_ key: String) -> [UInt8]? {
        var out: [UInt8] = []
        for u in key.unicodeScalars {
            let v = u.value
            guard (32...126).contains(v) || (161...255).contains(v) else { return nil }
            out.append(UInt8(v))
        }
        guard (1...79).contains(out.count), out.first != 32, out.last != 32 else { return nil }
        for i in 1..<out.count where out[i] == 32 && out[i - 1] == 32 { return nil }
        return out
    }

    static func latin1Bytes(_ s: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            guard u.value <= 255 else { return nil }
            out.append(UInt8(u.value))
        }
        return out
    }

    /// A complete chunk (length, type, data, CRC).
    static func chunk(type: String, data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        let n = UInt32(data.count)
        out += [UInt8(n >> 24), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        let body = Array(type.utf8) + data
        out += body
        let crc = body.withUnsafeBytes { CRC32.update(0, $0) }
        out += [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
        return out
    }

    /// tEXt when the value is Latin-1 (the chunk's defined encoding), otherwise uncompressed iTXt
    /// with UTF-8 text. Values may not contain NUL (the spec forbids it in both chunk types).
    static func encode(key: String, value: String, file: String) throws -> [UInt8] {
        guard let k = keywordBytes(key) else {
            throw ImageError(file: file, "invalid PNG text keyword \"\(key)\" (1-79 printable Latin-1 characters)")
        }
        guard !value.unicodeScalars.contains("\0") else {
            throw ImageError(file: file, "PNG text value for \"\(key)\" contains a NUL character")
        }
        if let v = latin1Bytes(value) {
            return chunk(type: "tEXt", data: k + [0] + v)
        }
        // keyword NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text.
        return chunk(type: "iTXt", data: k + [0, 0, 0, 0, 0] + Array(value.utf8))
    }

    /// Decodes tEXt and uncompressed iTXt chunks. Compressed text (zTXt, compressed iTXt) needs
    /// zlib, which this target does not link; such chunks are skipped.
    static func decode(type: String, data: UnsafeRawBufferPointer) -> (key: String, value: String)? {
        guard let nul = data.firstIndex(of: 0) else { return nil }
        let keyLatin1 = String(String.UnicodeScalarView(data[..<nul].map { Unicode.Scalar($0) }))
        switch type {
        case "tEXt":
            let value = String(String.UnicodeScalarView(data[(nul + 1)...].map { Unicode.Scalar($0) }))
            return (keyLatin1, value)
        case "iTXt":
            var p = nul + 1
            guard data.count - p >= 2 else { return nil }
            let compressed = data[p]
            p += 2
            guard compressed == 0,
                let langEnd = data[p...].firstIndex(of: 0),
                let transEnd = data[(langEnd + 1)...].firstIndex(of: 0)
            else { return nil }
            let value = String(decoding: data[(transEnd + 1)...].map { $0 }, as: UTF8.self)
            return (keyLatin1, value)
        default:
            return nil
        }
    }
}
