import Foundation
import CXRTensor

/// A PyTorch checkpoint in the zip format of `torch.save` (since 1.6): `.bin`, `.pt`, `.pth`, `.ckpt`.
///
/// The archive holds `<archive>/data.pkl` (the pickled object) and `<archive>/data/<key>` (raw storages).
/// The pickle is interpreted by a restricted unpickler that never executes code and refuses any global outside
/// the tensor allow-list, so a hostile checkpoint cannot run anything. Nested dicts are flattened to dotted
/// names; if the top level has a `state_dict` dict (Lightning `.ckpt`), only that is used. Tensors are read
/// straight from the memory-mapped archive.
public final class TorchPickleFile: TensorSource, @unchecked Sendable {
    public static let maxTensors = 1_000_000
    /// Largest tensor served, as float32 (SD's largest, the SD 2 token embedding, is 200 MB).
    public static let maxTensorBytes = 4 << 30
    /// Largest float32 size of a view with more elements than its storage (stride 0: broadcast).
    public static let maxBroadcastBytes = 64 << 20

    private struct Entry {
        let tensor: PickleTensor
        let info: TensorInfo
        /// Offset in the file of element 0 of the storage.
        let storageStart: Int
    }

    public let url: URL
    public let names: [String]
    private let entries: [String: Entry]
    private let file: MappedFile

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let file = try MappedFile(url: url)
        self.file = file
        let bytes = file.bytes
        if bytes.count >= 2, bytes[0] == 0x80 {
            throw CheckpointError(.unsupported, file: path, "legacy (pre-1.6, non-zip) torch.save format is not supported; re-save it with a current torch or convert to safetensors")
        }
        guard bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B else {
            throw CheckpointError(.malformed, file: path, "not a PyTorch zip checkpoint (no ZIP signature)")
        }
        let archive = try ZipArchive(bytes: bytes, path: path)

        // The pickle lives at "<archive>/data.pkl"; storages beside it.
        let pklNames = archive.entries.keys.filter { $0 == "data.pkl" || ($0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2) }
        guard pklNames.count == 1, let pklName = pklNames.first, let pklEntry = archive.entries[pklName] else {
            throw CheckpointError(.malformed, file: path, pklNames.isEmpty ? "no data.pkl in the archive" : "several data.pkl entries in the archive")
        }
        let prefix = String(pklName.dropLast("data.pkl".count))
        if let bo = archive.entries[prefix + "byteorder"] {
            let order = String(decoding: try archive.data(bo), as: UTF8.self)
            guard order == "little" else {
                throw CheckpointError(.unsupported, file: path, "byte order \(CheckpointError.quote(order)) is not supported")
            }
        }
        var unpickler = Unpickler(try archive.data(pklEntry), source: path)
        let root = try unpickler.load()

        var found = [(String, PickleTensor)]()
        var work = 0
        if case .dict(let d) = root,
           let sd = d.items.last(where: { if case .string("state_dict") = $0.key { return true } else { return false } }),
           case .dict = sd.value {
            try TorchPickleFile.flatten(sd.value, prefix: "", into: &found, work: &work, path: path)
        } else {
            guard case .dict = root else {
                throw CheckpointError(.unsupported, file: path, "checkpoint holds a \(root.typeName), not a dict of tensors")
            }
            try TorchPickleFile.flatten(root, prefix: "", into: &found, work: &work, path: path)
        }

