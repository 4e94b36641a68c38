import XCTest

@testable import CXRTensor

/// bf16 Winograd F(2x2,3x3) whose input transform packs its bf16 operands directly (`winogradPackedBands`, with the
/// AVX-512 kernels on) gives the bits of transforming into float32 and packing that (the portable path, kernels off).
final class WinogradPackedBandsTests: XCTestCase {
    override func setUpWithError() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
    }

    private func conv(_ x: Tensor, _ w: Weight, _ b: Tensor, pad: Int, packed: Bool) -> Tensor {
        VectorKernels.enabled = packed
        return conv2d(x, weight: w, bias: b, padding: .same(pad), precision: .bf16)
    }

    private func assertSameBits(_ a: Tensor, _ b: Tensor, _ message: String) {
        XCTAssertEqual(a.shape, b.shape, message)
        XCTAssertEqual(a.data.map(\.bitPattern), b.data.map(\.bitPattern), message)
    }

    /// Odd and even channel counts (an odd last pair), planes whose tile rows are shorter and longer than a 32-column
    /// panel and than the 16-tile blocks, padding 0 and 1, a batch of two; whole-plane bands and small bands that
    /// start mid-panel, one band per thread, at 1 and 2 threads.
    func testPackedTransformGivesTheBitsOfPackingV() {
        let saved = (
            ConvolutionSettings.winogradMinPixels, VectorKernels.enabled, WinogradBanding.cacheBandBytes,
            WinogradBanding.cacheBandMinTiles, ComputeThreads.count
        )
        defer {
            (ConvolutionSettings.winogradMinPixels, VectorKernels.enabled) = (saved.0, saved.1)
            (WinogradBanding.cacheBandBytes, WinogradBanding.cacheBandMinTiles) = (saved.2, saved.3)
            ComputeThreads.set(saved.4)
        }
        ConvolutionSettings.winogradMinPixels = 1
        let cases: [(n: Int, c: Int, o: Int, h: Int, w: Int, pad: Int)] = [
            (1, 1, 3, 5, 5, 1), (2, 5, 7, 9, 7, 1), (1, 4, 9, 6, 31, 1), (2, 33, 17, 17, 66, 0), (1, 16, 8, 40, 130, 1),
        ]
        for (i, cs) in cases.enumerated() {
            let x = randomTensor([cs.n, cs.c, cs.h, cs.w], seed: UInt64(i))
            let w = Weight(randomTensor([cs.o, cs.c, 3, 3], seed: UInt64(40 + i)))
            let b = randomTensor([cs.o], seed: UInt64(80 + i))
            for (bandTiles, threads) in [(0, 1), (0, 2), (7, 1), (45, 2)] {
                // 0: whole-plane bands; else bands of that many tiles, each on one thread.
                WinogradBanding.cacheBandBytes = bandTiles * 16 * 4 * max(cs.c, cs.o)
                WinogradBanding.cacheBandMinTiles = bandTiles == 0 ? 1 << 30 : 1
                ComputeThreads.set(threads)
                let label = "case \(cs), bands of \(bandTiles) tiles, \(threads) threads"
                let portable = conv(x, w, b, pad: cs.pad, packed: false)
                assertSameBits(conv(x, w, b, pad: cs.pad, packed: true), portable, label)
            }
        }
    }

    /// Values whose bf16 rounding is delicate: subnormals (kept, not flushed to zero), exact ties between two bf16
    /// values, infinities and NaN all round as `cxr_bf16_pack_b` rounds them.
    func testPackedTransformRoundsSpecialValuesAsPacking() {
        let saved = (ConvolutionSettings.winogradMinPixels, VectorKernels.enabled)
        defer { (ConvolutionSettings.winogradMinPixels, VectorKernels.enabled) = saved }
        ConvolutionSettings.winogradMinPixels = 1
        var x = randomTensor([1, 6, 12, 40], seed: 3)
        let specials: [Float] = [
            Float(bitPattern: 0x0000_0001), Float(bitPattern: 0x0040_8000), -Float(bitPattern: 0x0012_3456),
            Float(bitPattern: 0x3F80_8000), Float(bitPattern: 0x3F81_8000), -Float(bitPattern: 0x4000_8000),
        ]
        // Whole planes of tiny values (so the transformed values are subnormal too), and ties scattered elsewhere.
        for i in 0..<(12 * 40) { x.data[i] = specials[i % 3] }
        for i in stride(from: 12 * 40, to: x.count, by: 7) { x.data[i] = specials[3 + i % 3] }
        let w = Weight(randomTensor([4, 6, 3, 3], seed: 5))
        let b = randomTensor([4], seed: 6)
        assertSameBits(conv(x, w, b, pad: 1, packed: true), conv(x, w, b, pad: 1, packed: false), "finite")
        x.data[12 * 40 + 5] = .infinity
        x.data[3 * 12 * 40 + 100] = .nan
        x.data[5 * 12 * 40 + 41] = -.infinity
        let packed = conv(x, w, b, pad: 1, packed: true), portable = conv(x, w, b, pad: 1, packed: false)
        XCTAssertEqual(packed.data.map(\.isNaN), portable.data.map(\.isNaN), "the same outputs are NaN")
        XCTAssertTrue(packed.data.contains { $0.isNaN }, "NaN reaches the output")
        let finite = zip(packed.data, portable.data).filter { !$0.0.isNaN }
        XCTAssertEqual(finite.map(\.0.bitPattern), finite.map(\.1.bitPattern), "the other outputs are equal")
    }
}
