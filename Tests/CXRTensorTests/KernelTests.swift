import XCTest
@testable import CXRTensor

/// Kernels against straightforward reference loops (the model-level parity with PyTorch lives in CXRModelsTests).
final class KernelTests: XCTestCase {

    func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, pad: Padding2D) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3]
        let o = w.shape[0], kh = w.shape[2], kw = w.shape[3]
        let ho = (h + pad.top + pad.bottom - kh) / stride + 1, wo = (wd + pad.left + pad.right - kw) / stride + 1
        var out = Tensor(zeros: [n, o, ho, wo])
        for bi in 0..<n {
            for oc in 0..<o {
                for oy in 0..<ho {
                    for ox in 0..<wo {
                        var acc: Double = Double(b?.data[oc] ?? 0)
                        for ci in 0..<c {
                            for ky in 0..<kh {
                                for kx in 0..<kw {
                                    let iy = oy * stride - pad.top + ky, ix = ox * stride - pad.left + kx
                                    if iy >= 0 && iy < h && ix >= 0 && ix < wd {
                                        acc +=
                                            Double(x.data[((bi * c + ci) * h + iy) * wd + ix])
                                            * Double(w.data[((oc * c + ci) * kh + ky) * kw + kx])
                                    }
                                }
                            }
                        }
                        out.data[((bi * o + oc) * ho + oy) * wo + ox] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    func testConv2dMatchesReference() {
        let cases: [(k: Int, s: Int, p: Padding2D, h: Int, w: Int)] = [
            (3, 1, .same(1), 9, 7), (1, 1, .same(0), 6, 5), (3, 2, .same(1), 9, 8),
            (3, 2, Padding2D(top: 0, bottom: 1, left: 0, right: 1), 8, 8), (3, 1, .same(1), 1, 1),
        ]
        for (i, cs) in cases.enumerated() {
            let x = randomTensor([2, 5, cs.h, cs.w], seed: UInt64(i))
            let w = randomTensor([4, 5, cs.k, cs.k], seed: UInt64(100 + i))
            let b = randomTensor([4], seed: UInt64(200 + i))
            let ref = naiveConv(x, w, b, stride: cs.s, pad: cs.p)
            // A tiny column budget forces many bands: the banded path must equal the single-band one.
            for budget in [1, 24 << 20] {
                let y = conv2d(x, weight: w, bias: b, stride: cs.s, padding: cs.p, maxColumnBytes: budget)
                XCTAssertEqual(y.shape, ref.shape, "case \(i)")
                XCTAssertLessThan(y.maxAbsDifference(ref), 1e-4, "case \(i) budget \(budget)")
            }
        }
    }

    /// Winograd F(4x4, 3x3) against direct convolution summed in Double, beside F(2x2, 3x3) and im2col on the same
    /// data: odd and even planes with partial tiles (right column and bottom row), no padding and padding 1, batch,
    /// and channel counts up to the SD VAE decoder's smallest (128). Error: the largest absolute difference over the
    /// largest output magnitude. Measured on this data: im2col 4.1e-7, F(2x2) 3.8e-7, F(4x4) 2.5e-6 (about 20 fp32
    /// ulp of the output scale; the same F(4x4) with Lavin's points 0, ±1, ±2 measured 7.2e-6, so the bound also
    /// holds the better-conditioned points in place). The bound, 5e-6, leaves 2x headroom; at model level, forcing
    /// F(4x4) onto every 3x3 convolution keeps the test VAEs and UNet 30x inside their 1e-4 diffusers parity
    /// bounds (ModelParityTests' `…WithLargeTilesEverywhere`).
    func testWinogradF4MatchesDirectConvolution() {
        let saved = (
            ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels,
            ConvolutionSettings.winogradLargeTiles, ConvolutionSettings.winogradLargeTileMinPixels,
            ConvolutionSettings.winogradLargeTileMinChannels
        )
        defer {
            (
                ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels,
                ConvolutionSettings.winogradLargeTiles, ConvolutionSettings.winogradLargeTileMinPixels,
                ConvolutionSettings.winogradLargeTileMinChannels
            ) = saved
        }
        (ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels) = (1, 1)
        ConvolutionSettings.winogradLargeTileMinChannels = 1
        let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, pad: Int)] = [
            (2, 5, 7, 9, 7, 1), (1, 16, 8, 16, 16, 1), (1, 3, 4, 1, 1, 1), (2, 33, 17, 6, 11, 1),
            (1, 64, 24, 23, 37, 1), (1, 128, 16, 21, 19, 0), (2, 40, 9, 45, 13, 0),
        ]
        var worst = (im2col: Float(0), f2: Float(0), f4: Float(0))
        for (i, cs) in cases.enumerated() {
            let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: UInt64(300 + i))
            let wt = randomTensor([cs.o, cs.c, 3, 3], seed: UInt64(400 + i)),
                b = randomTensor([cs.o], seed: UInt64(500 + i))
            let pad = Padding2D.same(cs.pad)
            let ref = naiveConv(x, wt, b, stride: 1, pad: pad)
            let scale = max(1e-3, ref.maxAbs)
            func error(winograd: Bool, largeTiles: Bool) -> Float {
                (ConvolutionSettings.winograd, ConvolutionSettings.winogradLargeTiles) = (winograd, largeTiles)
                let y = conv2d(x, weight: wt, bias: b, padding: pad)
                XCTAssertEqual(y.shape, ref.shape, "case \(i)")
                return y.maxAbsDifference(ref) / scale
            }
            let e = (
                error(winograd: false, largeTiles: false), error(winograd: true, largeTiles: false),
                error(winograd: true, largeTiles: true)
            )
            XCTAssertLessThan(e.2, 5e-6, "case \(i): F(4x4) \(e.2), F(2x2) \(e.1), im2col \(e.0)")
            worst = (max(worst.im2col, e.0), max(worst.f2, e.1), max(worst.f4, e.2))
        }
        print(
            "Winograd F(4x4,3x3) error over the output scale: \(worst.f4) (F(2x2) \(worst.f2), im2col \(worst.im2col))")
    }

    /// F(4x4, 3x3) is chosen for the large, wide planes of a VAE decoder and a 512 px UNet's 64x64 planes in fp32,
    /// and not for smaller planes, few channels, bf16, or when switched off.
    func testWinogradLargeTilesChoice() {
        let saved = ConvolutionSettings.winogradLargeTiles
        defer { ConvolutionSettings.winogradLargeTiles = saved }
        ConvolutionSettings.winogradLargeTiles = true
        XCTAssertTrue(ConvolutionSettings.usesLargeTiles(channels: 128, pixels: 512 * 512, precision: .fp32))
        XCTAssertTrue(ConvolutionSettings.usesLargeTiles(channels: 512, pixels: 128 * 128, precision: .fp32))
        XCTAssertTrue(ConvolutionSettings.usesLargeTiles(channels: 320, pixels: 64 * 64, precision: .fp32))
        XCTAssertFalse(
            ConvolutionSettings.usesLargeTiles(channels: 640, pixels: 32 * 32, precision: .fp32), "32x32 planes")
        XCTAssertFalse(
            ConvolutionSettings.usesLargeTiles(channels: 64, pixels: 512 * 512, precision: .fp32), "64 channels")
        XCTAssertFalse(ConvolutionSettings.usesLargeTiles(channels: 128, pixels: 512 * 512, precision: .bf16), "bf16")
        ConvolutionSettings.winogradLargeTiles = false
        XCTAssertFalse(ConvolutionSettings.usesLargeTiles(channels: 128, pixels: 512 * 512, precision: .fp32))
    }

    func testLinear() {
        let x = randomTensor([3, 4, 6], seed: 1), w = randomTensor([5, 6], seed: 2), b = randomTensor([5], seed: 3)
        let y = linear(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [3, 4, 5])
        for r in 0..<12 {
            for o in 0..<5 {
                var acc = b.data[o]
                for i in 0..<6 { acc += x.data[r * 6 + i] * w.data[o * 6 + i] }
                XCTAssertEqual(y.data[r * 5 + o], acc, accuracy: 1e-5)
            }
        }
    }

    func testGroupNormAndFusedSiLU() {
        let x = randomTensor([2, 6, 3, 4], seed: 5)
        let w = randomTensor([6], seed: 6), b = randomTensor([6], seed: 7)
        let y = groupNorm(x, groups: 3, weight: w, bias: b, eps: 1e-5)
        let ys = groupNorm(x, groups: 3, weight: w, bias: b, eps: 1e-5, silu: true)
        for n in 0..<2 {
            for g in 0..<3 {
                let base = (n * 6 + g * 2) * 12
                let vals = x.data[base..<(base + 24)].map(Double.init)
                let mean = vals.reduce(0, +) / 24
                let v = vals.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 24
                for i in 0..<24 {
                    let ch = g * 2 + i / 12
                    let e = Float((vals[i] - mean) / (v + 1e-5).squareRoot()) * w.data[ch] + b.data[ch]
                    XCTAssertEqual(y.data[base + i], e, accuracy: 1e-5)
                    XCTAssertEqual(ys.data[base + i], e / (1 + expf(-e)), accuracy: 1e-5)
                }
            }
        }
    }

    func testLayerNorm() {
        let x = randomTensor([4, 10], seed: 8), w = randomTensor([10], seed: 9), b = randomTensor([10], seed: 10)
        let y = layerNorm(x, weight: w, bias: b, eps: 1e-5)
        for r in 0..<4 {
            let row = x.data[(r * 10)..<(r * 10 + 10)]
            let m = row.reduce(0, +) / 10
            let v = row.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 10
            for i in 0..<10 {
                XCTAssertEqual(
                    y.data[r * 10 + i], (row[r * 10 + i] - m) / (v + 1e-5).squareRoot() * w.data[i] + b.data[i],
                    accuracy: 1e-5)
            }
        }
    }

    func naiveAttention(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool) -> Tensor {
        let b = q.shape[0], lq = q.shape[1], hd = q.shape[2], lk = k.shape[1], d = hd / heads
        var out = Tensor(zeros: q.shape)
        for bi in 0..<b {
            for h in 0..<heads {
                for i in 0..<lq {
                    var s = [Double](repeating: -.infinity, count: lk)
                    for j in 0..<lk where !causal || j <= i {
                        var acc = 0.0
                        for e in 0..<d {
                            acc +=
                                Double(q.data[(bi * lq + i) * hd + h * d + e])
                                * Double(k.data[(bi * lk + j) * hd + h * d + e])
                        }
                        s[j] = acc / Double(d).squareRoot()
                    }
                    let m = s.max()!
                    let ex = s.map { exp($0 - m) }
                    let z = ex.reduce(0, +)
                    for e in 0..<d {
                        var acc = 0.0
                        for j in 0..<lk { acc += ex[j] / z * Double(v.data[(bi * lk + j) * hd + h * d + e]) }
                        out.data[(bi * lq + i) * hd + h * d + e] = Float(acc)
                    }
                }
            }
        }
        return out
    }

    func testAttentionChunkedMatchesReference() {
        let q = randomTensor([2, 37, 12], seed: 11), k = randomTensor([2, 19, 12], seed: 12),
            v = randomTensor([2, 19, 12], seed: 13)
        let ref = naiveAttention(q: q, k: k, v: v, heads: 3, causal: false)
        for chunk in [1, 5, 256] {
            let y = attention(q: q, k: k, v: v, heads: 3, queryChunk: chunk)
            XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5, "chunk \(chunk)")
        }
        let qs = randomTensor([1, 9, 8], seed: 14)
        let causalRef = naiveAttention(q: qs, k: qs, v: qs, heads: 2, causal: true)
        XCTAssertLessThan(
            attention(q: qs, k: qs, v: qs, heads: 2, causal: true, queryChunk: 4).maxAbsDifference(causalRef), 1e-5)
    }

    /// Streaming attention over key blocks equals the float64 reference to fp32 rounding for every block size
    /// (1 key, odd sizes, exactly Lk, more than Lk), with causal masks whose rows end inside a block, and with
    /// scores spread so wide that a later block raises the running maximum by far (outputs rescaled by ~e^-60).
    func testAttentionKeyBlocksMatchReference() {
        let q = randomTensor([2, 37, 12], seed: 21), k = randomTensor([2, 19, 12], seed: 22),
            v = randomTensor([2, 19, 12], seed: 23)
        let ref = naiveAttention(q: q, k: k, v: v, heads: 3, causal: false)
        for block in [1, 3, 7, 19, 256] {
            for chunk in [1, 5, 256] {
                let y = attention(q: q, k: k, v: v, heads: 3, queryChunk: chunk, keyBlock: block)
                XCTAssertLessThan(y.maxAbsDifference(ref), 1e-5, "chunk \(chunk) block \(block)")
            }
        }
        let qs = randomTensor([1, 23, 8], seed: 24)
        let causalRef = naiveAttention(q: qs, k: qs, v: qs, heads: 2, causal: true)
        for (chunk, block) in [(4, 2), (5, 3), (23, 7), (1, 1)] {
            let y = attention(q: qs, k: qs, v: qs, heads: 2, causal: true, queryChunk: chunk, keyBlock: block)
            XCTAssertLessThan(y.maxAbsDifference(causalRef), 1e-5, "causal chunk \(chunk) block \(block)")
        }
        // Keys that grow along the sequence: each block's maximum exceeds the last by far.
        var kw = randomTensor([1, 16, 4], seed: 25)
        for j in 0..<16 { for e in 0..<4 { kw.data[j * 4 + e] = Float(j) * 8 * (e == 0 ? 1 : 0.1) } }
        let qw = Tensor(shape: [1, 3, 4], data: [1, 0, 0, 0, 0.5, 0.2, 0, 0, 0.25, 0, 0, 0.1])
        let vw = randomTensor([1, 16, 4], seed: 26)
        let wideRef = naiveAttention(q: qw, k: kw, v: vw, heads: 1, causal: false)
        for block in [1, 4, 5, 16] {
            let y = attention(q: qw, k: kw, v: vw, heads: 1, keyBlock: block)
            XCTAssertLessThan(y.maxAbsDifference(wideRef), 1e-5, "wide scores, block \(block)")
        }
    }

    /// All attention kernels (the fused ones where the CPU has them) equal the float64 reference on every
    /// kind of tail the fused kernel's register tiles have: head dimensions that are not a multiple of 16 (5, 40)
    /// or take several output groups (80, 200), key counts and key blocks that start inside a 16-key panel, query
    /// blocks of 1-13 rows, causal masks, and scores wide enough that later blocks rescale the output.
    func testAttentionKernelsMatchReference() {
        let kernels = AttentionKernel.allCases.filter(\.isSupported)
        for (heads, d, lq, lk) in [(2, 5, 13, 21), (1, 40, 50, 77), (2, 80, 9, 35), (1, 200, 7, 18)] {
            let q = randomTensor([2, lq, heads * d], seed: 31), v = randomTensor([2, lk, heads * d], seed: 33)
            var k = randomTensor([2, lk, heads * d], seed: 32)
            for i in k.data.indices { k.data[i] *= 4 }
            let ref = naiveAttention(q: q, k: k, v: v, heads: heads, causal: false)
            for kernel in kernels {
                for (chunk, block) in [(nil, nil), (5, 7), (1, 16), (13, 33), (6, 1)] as [(Int?, Int?)] {
                    let y = attention(
                        q: q, k: k, v: v, heads: heads, queryChunk: chunk, keyBlock: block, kernel: kernel)
                    XCTAssertLessThan(
                        y.maxAbsDifference(ref), 1e-5,
                        "\(kernel) d \(d) lk \(lk) chunk \(chunk ?? 0) block \(block ?? 0)")
                }
            }
            let causalRef = naiveAttention(q: q, k: q, v: q, heads: heads, causal: true)
            for kernel in kernels {
                for (chunk, block) in [(nil, nil), (4, 3), (13, 17)] as [(Int?, Int?)] {
                    let y = attention(
                        q: q, k: q, v: q, heads: heads, causal: true, queryChunk: chunk, keyBlock: block,
                        kernel: kernel)
                    XCTAssertLessThan(
                        y.maxAbsDifference(causalRef), 1e-5, "\(kernel) causal d \(d) chunk \(chunk ?? 0)")
                }
            }
        }
    }

    /// The AVX2 fused kernel (what CPUs without AVX-512 run; forced here, so AVX-512 machines test it too) equals
    /// the float64 reference on SD's head sizes (40, 64, 80, 160) and on sizes whose last vector is masked (5, 12,
    /// 20), self-attention with query and key blocks ending inside its 6-row and 16-key tiles, cross-attention on
    /// 77 keys, causal masks, and keys wide enough that each block rescales the output by far.
    func testFusedAVX2AttentionMatchesReference() throws {
        try XCTSkipUnless(AttentionKernel.fusedAVX2IsSupported, "this CPU has no AVX2 + FMA")
        XCTAssertEqual(AttentionKernel(rawValue: "fused-avx2"), .fusedAVX2)
        XCTAssertEqual(AttentionKernel.fusedAVX2.available, .fusedAVX2)
        let cases = [
            (2, 40, 53, 77), (1, 64, 29, 29), (2, 80, 19, 77), (1, 160, 14, 33), (1, 5, 13, 21), (2, 12, 9, 40),
            (1, 20, 11, 77),
        ]
        for (heads, d, lq, lk) in cases {
            let q = randomTensor([2, lq, heads * d], seed: 41), v = randomTensor([2, lk, heads * d], seed: 43)
            var k = randomTensor([2, lk, heads * d], seed: 42)
            for i in k.data.indices { k.data[i] *= 4 }
            let ref = naiveAttention(q: q, k: k, v: v, heads: heads, causal: false)
            let blocks: [(Int?, Int?)] = [(nil, nil), (5, 7), (1, 16), (13, 33), (6, 1), (48, 20), (7, 256)]
            for (chunk, block) in blocks {
                let y = attention(
                    q: q, k: k, v: v, heads: heads, queryChunk: chunk, keyBlock: block, kernel: .fusedAVX2)
                XCTAssertLessThan(
                    y.maxAbsDifference(ref), 1e-5, "d \(d) lq \(lq) lk \(lk) chunk \(chunk ?? 0) block \(block ?? 0)")
            }
            let causalRef = naiveAttention(q: q, k: q, v: q, heads: heads, causal: true)
            for (chunk, block) in [(nil, nil), (4, 3), (13, 17), (6, 16)] as [(Int?, Int?)] {
                let y = attention(
                    q: q, k: q, v: q, heads: heads, causal: true, queryChunk: chunk, keyBlock: block,
                    kernel: .fusedAVX2)
                XCTAssertLessThan(y.maxAbsDifference(causalRef), 1e-5, "causal d \(d) chunk \(chunk ?? 0)")
            }
        }
        // Keys that grow along the sequence: each block's maximum exceeds the last by far.
        var kw = randomTensor([1, 40, 8], seed: 44)
        for j in 0..<40 { for e in 0..<8 { kw.data[j * 8 + e] = Float(j) * 8 * (e == 0 ? 1 : 0.1) } }
        let qw = randomTensor([1, 9, 8], seed: 45), vw = randomTensor([1, 40, 8], seed: 46)
        let wideRef = naiveAttention(q: qw, k: kw, v: vw, heads: 1, causal: false)
        for block in [1, 4, 5, 16] {
            let y = attention(q: qw, k: kw, v: vw, heads: 1, keyBlock: block, kernel: .fusedAVX2)
            XCTAssertLessThan(y.maxAbsDifference(wideRef), 1e-5, "wide scores, block \(block)")
        }
    }

    func testActivationsAgainstDefinitions() {
        XCTAssertEqual(Activation.gelu.apply(1), 0.8413447, accuracy: 1e-6)
        XCTAssertEqual(Activation.geluTanh.apply(1), 0.8411920, accuracy: 1e-6)
        XCTAssertEqual(Activation.quickGelu.apply(1), 1 / (1 + expf(-1.702)), accuracy: 1e-7)
        XCTAssertEqual(Activation.silu.apply(-2), -2 / (1 + expf(2)), accuracy: 1e-7)
        let x = Tensor(shape: [1, 4], data: [1, -1, 2, 0.5])
        XCTAssertEqual(geglu(x).data, [1 * Activation.gelu.apply(2), -1 * Activation.gelu.apply(0.5)])
    }

    func testLayoutHelpers() {
        let x = randomTensor([2, 3, 4, 5], seed: 15)
        XCTAssertEqual(tokensToNCHW(nchwToTokens(x), height: 4, width: 5), x)
        let up = upsampleNearest2x(x)
        XCTAssertEqual(up.shape, [2, 3, 8, 10])
        let dst: Int = ((1 * 3 + 2) * 8 + 7) * 10 + 9
        let src: Int = ((1 * 3 + 2) * 4 + 3) * 5 + 4
        XCTAssertEqual(up.data[dst], x.data[src])
        XCTAssertEqual(upsampleNearest(x, height: 8, width: 10), up)
        let cat = concatChannels(x, randomTensor([2, 2, 4, 5], seed: 16))
        XCTAssertEqual(sliceChannels(cat, from: 0, to: 3), x)
    }

    func testParallelLoopsCoverEveryIndexOnce() {
        ComputeThreads.set(2)
        var hits = [Int](repeating: 0, count: 1000)
        hits.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            Parallel.for(1000) { p[$0] += 1 }
        }
        XCTAssertEqual(hits, [Int](repeating: 1, count: 1000))
    }
}
