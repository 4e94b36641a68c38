import CVectorKernels
import Foundation
import XCTest
@testable import CXRTensor

/// CVectorKernels: the erf behind GELU against double-precision erf, and the AVX-512 kernels bit for bit against
/// the portable code they replace (SiLU, the Winograd F(2x2,3x3) transforms, cache-sized Winograd bands).
final class VectorKernelTests: XCTestCase {

    /// Within 1.1 ulp of erf for |x| >= 1/256 (0.5 from 1 up; libm's erff: 0.86), 1.6 ulp below (where GELU adds
    /// the erf to 1, so no bit of it shows), measured on every 997th float in [0, 4.5]; odd; +-1 from 4 on.
    func testErfAccuracy() {
        var worstSmall = 0.0, worst = 0.0
        var bits: UInt32 = 0
        while bits <= Float(4.5).bitPattern {
            let x = Float(bitPattern: bits)
            let exact = Foundation.erf(Double(x))
            let rounded = Float(exact)
            let ulp = rounded == 0 ? Double(Float.leastNonzeroMagnitude) : Double(rounded.ulp)
            let error = abs(Double(cxr_erf(x)) - exact) / ulp
            if x < 1 / 256 { worstSmall = max(worstSmall, error) } else { worst = max(worst, error) }
            XCTAssertEqual(cxr_erf(-x).bitPattern, (-cxr_erf(x)).bitPattern, "odd at \(x)")
            bits += 997
        }
        XCTAssertLessThanOrEqual(worst, 1.1)
        XCTAssertLessThanOrEqual(worstSmall, 1.6)
        XCTAssertEqual(cxr_erf(0).bitPattern, Float(0).bitPattern)
        XCTAssertEqual(cxr_erf(-0.0).bitPattern, Float(-0.0).bitPattern)
        for x: Float in [4, 4.01, 9, 1e30, .infinity] {
            XCTAssertEqual(cxr_erf(x), 1)
            XCTAssertEqual(cxr_erf(-x), -1)
        }
        XCTAssertTrue(cxr_erf(.nan).isNaN)
    }

    /// Values that reach every branch: zeros, tiny, each table interval's edges, the clamp at 4, large, infinite,
    /// NaN, subnormal.
    func specialValues() -> [Float] {
        var v: [Float] = [0, -0.0, 1e-40, -1e-40, 1e-8, 0.001, 1.0 / 256, 1.0 / 128, 0.5, 1, 1.2, 2, 3.99, 4, 4.5, 6]
        v += [100, 1e30, .infinity, .nan, .greatestFiniteMagnitude, 88.7, 88.8, -87.3, -87.4, -100]
        return v + v.map { -$0 }
    }

    /// GEGLU (vectorised where the CPU has AVX-512) equals value * `Activation.gelu` (scalar) bit for bit.
    func testGEGLUMatchesScalarGELU() {
        for count in [1, 7, 15, 16, 17, 33, 1000] {
            var gate = randomTensor([count], seed: UInt64(count), scale: 6).data
            let special = specialValues()
            for i in 0..<min(count, special.count) { gate[i] = special[i] }
            let value = randomTensor([count], seed: UInt64(100 + count), scale: 2).data
            var out = [Float](repeating: 0, count: count)
            cxr_geglu(value, gate, &out, count)
            for i in 0..<count {
                let expected = value[i] * Activation.gelu.apply(gate[i])
                if expected.isNaN {
                    XCTAssertTrue(out[i].isNaN, "gate \(gate[i])")
                } else {
                    XCTAssertEqual(out[i].bitPattern, expected.bitPattern, "gate \(gate[i])")
                }
            }
        }
    }

