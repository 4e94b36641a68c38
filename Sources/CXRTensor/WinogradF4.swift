import CVectorKernels
import Foundation

/// 3x3 stride-1 convolution by Winograd's F(4x4, 3x3): each 4x4 output tile costs 36 multiplications per (input,
/// output) channel pair instead of 144, 4x fewer GEMM FLOPs than direct convolution (F(2x2, 3x3): 2.25x).
///
/// Interpolation points 0, 1, -1, 2, -1/2 and ∞ rather than the usual 0, ±1, ±2 (Lavin & Gray): pairing 2 with
/// its reciprocal keeps the transforms' constants small (Barabasz et al., "Error analysis and improving the accuracy
/// of Winograd convolution", 2020), and in an fp32 simulation with 128-512 channels it had 2-2.6x less error
/// than ±2. Every constant of Bᵀ and Aᵀ is a power of two or a sum of two, so those transforms round only in their
/// additions; G's thirds and fifteenths are rounded once per weight.
///
///     Bᵀ = [1  3/2   -2 -3/2    1 0]    G = [    1     0     0]    Aᵀ = [1  1  1 1     1 0]
///          [0   -1 -5/2 -1/2    1 0]        [ -1/3  -1/3  -1/3]         [0  1 -1 2  -1/2 0]
///          [0    1  1/2 -5/2    1 0]        [  1/3  -1/3   1/3]         [0  1  1 4   1/4 0]
///          [0 -1/2   -1  1/2    1 0]        [ 1/15  2/15  4/15]         [0  1 -1 8  -1/8 1]
///          [0    2   -1   -2    1 0]        [-16/15 8/15 -4/15]
///          [0    1  3/2   -2 -3/2 1]        [    0     0     1]
///
/// V = Bᵀ d B (6x6 input patches), U = G g Gᵀ (weights), 36 GEMMs M[ξ] = U[ξ] · V[ξ], Y = Aᵀ M A. Its error
/// against direct convolution is still several times F(2x2, 3x3)'s (measured in KernelTests), which is why
/// `ConvolutionSettings` keeps it to large planes with many channels, where the saving is largest. The band loop
/// is `winogradConv3x3`'s (`winogradBands`: tiles in bands so the transformed inputs stay near 32 MB), each transform
/// vectorised across a run of adjacent tiles.
///
/// fp32 only: in bf16 the rounded transformed operands, carried through Aᵀ's constants up to 8, gave 2.1-2.4e-2 of
/// the output scale against fp32 direct convolution (F(2x2, 3x3) in bf16: 3.8-5.1e-3), beyond the 2⁻⁶ that
/// BFloat16GEMMTests allows Winograd in bf16.
func winogradF4Conv3x3(
    _ x: UnsafePointer<Float>, n: Int, c: Int, h: Int, w: Int, weight: Weight, bias: Tensor?,
    padTop: Int, padLeft: Int, ho: Int, wo: Int, out: UnsafeMutablePointer<Float>
) {
    // U[ξ] (o x c), kept with the weight within `DerivedFloats.budget` as in F(2x2, 3x3), else per call.
    let (operands, scratch) = floatWinogradOperands(
        weight, key: "winograd F(4x4,3x3) fp32", points: 36, transform: winogradF4Weights)
    defer { if let scratch { ScratchPool.shared.give(scratch) } }
    let tiles =
        VectorKernels.enabled
        ? WinogradTiles(
            side: 4, rowScratchPerTile: 0,
            inputRun: { cxr_winograd_f4_input_run($0, $1, $2, $3, $4, $5, $7, $8) },
            outputRun: { cxr_winograd_f4_output_run($0, $1, $2, $3, $4, $5, $6, $7, $8) })
        : WinogradTiles(side: 4, rowScratchPerTile: 24, inputRun: transformF4InputRun, outputRun: transformF4OutputRun)
    winogradBands(
        tiles, x, n: n, c: c, h: h, w: w, o: weight.shape[0], bias: bias, padTop: padTop, padLeft: padLeft, ho: ho,
        wo: wo, out: out, precision: .fp32, operands: operands)
}

/// Bᵀ applied to six values (a column of a patch, or a row of Bᵀ d), lane-wise.
@inline(__always)
private func inputTransform(
    _ d0: SIMD8<Float>, _ d1: SIMD8<Float>, _ d2: SIMD8<Float>, _ d3: SIMD8<Float>, _ d4: SIMD8<Float>,
    _ d5: SIMD8<Float>
) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let half = SIMD8<Float>(repeating: 0.5), two = SIMD8<Float>(repeating: 2)
    let threeHalves = SIMD8<Float>(repeating: 1.5), fiveHalves = SIMD8<Float>(repeating: 2.5)
    let d42 = d4 - d2
    return (
        (d0 + d4) - two * d2 + threeHalves * (d1 - d3),
        (d4 - d1) - fiveHalves * d2 - half * d3,
        (d4 + d1) + half * d2 - fiveHalves * d3,
        d42 + half * (d3 - d1),
        d42 + two * (d1 - d3),
        (d1 + d5) - two * d3 + threeHalves * (d2 - d4)
    )
}

