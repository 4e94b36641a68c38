import Foundation
import CXRTensor

/// A PyTorch checkpoint written by `torch.save`: `.bin`, `.pt`, `.pth`, `.ckpt`, in the zip format (torch 1.6
/// and later) or the legacy one before it (`TorchLegacyLayout`).
///
/// The zip archive holds `<archive>/data.pkl` (the pickled object) and `<archive>/data/<key>` (raw storages).
/// The pickle is interpreted by a restricted unpickler that never executes code and refuses any global outside
/// `PickleAllowList`, so a hostile checkpoint cannot run anything. The object may be a dict of tensors (nested
/// dicts are flattened to dotted names; a top-level `state_dict` dict, as in Lightning `.ckpt`, is used alone)
/// or a pickled whole torchxrayvision DenseNet, whose state_dict is recovered from its module records
/// (`TorchModuleTree`). Tensors are read straight from the memory-mapped file.
public final class TorchPickleFile: TensorSource, @unchecked Sendable {
    public static let maxTensors = 1_000_000
    /// Most values visited while collecting tensors (shared sub-dicts could otherwise make it exponential).
    static let maxWalk = 10_000_000
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
    /// The class of the pickled whole model ("torchxrayvision.models.DenseNet"), nil for a dict of tensors.
    public let moduleClass: String?
    /// The pickled whole model's plain attributes that classifiers read (`targets`, `pathologies`, a list
    /// `op_threshs`); empty for a dict of tensors.
    public let moduleAttributes: [String: TorchModuleAttribute]
    private let entries: [String: Entry]
    private let file: MappedFile

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let file = try MappedFile(url: url)
        self.file = file
        let bytes = file.bytes
        let root: PickleValue
        let storageBytes: (String) throws -> UnsafeRawBufferPointer?
        if TorchLegacyLayout.matches(bytes) {
            let layout = try TorchLegacyLayout(bytes: bytes, path: path)
            root = layout.root
            storageBytes = { layout.storages[$0] }
        } else {
            let archive = try TorchPickleFile.archive(bytes, path: path)
            var unpickler = Unpickler(try archive.zip.data(archive.pickle), source: path)
            root = try unpickler.load()
            storageBytes = { key in try archive.zip.entries[archive.prefix + "data/" + key].map(archive.zip.data) }
        }

        var found = [(String, PickleTensor)]()
        var work = 0
        var moduleClass: String? = nil
        var attributes = [String: TorchModuleAttribute]()
        if case .object(let module) = root, PickleAllowList.moduleClasses.contains(module.className) {
            try TorchModuleTree.collect(module, prefix: "", into: &found, work: &work, path: path)
            let plain = try TorchModuleTree.plainAttributes(of: module, path: path)
            found += plain.tensors
            attributes = plain.values
            moduleClass = module.className
        } else if case .dict(let d) = root,
            let sd = d.items.last(where: {
                if case .string("state_dict") = $0.key { return true } else { return false }
            }),
            case .dict = sd.value
        {
            try TorchPickleFile.flatten(sd.value, prefix: "", into: &found, work: &work, path: path)
        } else {
            guard case .dict = root else {
                throw CheckpointError(
                    .unsupported, file: path,
                    "checkpoint holds a \(root.typeName), not a dict of "
                        + "tensors or a module")
            }
            try TorchPickleFile.flatten(root, prefix: "", into: &found, work: &work, path: path)
        }
        self.moduleClass = moduleClass
        self.moduleAttributes = attributes