    /// The AVX-512 SiLU gives FastMath's bits, on every tail length and on the values its clamps act on.
    func testSiLUKernelMatchesPortable() throws {
        try XCTSkipUnless(VectorKernels.supported, "no AVX-512 on this CPU")
        for count in [0, 1, 8, 15, 16, 17, 40, 2048] {
            var data = randomTensor([max(count, 1)], seed: UInt64(count), scale: 20).data
            let special = specialValues()
            for i in 0..<min(count, special.count) { data[i] = special[i] }
            var portable = data
            portable.withUnsafeMutableBufferPointer { FastMath.portableSiLUInPlace($0.baseAddress!, count: count) }
            data.withUnsafeMutableBufferPointer { cxr_silu_inplace($0.baseAddress!, count) }
            for i in 0..<count {
                XCTAssertEqual(data[i].bitPattern, portable[i].bitPattern, "count \(count) value \(i)")
            }
        }
    }

    /// Puts every 3x3 convolution on Winograd, F(4x4,3x3) allowed from any size and channel count; the returned
    /// closure restores the settings (and `VectorKernels.enabled`, which the tests switch).
    private func winogradOnEverySize() -> () -> Void {
        let saved = (
            ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels,
            ConvolutionSettings.winogradLargeTileMinChannels, ConvolutionSettings.winogradLargeTiles,
            VectorKernels.enabled
        )
        ConvolutionSettings.winogradMinPixels = 1
        (ConvolutionSettings.winogradLargeTileMinPixels, ConvolutionSettings.winogradLargeTileMinChannels) = (1, 1)
        return {
            (
                ConvolutionSettings.winogradMinPixels, ConvolutionSettings.winogradLargeTileMinPixels,
                ConvolutionSettings.winogradLargeTileMinChannels, ConvolutionSettings.winogradLargeTiles,
                VectorKernels.enabled
            ) = saved
        }
    }

    /// 3x3 convolutions whose Winograd F(2x2,3x3) and F(4x4,3x3) transforms run in AVX-512 give the portable
    /// transforms' bits: planes of odd and even size, tile rows shorter and longer than the kernels' 16-tile blocks,
    /// padding 0 and 1, a batch of two.
    func testWinogradTransformKernelsMatchPortable() throws {
        try XCTSkipUnless(VectorKernels.supported, "no AVX-512 on this CPU")
        let restore = winogradOnEverySize()
        defer { restore() }
        let cases: [(h: Int, w: Int, pad: Int)] = [
            (5, 5, 1), (6, 31, 1), (9, 32, 0), (16, 33, 1), (17, 34, 0), (3, 65, 1), (40, 70, 1), (10, 140, 1),
            (7, 131, 0),
        ]
        for largeTiles in [false, true] {
            ConvolutionSettings.winogradLargeTiles = largeTiles
            for (k, cs) in cases.enumerated() {
                let x = randomTensor([2, 3, cs.h, cs.w], seed: UInt64(k))
                let w = randomTensor([5, 3, 3, 3], seed: UInt64(50 + k))
                let b = randomTensor([5], seed: UInt64(90 + k))
                func run(_ vector: Bool) -> Tensor {
                    VectorKernels.enabled = vector
                    return conv2d(x, weight: w, bias: b, stride: 1, padding: .same(cs.pad))
                }
                let portable = run(false), vector = run(true)
                XCTAssertEqual(vector.shape, portable.shape)
                XCTAssertEqual(
                    vector.data.map(\.bitPattern), portable.data.map(\.bitPattern),
                    "case \(cs), F(\(largeTiles ? 4 : 2))")
            }
        }
    }

    /// G g Gᵀ of each of `count` 3x3 kernels (9 values each in `g`) in Double, against the transformed values in
    /// `u` (value ξ of kernel i at u[ξ * stride + i]); the largest error over the magnitudes summed, |G| |g| |Gᵀ|.
    func worstTransformError(_ gMatrix: [[Double]], g: [Float], count: Int, u: [Float], stride: Int) -> Double {
        let side = gMatrix.count
        var worst = 0.0
        for i in 0..<count {
            for r in 0..<side {
                for j in 0..<side {
                    var exact = 0.0, magnitude = 0.0
                    for a in 0..<3 {
                        for b in 0..<3 {
                            let term = gMatrix[r][a] * Double(g[9 * i + 3 * a + b]) * gMatrix[j][b]
                            exact += term
                            magnitude += abs(term)
                        }
                    }
                    let value = Double(u[(side * r + j) * stride + i])
                    worst = max(worst, abs(value - exact) / magnitude)
                }
            }
        }
        return worst
    }

