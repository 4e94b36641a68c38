import XCTest
@testable import CXRTensor

/// The bf16 GEMM (bf16 operands, float32 sums) against float64 references, and the layers that use it against
/// their fp32 selves. Skipped where the CPU has no AVX512-BF16: the kernel cannot run there and `--precision`
/// refuses bf16 (tested in GEMMPrecisionTests).
final class BFloat16GEMMTests: XCTestCase {
    override func setUpWithError() throws {
        guard BFloat16GEMM.isSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
    }

    /// Through `gemm(.bf16, ...)` with both operands packed per call.
    let bf16: GEMMCheck.Multiply = { c, a, lda, b, ldb, out, ldc in
        gemm(
            .bf16, m: c.m, n: c.n, k: c.k, alpha: c.alpha, a: .floats(a, ld: lda, transposed: c.transA),
            b: .floats(b, ld: ldb, transposed: c.transB), beta: c.beta, c: out, ldc: ldc)
    }

    /// Odd shapes around the 8-row and 32-column panel edges, all four transposes, padded strides, alpha/beta and
    /// k = 0, within what rounding the operands to bf16 allows (and the fp32 summation error on top).
    func testMatchesReferenceWithinBF16Rounding() {
        XCTAssertEqual(GEMMCheck.run(operandRounding: 0x1p-8, multiply: bf16), [])
        // Shapes that cross the kernel's 256-pair k blocks, 8-row panels and 32-column panels, threaded.
        let big = [(9, 33, 513), (65, 97, 1030), (200, 31, 3), (17, 300, 600)].flatMap { m, n, k in
            [(false, false), (false, true), (true, false), (true, true)].map {
                GEMMCheck.Case(m: m, n: n, k: k, transA: $0.0, transB: $0.1, alpha: 0.75, beta: -0.5)
            }
        }
        XCTAssertEqual(GEMMCheck.run(big, operandRounding: 0x1p-8, multiply: bf16), [])
    }

    /// The products really are of bf16 operands (fp32's allowance fails), so the test above measures bf16.
    func testOperandsAreRoundedToBF16() {
        let cases = GEMMCheck.cases.filter { $0.k >= 33 }
        XCTAssertEqual(GEMMCheck.run(cases, multiply: bf16).count, cases.count)
    }