/// V = Bᵀ d B of the 6x6 input patches of `length` adjacent tiles of one channel plane, whose first patch starts at
/// (y0, x0) (outside the plane is zero), into v[ξ * vStride + i] for tile i (ξ = 6 · row + column of V).
///
/// Vectorised across the tiles as the F(2x2, 3x3) transform: tile i's patch columns are x0 + 4i + 0...5, so once
/// each patch row is split into its four phases (positions mod 4), every patch column of the run is a contiguous
/// vector (columns 0-3: phases 0-3 from i, 4 and 5: phases 0 and 1 from i + 1). `rows` is scratch for
/// 24 · (length + 1) floats.
@inline(__always)
private func transformF4InputRun(
    plane: UnsafePointer<Float>, h: Int, w: Int, y0: Int, x0: Int, length: Int,
    rows: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, vStride: Int
) {
    let n = length + 1
    // Phase p of patch row r: rows[(4r + p) · n + k] = plane[y0 + r][x0 + 4k + p].
    @inline(__always) func row(_ r: Int, _ p: Int) -> UnsafeMutablePointer<Float> { rows + (4 * r + p) * n }
    let inside = x0 >= 0 && x0 + 4 * n <= w
    for r in 0..<6 {
        let yy = y0 + r
        let p0 = row(r, 0), p1 = row(r, 1), p2 = row(r, 2), p3 = row(r, 3)
        guard yy >= 0 && yy < h else {
            p0.update(repeating: 0, count: 4 * n)
            continue
        }
        let src = plane + yy * w
        if inside {
            let s = src + x0
            for k in 0..<n {
                p0[k] = s[4 * k]; p1[k] = s[4 * k + 1]; p2[k] = s[4 * k + 2]; p3[k] = s[4 * k + 3]
            }
        } else {
            @inline(__always) func at(_ xx: Int) -> Float { xx >= 0 && xx < w ? src[xx] : 0 }
            for k in 0..<n {
                let xx = x0 + 4 * k
                p0[k] = at(xx); p1[k] = at(xx + 1); p2[k] = at(xx + 2); p3[k] = at(xx + 3)
            }
        }
    }
    // Bᵀ d on the rows, in place on each phase.
    for p in 0..<4 {
        var k = 0
        while k < n {
            let count = min(8, n - k)
            @inline(__always) func load(_ r: Int) -> SIMD8<Float> { SIMD8.load(row(r, p) + k, count: count) }
            @inline(__always) func put(_ r: Int, _ s: SIMD8<Float>) { s.store(to: row(r, p) + k, count: count) }
            let t = inputTransform(load(0), load(1), load(2), load(3), load(4), load(5))
            put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3); put(4, t.4); put(5, t.5)
            k += count
        }
    }
    // · B on the columns: with a row's t = (p0[i], p1[i], p2[i], p3[i], p0[i + 1], p1[i + 1]).
    for r in 0..<6 {
        let q0 = row(r, 0), q1 = row(r, 1), q2 = row(r, 2), q3 = row(r, 3)
        let out = v + 6 * r * vStride
        var i = 0
        while i < length {
            let count = min(8, length - i)
            @inline(__always) func load(_ q: UnsafeMutablePointer<Float>, _ at: Int) -> SIMD8<Float> {
                SIMD8.load(q + at, count: count)
            }
            let t = inputTransform(load(q0, i), load(q1, i), load(q2, i), load(q3, i), load(q0, i + 1), load(q1, i + 1))
            @inline(__always) func put(_ j: Int, _ s: SIMD8<Float>) { s.store(to: out + j * vStride + i, count: count) }
            put(0, t.0); put(1, t.1); put(2, t.2); put(3, t.3); put(4, t.4); put(5, t.5)
            i += count
        }
    }
}

/// Aᵀ applied to six values, lane-wise.
@inline(__always)
private func outputTransform(
    _ m0: SIMD8<Float>, _ m1: SIMD8<Float>, _ m2: SIMD8<Float>, _ m3: SIMD8<Float>, _ m4: SIMD8<Float>,
    _ m5: SIMD8<Float>
) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
    let a = m1 + m2, b = m1 - m2
    return (
        (m0 + a) + (m3 + m4),
        b + (SIMD8(repeating: 2) * m3 - SIMD8(repeating: 0.5) * m4),
        a + (SIMD8(repeating: 4) * m3 + SIMD8(repeating: 0.25) * m4),
        b + (SIMD8(repeating: 8) * m3 - SIMD8(repeating: 0.125) * m4) + m5
    )
}

