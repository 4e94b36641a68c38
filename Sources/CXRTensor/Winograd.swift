import CVectorKernels
import Foundation

/// Switches for the convolution algorithms (benchmarks and tests flip them; normal use keeps the defaults).
public enum ConvolutionSettings {
    /// Use Winograd for 3x3 stride-1 convolutions on planes of at least `winogradMinPixels`.
    /// Set CXR_EDIT_WINOGRAD=0 to disable (e.g. to compare with plain im2col).
    nonisolated(unsafe) public static var winograd: Bool =
        ProcessInfo.processInfo.environment["CXR_EDIT_WINOGRAD"] != "0"
    /// Below this output size the transforms cost more than the 2.25x fewer multiplications save.
    nonisolated(unsafe) public static var winogradMinPixels: Int = 16 * 16
    /// Use F(4x4, 3x3) (`winogradF4Conv3x3`) instead of F(2x2, 3x3) where `usesLargeTiles` says so.
    /// Set CXR_EDIT_WINOGRAD=2 to keep F(2x2, 3x3) everywhere (e.g. to compare the two).
    nonisolated(unsafe) public static var winogradLargeTiles: Bool =
        ProcessInfo.processInfo.environment["CXR_EDIT_WINOGRAD"] != "2"
    /// F(4x4, 3x3) from this output plane size: an SD VAE's 64x64 to 512x512 planes and an SD UNet's 64x64 ones at
    /// 512 px. Smaller planes have too few tiles for the 36 per-call transformed weight matrices (2.25x F(2x2, 3x3)'s)
    /// to pay: at 32x32 (a guided 512 px UNet step's 128 tiles) F(4x4, 3x3) saved no time.
    nonisolated(unsafe) public static var winogradLargeTileMinPixels: Int = 64 * 64
    /// ... and from this many input channels (an SD VAE decoder's narrowest layers have 128): the bundled model's
    /// VAE (64 channels and fewer) keeps F(2x2, 3x3), and with it its recorded outputs.
    nonisolated(unsafe) public static var winogradLargeTileMinChannels: Int = 128

    /// Whether a 3x3 stride-1 convolution with `channels` inputs on an output plane of `pixels` runs by F(4x4, 3x3):
    /// in fp32 only (in bf16 its error is 5x F(2x2, 3x3)'s, see `winogradF4Conv3x3`).
    static func usesLargeTiles(channels: Int, pixels: Int, precision: GEMMPrecision) -> Bool {
        winogradLargeTiles && precision == .fp32 && pixels >= winogradLargeTileMinPixels
            && channels >= winogradLargeTileMinChannels
    }
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
    // U[ξ] (o x c): in fp32 kept with the weight while it fits `DerivedFloats.budget` (a small model's), else
    // recomputed per call from the stored weight (cheap next to a large model's GEMMs); in bf16 rounded, packed
    // and kept with the weight, since the packed copy is the point of caching.
    let oc16 = o * c
    var scratch: ScratchPool.Buffer?
    defer { if let scratch { ScratchPool.shared.give(scratch) } }
    let operands: [GEMMOperand]
    switch precision {
    case .fp32:
        (operands, scratch) = floatWinogradOperands(
            weight, key: "winograd F(2x2,3x3) fp32", points: 16, transform: winogradWeights)
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
        if VectorKernels.enabled {
            winogradPackedBands(
                x, n: n, c: c, h: h, w: w, o: o, bias: bias, padTop: padTop, padLeft: padLeft, ho: ho, wo: wo,
                out: out, operands: operands)
            return
        }
    }

    let tiles =
        VectorKernels.enabled
        ? WinogradTiles(
            side: 2, rowScratchPerTile: 0,
            inputRun: { cxr_winograd_f2_input_run($0, $1, $2, $3, $4, $5, $7, $8) },
            outputRun: { cxr_winograd_f2_output_run($0, $1, $2, $3, $4, $5, $6, $7, $8) })
        : WinogradTiles(side: 2, rowScratchPerTile: 8, inputRun: transformInputRun, outputRun: transformOutputRun)
    winogradBands(
        tiles,
        x, n: n, c: c, h: h, w: w, o: o, bias: bias, padTop: padTop, padLeft: padLeft, ho: ho, wo: wo, out: out,
        precision: precision, operands: operands)
}