        var entries = [String: Entry]()
        for (name, t) in found {
            let q = CheckpointError.quote(name)
            guard entries[name] == nil else {
                throw CheckpointError(.malformed, file: path, "two tensors flatten to the name \(q)")
            }
            guard let se = archive.entries[prefix + "data/" + t.storage.key] else {
                throw CheckpointError(.malformed, file: path, "tensor \(q) refers to storage \(CheckpointError.quote(t.storage.key)), which is not in the archive")
            }
            let storageBytes = try archive.data(se)
            let esz = t.storage.dtype.size
            let (need, o1) = t.storage.numel.multipliedReportingOverflow(by: esz)
            guard !o1, need <= storageBytes.count else {
                throw CheckpointError(.malformed, file: path, "storage \(CheckpointError.quote(t.storage.key)) declares \(t.storage.numel) elements but holds \(storageBytes.count) bytes")
            }
            // Extent: offset + sum((size-1)*stride) must lie inside the storage.
            guard let count = checkedElementCount(t.shape) else {
                throw CheckpointError(.malformed, file: path, "tensor \(q) shape \(t.shape) is too large")
            }
            var last = t.offset
            if count > 0 {
                for (s, st) in zip(t.shape, t.strides) {
                    let (m, o) = (s - 1).multipliedReportingOverflow(by: st)
                    let (a, o2) = last.addingReportingOverflow(m)
                    guard !o, !o2 else {
                        throw CheckpointError(.malformed, file: path, "tensor \(q) strides overflow")
                    }
                    last = a
                }
                guard last < t.storage.numel else {
                    throw CheckpointError(.malformed, file: path, "tensor \(q) (offset \(t.offset), shape \(t.shape), stride \(t.strides)) reaches past its \(t.storage.numel)-element storage")
                }
            } else {
                guard t.offset <= t.storage.numel else {
                    throw CheckpointError(.malformed, file: path, "tensor \(q) offset \(t.offset) is past its storage")
                }
                last = t.offset - 1
            }
            // A view's element count is bounded by its storage only when no two elements share storage; a stride-0
            // (broadcast) view can declare any count. Its float32 size is checked here, before anything is
            // expanded: a 2 MB file of broadcast views asked for 64 GiB and aborted.
            let (floatBytes, o3) = count.multipliedReportingOverflow(by: 4)
            guard !o3, floatBytes <= TorchPickleFile.maxTensorBytes else {
                let shape = CheckpointError.shortList(t.shape)
                throw CheckpointError(.limit, file: path, "tensor \(q) shape \(shape) needs more than the "
                                      + "\(TorchPickleFile.maxTensorBytes >> 30) GiB limit per tensor")
            }
            guard count <= t.storage.numel || floatBytes <= TorchPickleFile.maxBroadcastBytes else {
                throw CheckpointError(.limit, file: path, "tensor \(q) is a \(count)-element view of a "
                                      + "\(t.storage.numel)-element storage (stride 0); expanded it needs \(floatBytes) "
                                      + "bytes, more than the \(TorchPickleFile.maxBroadcastBytes >> 20) MiB allowed "
                                      + "for broadcast views")
            }
            let storageStart = try archive.dataOffset(se)
            let contiguous = TorchPickleFile.isRowMajor(shape: t.shape, strides: t.strides)
            let range = (storageStart + t.offset * esz)..<(storageStart + (last + 1) * esz)
            entries[name] = Entry(tensor: t,
                                  info: TensorInfo(dtype: t.storage.dtype, shape: t.shape, byteRange: range, isContiguous: contiguous),
                                  storageStart: storageStart)
        }
        self.entries = entries
        self.names = entries.keys.sorted()
    }

    /// Collects tensors from nested dicts (and lists) with dotted names; other values (ints, strings, None)
    /// are skipped. `work` bounds the walk: shared sub-dicts could otherwise make it exponential.
    private static func flatten(_ v: PickleValue, prefix: String, into out: inout [(String, PickleTensor)],
                                work: inout Int, path: String) throws {
        work += 1
        guard work <= 10_000_000, out.count <= maxTensors else {
            throw CheckpointError(.limit, file: path, "checkpoint holds more than \(maxTensors) tensors or too many nested values")
        }
        func keyName(_ k: PickleValue) throws -> String {
            switch k {
            case .string(let s): return s
            case .int(let i): return String(i)
            default:
                throw CheckpointError(.unsupported, file: path, "dict key of type \(k.typeName) under \(CheckpointError.quote(prefix)) is not supported")
            }
        }
        switch v {
        case .tensor(let t):
            out.append((prefix, t))
        case .dict(let d):
            for (k, value) in d.items {
                switch value {
                case .tensor, .dict, .list, .tuple:
                    let name = try keyName(k)
                    try flatten(value, prefix: prefix.isEmpty ? name : prefix + "." + name, into: &out, work: &work, path: path)
                default:
                    work += 1
                }
            }
        case .list(let l):
            for (i, value) in l.items.enumerated() {
                try flatten(value, prefix: prefix.isEmpty ? String(i) : prefix + "." + String(i), into: &out, work: &work, path: path)
            }
        case .tuple(let t):
            for (i, value) in t.items.enumerated() {
                try flatten(value, prefix: prefix.isEmpty ? String(i) : prefix + "." + String(i), into: &out, work: &work, path: path)
            }
        default:
            break
        }
    }

    /// Row-major contiguous, ignoring the strides of size-1 dimensions (torch leaves those arbitrary).
    private static func isRowMajor(shape: [Int], strides: [Int]) -> Bool {
        var expected = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) where shape[i] != 1 {
            if shape[i] == 0 { return true }
            if strides[i] != expected { return false }
            expected *= shape[i]
        }
        return true
    }

    public func info(_ name: String) -> TensorInfo? { entries[name]?.info }

    private func entry(_ name: String) throws -> Entry {
        guard let e = entries[name] else {
            throw CheckpointError(.missing, file: url.path, "no tensor named \(CheckpointError.quote(name))")
        }
        return e
    }

    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        let dtype = e.info.dtype
        guard dtype.isConvertible else {
            throw CheckpointError(.unsupported, file: url.path, "tensor \(CheckpointError.quote(name)) is \(dtype.rawValue); only F32, F16, BF16 and F64 convert to float32")
        }
        guard let base = file.base, e.info.count > 0 else { return Tensor(shape: e.info.shape, data: []) }
        let start = base + e.storageStart + e.tensor.offset * dtype.size
        return materialize(start, dtype: dtype, shape: e.tensor.shape, strides: e.info.isContiguous ? contiguousStrides(e.tensor.shape) : e.tensor.strides)
    }

    /// Stored bytes of a contiguous tensor straight from the mapping (valid only inside `body`).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let e = try entry(name)
        guard e.info.isContiguous else {
            throw CheckpointError(.unsupported, file: url.path, "tensor \(CheckpointError.quote(name)) is not contiguous; raw bytes are not available")
        }
        return try body(UnsafeRawBufferPointer(rebasing: file.bytes[e.info.byteRange]))
    }
}
