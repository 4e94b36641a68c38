/// A dense float32 tensor in row-major (C) order; image tensors are NCHW.
///
/// Value semantics (copy-on-write through the backing array). Kernels in this module take and return
/// `Tensor`s; weights are converted to float32 when loaded.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var data: [Float]

    /// Creates a tensor with the given shape and data; `data.count` must equal the product of `shape`.
    public init(shape: [Int], data: [Float]) {
        precondition(
            shape.reduce(1, *) == data.count,
            "Tensor: shape \(shape) holds \(shape.reduce(1, *)) values, data has \(data.count)")
        self.shape = shape
        self.data = data
    }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// A tensor for an operation's output that the operation overwrites element by element before anything reads
    /// it: its memory is not zero-filled first. Why: the outputs of the 256 px VAE's layers are 8 MB each, and
    /// zeroing them (and, for GEMM outputs, the BLAS zeroing them again for beta = 0) cost ~15 ms of an edit.
    /// Large ones come from the current `TensorBufferPool` where it holds one of the same size.
    init(unfilled shape: [Int]) {
        let n = shape.reduce(1, *)
        self.shape = shape
        self.data = TensorBufferPool.take(n) ?? [Float](unsafeUninitializedCapacity: n) { _, count in count = n }
    }

    /// A tensor filled with `value`.
    public init(repeating value: Float, shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: value, count: shape.reduce(1, *))
    }

    /// Number of elements.
    public var count: Int { data.count }
    /// Number of dimensions.
    public var rank: Int { shape.count }

    /// Size of dimension `i`; negative indices count from the end.
    public func dim(_ i: Int) -> Int { shape[i < 0 ? shape.count + i : i] }

    /// The same data under another shape (element count must match). One dimension may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var s = newShape
        if let k = s.firstIndex(of: -1) {
            let known = s.enumerated().filter { $0.offset != k }.map(\.element).reduce(1, *)
            s[k] = known == 0 ? 0 : count / known
        }
        return Tensor(shape: s, data: data)
    }

    /// Batch item `i` of the leading dimension, as a tensor with that dimension set to 1.
    public func item(_ i: Int) -> Tensor {
        let per = count / shape[0]
        var s = shape
        s[0] = 1
        return Tensor(shape: s, data: Array(data[(i * per)..<((i + 1) * per)]))
    }

    /// Concatenation along the leading (batch) dimension.
    public static func concatBatch(_ parts: [Tensor]) -> Tensor {
        precondition(!parts.isEmpty)
        let tail = Array(parts[0].shape.dropFirst())
        var out = [Float]()
        out.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        var n = 0
        for p in parts {
            precondition(Array(p.shape.dropFirst()) == tail, "concatBatch: shapes differ")
            out.append(contentsOf: p.data)
            n += p.shape[0]
        }
        return Tensor(shape: [n] + tail, data: out)
    }

    /// Largest absolute difference to another tensor of the same shape.
    public func maxAbsDifference(_ other: Tensor) -> Float {
        precondition(shape == other.shape, "maxAbsDifference: \(shape) vs \(other.shape)")
        var m: Float = 0
        for i in 0..<count { m = Swift.max(m, abs(data[i] - other.data[i])) }
        return m
    }

    /// Largest absolute value.
    public var maxAbs: Float { data.reduce(0) { Swift.max($0, abs($1)) } }
}
