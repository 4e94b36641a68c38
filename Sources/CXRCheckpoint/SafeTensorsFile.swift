import Foundation
import CXRFiles
import CXRTensor

/// A `.safetensors` file, memory-mapped and fully validated on open.
///
/// Format: 8-byte little-endian header length N, N bytes of JSON (`{name: {dtype, shape, data_offsets}}` plus an
/// optional `__metadata__` string map), then the data section. Everything a hostile file could lie about
/// (lengths, offsets, overlaps, duplicates, dtype/shape sizes) is checked here so `tensor(_:)` can read
/// without further checks. Immutable after init, hence safe to share across threads.
public final class SafeTensorsFile: TensorSource, @unchecked Sendable {
    /// Largest header accepted (same limit as the reference implementation).
    public static let maxHeaderBytes = 100_000_000
    /// Most tensors one file may declare.
    public static let maxTensors = 1_000_000
    /// Most dimensions a tensor may have (as the pickle reader; real tensors have at most 4).
    public static let maxRank = 32

    public let url: URL
    public let names: [String]
    /// The `__metadata__` map (empty if absent).
    public let metadata: [String: String]
    private let entries: [String: TensorInfo]
    private let file: MappedFile

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        let file = try MappedFile(url: url)
        self.file = file
        let bytes = file.bytes
        guard bytes.count >= 8 else {
            throw CheckpointError(
                .malformed, file: path, "file is \(bytes.count) bytes, too short for a safetensors header")
        }
        let n64 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self).littleEndian
        guard n64 <= UInt64(SafeTensorsFile.maxHeaderBytes) else {
            throw CheckpointError(
                .limit, file: path, "header length \(n64) exceeds the \(SafeTensorsFile.maxHeaderBytes)-byte limit")
        }
        let n = Int(n64)
        guard n <= bytes.count - 8 else {
            throw CheckpointError(
                .malformed, file: path,
                "header length \(n) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        let dataStart = 8 + n
        let dataSize = bytes.count - dataStart
        let headerBytes = UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])
        let header = try JSONValue(parsing: headerBytes, source: path, maxDepth: 8, rejectingDuplicateKeys: true)
        guard case .object(let obj) = header else {
            throw CheckpointError(.malformed, file: path, "header is a JSON \(header.typeName), not an object")
        }
        guard obj.count <= SafeTensorsFile.maxTensors + 1 else {
            throw CheckpointError(
                .limit, file: path, "header declares \(obj.count) entries, more than \(SafeTensorsFile.maxTensors)")
        }

        var meta = [String: String]()
        if let m = obj["__metadata__"] {
            guard case .object(let mo) = m else {
                throw CheckpointError(
                    .malformed, file: path, "__metadata__ is a \(m.typeName), not an object of strings")
            }
            for (k, v) in mo {
                guard case .string(let s) = v else {
                    throw CheckpointError(
                        .malformed, file: path,
                        "__metadata__ value for \(CheckpointError.quote(k)) is a \(v.typeName), not a string")
                }
                meta[k] = s
            }
        }

        var entries = [String: TensorInfo]()
        entries.reserveCapacity(obj.count)
        var ranges = [(Range<Int>, String)]()
        ranges.reserveCapacity(obj.count)
        for (name, v) in obj where name != "__metadata__" {
            let q = CheckpointError.quote(name)
            guard case .object(let e) = v else {
                throw CheckpointError(.malformed, file: path, "entry \(q) is a \(v.typeName), not an object")
            }
            guard let ds = e["dtype"]?.string else {
                throw CheckpointError(.malformed, file: path, "tensor \(q) has no string dtype")
            }
            guard let dtype = TensorDType(rawValue: ds) else {
                throw CheckpointError(
                    .unsupported, file: path, "tensor \(q) has unknown dtype \(CheckpointError.quote(ds))")
            }
            guard let shapeArr = e["shape"]?.array else {
                throw CheckpointError(.malformed, file: path, "tensor \(q) has no shape array")
            }
            guard shapeArr.count <= SafeTensorsFile.maxRank else {
                throw CheckpointError(
                    .limit, file: path,
                    "tensor \(q) has \(shapeArr.count) dimensions, more than \(SafeTensorsFile.maxRank)")
            }
            var shape = [Int]()
            shape.reserveCapacity(shapeArr.count)
            for d in shapeArr {
                guard let i = d.int, i >= 0 else {
                    throw CheckpointError(
                        .malformed, file: path,
                        "tensor \(q) has an invalid shape dimension (must be a non-negative integer)")
                }
                shape.append(i)
            }
            guard let offs = e["data_offsets"]?.array, offs.count == 2,
                let begin = offs[0].int, let end = offs[1].int
            else {
                throw CheckpointError(.malformed, file: path, "tensor \(q) needs data_offsets [begin, end] of integers")
            }
            guard begin >= 0, begin <= end else {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensor \(q) has data_offsets [\(begin), \(end)] with begin > end or negative")
            }
            guard end <= dataSize else {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensor \(q) data_offsets [\(begin), \(end)] run past the \(dataSize)-byte data section (truncated?)"
                )
            }
            guard let count = checkedElementCount(shape) else {
                throw CheckpointError(
                    .malformed, file: path, "tensor \(q) shape \(CheckpointError.shortList(shape)) is too large")
            }
            let (bytesNeeded, overflow) = count.multipliedReportingOverflow(by: dtype.size)
            guard !overflow, bytesNeeded == end - begin else {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensor \(q) is \(dtype.rawValue) \(CheckpointError.shortList(shape)) (\(overflow ? "overflowing" : String(bytesNeeded)) bytes) but data_offsets span \(end - begin) bytes"
                )
            }
            let range = (dataStart + begin)..<(dataStart + end)
            entries[name] = TensorInfo(dtype: dtype, shape: shape, byteRange: range)
            ranges.append((range, name))
        }
        // No two non-empty tensors may share bytes.
        ranges.sort {
            $0.0.lowerBound < $1.0.lowerBound
                || ($0.0.lowerBound == $1.0.lowerBound && $0.0.upperBound < $1.0.upperBound)
        }
        var lastEnd = dataStart
        var lastName = ""
        for (r, name) in ranges where !r.isEmpty {
            if r.lowerBound < lastEnd {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensors \(CheckpointError.quote(lastName)) and \(CheckpointError.quote(name)) overlap in the data section"
                )
            }
            lastEnd = r.upperBound
            lastName = name
        }
        self.entries = entries
        self.metadata = meta
        self.names = entries.keys.sorted()
    }

    public func info(_ name: String) -> TensorInfo? { entries[name] }

    private func entry(_ name: String) throws -> TensorInfo {
        guard let e = entries[name] else {
            throw CheckpointError(.missing, file: url.path, "no tensor named \(CheckpointError.quote(name))")
        }
        return e
    }

    public func tensor(_ name: String) throws -> Tensor {
        let e = try entry(name)
        guard e.dtype.isConvertible else {
            throw CheckpointError(
                .unsupported, file: url.path,
                "tensor \(CheckpointError.quote(name)) is \(e.dtype.rawValue); only F32, F16, BF16 and F64 convert to float32"
            )
        }
        guard let base = file.base else { return Tensor(shape: e.shape, data: []) }
        return materialize(
            base + e.byteRange.lowerBound, dtype: e.dtype, shape: e.shape,
            strides: contiguousStrides(e.shape))
    }

    /// Calls `body` with the tensor's stored bytes straight from the mapping (valid only inside `body`).
    public func withRawBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let e = try entry(name)
        let all = file.bytes
        return try body(UnsafeRawBufferPointer(rebasing: all[e.byteRange]))
    }
}

/// Its tensors view a PROT_READ, MAP_PRIVATE mapping that nothing writes (MappedFile), so weights may release
/// their pages once they hold a copy of their own.
extension SafeTensorsFile: ReadOnlyFileMapping {}