/// Y = Aᵀ M A + bias for `length` adjacent tiles, M[ξ] of tile i at m[ξ * mStride + i], into the 4x4 output blocks
/// at (oy, ox + 4i) of an ho x wo plane (blocks cut at the plane's edges). Vectorised across the tiles.
@inline(__always)
private func transformF4OutputRun(
    m: UnsafePointer<Float>, mStride: Int, length: Int, bias: Float, plane: UnsafeMutablePointer<Float>,
    ho: Int, wo: Int, oy: Int, ox: Int
) {
    let rows = min(4, ho - oy)
    let b = SIMD8<Float>(repeating: bias)
    var i = 0
    while i < length {
        let count = min(8, length - i)
        @inline(__always) func at(_ xi: Int) -> SIMD8<Float> { SIMD8.load(m + xi * mStride + i, count: count) }
        // Aᵀ M, column by column of M: s[r][j] for output row r.
        @inline(__always) func column(_ j: Int) -> (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>) {
            outputTransform(at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j))
        }
        let c0 = column(0), c1 = column(1), c2 = column(2), c3 = column(3), c4 = column(4), c5 = column(5)
        // Columns of the tiles' output blocks that fall inside the plane (the last block of a row may be cut).
        let x = ox + 4 * i
        let whole = x + 4 * count <= wo
        @inline(__always) func store(_ r: Int, _ y: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>)) {
            let dst = plane + (oy + r) * wo + x
            let y0 = y.0 + b, y1 = y.1 + b, y2 = y.2 + b, y3 = y.3 + b
            if whole {
                for l in 0..<count {
                    dst[4 * l] = y0[l]; dst[4 * l + 1] = y1[l]; dst[4 * l + 2] = y2[l]; dst[4 * l + 3] = y3[l]
                }
                return
            }
            for l in 0..<count {
                let left = wo - x - 4 * l
                if left > 0 { dst[4 * l] = y0[l] }
                if left > 1 { dst[4 * l + 1] = y1[l] }
                if left > 2 { dst[4 * l + 2] = y2[l] }
                if left > 3 { dst[4 * l + 3] = y3[l] }
            }
        }
        if rows > 0 { store(0, outputTransform(c0.0, c1.0, c2.0, c3.0, c4.0, c5.0)) }
        if rows > 1 { store(1, outputTransform(c0.1, c1.1, c2.1, c3.1, c4.1, c5.1)) }
        if rows > 2 { store(2, outputTransform(c0.2, c1.2, c2.2, c3.2, c4.2, c5.2)) }
        if rows > 3 { store(3, outputTransform(c0.3, c1.3, c2.3, c3.3, c4.3, c5.3)) }
        i += count
    }
}

/// G times three values: six values (SIMD8 lanes 6 and 7 unused).
@inline(__always)
private func weightTransform(_ g0: Float, _ g1: Float, _ g2: Float) -> SIMD8<Float> {
    let third: Float = 1 / 3, fifteenth: Float = 1 / 15
    let outer = g0 + g2
    return SIMD8(
        g0, -third * (outer + g1), third * (outer - g1), fifteenth * (g0 + 2 * g1 + 4 * g2),
        fifteenth * (8 * g1 - 16 * g0 - 4 * g2), g2, 0, 0)
}

/// The 36 transformed weight matrices U[ξ][oc][ic] = (G g Gᵀ)[ξ] of a [O, C, 3, 3] weight, into `u` (36·O·C).
/// As in F(2x2, 3x3), an output channel's kernels are widened at once, then transformed 16 at a time by
/// `cxr_winograd_f4_weights` where the vector kernels run, else one at a time below (the same bits).
private func winogradF4Weights(_ weight: Weight, into uBase: UnsafeMutablePointer<Float>) {
    let o = weight.shape[0], c = weight.shape[1]
    nonisolated(unsafe) let u = uBase
    let oc = o * c
    let vector = VectorKernels.enabled
    forEachOutputChannelWidened(weight) { row, oi in
        if vector {
            cxr_winograd_f4_weights(row, c, u + oi * c, oc)
            return
        }
        for ci in 0..<c {
            let g = row + 9 * ci
            // G g, one kernel column at a time: t_k[r] = (G g)[r][k].
            let t0 = weightTransform(g[0], g[3], g[6])
            let t1 = weightTransform(g[1], g[4], g[7])
            let t2 = weightTransform(g[2], g[5], g[8])
            let base = oi * c + ci
            for r in 0..<6 {
                // Row r of (G g) Gᵀ: G times that row's three values.
                let s = weightTransform(t0[r], t1[r], t2[r])
                for j in 0..<6 { u[(6 * r + j) * oc + base] = s[j] }
            }
        }
    }
}
