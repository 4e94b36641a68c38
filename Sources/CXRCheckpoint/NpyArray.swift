import CXRFiles
import CXRTensor
import Foundation

/// numpy's `.npy` format (versions 1.0-3.0) for float32/float64 little-endian C-order arrays, as `--noise` takes
/// them. Every header field is checked before the data is touched: dimensions non-negative, their product
/// overflow-checked and at most 2^28 elements, the data size exact.
public enum NpyArray {
    /// The array in the regular file at `url`, of at most `limit` bytes (checked on the opened file, so a link to
    /// a huge file is refused unread); errors name the file and are one line.
    public static func read(contentsOf url: URL, limit: Int) throws -> Tensor {
        let data: Data
        do {
            data = try BoundedFile.read(url, limit: limit)
        } catch let failure as BoundedFile.Failure {
            if failure.isMissing { throw CheckpointError(.missing, file: url.path, "cannot be read") }
            if case .tooLarge = failure { throw CheckpointError(.limit, file: url.path, "\(failure)") }
            throw CheckpointError(.io, file: url.path, "\(failure)")
        }
        return try parse([UInt8](data), name: url.lastPathComponent)
    }

    /// The array in `bytes` as a float32 tensor; errors name `name` and are one line.
    public static func parse(_ bytes: [UInt8], name: String) throws -> Tensor {
        guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
            throw CheckpointError(.malformed, file: name, "not a .npy file")
        }
        let major = bytes[6]
        let headerLen: Int, start: Int
        if major == 1 {
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10
        } else {
            guard bytes.count >= 12 else { throw CheckpointError(.malformed, file: name, "truncated .npy header") }
            headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
        }
        guard headerLen < 65536, start + headerLen <= bytes.count,
            let header = String(bytes: bytes[start..<(start + headerLen)], encoding: .utf8)
        else {
            throw CheckpointError(.malformed, file: name, "bad .npy header")
        }
        guard !header.contains("'fortran_order': True") else {
            throw CheckpointError(.unsupported, file: name, "Fortran-order arrays are not supported")
        }
        let isF4 = header.contains("'<f4'"), isF8 = header.contains("'<f8'")
        guard isF4 || isF8 else {
            throw CheckpointError(.unsupported, file: name, "only little-endian float32/float64 arrays are supported")
        }
        guard let open = header.range(of: "'shape': ("),
            let close = header[open.upperBound...].firstIndex(of: ")")
        else {
            throw CheckpointError(.malformed, file: name, ".npy header has no shape")
        }
        var shape = [Int]()
        for part in header[open.upperBound..<close].split(separator: ",") {
            let text = part.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            guard let d = Int(text), d >= 0 else {
                throw CheckpointError(
                    .malformed, file: name,
                    "invalid shape dimension '\(CheckpointError.oneLine(text))'")
            }
            shape.append(d)
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow, product <= 1 << 28 else {
                throw CheckpointError(.limit, file: name, "shape \(CheckpointError.shortList(shape)) is too large")
            }
            count = product
        }
        let body = start + headerLen
        let esz = isF4 ? 4 : 8
        guard count > 0, count <= 1 << 28, bytes.count - body == count * esz else {
            throw CheckpointError(.malformed, file: name, "data size does not match shape \(shape)")
        }
        var values = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { raw in
            for i in 0..<count {
                values[i] =
                    isF4
                    ? Float(bitPattern: raw.loadUnaligned(fromByteOffset: body + 4 * i, as: UInt32.self))
                    : Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: body + 8 * i, as: UInt64.self)))
            }
        }
        return Tensor(shape: shape, data: values)
    }
}
