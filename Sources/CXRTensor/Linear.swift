/// Fully connected layer on the last dimension: y = x W^T + b, with W stored [out, in] as in PyTorch.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    linear(x, weight: Weight(weight), bias: bias)
}

/// `linear` with a weight that may be stored as fp16/bf16 (widened into scratch for an fp32 GEMM, or packed
/// once as bf16 for a bf16 GEMM).
public func linear(_ x: Tensor, weight: Weight, bias: Tensor?, precision: GEMMPrecision = .fp32) -> Tensor {
    Profiler.measure("linear") {
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(x.shape.last == inF, "linear: input \(x.shape) vs weight \(weight.shape)")
        let rows = x.count / inF
        var out = Tensor(unfilled: Array(x.shape.dropLast()) + [outF])
        out.data.withUnsafeMutableBufferPointer { o in
            if let bias {
                bias.data.withUnsafeBufferPointer { b in
                    for r in 0..<rows { (o.baseAddress! + r * outF).update(from: b.baseAddress!, count: outF) }
                }
            }
            x.data.withUnsafeBufferPointer { xp in
                weight.withOperand(precision, side: .b, transposed: true) { w in
                    gemm(
                        precision, m: rows, n: outF, k: inF, a: .floats(xp.baseAddress!, ld: inF, transposed: false),
                        b: w, beta: bias == nil ? 0 : 1, c: o.baseAddress!, ldc: outF)
                }
            }
        }
        return out
    }
}
