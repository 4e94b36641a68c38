import Foundation

/// GroupNorm over NCHW (or N,C,...) tensors, as torch.nn.GroupNorm: statistics per (sample, group) over the
/// group's channels and all spatial positions, biased variance, then per-channel affine. `silu` fuses the
/// SiLU that follows almost every GroupNorm in the UNet and VAE (one pass less over the activations).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false) -> Tensor {
    let n = x.shape[0], c = x.shape[1]
    let spatial = x.count / (n * c)
    let cpg = c / groups
    precondition(c % groups == 0, "groupNorm: \(c) channels not divisible by \(groups) groups")
    var out = Tensor(zeros: x.shape)
    let groupSize = cpg * spatial
    out.data.withUnsafeMutableBufferPointer { op in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                bias.data.withUnsafeBufferPointer { bp in
                    nonisolated(unsafe) let op = op, xp = xp, wp = wp, bp = bp
                    Parallel.for(n * groups) { ng in
                        let g = ng % groups
                        let base = ng * groupSize
                        let src = xp.baseAddress! + base
                        var sum = 0.0, sumSq = 0.0
                        // Two-pass in double: the mean first, then the centred second moment (stable).
                        for i in 0..<groupSize { sum += Double(src[i]) }
                        let mean = sum / Double(groupSize)
                        for i in 0..<groupSize {
                            let d = Double(src[i]) - mean
                            sumSq += d * d
                        }
                        let inv = Float(1.0 / (sumSq / Double(groupSize) + Double(eps)).squareRoot())
                        let meanF = Float(mean)
                        for cl in 0..<cpg {
                            let ch = g * cpg + cl
                            let scale = wp[ch] * inv
                            let shift = bp[ch] - meanF * scale
                            let s = src + cl * spatial
                            let d = op.baseAddress! + base + cl * spatial
                            for i in 0..<spatial { d[i] = s[i] * scale + shift }
                            if silu { FastMath.siluInPlace(d, count: spatial) }
                        }
                    }
                }
            }
        }
    }
    return out
}

/// LayerNorm over the last dimension, as torch.nn.LayerNorm (biased variance).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    let d = x.shape.last!
    let rows = x.count / d
    var out = Tensor(zeros: x.shape)
    out.data.withUnsafeMutableBufferPointer { op in
        x.data.withUnsafeBufferPointer { xp in
            weight.data.withUnsafeBufferPointer { wp in
                bias.data.withUnsafeBufferPointer { bp in
                    nonisolated(unsafe) let op = op, xp = xp, wp = wp, bp = bp
                    Parallel.for(rows, minChunk: 16) { r in
                        let s = xp.baseAddress! + r * d
                        let o = op.baseAddress! + r * d
                        var sum = 0.0
                        for i in 0..<d { sum += Double(s[i]) }
                        let mean = sum / Double(d)
                        var sq = 0.0
                        for i in 0..<d {
                            let v = Double(s[i]) - mean
                            sq += v * v
                        }
                        let inv = Float(1.0 / (sq / Double(d) + Double(eps)).squareRoot())
                        let m = Float(mean)
                        for i in 0..<d { o[i] = (s[i] - m) * inv * wp[i] + bp[i] }
                    }
                }
            }
        }
    }
    return out
}
