import Foundation

/// Switches for the convolution algorithms (benchmarks and tests flip them; normal use keeps the defaults).
public enum ConvolutionSettings {
    /// Use Winograd F(2x2, 3x3) for 3x3 stride-1 convolutions on planes of at least `winogradMinPixels`.
    /// Set CXR_EDIT_WINOGRAD=0 to disable (e.g. to compare with plain im2col).
    nonisolated(unsafe) public static var winograd: Bool =
        ProcessInfo.processInfo.environment["CXR_EDIT_WINOGRAD"] != "0"
    /// Below this output size the transforms cost more than the 2.25x fewer multiplications save.
    nonisolated(unsafe) public static var winogradMinPixels: Int = 16 * 16
}

/// 3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3): each 2x2 output tile costs 16
/// multiplications per (input, output) channel pair instead of 36, i.e. 2.25x fewer GEMM FLOPs, which is most
/// of the UNet's and VAE's work. Transforms: V = Bᵀ d B (4x4 input patches), U = G g Gᵀ (weights, per call,
/// from the stored fp16/fp32 values), then 16 GEMMs M[ξ] = U[ξ] · V[ξ], then Y = Aᵀ M A. Tiles are processed
/// in bands so the transformed inputs stay near 32 MB. Rounding differs from direct convolution by a few ulp
/// of the layer's scale (checked against it in KernelTests and by the model parity tests).
func winogradConv3x3(
    _ x: UnsafePointer<Float>, n: Int, c: Int, h: Int, w: Int, weight: Weight, bias: Tensor?,
    padTop: Int, padLeft: Int, ho: Int, wo: Int, out: UnsafeMutablePointer<Float>,
    precision: GEMMPrecision = .fp32
) {
    let o = weight.shape[0]
    let th = (ho + 1) / 2, tw = (wo + 1) / 2
    let tilesPerImage = th * tw, tiles = n * tilesPerImage
    let chunk = max(64, min(tiles, (32 << 20) / (64 * max(c, o))))

    // U[ξ] (o x c): in fp32 recomputed per call from the stored weight (cheap next to the GEMMs, no memory
    // kept); in bf16 rounded, packed and kept with the weight, since the packed copy is the point of caching.
    let oc16 = o * c
    var uBuf: ScratchPool.Buffer?
    defer { if let uBuf { ScratchPool.shared.give(uBuf) } }
    let operands: [GEMMOperand]
    switch precision {
    case .fp32:
        let buf = ScratchPool.shared.take(16 * oc16)
        uBuf = buf
        winogradWeights(weight, into: buf.base)
        operands = (0..<16).map { .floats(buf.base + $0 * oc16, ld: c, transposed: false) }
    case .bf16:
        let packed = weight.cached("winograd F(2x2,3x3) bf16") { () -> WinogradPackedWeights in
            let buf = ScratchPool.shared.take(16 * oc16)
            defer { ScratchPool.shared.give(buf) }
            winogradWeights(weight, into: buf.base)
            weight.releaseStoredPages()
            return WinogradPackedWeights(
                (0..<16).map {
                    BFloat16Matrix(
                        side: .a, rows: o, columns: c, values: buf.base + $0 * oc16, ld: c, transposed: false)
                })
        }
        operands = packed.matrices.map { .packed($0) }
    }

    let vBuf = ScratchPool.shared.take(16 * c * chunk)
    let mBuf = ScratchPool.shared.take(16 * o * chunk)
    defer { ScratchPool.shared.give(vBuf); ScratchPool.shared.give(mBuf) }
    nonisolated(unsafe) let v = vBuf.base, m = mBuf.base, dst = out
    var p0 = 0
    while p0 < tiles {
        let pc = min(chunk, tiles - p0)
        let vStride = c * pc  // between ξ planes
        // Input transform, parallel over channels.
        Parallel.for(c, minChunk: 2) { ci in
            for p in 0..<pc {
                let g = p0 + p
                let img = g / tilesPerImage, r = g - img * tilesPerImage
                let ty = r / tw, tx = r - ty * tw
                let y0 = 2 * ty - padTop, x0 = 2 * tx - padLeft
                let plane = x + (img * c + ci) * h * w
                func row(_ i: Int) -> SIMD4<Float> {
                    let yy = y0 + i
                    if yy < 0 || yy >= h { return SIMD4<Float>() }
                    let src = plane + yy * w
                    if x0 >= 0 && x0 + 4 <= w {
                        return UnsafeRawPointer(src + x0).loadUnaligned(as: SIMD4<Float>.self)
                    }
                    var s = SIMD4<Float>()
                    for j in 0..<4 where x0 + j >= 0 && x0 + j < w { s[j] = src[x0 + j] }
                    return s
                }
                let d0 = row(0), d1 = row(1), d2 = row(2), d3 = row(3)
                // Bᵀ d (rows), then · B (columns).
                let t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3
                let base = v + ci * pc + p
                @inline(__always) func put(_ ri: Int, _ t: SIMD4<Float>) {
                    base[(ri * 4 + 0) * vStride] = t[0] - t[2]
                    base[(ri * 4 + 1) * vStride] = t[1] + t[2]
                    base[(ri * 4 + 2) * vStride] = t[2] - t[1]
                    base[(ri * 4 + 3) * vStride] = t[1] - t[3]
                }
                put(0, t0); put(1, t1); put(2, t2); put(3, t3)
            }
        }
        // 16 GEMMs: M[ξ] (o x pc) = U[ξ] (o x c) · V[ξ] (c x pc).
        for xi in 0..<16 {
            gemm(
                precision, m: o, n: pc, k: c, a: operands[xi], b: .floats(v + xi * vStride, ld: pc, transposed: false),
                c: m + xi * o * pc, ldc: pc)
        }
        // Output transform, parallel over output channels.
        let mStride = o * pc
        Parallel.for(o, minChunk: 2) { oi in
            let b = bias?.data[oi] ?? 0
            for p in 0..<pc {
                let g = p0 + p
                let img = g / tilesPerImage, r = g - img * tilesPerImage
                let ty = r / tw, tx = r - ty * tw
                let src = m + oi * pc + p
                @inline(__always) func at(_ k: Int) -> Float { src[k * mStride] }
                // Aᵀ M: rows s0 = m0 + m1 + m2, s1 = m1 - m2 - m3 (each a row of 4).
                var s0 = SIMD4<Float>(), s1 = SIMD4<Float>()
                for col in 0..<4 {
                    let a0 = at(col), a1 = at(4 + col), a2 = at(8 + col), a3 = at(12 + col)
                    s0[col] = a0 + a1 + a2
                    s1[col] = a1 - a2 - a3
                }
                let y00 = s0[0] + s0[1] + s0[2] + b, y01 = s0[1] - s0[2] - s0[3] + b
                let y10 = s1[0] + s1[1] + s1[2] + b, y11 = s1[1] - s1[2] - s1[3] + b
                let oy = 2 * ty, ox = 2 * tx
                let plane = dst + (img * o + oi) * ho * wo
                plane[oy * wo + ox] = y00
                if ox + 1 < wo { plane[oy * wo + ox + 1] = y01 }
                if oy + 1 < ho {
                    plane[(oy + 1) * wo + ox] = y10
                    if ox + 1 < wo { plane[(oy + 1) * wo + ox + 1] = y11 }
                }
            }
        }
        p0 += pc
    }
}

