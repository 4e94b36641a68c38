import XCTest
@testable import CXRTensor

/// The speed paths (Winograd convolution, fp16 weights widened on use, vectorised exp) against the plain ones.
final class PerformanceKernelTests: XCTestCase {

    /// Winograd F(2x2,3x3) equals im2col convolution to float rounding, on odd and even sizes, with padding
    /// and batch, including planes whose last tile row/column is partial.
    func testWinogradMatchesIm2col() {
        let saved = (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels)
        defer { (ConvolutionSettings.winograd, ConvolutionSettings.winogradMinPixels) = saved }
        for (n, c, o, h, w) in [(2, 5, 7, 9, 7), (1, 16, 8, 16, 16), (1, 3, 4, 1, 1), (2, 33, 17, 6, 11)] {
            let x = randomTensor([n, c, h, w], seed: UInt64(h * 31 + w)), wt = randomTensor([o, c, 3, 3], seed: 7),
                b = randomTensor([o], seed: 9)
            ConvolutionSettings.winograd = false
            let ref = conv2d(x, weight: wt, bias: b, padding: .same(1))
            ConvolutionSettings.winograd = true
            ConvolutionSettings.winogradMinPixels = 1
            let got = conv2d(x, weight: wt, bias: b, padding: .same(1))
            XCTAssertEqual(got.shape, ref.shape)
            let scale = max(1, ref.maxAbs)
            XCTAssertLessThan(got.maxAbsDifference(ref) / scale, 2e-6, "\(n)x\(c)x\(h)x\(w) -> \(o)")
        }
    }

    /// fp16 and bf16 weights widen exactly (all 65536 bit patterns, NaN kept NaN) and give the same layer output
    /// as float32 weights holding the same values.
    func testHalfWeightsWidenExactly() {
        let all = (0..<65536).map { UInt16($0) }
        let h = Weight(shape: [65536], bits: all, format: .f16).tensor
        let b = Weight(shape: [65536], bits: all, format: .bf16).tensor
        for i in 0..<65536 {
            let e = Float(Float16(bitPattern: UInt16(i)))
            if e.isNaN {
                XCTAssertTrue(h.data[i].isNaN)
            } else {
                XCTAssertEqual(h.data[i].bitPattern, e.bitPattern, "f16 \(i)")
            }
            let eb = Float(bitPattern: UInt32(i) << 16)
            if eb.isNaN {
                XCTAssertTrue(b.data[i].isNaN)
            } else {
                XCTAssertEqual(b.data[i].bitPattern, eb.bitPattern, "bf16 \(i)")
            }
        }
        let w32 = randomTensor([6, 10], seed: 3)
        let bits = w32.data.map { Float16($0).bitPattern }
        let w16 = Weight(shape: [6, 10], bits: bits, format: .f16)
        let rounded = Tensor(shape: [6, 10], data: bits.map { Float(Float16(bitPattern: $0)) })
        let x = randomTensor([3, 10], seed: 4)
        XCTAssertEqual(linear(x, weight: w16, bias: nil), linear(x, weight: rounded, bias: nil))
    }

    /// The vectorised exp is within a few ulp of libm over the range softmax and SiLU use.
    func testFastExpAccuracy() {
        var worst: Float = 0
        var v: Float = -87
        while v < 88 {
            let r = FastMath.exp(v), e = expf(v)
            worst = max(worst, abs(r - e) / e)
            v += 0.0137
        }
        XCTAssertLessThan(worst, 5e-7)
        var row: [Float] = [1, 2, 3, -1e9, 0.5, 4, 4, 4, 4, 1]
        row.withUnsafeMutableBufferPointer { FastMath.softmaxRow($0.baseAddress!, valid: 9, count: 10) }
        XCTAssertEqual(row.prefix(9).reduce(0, +), 1, accuracy: 1e-6)
        XCTAssertEqual(row[9], 0)
        XCTAssertEqual(row[0] / row[1], expf(-1), accuracy: 1e-6)
    }
}
