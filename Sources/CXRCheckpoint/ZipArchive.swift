/// A minimal read-only ZIP reader over a memory-mapped file, enough for PyTorch's `torch.save` archives.
///
/// torch writes uncompressed ("stored") entries, so an entry's data is simply a byte range of the mapping and
/// tensors are converted straight from it. Reads the central directory (authoritative: torch sets the
/// data-descriptor flag and leaves local sizes zero), including ZIP64 records and extra fields used by
/// checkpoints over 4 GB. Compressed or encrypted entries are reported as unsupported when read.
struct ZipArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let compressedSize: Int
        let size: Int
        let localHeaderOffset: Int
    }

    static let maxEntries = 2_000_000

    let path: String
    let bytes: UnsafeRawBufferPointer
    /// Entries by name.
    let entries: [String: Entry]

    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        self.bytes = bytes
        self.path = path
        func bad(_ m: String) -> CheckpointError {
            CheckpointError(.malformed, file: path, "not a valid ZIP archive: \(m)")
        }
        let n = bytes.count
        func u16(_ o: Int) -> Int { Int(bytes.loadUnaligned(fromByteOffset: o, as: UInt16.self).littleEndian) }
        func u32(_ o: Int) -> Int { Int(bytes.loadUnaligned(fromByteOffset: o, as: UInt32.self).littleEndian) }
        func u64(_ o: Int) -> UInt64 { bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self).littleEndian }
        func int64(_ o: Int) throws -> Int {
            let v = u64(o)
            guard v <= UInt64(Int.max) else { throw bad("64-bit field out of range") }
            return Int(v)
        }

        // End of central directory: 22 bytes + comment (<= 65535), searched backwards.
        guard n >= 22 else { throw bad("file is \(n) bytes, too short") }
        var eocd = -1
        var i = n - 22
        let lowest = max(0, n - 22 - 65535)
        while i >= lowest {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 0x05, bytes[i + 3] == 0x06,
                i + 22 + u16(i + 20) == n
            {
                eocd = i
                break
            }
            i -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-central-directory record (truncated?)") }
        var count = u16(eocd + 10)
        var cdSize = u32(eocd + 12)
        var cdOffset = u32(eocd + 16)
        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64 locator sits right before the EOCD.
            let loc = eocd - 20
            guard loc >= 0, u32(loc) == 0x0706_4B50 else { throw bad("ZIP64 locator missing") }
            let rec = try int64(loc + 8)
            guard rec >= 0, rec <= n - 56, u32(rec) == 0x0606_4B50 else { throw bad("ZIP64 end record missing") }
            count = try int64(rec + 32)
            cdSize = try int64(rec + 40)
            cdOffset = try int64(rec + 48)
        }
        guard count <= ZipArchive.maxEntries else {
            throw CheckpointError(
                .limit, file: path, "ZIP archive lists \(count) entries, more than \(ZipArchive.maxEntries)")
        }
        guard cdOffset <= n, cdSize <= n - cdOffset else {
            throw bad("central directory outside the file (truncated?)")
        }

        var entries = [String: Entry]()
        var p = cdOffset
        let cdEnd = cdOffset + cdSize
        for _ in 0..<count {
            guard p + 46 <= cdEnd, u32(p) == 0x0201_4B50 else { throw bad("bad central directory entry") }
            let flags = UInt16(u16(p + 8))
            let method = UInt16(u16(p + 10))
            var csize = u32(p + 20)
            var usize = u32(p + 24)
            let nameLen = u16(p + 28), extraLen = u16(p + 30), commentLen = u16(p + 32)
            var lho = u32(p + 42)
            let nameStart = p + 46
            let extraStart = nameStart + nameLen
            let next = extraStart + extraLen + commentLen
            guard next <= cdEnd else { throw bad("central directory entry runs past its end") }
            let nameBytes = UnsafeRawBufferPointer(rebasing: bytes[nameStart..<extraStart])
            let name = String(decoding: nameBytes, as: UTF8.self)
            // ZIP64 extended information: only fields whose 32-bit value is saturated are present, in order.
            if usize == 0xFFFF_FFFF || csize == 0xFFFF_FFFF || lho == 0xFFFF_FFFF {
                var q = extraStart
                var found = false
                while q + 4 <= extraStart + extraLen {
                    let id = u16(q), len = u16(q + 2)
                    let body = q + 4
                    guard body + len <= extraStart + extraLen else { throw bad("extra field runs past its end") }
                    if id == 0x0001 {
                        var f = body
                        if usize == 0xFFFF_FFFF {
                            guard f + 8 <= body + len else { throw bad("short ZIP64 extra field") }
                            usize = try int64(f); f += 8
                        }
                        if csize == 0xFFFF_FFFF {
                            guard f + 8 <= body + len else { throw bad("short ZIP64 extra field") }
                            csize = try int64(f); f += 8
                        }
                        if lho == 0xFFFF_FFFF {
                            guard f + 8 <= body + len else { throw bad("short ZIP64 extra field") }
                            lho = try int64(f); f += 8
                        }
                        found = true
                        break
                    }
                    q = body + len
                }
                guard found else { throw bad("entry needs a ZIP64 extra field but has none") }
            }
            guard entries[name] == nil else { throw bad("duplicate entry \(CheckpointError.quote(name))") }
            entries[name] = Entry(
                name: name, method: method, flags: flags, compressedSize: csize, size: usize,
                localHeaderOffset: lho)
            p = next
        }
        self.entries = entries
    }

    /// The stored bytes of an entry (a view into the mapping).
    func data(_ e: Entry) throws -> UnsafeRawBufferPointer {
        let q = CheckpointError.quote(e.name)
        guard e.flags & 1 == 0 else {
            throw CheckpointError(.unsupported, file: path, "ZIP entry \(q) is encrypted")
        }
        guard e.method == 0 else {
            throw CheckpointError(
                .unsupported, file: path,
                "ZIP entry \(q) is compressed (method \(e.method)); only stored entries are supported (torch.save writes stored entries)"
            )
        }
        guard e.compressedSize == e.size else {
            throw CheckpointError(
                .malformed, file: path, "stored ZIP entry \(q) has different compressed and plain sizes")
        }
        let h = e.localHeaderOffset
        guard h >= 0, h <= bytes.count - 30,
            bytes.loadUnaligned(fromByteOffset: h, as: UInt32.self).littleEndian == 0x0403_4B50
        else {
            throw CheckpointError(.malformed, file: path, "ZIP entry \(q) has no local header (truncated?)")
        }
        let nameLen = Int(bytes.loadUnaligned(fromByteOffset: h + 26, as: UInt16.self).littleEndian)
        let extraLen = Int(bytes.loadUnaligned(fromByteOffset: h + 28, as: UInt16.self).littleEndian)
        let start = h + 30 + nameLen + extraLen
        guard start <= bytes.count, e.size <= bytes.count - start else {
            throw CheckpointError(
                .malformed, file: path, "ZIP entry \(q) data runs past the end of the file (truncated?)")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + e.size)])
    }

    /// Absolute file offset of an entry's data (for `TensorInfo.byteRange`).
    func dataOffset(_ e: Entry) throws -> Int {
        let d = try data(e)
        guard let b = d.baseAddress, let base = bytes.baseAddress else { return 0 }
        return b - base
    }
}