/// The 16 transformed weight matrices U[ξ][oc][ic] = (G g Gᵀ)[ξ] of a [O, C, 3, 3] weight, into `u` (16·O·C).
private func winogradWeights(_ weight: Weight, into uBase: UnsafeMutablePointer<Float>) {
    let o = weight.shape[0], c = weight.shape[1]
    nonisolated(unsafe) let u = uBase
    let oc16 = o * c
    Parallel.for(o, minChunk: 4) { oi in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9) { gp in
            for ci in 0..<c {
                weight.widen(into: gp.baseAddress!, from: (oi * c + ci) * 9, count: 9)
                // G g: rows of 3 (as SIMD4 with a zero lane).
                let g0 = SIMD4<Float>(gp[0], gp[1], gp[2], 0)
                let g1 = SIMD4<Float>(gp[3], gp[4], gp[5], 0)
                let g2 = SIMD4<Float>(gp[6], gp[7], gp[8], 0)
                let t0 = g0, t1 = 0.5 * (g0 + g1 + g2), t2 = 0.5 * (g0 - g1 + g2), t3 = g2
                let base = oi * c + ci
                @inline(__always) func put(_ r: Int, _ t: SIMD4<Float>) {
                    let a = t[0], b = t[1], d = t[2]
                    u[(r * 4 + 0) * oc16 + base] = a
                    u[(r * 4 + 1) * oc16 + base] = 0.5 * (a + b + d)
                    u[(r * 4 + 2) * oc16 + base] = 0.5 * (a - b + d)
                    u[(r * 4 + 3) * oc16 + base] = d
                }
                put(0, t0); put(1, t1); put(2, t2); put(3, t3)
            }
        }
    }
}

/// A weight's 16 Winograd matrices packed as bf16 (a class, to be cached with the weight).
final class WinogradPackedWeights: @unchecked Sendable {
    let matrices: [BFloat16Matrix]
    init(_ matrices: [BFloat16Matrix]) { self.matrices = matrices }
}
