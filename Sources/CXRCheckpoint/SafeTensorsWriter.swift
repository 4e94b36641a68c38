import Foundation
import CXRFiles
import CXRTensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes `.safetensors` files readable by the reference `safetensors` library.
///
/// Used to save converted or edited weights. The write is atomic (temporary file in the target directory, then
/// rename) so an interrupted run never leaves a half-written checkpoint under the final name.
public enum SafeTensorsWriter {
    /// Element type to store.
    public enum StoredDType: String, Sendable {
        case f32, f16, bf16

        var dtype: TensorDType {
            switch self {
            case .f32: return .f32
            case .f16: return .f16
            case .bf16: return .bf16
            }
        }
    }

    /// Writes the tensors (in name order, contiguous, header padded with spaces to a multiple of 8 bytes like
    /// the reference writer). Names must be unique, non-empty and not `__metadata__`.
    public static func write(
        _ tensors: [(name: String, tensor: Tensor, dtype: StoredDType)],
        metadata: [String: String], to url: URL
    ) throws {
        let path = url.path
        var seen = Set<String>()
        for t in tensors {
            guard !t.name.isEmpty, t.name != "__metadata__" else {
                throw CheckpointError(.malformed, file: path, "invalid tensor name \(CheckpointError.quote(t.name))")
            }
            guard seen.insert(t.name).inserted else {
                throw CheckpointError(.malformed, file: path, "duplicate tensor name \(CheckpointError.quote(t.name))")
            }
            guard let n = checkedElementCount(t.tensor.shape), n == t.tensor.data.count else {
                throw CheckpointError(
                    .malformed, file: path,
                    "tensor \(CheckpointError.quote(t.name)) shape \(t.tensor.shape) does not match its \(t.tensor.data.count) values"
                )
            }
        }
        let ordered = tensors.sorted { $0.name < $1.name }

        // Header.
        var header = [String: JSONValue]()
        if !metadata.isEmpty {
            header["__metadata__"] = .object(metadata.mapValues { .string($0) })
        }
        var offset = 0
        for t in ordered {
            let n = t.tensor.data.count * t.dtype.dtype.size
            header[t.name] = .object([
                "dtype": .string(t.dtype.dtype.rawValue),
                "shape": .array(t.tensor.shape.map { .number(Double($0)) }),
                "data_offsets": .array([.number(Double(offset)), .number(Double(offset + n))]),
            ])
            offset += n
        }
        var headerBytes = Array(JSONValue.object(header).serialized(pretty: false).utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        // Temporary file beside the target.
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(
            ".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw CheckpointError(
                .io, file: path, "cannot create temporary file in \(dir.path): \(String(cString: strerror(errno)))")
        }
        var ok = false
        defer {
            if !ok { unlink(tmp.path) }
        }
        do {
            defer { close(fd) }
            var len = UInt64(headerBytes.count).littleEndian
            try withUnsafeBytes(of: &len) { try writeAll(fd, $0, path) }
            try headerBytes.withUnsafeBytes { try writeAll(fd, $0, path) }
            for t in ordered {
                try writeData(t.tensor.data, as: t.dtype, fd: fd, path: path)
            }
            guard fsync(fd) == 0 else {
                throw CheckpointError(.io, file: path, "fsync failed: \(String(cString: strerror(errno)))")
            }
        }
        guard rename(tmp.path, path) == 0 else {
            throw CheckpointError(
                .io, file: path, "cannot rename temporary file into place: \(String(cString: strerror(errno)))")
        }
        ok = true
    }

    private static func writeAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, _ path: String) throws {
        var done = 0
        while done < buf.count {
            let r = sysWrite(fd, buf.baseAddress! + done, buf.count - done)
            if r < 0 {
                if errno == EINTR { continue }
                throw CheckpointError(.io, file: path, "write failed: \(String(cString: strerror(errno)))")
            }
            done += r
        }
    }

    private static func sysWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int {
        #if canImport(Glibc)
            return Glibc.write(fd, p, n)
        #else
            return Darwin.write(fd, p, n)
        #endif
    }

    /// Converts and writes in chunks so large tensors need only a small extra buffer.
    private static func writeData(_ data: [Float], as dtype: StoredDType, fd: Int32, path: String) throws {
        if data.isEmpty { return }
        switch dtype {
        case .f32:
            try data.withUnsafeBytes { try writeAll(fd, $0, path) }
        case .f16, .bf16:
            let chunk = 1 << 20
            var buf = [UInt16](repeating: 0, count: min(chunk, data.count))
            var start = 0
            while start < data.count {
                let n = min(chunk, data.count - start)
                data.withUnsafeBufferPointer { src in
                    buf.withUnsafeMutableBufferPointer { dst in
                        if dtype == .f16 {
                            for i in 0..<n { dst[i] = HalfConversion.half(from: src[start + i]).littleEndian }
                        } else {
                            for i in 0..<n { dst[i] = FloatConversion.bfloat16(from: src[start + i]).littleEndian }
                        }
                    }
                }
                try buf.withUnsafeBytes { try writeAll(fd, UnsafeRawBufferPointer(rebasing: $0[0..<(n * 2)]), path) }
                start += n
            }
        }
    }
}
