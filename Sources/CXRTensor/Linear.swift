/// Fully connected layer on the last dimension: y = x W^T + b, with W stored [out, in] as in PyTorch.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    linear(x, weight: Weight(weight), bias: bias)
}

/// `linear` with a weight that may be stored as fp16/bf16 (widened into scratch for the GEMM).
public func linear(_ x: Tensor, weight: Weight, bias: Tensor?) -> Tensor {
    Profiler.measure("linear") {
    let inF = weight.shape[1], outF = weight.shape[0]
    precondition(x.shape.last == inF, "linear: input \(x.shape) vs weight \(weight.shape)")
    let rows = x.count / inF
    var out = Tensor(zeros: Array(x.shape.dropLast()) + [outF])
    out.data.withUnsafeMutableBufferPointer { o in
        if let bias {
            bias.data.withUnsafeBufferPointer { b in
                for r in 0..<rows { (o.baseAddress! + r * outF).update(from: b.baseAddress!, count: outF) }
            }
        }
        x.data.withUnsafeBufferPointer { xp in
            weight.withFloats { w in
                sgemm(transB: true, m: rows, n: outF, k: inF, a: xp.baseAddress!, lda: inF,
                      b: w, ldb: inF, beta: bias == nil ? 0 : 1, c: o.baseAddress!, ldc: outF)
            }
        }
    }
    return out
}
}
