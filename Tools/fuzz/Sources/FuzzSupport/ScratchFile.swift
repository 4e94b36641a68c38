import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The readers under test open files by path (they mmap them), so each input is written to one scratch file in
/// /dev/shm (memory-backed), rewritten in place for every execution.
public struct ScratchFile: Sendable {
    public let url: URL

    /// `name` should carry the extension the reader dispatches on (e.g. "input.safetensors").
    public init(_ name: String) {
        let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        url = URL(fileURLWithPath: dir).appendingPathComponent("cxr-fuzz-\(getpid())-\(name)")
    }

    /// Replaces the file's content with `count` bytes at `data`.
    public func write(_ data: UnsafePointer<UInt8>, _ count: Int) {
        let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { fatalError("cannot write \(url.path)") }
        var off = 0
        while off < count {
            let n = Glibc.write(fd, data + off, count - off)
            if n <= 0 { break }
            off += n
        }
        close(fd)
    }

    public func write(_ bytes: [UInt8]) {
        bytes.withUnsafeBufferPointer { b in
            if let base = b.baseAddress { write(base, b.count) } else { write([0], 0) }
        }
    }
}

/// A minimal ZIP writer (stored entries) for wrapping fuzzed pickles into torch.save-style archives.
public enum StoredZip {
    public static func make(_ entries: [(String, [UInt8])]) -> [UInt8] {
        var out = [UInt8](), central = [UInt8]()
        func le16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func le32(_ v: Int, _ a: inout [UInt8]) { for i in 0..<4 { a.append(UInt8((v >> (8 * i)) & 0xFF)) } }
        for (name, data) in entries {
            let offset = out.count
            let nameBytes = Array(name.utf8)
            let crc = crc32(data)
            le32(0x0403_4B50, &out); le16(20, &out); le16(0, &out); le16(0, &out); le16(0, &out); le16(0, &out)
            le32(Int(crc), &out); le32(data.count, &out); le32(data.count, &out); le16(nameBytes.count, &out); le16(0, &out)
            out += nameBytes
            out += data
            le32(0x0201_4B50, &central); le16(20, &central); le16(20, &central); le16(0, &central); le16(0, &central)
            le16(0, &central); le16(0, &central); le32(Int(crc), &central); le32(data.count, &central); le32(data.count, &central)
            le16(nameBytes.count, &central); le16(0, &central); le16(0, &central); le16(0, &central); le16(0, &central)
            le32(0, &central); le32(offset, &central)
            central += nameBytes
        }
        let cdOffset = out.count
        out += central
        le32(0x0605_4B50, &out); le16(0, &out); le16(0, &out); le16(entries.count, &out); le16(entries.count, &out)
        le32(central.count, &out); le32(cdOffset, &out); le16(0, &out)
        return out
    }

    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }
}

/// Reader errors must be one line that names the file (the CLI prints them verbatim); anything else is a finding.
public func checkError(_ error: Error, mentions file: String) {
    let text = "\(error)"
    if text.contains("\n") || text.contains("\r") { fatalError("multi-line error: \(text.debugDescription)") }
    if !file.isEmpty && !text.contains(file) { fatalError("error does not name \(file): \(text)") }
}