/// U[ξ] (o x c) of a 3x3 weight in fp32, one GEMM operand per ξ: kept with the weight while it fits
/// `DerivedFloats.budget` (a small model's), else computed for this call into `scratch`, which the caller gives
/// back to `ScratchPool.shared` when the convolution is done.
func floatWinogradOperands(
    _ weight: Weight, key: String, points: Int, transform: (Weight, UnsafeMutablePointer<Float>) -> Void
) -> (operands: [GEMMOperand], scratch: ScratchPool.Buffer?) {
    let o = weight.shape[0], c = weight.shape[1], oc = o * c
    var scratch: ScratchPool.Buffer?
    var u = weight.derived.floats(key, count: points * oc) { transform(weight, $0) }?.base
    if u == nil {
        let buf = ScratchPool.shared.take(points * oc)
        transform(weight, buf.base)
        scratch = buf
        u = buf.base
    }
    return ((0..<points).map { .floats(u! + $0 * oc, ld: c, transposed: false) }, scratch)
}

/// The transforms of one Winograd variant, for the band loop F(2x2, 3x3) and F(4x4, 3x3) share.
struct WinogradTiles {
    /// Output tile side (2 or 4); the input patches are side + 2 square, so there are (side + 2)² products.
    var side: Int
    /// Scratch floats the input transform needs per tile of a run (plus one tile's worth).
    var rowScratchPerTile: Int
    /// V = Bᵀ d B of a run of adjacent tiles: (plane, h, w, y0, x0, length, rows scratch, v, vStride).
    var inputRun:
        (UnsafePointer<Float>, Int, Int, Int, Int, Int, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>, Int)
            -> Void
    /// Y = Aᵀ M A (+ bias) of a run of adjacent tiles: (m, mStride, length, bias, plane, ho, wo, oy, ox).
    var outputRun: (UnsafePointer<Float>, Int, Int, Float, UnsafeMutablePointer<Float>, Int, Int, Int, Int) -> Void
}

/// Runs the tiles a band at a time: input transform (parallel over channels), the (side + 2)² products
/// M[ξ] (o x tiles) = U[ξ] (o x c) · V[ξ] (c x tiles), then the output transform (parallel over output channels).
/// Why bands: the transformed inputs and products of a whole plane would take (side + 2)² / side² times the
/// activations' memory; a band of tiles keeps them near 32 MB.
///
/// Where a layer has few channels (the bundled model's VAE: 32-64), a band of `cacheBandBytes` still holds
/// `cacheBandMinTiles` tiles: then bands are that small, so that V and M stay in the core's cache between the
/// transforms and the GEMMs (which are short there, so the transforms' memory traffic dominated), and each
/// thread runs whole bands, one hand-off per convolution instead of three per band. Bands depend on the shape
/// only, never on the thread count, so results do not depend on it either. The products' GEMMs are shorter, which
/// a BLAS blocks differently: a few of their sums may round differently in the last bit than in one whole-plane
/// GEMM.
func winogradBands(
    _ tiles: WinogradTiles, _ x: UnsafePointer<Float>, n: Int, c: Int, h: Int, w: Int, o: Int, bias: Tensor?,
    padTop: Int, padLeft: Int, ho: Int, wo: Int, out: UnsafeMutablePointer<Float>,
    precision: GEMMPrecision, operands: [GEMMOperand]
) {
    let side = tiles.side, points = (side + 2) * (side + 2)
    let tw = (wo + side - 1) / side, tilesPerImage = ((ho + side - 1) / side) * tw, count = n * tilesPerImage
    nonisolated(unsafe) let dst = out

    /// Tiles [p0, p0 + pc) through the three stages, with V and M in `v` and `m`.
    func band(_ p0: Int, _ pc: Int, v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>) {
        nonisolated(unsafe) let v = v, m = m
        let vStride = c * pc, mStride = o * pc  // between ξ planes
        // Input transform, parallel over channels, a run of adjacent tiles at a time.
        Parallel.for(c, minChunk: 2) { ci in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tiles.rowScratchPerTile * (tw + 1)) { rows in
                forEachTileRun(first: p0, count: pc, tilesPerImage: tilesPerImage, tileColumns: tw) {
                    img, ty, tx, length, offset in
                    tiles.inputRun(
                        x + (img * c + ci) * h * w, h, w, side * ty - padTop, side * tx - padLeft, length,
                        rows.baseAddress!, v + ci * pc + offset, vStride)
                }
            }
        }
        // The products, whole GEMMs spread over the threads: one hand-off for all of them, each product computed
        // (and its V packed) once, as one single-threaded call.
        Parallel.for(points) { xi in
            gemm(
                precision, m: o, n: pc, k: c, a: operands[xi], b: .floats(v + xi * vStride, ld: pc, transposed: false),
                c: m + xi * mStride, ldc: pc)
        }
        // Output transform, parallel over output channels, a run of adjacent tiles at a time.
        Parallel.for(o, minChunk: 2) { oi in
            let b = bias?.data[oi] ?? 0
            forEachTileRun(first: p0, count: pc, tilesPerImage: tilesPerImage, tileColumns: tw) {
                img, ty, tx, length, offset in
                tiles.outputRun(
                    m + oi * pc + offset, mStride, length, b, dst + (img * o + oi) * ho * wo, ho, wo, side * ty,
                    side * tx)
            }
        }
    }

    WinogradBanding.forEachBand(
        count: count, bytesPerTile: points * 4 * max(c, o), largeBandBytes: 32 << 20,
        floatsPerTile: [points * c, points * o]
    ) { p0, pc, scratch in
        band(p0, pc, v: scratch[0], m: scratch[1])
    }
}