    /// The AVX-512 weight transforms against G g Gᵀ in Double, for block tails of 1-15 kernels and whole blocks:
    /// F(2x2,3x3) within the rounding of its additions (measured 0.7 ulp of the magnitudes summed, bound 4),
    /// F(4x4,3x3) within that of its additions and its constants 1/3 and 1/15 (measured 1.7 ulp, bound 8).
    func testWinogradWeightKernelsMatchDouble() throws {
        try XCTSkipUnless(VectorKernels.supported, "no AVX-512 on this CPU")
        let f2: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]]
        let f4: [[Double]] = [
            [1, 0, 0], [-1.0 / 3, -1.0 / 3, -1.0 / 3], [1.0 / 3, -1.0 / 3, 1.0 / 3], [1.0 / 15, 2.0 / 15, 4.0 / 15],
            [-16.0 / 15, 8.0 / 15, -4.0 / 15], [0, 0, 1],
        ]
        var worst = (f2: 0.0, f4: 0.0)
        for count in [1, 5, 15, 16, 17, 40] {
            let g = randomTensor([count, 9], seed: UInt64(7 + count), scale: 3).data
            let stride = count + 3  // a stride other than the count, as in a weight's O·C
            var u2 = [Float](repeating: .nan, count: 16 * stride), u4 = [Float](repeating: .nan, count: 36 * stride)
            cxr_winograd_f2_weights(g, count, &u2, stride)
            cxr_winograd_f4_weights(g, count, &u4, stride)
            worst.f2 = max(worst.f2, worstTransformError(f2, g: g, count: count, u: u2, stride: stride))
            worst.f4 = max(worst.f4, worstTransformError(f4, g: g, count: count, u: u4, stride: stride))
            // Nothing written past the count in any row.
            for xi in 0..<16 { for i in count..<stride { XCTAssertTrue(u2[xi * stride + i].isNaN) } }
            for xi in 0..<36 { for i in count..<stride { XCTAssertTrue(u4[xi * stride + i].isNaN) } }
        }
        let ulp = Double(Float.ulpOfOne)
        print("Winograd weight transforms, largest error in ulp: F(2x2) \(worst.f2 / ulp), F(4x4) \(worst.f4 / ulp)")
        XCTAssertLessThanOrEqual(worst.f2, 4 * ulp)
        XCTAssertLessThanOrEqual(worst.f4, 8 * ulp)
    }

    /// Convolutions whose Winograd weight transforms run in AVX-512 give the portable transforms' bits, F(2x2,3x3)
    /// and F(4x4,3x3), with input channel counts below, at and above the kernels' 16-kernel blocks, from fp32 and
    /// fp16 weights.
    func testWinogradWeightKernelsMatchPortable() throws {
        try XCTSkipUnless(VectorKernels.supported, "no AVX-512 on this CPU")
        let restore = winogradOnEverySize()
        defer { restore() }
        for (k, c) in [1, 16, 17, 37].enumerated() {
            let x = randomTensor([2, c, 9, 10], seed: UInt64(200 + k))
            let w = randomTensor([6, c, 3, 3], seed: UInt64(300 + k), scale: 0.5)
            let halves = Weight(
                shape: w.shape, bits: w.data.map { Float16($0).bitPattern }, format: .f16)
            for weight in [Weight(w), halves] {
                for largeTiles in [false, true] {
                    ConvolutionSettings.winogradLargeTiles = largeTiles
                    func run(_ vector: Bool) -> Tensor {
                        VectorKernels.enabled = vector
                        return conv2d(x, weight: weight.derivingOnEveryUse(), bias: nil, padding: .same(1))
                    }
                    let portable = run(false), vector = run(true)
                    XCTAssertEqual(
                        vector.data.map(\.bitPattern), portable.data.map(\.bitPattern),
                        "\(c) channels, \(weight.format), F(\(largeTiles ? 4 : 2))")
                }
            }
        }
    }

    /// The AVX-512 fp16 widening gives the portable code's bits for all 65,536 patterns (NaN payloads included) and
    /// every length of a partial last block; for every pattern that is not NaN, float32's own fp16 conversion.
    func testHalfWideningKernelMatchesPortable() throws {
        try XCTSkipUnless(VectorKernels.supported, "no AVX-512 on this CPU")
        let all = (0..<65536).map { UInt16($0) }
        var portable = [Float](repeating: 0, count: all.count), vector = portable
        HalfWidening.portableHalfToFloat(all, &portable, count: all.count)
        cxr_half_to_float(all, &vector, all.count)
        XCTAssertEqual(vector.map(\.bitPattern), portable.map(\.bitPattern))
        for (i, bits) in all.enumerated() where !Float16(bitPattern: bits).isNaN {
            XCTAssertEqual(vector[i].bitPattern, Float(Float16(bitPattern: bits)).bitPattern, "pattern \(bits)")
        }
        // Partial last blocks, starting at NaNs and subnormals, with the floats after the count untouched.
        for count in 1...33 {
            let start = [0x7C01, 0xFE00, 0x0001, 0x8000][count % 4]
            let src = (0..<count).map { UInt16((start + 37 * $0) & 0xFFFF) }
            var expected = [Float](repeating: -1, count: count + 1), got = expected
            HalfWidening.portableHalfToFloat(src, &expected, count: count)
            cxr_half_to_float(src, &got, count)
            XCTAssertEqual(got.map(\.bitPattern), expected.map(\.bitPattern), "count \(count)")
        }
    }

    /// Cache-sized bands, run a band per thread, give the whole-plane bands' results up to float rounding (their
    /// GEMMs are shorter, which a BLAS may block differently), and the same bits at 1 and 2 threads.
    func testCacheSizedWinogradBandsGiveTheSameResults() {
        let saved = (
            ConvolutionSettings.winogradMinPixels, WinogradBanding.cacheBandBytes, WinogradBanding.cacheBandMinTiles,
            ComputeThreads.count
        )
        defer {
            ConvolutionSettings.winogradMinPixels = saved.0
            (WinogradBanding.cacheBandBytes, WinogradBanding.cacheBandMinTiles) = (saved.1, saved.2)
            ComputeThreads.set(saved.3)
        }
        ConvolutionSettings.winogradMinPixels = 1
        let x = randomTensor([2, 32, 37, 45], seed: 7)
        let w = randomTensor([32, 32, 3, 3], seed: 8)
        let b = randomTensor([32], seed: 9)
        func run(bandBytes: Int, minTiles: Int, threads: Int) -> Tensor {
            (WinogradBanding.cacheBandBytes, WinogradBanding.cacheBandMinTiles) = (bandBytes, minTiles)
            ComputeThreads.set(threads)
            return conv2d(x, weight: w, bias: b, stride: 1, padding: .same(1))
        }
        let whole = run(bandBytes: 0, minTiles: 1 << 30, threads: 1)
        let scale = whole.data.map(abs).max()!
        // 16 points x 4 bytes x 32 channels per tile; the batch has 2 x 19 x 23 = 874 tiles.
        for tiles in [3, 64, 200, 320] {
            let one = run(bandBytes: tiles * 16 * 4 * 32, minTiles: 1, threads: 1)
            let two = run(bandBytes: tiles * 16 * 4 * 32, minTiles: 1, threads: 2)
            XCTAssertEqual(one.data.map(\.bitPattern), two.data.map(\.bitPattern), "\(tiles) tiles per band")
            XCTAssertLessThan(one.maxAbsDifference(whole) / scale, 1e-6, "\(tiles) tiles per band")
        }
    }
}