        var entries = [String: Entry]()
        for (name, t) in found {
            let q = CheckpointError.quote(name)
            guard entries[name] == nil else {
                throw CheckpointError(.malformed, file: path, "two tensors flatten to the name \(q)")
            }
            guard let stored = try storageBytes(t.storage.key) else {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensor \(q) refers to storage "
                        + "\(CheckpointError.quote(t.storage.key)), which is not in the checkpoint")
            }
            let esz = t.storage.dtype.size
            let (need, o1) = t.storage.numel.multipliedReportingOverflow(by: esz)
            guard !o1, need <= stored.count else {
                throw CheckpointError(
                    .malformed, file: path,
                    "storage \(CheckpointError.quote(t.storage.key)) "
                        + "declares \(t.storage.numel) elements but holds \(stored.count) bytes")
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
                    throw CheckpointError(
                        .malformed, file: path,
                        "tensor \(q) (offset \(t.offset), shape \(t.shape), stride \(t.strides)) reaches past its \(t.storage.numel)-element storage"
                    )
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
                throw CheckpointError(
                    .limit, file: path,
                    "tensor \(q) shape \(shape) needs more than the "
                        + "\(TorchPickleFile.maxTensorBytes >> 30) GiB limit per tensor")
            }
            guard count <= t.storage.numel || floatBytes <= TorchPickleFile.maxBroadcastBytes else {
                throw CheckpointError(
                    .limit, file: path,
                    "tensor \(q) is a \(count)-element view of a "
                        + "\(t.storage.numel)-element storage (stride 0); expanded it needs \(floatBytes) "
                        + "bytes, more than the \(TorchPickleFile.maxBroadcastBytes >> 20) MiB allowed "
                        + "for broadcast views")
            }
            let storageStart = stored.baseAddress.flatMap { p in bytes.baseAddress.map { p - $0 } } ?? 0
            let contiguous = TorchPickleFile.isRowMajor(shape: t.shape, strides: t.strides)
            let range = (storageStart + t.offset * esz)..<(storageStart + (last + 1) * esz)
            entries[name] = Entry(
                tensor: t,
                info: TensorInfo(dtype: t.storage.dtype, shape: t.shape, byteRange: range, isContiguous: contiguous),
                storageStart: storageStart)
        }
        self.entries = entries
        self.names = entries.keys.sorted()
    }

    /// The zip archive, its pickle entry, and the folder prefix its storages are under.
    private static func archive(_ bytes: UnsafeRawBufferPointer, path: String) throws
        -> (zip: ZipArchive, pickle: ZipArchive.Entry, prefix: String)
    {
        guard bytes.count >= 4, bytes[0] == 0x50, bytes[1] == 0x4B else {
            throw CheckpointError(.malformed, file: path, "not a PyTorch zip checkpoint (no ZIP signature)")
        }
        let archive = try ZipArchive(bytes: bytes, path: path)

        // The pickle lives at "<archive>/data.pkl"; storages beside it.
        let pklNames = archive.entries.keys.filter {
            $0 == "data.pkl"
                || ($0.hasSuffix("/data.pkl") && $0.split(separator: "/", omittingEmptySubsequences: false).count == 2)
        }
        guard pklNames.count == 1, let pklName = pklNames.first, let pklEntry = archive.entries[pklName] else {
            throw CheckpointError(
                .malformed, file: path,
                pklNames.isEmpty
                    ? "no data.pkl in the archive"
                    : "several data.pkl entries in the archive")
        }
        let prefix = String(pklName.dropLast("data.pkl".count))
        if let bo = archive.entries[prefix + "byteorder"] {
            let order = String(decoding: try archive.data(bo), as: UTF8.self)
            guard order == "little" else {
                throw CheckpointError(
                    .unsupported, file: path,
                    "byte order \(CheckpointError.quote(order)) is not supported")
            }
        }
        return (archive, pklEntry, prefix)
    }

    /// Collects tensors from nested dicts (and lists) with dotted names; other values (ints, strings, None)
    /// are skipped, and a module record inside (e.g. `{"model": model}`) gives its state_dict under its key.
    /// `work` bounds the walk: shared sub-dicts could otherwise make it exponential.
    private static func flatten(
        _ v: PickleValue, prefix: String, into out: inout [(String, PickleTensor)],
        work: inout Int, path: String
    ) throws {
        work += 1
        guard work <= maxWalk, out.count <= maxTensors else {
            throw CheckpointError(
                .limit, file: path, "checkpoint holds more than \(maxTensors) tensors or too many nested values")
        }
        func keyName(_ k: PickleValue) throws -> String {
            switch k {
            case .string(let s): return s
            case .int(let i): return String(i)
            default:
                throw CheckpointError(
                    .unsupported, file: path,
                    "dict key of type \(k.typeName) under \(CheckpointError.quote(prefix)) is not supported")
            }
        }
        switch v {
        case .tensor(let t):
            out.append((prefix, t))
        case .object(let module) where PickleAllowList.moduleClasses.contains(module.className):
            try TorchModuleTree.collect(module, prefix: prefix, into: &out, work: &work, path: path)
        case .dict(let d):
            for (k, value) in d.items {
                switch value {
                case .tensor, .dict, .list, .tuple, .object:
                    let name = try keyName(k)
                    try flatten(
                        value, prefix: prefix.isEmpty ? name : prefix + "." + name, into: &out, work: &work, path: path)
                default:
                    work += 1
                }
            }
        case .list(let l):
            for (i, value) in l.items.enumerated() {
                try flatten(
                    value, prefix: prefix.isEmpty ? String(i) : prefix + "." + String(i), into: &out, work: &work,
                    path: path)
            }
        case .tuple(let t):
            for (i, value) in t.items.enumerated() {
                try flatten(
                    value, prefix: prefix.isEmpty ? String(i) : prefix + "." + String(i), into: &out, work: &work,
                    path: path)
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
            throw CheckpointError(
                .unsupported, file: url.path,
                "tensor \(CheckpointError.quote(name)) is \(dtype.rawValue); only F32, F16, BF16 and F64 convert to float32"
            )
        }
        guard let base = file.base, e.info.count > 0 else { return Tensor(shape: e.info.shape, data: []) }
        let start = base + e.storageStart + e.tensor.offset * dtype.size
        return materialize(
            start, dtype: dtype, shape: e.tensor.shape,
            strides: e.info.isContiguous ? contiguousStrides(e.tensor.shape) : e.tensor.strides)
    }

    /// Stored bytes of a contiguous tensor straight from the mapping (valid only inside `body`).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let e = try entry(name)
        guard e.info.isContiguous else {
            throw CheckpointError(
                .unsupported, file: url.path,
                "tensor \(CheckpointError.quote(name)) is not contiguous; raw bytes are not available")
        }
        return try body(UnsafeRawBufferPointer(rebasing: file.bytes[e.info.byteRange]))
    }
}