    /// Rounding is to nearest, ties to even, as PyTorch's float -> bfloat16, and NaN stays NaN (1x1 products).
    func testRoundingIsToNearestEvenAndKeepsNaN() {
        func product(_ x: Float) -> Float {
            let a = [x], b: [Float] = [1]
            var c: [Float] = [0]
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    gemm(
                        .bf16, m: 1, n: 1, k: 1, a: .floats(ap.baseAddress!, ld: 1, transposed: false),
                        b: .floats(bp.baseAddress!, ld: 1, transposed: false), c: &c, ldc: 1)
                }
            }
            return c[0]
        }
        XCTAssertEqual(product(1 + 0x1p-8), 1, "tie between 1 and 1 + 2^-7 goes to the even 1")
        XCTAssertEqual(product(1 + 3 * 0x1p-8), 1 + 0x1p-6, "tie goes to the even 1 + 2^-6")
        XCTAssertEqual(product(1 + 0x1p-8 + 0x1p-20), 1 + 0x1p-7, "above the tie rounds up")
        XCTAssertEqual(product(-3.0), -3.0)
        XCTAssertTrue(product(.nan).isNaN)
        XCTAssertEqual(product(.infinity), .infinity)
        XCTAssertEqual(product(Float.greatestFiniteMagnitude), .infinity, "rounds past the largest bf16")
    }

    func roundedToBF16(_ t: Tensor) -> Tensor {
        Tensor(
            shape: t.shape,
            data: t.data.map { f in
                let u = f.bitPattern
                return Float(bitPattern: (u &+ 0x7FFF &+ (u >> 16 & 1)) & 0xFFFF_0000)
            })
    }

    /// A linear layer and an im2col / 1x1 convolution in bf16 are the fp32 layer applied to bf16-rounded
    /// operands, up to fp32 summation order; and the packed weight is cached (a second call is bit-identical).
    func testLayersEqualFP32OnRoundedOperands() {
        let x = randomTensor([3, 37, 70], seed: 1)
        let w = randomTensor([45, 70], seed: 2), b = randomTensor([45], seed: 3)
        let weight = Weight(w)
        let got = linear(x, weight: weight, bias: b, precision: .bf16)
        let want = linear(roundedToBF16(x), weight: roundedToBF16(w), bias: b)
        XCTAssertLessThan(got.maxAbsDifference(want), 1e-5 * max(1, want.maxAbs))
        XCTAssertGreaterThan(got.maxAbsDifference(linear(x, weight: w, bias: b)), 0, "bf16 is not fp32")
        XCTAssertEqual(linear(x, weight: weight, bias: b, precision: .bf16), got, "cached packing")

        let saved = ConvolutionSettings.winograd
        defer { ConvolutionSettings.winograd = saved }
        ConvolutionSettings.winograd = false
        for (kernel, stride, c, o) in [(3, 1, 13, 9), (3, 2, 20, 40), (1, 1, 33, 17)] {
            let xi = randomTensor([2, c, 11, 9], seed: 4)
            let wi = randomTensor([o, c, kernel, kernel], seed: 5)
            let bi = randomTensor([o], seed: 6)
            let pad = Padding2D.same(kernel / 2)
            let got = conv2d(xi, weight: Weight(wi), bias: bi, stride: stride, padding: pad, precision: .bf16)
            let want = conv2d(roundedToBF16(xi), weight: roundedToBF16(wi), bias: bi, stride: stride, padding: pad)
            XCTAssertEqual(got.shape, want.shape)
            XCTAssertLessThan(got.maxAbsDifference(want), 1e-5 * max(1, want.maxAbs), "\(kernel)x\(kernel)/\(stride)")
        }
    }

    /// Winograd in bf16 rounds the transformed operands, so it is compared with fp32 Winograd: a few bf16 ulp of
    /// the output scale, on odd and even planes with partial tiles and batch.
    func testWinogradWithinBF16OfFP32() {
        let saved = (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels)
        defer { (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels) = saved }
        ConvolutionSettings.winograd = true
        ConvolutionSettings.winogradMinPixels = 1
        for (n, c, o, h, w) in [(2, 5, 7, 9, 7), (1, 64, 40, 16, 16), (2, 33, 17, 6, 11)] {
            let x = randomTensor([n, c, h, w], seed: UInt64(h * 31 + w))
            let wt = Weight(randomTensor([o, c, 3, 3], seed: 7))
            let b = randomTensor([o], seed: 9)
            let ref = conv2d(x, weight: wt, bias: b, padding: .same(1))
            let got = conv2d(x, weight: wt, bias: b, padding: .same(1), precision: .bf16)
            let error = got.maxAbsDifference(ref) / max(1, ref.maxAbs)
            XCTAssertLessThan(error, 0x1p-6, "\(n)x\(c)x\(h)x\(w) -> \(o)")
            XCTAssertGreaterThan(error, 0, "bf16 is not fp32")
            XCTAssertEqual(conv2d(x, weight: wt, bias: b, padding: .same(1), precision: .bf16), got, "cached packing")
        }
    }

    /// A weight that derives on every use (the VAE's) packs afresh for each call and keeps nothing, with results
    /// bit-identical to a weight that keeps its packed copies, in every path: linear, im2col, 1x1 and Winograd.
    func testWeightsDerivingOnEveryUseKeepNothingAndGiveTheSameResults() {
        let saved = (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels)
        defer { (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels) = saved }
        ConvolutionSettings.winogradMinPixels = 1
        let x = randomTensor([3, 37, 70], seed: 1), w = randomTensor([45, 70], seed: 2)
        let kept = Weight(w), perUse = Weight(w).derivingOnEveryUse()
        let want = linear(x, weight: kept, bias: nil, precision: .bf16)
        XCTAssertEqual(linear(x, weight: perUse, bias: nil, precision: .bf16), want)
        XCTAssertEqual(perUse.derived.count, 0)
        XCTAssertEqual(kept.derived.count, 1)
        XCTAssertFalse(perUse.reshaped([70, 45]).keepsDerivedValues, "a reshaped view derives the same way")
        for (winograd, kernel, stride) in [(true, 3, 1), (false, 3, 1), (false, 3, 2), (false, 1, 1)] {
            ConvolutionSettings.winograd = winograd
            let xi = randomTensor([2, 13, 12, 10], seed: 4), wi = randomTensor([9, 13, kernel, kernel], seed: 5)
            let kept = Weight(wi), perUse = Weight(wi).derivingOnEveryUse()
            let pad = Padding2D.same(kernel / 2)
            let want = conv2d(xi, weight: kept, bias: nil, stride: stride, padding: pad, precision: .bf16)
            for _ in 0..<2 {
                let got = conv2d(xi, weight: perUse, bias: nil, stride: stride, padding: pad, precision: .bf16)
                XCTAssertEqual(got, want, "winograd \(winograd) \(kernel)x\(kernel)/\(stride)")
            }
            XCTAssertEqual(perUse.derived.count, 0)
            XCTAssertEqual(kept.derived.count, 1)
        }
    }

    /// In fp32 too, a weight that derives on every use keeps neither its widened fp16 values nor its Winograd
    /// transform (so the process-wide budget of kept copies is left to the UNet), with the same results.
    func testFP16WeightsDerivingOnEveryUseKeepNoFloatCopies() {
        let saved = (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels)
        defer { (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels) = saved }
        (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels) = (true, 1)
        let wi = randomTensor([9, 13, 3, 3], seed: 5)
        let bits = wi.data.map { Float16($0).bitPattern }
        let kept = Weight(shape: wi.shape, bits: bits, format: .f16)
        let perUse = Weight(shape: wi.shape, bits: bits, format: .f16).derivingOnEveryUse()
        let x = randomTensor([2, 13, 12, 10], seed: 4)
        let want = conv2d(x, weight: kept, bias: nil, padding: .same(1))
        XCTAssertEqual(conv2d(x, weight: perUse, bias: nil, padding: .same(1)), want)
        XCTAssertGreaterThan(kept.derived.count, 0, "a kept fp16 weight keeps its Winograd transform")
        XCTAssertEqual(perUse.derived.count, 0)
        XCTAssertEqual(perUse.withFloats { $0[7] }, kept.withFloats { $0[7] })
        XCTAssertEqual(perUse.derived.count, 0, "widened values are not kept either")
    }
}
