import Foundation

/// Hand-assembled pickles and legacy `torch.save` files, byte for byte as torch writes them, for hostile-input
/// tests that no torch would produce (torch-free, so the tests control every field).
indirect enum PickleTestValue {
    case str(String)
    case int(Int)
    case float(Double)
    case none
    case dict([(String, PickleTestValue)])
    case list([PickleTestValue])
    /// `_rebuild_tensor_v2` of a float32 storage (`numel` elements under `key`), viewed whole as a 1-D tensor.
    /// `view` adds legacy view metadata (a storage slice, torch < 1.0) instead of None.
    case tensor(key: String, numel: Int, view: Bool = false)
    /// NEWOBJ of `className` ("module.Class"), then BUILD with `state` when given.
    case object(String, state: PickleTestValue?)
    /// Opcodes inserted verbatim.
    case raw([UInt8])

    /// A module record with the three dicts torch pickles, plus `extra` plain attributes.
    static func module(
        _ className: String, parameters: [(String, PickleTestValue)] = [],
        buffers: [(String, PickleTestValue)] = [], modules: [(String, PickleTestValue)] = [],
        extra: [(String, PickleTestValue)] = []
    ) -> PickleTestValue {
        .object(
            className,
            state: .dict(
                [
                    ("training", .raw([0x89])), ("_parameters", .dict(parameters)),
                    ("_buffers", .dict(buffers)), ("_modules", .dict(modules)),
                ] + extra))
    }

    /// The opcodes of this value (no PROTO or STOP).
    var opcodes: [UInt8] {
        switch self {
        case .str(let s):
            let u = Array(s.utf8)
            return [0x58] + PickleTestValue.le32(u.count) + u
        case .int(let v) where Int(exactly: Int32(truncatingIfNeeded: v)) == v:
            return [0x4A] + PickleTestValue.le32(v)
        case .int(let v):
            return [0x8A, 0x08] + withUnsafeBytes(of: Int64(v).littleEndian) { Array($0) }
        case .float(let v):
            return [0x47] + withUnsafeBytes(of: v.bitPattern.bigEndian) { Array($0) }
        case .none:
            return [0x4E]
        case .dict(let items):
            return [0x7D] + items.flatMap { PickleTestValue.str($0.0).opcodes + $0.1.opcodes + [0x73] }
        case .list(let items):
            return [0x5D] + items.flatMap { $0.opcodes + [0x61] }
        case .tensor(let key, let numel, let view):
            typealias P = PickleTestValue
            let meta: [UInt8] = view ? [0x28] + P.str(key).opcodes + [0x4B, 0x00, 0x4B, 0x04, 0x74] : [0x4E]
            let pid: [UInt8] =
                [0x28] + P.str("storage").opcodes + P.global("torch.FloatStorage")
                + P.str(key).opcodes + P.str("cpu").opcodes + P.int(numel).opcodes + meta + [0x74, 0x51]
            // (storage, offset 0, size (numel,), stride (1,), requires_grad False, OrderedDict())
            let args: [UInt8] =
                [0x28] + pid + [0x4B, 0x00] + P.int(numel).opcodes + [0x85, 0x4B, 0x01, 0x85, 0x89]
                + P.global("collections.OrderedDict") + [0x29, 0x52, 0x74]
            return P.global("torch._utils._rebuild_tensor_v2") + args + [0x52]
        case .object(let name, let state):
            return PickleTestValue.global(name) + [0x29, 0x81] + (state.map { $0.opcodes + [0x62] } ?? [])
        case .raw(let b):
            return b
        }
    }

    /// A whole protocol-2 pickle of this value.
    var pickle: [UInt8] { [0x80, 0x02] + opcodes + [0x2E] }

    static func global(_ full: String) -> [UInt8] {
        let dot = full.lastIndex(of: ".")!
        return [0x63] + Array("\(full[..<dot])\n\(full[full.index(after: dot)...])\n".utf8)
    }

    static func le32(_ v: Int) -> [UInt8] { withUnsafeBytes(of: Int32(v).littleEndian) { Array($0) } }
}

/// A legacy (pre-1.6) `torch.save` file: five pickles and the raw storages, each field replaceable.
struct LegacyTestFile {
    static let magic: [UInt8] = [
        0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19,
        0x2E,
    ]
    var magic = LegacyTestFile.magic
    var version = PickleTestValue.int(1001).pickle
    var systemInfo = PickleTestValue.dict([("protocol_version", .int(1001)), ("little_endian", .raw([0x88]))]).pickle
    var object: [UInt8]
    var keys: [UInt8]
    /// Each storage as written: declared element count, then the raw float32 elements.
    var storages: [(count: Int64, values: [Float])]

    /// `{"w": tensor([1, 2, 3, 4])}` by default. `storage`: whether `object` uses the one storage "0" of 4
    /// elements (the key list must name only storages the pickle uses).
    init(object: PickleTestValue = .dict([("w", .tensor(key: "0", numel: 4))]), storage: Bool = true) {
        self.object = object.pickle
        keys = PickleTestValue.list(storage ? [.str("0")] : []).pickle
        storages = storage ? [(4, [1, 2, 3, 4])] : []
    }

    var bytes: [UInt8] {
        var out = magic + version + systemInfo + object + keys
        for s in storages {
            out += withUnsafeBytes(of: s.count.littleEndian) { Array($0) }
            for v in s.values { out += withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
        }
        return out
    }

    /// Writes the file to a fresh temporary path named `name` and returns it.
    func write(_ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-legacy-\(getpid())-\(name)")
        try Data(bytes).write(to: url)
        return url
    }
}
