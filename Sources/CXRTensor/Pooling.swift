/// Spatial pooling of NCHW tensors, as torch.nn's pooling layers compute it in inference.

/// torch.nn.MaxPool2d(kernel, stride, padding): padding counts as -infinity, the output size rounds down.
public func maxPool2d(_ x: Tensor, kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
    Profiler.measure("maxPool2d") {
        pooled(x, kernel: kernel, stride: stride, padding: padding) { window in
            var m = -Float.infinity
            window { m = max(m, $0) }
            return m
        }
    }
}

/// torch.nn.AvgPool2d(kernel, stride) without padding: the output size rounds down.
public func avgPool2d(_ x: Tensor, kernel: Int, stride: Int) -> Tensor {
    Profiler.measure("avgPool2d") {
        let area = Float(kernel * kernel)
        return pooled(x, kernel: kernel, stride: stride, padding: 0) { window in
            // Summed row by row from zero, the order torch's kernel adds in, then divided once.
            var sum: Float = 0
            window { sum += $0 }
            return sum / area
        }
    }
}

/// Mean over H and W: [N, C, H, W] -> [N, C] (adaptive_avg_pool2d to 1x1, then flatten), summed in double so
/// that a large plane does not lose the small values.
public func globalAveragePool(_ x: Tensor) -> Tensor {
    Profiler.measure("globalAveragePool") {
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        var out = Tensor(zeros: [n, c])
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                nonisolated(unsafe) let xp = xp, op = op
                Parallel.for(n * c, minChunk: 16) { p in
                    var acc: Double = 0
                    for i in (p * plane)..<((p + 1) * plane) { acc += Double(xp[i]) }
                    op[p] = Float(acc / Double(plane))
                }
            }
        }
        return out
    }
}

/// The loop every windowed pooling shares: one output per window, planes in parallel. `reduce` gets a
/// function that visits the window's values inside the input, row by row, and returns the pooled value.
@inline(__always)
private func pooled(
    _ x: Tensor, kernel: Int, stride: Int, padding: Int,
    reduce: ((_ visit: (Float) -> Void) -> Void) -> Float
) -> Tensor {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let ho = (h + 2 * padding - kernel) / stride + 1
    let wo = (w + 2 * padding - kernel) / stride + 1
    var out = Tensor(zeros: [n, c, ho, wo])
    x.data.withUnsafeBufferPointer { xp in
        out.data.withUnsafeMutableBufferPointer { op in
            nonisolated(unsafe) let xp = xp, op = op
            Parallel.for(n * c) { p in
                let src = xp.baseAddress! + p * h * w, dst = op.baseAddress! + p * ho * wo
                for oy in 0..<ho {
                    let y0 = max(0, oy * stride - padding), y1 = min(h, oy * stride - padding + kernel)
                    for ox in 0..<wo {
                        let x0 = max(0, ox * stride - padding), x1 = min(w, ox * stride - padding + kernel)
                        dst[oy * wo + ox] = reduce { visit in
                            for yy in y0..<y1 {
                                for xx in x0..<x1 { visit(src[yy * w + xx]) }
                            }
                        }
                    }
                }
            }
        }
    }
    return out
}
