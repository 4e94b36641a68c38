import CZlib
import Foundation

/// Minimal gzip reader (zlib `inflate` with gzip header detection) for the CLIP merge list, so that the
/// tokenizer needs no external tools or Python at run time.
enum Gzip {
    /// Refuse to inflate more than this: the CLIP merge list is ~1.6 MB, anything far larger is hostile.
    static let maximumOutput = 256 << 20

    /// Inflates a whole gzip file. Throws `TokenizerError.invalidFile` naming `path` on any zlib error.
    static func inflate(_ input: Data, path: String) throws -> Data {
        if input.isEmpty { throw TokenizerError.invalidFile(path: path, reason: "empty file, expected gzip data") }
        var stream = z_stream()
        let initStatus = inflateInit2_(&stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else {
            throw TokenizerError.invalidFile(path: path, reason: "zlib inflateInit2 failed (\(initStatus))")
        }
        defer { inflateEnd(&stream) }

        var output = Data()
        let chunkSize = 1 << 18
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var status: Int32 = Z_OK
        try input.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            guard let base = raw.bindMemory(to: Bytef.self).baseAddress else { return }
            stream.next_in = UnsafeMutablePointer(mutating: base)
            stream.avail_in = uInt(raw.count)
            while status != Z_STREAM_END {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { buf in
                    stream.next_out = buf.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return chunkSize - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END {
                    let reason = status == Z_BUF_ERROR ? "truncated gzip data" : "corrupt gzip data (zlib \(status))"
                    throw TokenizerError.invalidFile(path: path, reason: reason)
                }
                output.append(contentsOf: chunk[0..<produced])
                if output.count > maximumOutput {
                    throw TokenizerError.invalidFile(path: path, reason: "inflated data exceeds \(maximumOutput) bytes")
                }
                if status == Z_OK && produced == 0 && stream.avail_in == 0 {
                    throw TokenizerError.invalidFile(path: path, reason: "truncated gzip data")
                }
            }
        }
        return output
    }
}
