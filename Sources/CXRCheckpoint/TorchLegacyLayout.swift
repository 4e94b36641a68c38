/// The layout `torch.save` used before PyTorch 1.6 (and still writes with `_use_new_zipfile_serialization=False`),
/// in which torchxrayvision's published weights are stored.
///
/// Five pickles back to back — the magic number 0x1950a86a20f9469cfc6c, the format version 1001, system info
/// (byte order, type sizes), the saved object, the list of storage keys — then each listed storage in that
/// order: an 8-byte little-endian element count and the raw elements. Every pickle goes through the restricted
/// `Unpickler`; every count and length is checked against the file before it is used.
struct TorchLegacyLayout {
    /// The saved object.
    let root: PickleValue
    /// The file's bytes holding each storage's elements, by key.
    let storages: [String: UnsafeRawBufferPointer]

    /// The magic number as pickle protocol 2+ writes it: LONG1 with 10 little-endian bytes.
    private static let magic: [UInt8] = [0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let formatVersion = 1001

    /// Whether `bytes` start like a legacy checkpoint (a pickle PROTO opcode).
    static func matches(_ bytes: UnsafeRawBufferPointer) -> Bool { bytes.count >= 2 && bytes[0] == 0x80 }

    init(bytes: UnsafeRawBufferPointer, path: String) throws {
        var pos = try TorchLegacyLayout.skipMagic(bytes, path: path)

        var header = Unpickler(bytes, source: path, start: pos)
        guard case .int(let version) = try header.load(), version == TorchLegacyLayout.formatVersion else {
            throw CheckpointError(
                .unsupported, file: path,
                "legacy torch.save format version is not "
                    + "\(TorchLegacyLayout.formatVersion), the only one supported")
        }
        var info = Unpickler(bytes, source: path, start: header.position)
        if case .dict(let d) = try info.load(),
            d.items.contains(where: { item in
                guard case .string("little_endian") = item.key, case .bool(false) = item.value else { return false }
                return true
            })
        {
            throw CheckpointError(.unsupported, file: path, "big-endian checkpoints are not supported")
        }
        var object = Unpickler(bytes, source: path, start: info.position)
        root = try object.load()
        var keyList = Unpickler(bytes, source: path, start: object.position)
        guard case .list(let keys) = try keyList.load() else {
            throw CheckpointError(.malformed, file: path, "legacy checkpoint: the storage key list is not a list")
        }
        pos = keyList.position

        var storages = [String: UnsafeRawBufferPointer]()
        for k in keys.items {
            guard case .string(let key) = k else {
                throw CheckpointError(.malformed, file: path, "storage key list holds a \(k.typeName)")
            }
            let q = CheckpointError.quote(key)
            guard let storage = object.storages[key] else {
                throw CheckpointError(
                    .malformed, file: path,
                    "storage key list names \(q), which the pickle "
                        + "never uses")
            }
            guard storages[key] == nil else {
                throw CheckpointError(.malformed, file: path, "storage \(q) listed twice")
            }
            guard bytes.count - pos >= 8 else {
                throw CheckpointError(.malformed, file: path, "truncated: storage \(q) has no element count")
            }
            let count = Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: Int64.self))
            guard count == Int64(storage.numel) else {
                throw CheckpointError(
                    .malformed, file: path,
                    "storage \(q) holds \(count) elements; the pickle "
                        + "declares \(storage.numel)")
            }
            pos += 8
            let (size, overflow) = storage.numel.multipliedReportingOverflow(by: storage.dtype.size)
            guard !overflow, size <= bytes.count - pos else {
                throw CheckpointError(
                    .malformed, file: path,
                    "truncated: storage \(q) needs \(storage.numel) "
                        + "elements, more than the file has left")
            }
            storages[key] = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + size)])
            pos += size
        }
        self.storages = storages
    }

    /// Checks the magic-number pickle (PROTO, an optional FRAME, the LONG1, STOP) and returns where the next
    /// pickle starts. Matched byte for byte: the number is wider than the unpickler's 64-bit integers.
    private static func skipMagic(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Int {
        let notTorch = CheckpointError(
            .malformed, file: path,
            "not a PyTorch checkpoint (no ZIP signature, and "
                + "not torch's legacy layout: magic number missing)")
        guard matches(bytes), bytes[1] >= 2, bytes[1] <= 5 else { throw notTorch }
        var pos = 2
        if pos < bytes.count, bytes[pos] == 0x95 { pos += 9 }  // FRAME and its 8-byte length
        guard bytes.count - pos >= magic.count + 1 else { throw notTorch }
        for (i, b) in magic.enumerated() where bytes[pos + i] != b { throw notTorch }
        pos += magic.count
        guard bytes[pos] == 0x2E else { throw notTorch }
        return pos + 1
    }
}