/// Band sizes of `winogradBands` and `winogradPackedBands`, and how their bands run.
enum WinogradBanding {
    /// Transformed inputs of a band kept within a core's L2 cache (1 MiB on the Zen 4/5 EPYCs measured) ...
    nonisolated(unsafe) static var cacheBandBytes = 1 << 20
    /// ... where that is still this many tiles, enough for the GEMMs' overheads not to dominate (a 256 px edit's VAE
    /// decode took 0.096-0.105 s CPU with 256-1024 tiles per band, 0.134-0.147 s with whole 16,384-tile planes).
    nonisolated(unsafe) static var cacheBandMinTiles = 256

    /// Runs `band(first, count, scratch)` over tiles [0, `count`) split into bands, `scratch[k]` holding at least
    /// `floatsPerTile[k]` floats per tile of a band and `minimumFloats`. Where a band of `cacheBandBytes` still holds
    /// `cacheBandMinTiles` tiles, bands are that size and each thread runs whole bands with scratch of its own (the
    /// stages' loops inside then run inline); otherwise bands of `largeBandBytes` (at least 64 tiles) run one after
    /// the other on shared scratch, each stage parallel inside. Bands depend on the shape only, never on the thread
    /// count.
    static func forEachBand(
        count: Int, bytesPerTile: Int, largeBandBytes: Int, floatsPerTile: [Int], minimumFloats: Int = 0,
        _ band: (_ first: Int, _ count: Int, _ scratch: [UnsafeMutablePointer<Float>]) -> Void
    ) {
        let cacheTiles = cacheBandBytes / bytesPerTile
        let cached = cacheTiles >= max(1, cacheBandMinTiles)
        let chunk = cached ? min(count, cacheTiles) : max(64, min(count, largeBandBytes / bytesPerTile))
        let bands = (count + chunk - 1) / chunk
        func withScratch(_ body: ([UnsafeMutablePointer<Float>]) -> Void) {
            let buffers = floatsPerTile.map { ScratchPool.shared.take(max($0 * chunk, minimumFloats)) }
            defer { buffers.forEach { ScratchPool.shared.give($0) } }
            body(buffers.map(\.base))
        }
        if cached && bands > 1 {
            Parallel.for(bands) { bi in
                withScratch { band(bi * chunk, min(chunk, count - bi * chunk), $0) }
            }
        } else {
            withScratch { scratch in
                for bi in 0..<bands { band(bi * chunk, min(chunk, count - bi * chunk), scratch) }
            }
        }
    }
}

/// Calls `body(image, tileRow, firstColumn, length, offset)` for the runs of adjacent tiles along one tile row
/// that make up tiles [first, first + count) (tiles numbered image by image, row by row; `offset` is the run's
/// first tile minus `first`), so the transforms can work on a run at once.
@inline(__always)
func forEachTileRun(
    first: Int, count: Int, tilesPerImage: Int, tileColumns tw: Int, _ body: (Int, Int, Int, Int, Int) -> Void
) {
    var g = first
    while g < first + count {
        let img = g / tilesPerImage, r = g - img * tilesPerImage
        let ty = r / tw, tx = r - ty * tw
        let length = min(tw - tx, first + count - g)
        body(img, ty, tx, length, g - first)
        g += length
    }
}

