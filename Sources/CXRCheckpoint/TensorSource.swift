import Foundation
import CXRTensor

/// Where a named tensor lives and how it is stored, without reading its data.
public struct TensorInfo: Sendable, Equatable {
    public let dtype: TensorDType
    public let shape: [Int]
    /// Absolute byte range in the file covering the tensor's elements (for strided torch tensors: the span
    /// from the first to one past the last element touched).
    public let byteRange: Range<Int>
    /// Row-major contiguous (always true for safetensors).
    public let isContiguous: Bool

    public init(dtype: TensorDType, shape: [Int], byteRange: Range<Int>, isContiguous: Bool = true) {
        self.dtype = dtype
        self.shape = shape
        self.byteRange = byteRange
        self.isContiguous = isContiguous
    }

    /// Number of elements.
    public var count: Int { shape.reduce(1, *) }
}

/// Anything that serves named tensors: one safetensors file, one torch pickle, or a merged `WeightStore`.
///
/// Model loaders depend only on this, so they work the same for every checkpoint format.
public protocol TensorSource: AnyObject, Sendable {
    /// All tensor names, sorted.
    var names: [String] { get }
    /// Storage description of `name`, nil if absent.
    func info(_ name: String) -> TensorInfo?
    /// The tensor converted to float32; throws `CheckpointError` if absent or not a float dtype.
    func tensor(_ name: String) throws -> Tensor
}

extension TensorSource {
    /// Whether a tensor with this name exists.
    public func contains(_ name: String) -> Bool { info(name) != nil }
}

/// Row-major strides for a shape.
func contiguousStrides(_ shape: [Int]) -> [Int] {
    var strides = [Int](repeating: 1, count: shape.count)
    var acc = 1
    for i in stride(from: shape.count - 1, through: 0, by: -1) {
        strides[i] = acc
        acc = acc &* shape[i]
    }
    return strides
}

/// Converts a float tensor stored at `base` (element strides, already bounds-checked) into float32.
func materialize(_ base: UnsafeRawPointer, dtype: TensorDType, shape: [Int], strides: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    let data = [Float](unsafeUninitializedCapacity: count) { buf, n in
        guard count > 0, let dst = buf.baseAddress else { n = 0; return }
        if strides == contiguousStrides(shape) {
            FloatConversion.convert(base, dtype: dtype, count: count, into: dst)
        } else {
            // Odometer over the index space; the innermost dimension is a tight strided loop.
            let rank = shape.count
            let esz = dtype.size
            let inner = shape[rank - 1], innerStride = strides[rank - 1] * esz
            var idx = [Int](repeating: 0, count: rank)
            var out = 0
            var offset = 0  // in bytes
            while out < count {
                var o = offset
                for _ in 0..<inner {
                    dst[out] = FloatConversion.element(base, dtype: dtype, offset: o)
                    out += 1
                    o += innerStride
                }
                // Advance the outer dimensions.
                var d = rank - 2
                while d >= 0 {
                    idx[d] += 1
                    offset += strides[d] * esz
                    if idx[d] < shape[d] { break }
                    offset -= strides[d] * esz * shape[d]
                    idx[d] = 0
                    d -= 1
                }
                if d < 0 { break }
            }
        }
        n = count
    }
    return Tensor(shape: shape, data: data)
}
