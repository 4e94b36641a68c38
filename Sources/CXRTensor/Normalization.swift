import Foundation

/// GroupNorm over NCHW (or N,C,...) tensors, as torch.nn.GroupNorm: statistics per (sample, group) over the
/// group's channels and all spatial positions, biased variance, then per-channel affine. `silu` fuses the
/// SiLU that follows almost every GroupNorm in the UNet and VAE (one pass less over the activations).
public func groupNorm(_ x: Tensor, groups: Int, weight: Tensor, bias: Tensor, eps: Float, silu: Bool = false) -> Tensor
{
    Profiler.measure("groupNorm") {
        let n = x.shape[0], c = x.shape[1]
        let spatial = x.count / (n * c)
        let cpg = c / groups
        precondition(c % groups == 0, "groupNorm: \(c) channels not divisible by \(groups) groups")
        var out = Tensor(unfilled: x.shape)
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
                            // Two-pass (mean, then centred second moment) for stability; SIMD float sums over
                            // blocks of 1024 values, accumulated across blocks in double.
                            let mean = blockedSum(src, count: groupSize) { $0 } / Double(groupSize)
                            let m = Float(mean)
                            let sumSq = blockedSum(src, count: groupSize) { ($0 - m) * ($0 - m) }
                            let inv = Float(1.0 / (sumSq / Double(groupSize) + Double(eps)).squareRoot())
                            let meanF = Float(mean)
                            for cl in 0..<cpg {
                                let ch = g * cpg + cl
                                let scale = wp[ch] * inv
                                let shift = bp[ch] - meanF * scale
                                let s = src + cl * spatial
                                let d = op.baseAddress! + base + cl * spatial
                                // In L1-sized blocks, so the fused SiLU reads what the affine step just wrote.
                                var i0 = 0
                                while i0 < spatial {
                                    let i1 = min(spatial, i0 + 2048)
                                    for i in i0..<i1 { d[i] = s[i] * scale + shift }
                                    if silu { FastMath.siluInPlace(d + i0, count: i1 - i0) }
                                    i0 = i1
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// LayerNorm over the last dimension, as torch.nn.LayerNorm (biased variance).
public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor, eps: Float) -> Tensor {
    Profiler.measure("layerNorm") {
        let d = x.shape.last!
        let rows = x.count / d
        var out = Tensor(unfilled: x.shape)
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
}

/// Sum of f(x[i]) over `count` floats: SIMD8 float partial sums per block of 1024, blocks added in double.
@inline(__always)
func blockedSum(_ x: UnsafePointer<Float>, count n: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) -> Double {
    var total = 0.0
    var i = 0
    while i < n {
        let end = min(n, i + 1024)
        var acc = SIMD8<Float>(repeating: 0)
        var j = i
        while j + 8 <= end {
            acc += f(UnsafeRawPointer(x + j).loadUnaligned(as: SIMD8<Float>.self))
            j += 8
        }
        var tail = SIMD8<Float>(repeating: 0)
        var lane = 0
        while j < end { tail[lane] = x[j]; lane += 1; j += 1 }
        if lane > 0 {
            let ft = f(tail)
            for l in 0..<lane { acc[l] += ft[l] }
        }
        total += Double(acc.sum())
        i = end
    }
    return total
}

/// Inference-time BatchNorm over NCHW as one scale and shift per channel (`y = x * scale[c] + shift[c]`, the
/// statistics already folded in); `relu` fuses the ReLU that follows BatchNorm in DenseNets.
public func batchNorm(_ x: Tensor, scale: [Float], shift: [Float], relu: Bool = false) -> Tensor {
    Profiler.measure("batchNorm") {
        let n = x.shape[0], c = x.shape[1]
        precondition(scale.count == c && shift.count == c, "batchNorm: \(x.shape) vs \(scale.count) channels")
        let plane = x.count / (n * c)
        var out = x
        out.data.withUnsafeMutableBufferPointer { o in
            nonisolated(unsafe) let o = o
            Parallel.for(n * c, minChunk: 4) { p in
                let s = scale[p % c], t = shift[p % c]
                let d = o.baseAddress! + p * plane
                if relu {
                    for i in 0..<plane { d[i] = max(d[i] * s + t, 0) }
                } else {
                    for i in 0..<plane { d[i] = d[i] * s + t }
                }
            }
        }
        return out
    }
}