/// V = Bᵀ d B of the 4x4 input patches of `length` adjacent tiles of one channel plane, whose first patch starts
/// at (y0, x0) (outside the plane is zero), into v[ξ * vStride + i] for tile i (ξ = 4 · row + column of V).
///
/// Vectorised across the tiles: tile i's patch columns are x0 + 2i + 0...3, so once each patch row is split into
/// its even and odd positions, every patch column of the run is a contiguous vector (column 0: even from i,
/// 1: odd from i, 2: even from i + 1, 3: odd from i + 1). Each value takes the same additions in the same order
/// as the per-tile formula (Bᵀ d on the rows, then · B on the columns), so the result is bit-identical to it.
/// `rows` is scratch for 8 · (length + 1) floats.
@inline(__always)
private func transformInputRun(
    plane: UnsafePointer<Float>, h: Int, w: Int, y0: Int, x0: Int, length: Int,
    rows: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>, vStride: Int
) {
    let n = length + 1
    // rows[2i] and rows[2i + 1]: the even and odd positions of patch row i.
    @inline(__always) func row(_ i: Int, odd: Int) -> UnsafeMutablePointer<Float> { rows + (2 * i + odd) * n }
    for i in 0..<4 {
        let yy = y0 + i
        let even = row(i, odd: 0), odd = row(i, odd: 1)
        guard yy >= 0 && yy < h else {
            even.update(repeating: 0, count: n)
            odd.update(repeating: 0, count: n)
            continue
        }
        let src = plane + yy * w
        for k in 0..<n {
            let xx = x0 + 2 * k
            even[k] = xx >= 0 && xx < w ? src[xx] : 0
            odd[k] = xx + 1 >= 0 && xx + 1 < w ? src[xx + 1] : 0
        }
    }
    // Bᵀ d: t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3, in place on both halves.
    for half in 0..<2 {
        let d0 = row(0, odd: half), d1 = row(1, odd: half), d2 = row(2, odd: half), d3 = row(3, odd: half)
        var k = 0
        while k + 8 <= n {
            let a = SIMD8.load(d0 + k), b = SIMD8.load(d1 + k), c = SIMD8.load(d2 + k), d = SIMD8.load(d3 + k)
            (a - c).store(to: d0 + k); (b + c).store(to: d1 + k); (c - b).store(to: d2 + k); (b - d).store(to: d3 + k)
            k += 8
        }
        while k < n {
            let a = d0[k], b = d1[k], c = d2[k], d = d3[k]
            d0[k] = a - c; d1[k] = b + c; d2[k] = c - b; d3[k] = b - d
            k += 1
        }
    }
    // · B on the columns: with a row's t = (even[i], odd[i], even[i + 1], odd[i + 1]),
    // V = (t0 - t2, t1 + t2, t2 - t1, t1 - t3).
    for ri in 0..<4 {
        let even = row(ri, odd: 0), odd = row(ri, odd: 1)
        let out0 = v + (4 * ri) * vStride, out1 = out0 + vStride, out2 = out1 + vStride, out3 = out2 + vStride
        var i = 0
        while i + 8 <= length {
            let t0 = SIMD8.load(even + i), t1 = SIMD8.load(odd + i)
            let t2 = SIMD8.load(even + i + 1), t3 = SIMD8.load(odd + i + 1)
            (t0 - t2).store(to: out0 + i); (t1 + t2).store(to: out1 + i)
            (t2 - t1).store(to: out2 + i); (t1 - t3).store(to: out3 + i)
            i += 8
        }
        while i < length {
            let t0 = even[i], t1 = odd[i], t2 = even[i + 1], t3 = odd[i + 1]
            out0[i] = t0 - t2; out1[i] = t1 + t2; out2[i] = t2 - t1; out3[i] = t1 - t3
            i += 1
        }
    }
}

/// Y = Aᵀ M A + bias for `length` adjacent tiles, M[ξ] of tile i at m[ξ * mStride + i], into the 2x2 output blocks
/// at (oy, ox + 2i) of an ho x wo plane (blocks cut at the plane's edge).
///
/// Vectorised across the tiles, with the per-tile formula's additions in the same order (bit-identical to it):
/// s0 = m0 + m1 + m2 and s1 = m1 - m2 - m3 on the rows of M, then the same on the columns of s0 and s1.
@inline(__always)
private func transformOutputRun(
    m: UnsafePointer<Float>, mStride: Int, length: Int, bias: Float, plane: UnsafeMutablePointer<Float>,
    ho: Int, wo: Int, oy: Int, ox: Int
) {
    let top = plane + oy * wo + ox
    let hasBottom = oy + 1 < ho
    let bottom = top + wo
    // The last tile of a row of odd width has no right column.
    let fullWidth = min(length, (wo - ox) / 2)
    @inline(__always) func store(
        _ row: UnsafeMutablePointer<Float>, _ left: SIMD8<Float>, _ right: SIMD8<Float>,
        at i: Int, count: Int
    ) {
        for l in 0..<count {
            row[2 * (i + l)] = left[l]
            if i + l < fullWidth { row[2 * (i + l) + 1] = right[l] }
        }
    }
    let b = SIMD8<Float>(repeating: bias)
    var i = 0
    while i < length {
        let count = min(8, length - i)
        @inline(__always) func at(_ k: Int) -> SIMD8<Float> { SIMD8.load(m + k * mStride + i, count: count) }
        let m0 = at(0), m1 = at(1), m2 = at(2), m3 = at(3), m4 = at(4), m5 = at(5), m6 = at(6), m7 = at(7)
        let m8 = at(8), m9 = at(9), m10 = at(10), m11 = at(11), m12 = at(12), m13 = at(13), m14 = at(14)
        let m15 = at(15)
        // Aᵀ M: row s0 = m0 + m1 + m2, row s1 = m1 - m2 - m3 (rows of M are m[4r...4r+3]).
        let s00 = m0 + m4 + m8, s01 = m1 + m5 + m9, s02 = m2 + m6 + m10, s03 = m3 + m7 + m11
        let s10 = m4 - m8 - m12, s11 = m5 - m9 - m13, s12 = m6 - m10 - m14, s13 = m7 - m11 - m15
        // · A on the columns of s0 and s1.
        store(top, s00 + s01 + s02 + b, s01 - s02 - s03 + b, at: i, count: count)
        if hasBottom { store(bottom, s10 + s11 + s12 + b, s11 - s12 - s13 + b, at: i, count: count) }
        i += count
    }
}

extension SIMD8 where Scalar == Float {
    /// Eight floats from `p` (any alignment).
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
    }

    /// Stores the eight lanes at `p` (any alignment).
    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(p).storeBytes(of: self, as: SIMD8<Float>.self)
    }

    /// The first `count` (1...8) floats at `p`, the other lanes 0: the last, partial vector of a run of tiles.
    @inline(__always)
    static func load(_ p: UnsafePointer<Float>, count: Int) -> SIMD8<Float> {
        if count == 8 { return load(p) }
        var s = SIMD8<Float>()
        for l in 0..<count { s[l] = p[l] }
        return s
    }

    /// Stores the first `count` (1...8) lanes at `p`.
    @inline(__always)
    func store(to p: UnsafeMutablePointer<Float>, count: Int) {
        if count == 8 { store(to: p); return }
        for l in 0..<count { p[l] = self[l] }
    }
}

/// The 16 transformed weight matrices U[ξ][oc][ic] = (G g Gᵀ)[ξ] of a [O, C, 3, 3] weight, into `u` (16·O·C).
///
/// An output channel's C kernels are widened at once (`forEachOutputChannelWidened`), then transformed 16 kernels
/// at a time by `cxr_winograd_f2_weights` where the vector kernels run, else one at a time below; both give the
/// same bits.
private func winogradWeights(_ weight: Weight, into uBase: UnsafeMutablePointer<Float>) {
    let o = weight.shape[0], c = weight.shape[1]
    nonisolated(unsafe) let u = uBase
    let oc16 = o * c
    let vector = VectorKernels.enabled
    forEachOutputChannelWidened(weight) { g, oi in
        if vector {
            cxr_winograd_f2_weights(g, c, u + oi * c, oc16)
            return
        }
        for ci in 0..<c {
            let gp = g + 9 * ci
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

/// Runs `transform(kernels, oi)` for each output channel `oi` of a [O, C, 3, 3] weight, in parallel, with that
/// channel's C kernels widened to float32 at once (9·C values). Why at once: per-kernel widening and the scalar fp16
/// conversion of each kernel's ninth value were half of a Winograd weight transform's time. Shared by F(2x2) and
/// F(4x4).
func forEachOutputChannelWidened(_ weight: Weight, _ transform: (UnsafePointer<Float>, Int) -> Void) {
    let c = weight.shape[1]
    Parallel.for(weight.shape[0], minChunk: 4) { oi in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 9 * c) { kernels in
            weight.widen(into: kernels.baseAddress!, from: oi * c * 9, count: 9 * c)
            transform(kernels.baseAddress!, oi)
        }
    }
}

/// A weight's 16 Winograd matrices packed as bf16 (a class, to be cached with the weight).
final class WinogradPackedWeights: @unchecked Sendable {
    let matrices: [BFloat16Matrix]
    init(_ matrices: [BFloat16Matrix]) { self.matrices = matrices }
}
