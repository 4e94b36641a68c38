import Foundation
import XCTest

@testable import CXRTensor

/// The bf16 variant of the fused attention kernel (`precision: .bf16`) against a float64 reference on the unrounded
/// inputs. Skipped where the CPU has no AVX512-BF16: there `precision: .bf16` runs the float32 kernels, which
/// KernelTests cover.
///
/// The tolerance is what rounding to bf16 (relative error at most ε = 2^-9, round to nearest) can do, per query row:
/// q and k rounded move each product q_e k_e by at most (2ε + ε²)|q_e k_e|, so each scaled score s_j by at most
/// Δ = scale (2ε + ε²) max_j Σ_e |q_e k_je|; scores moved by at most Δ change each probability by a factor in
/// [e^-2Δ, e^2Δ]; rounding the probability and v_j adds a factor (1 ± ε) each. So the output moves by at most
/// max|v| (e^2Δ (1 + ε)² - 1), plus 1e-5 for the float32 sums (the fp32 kernels' tolerance). The sums of
/// bf16 products are exact in float32 (8-bit by 8-bit significands), so nothing else is rounded.
///
/// That bound holds for any rounding; it assumes every rounding moves the output the same way, and with keys scaled
/// by 4 it is 0.01-0.1 here, enough to hide a lost key. So the largest error must also stay within 4ε max|v|: the
/// roundings are independent, and the worst error seen on these cases is 2.3e-3 (1.2ε at max|v| = 1; a correct
/// kernel keeps it near one rounding of the output).
final class BFloat16AttentionTests: XCTestCase {
    override func setUpWithError() throws {
        guard AttentionKernel.fusedBF16IsSupported else { throw XCTSkip("this CPU has no AVX512-BF16") }
    }

    static let epsilon = 1.0 / 512

    /// Softmax(q k^T / sqrt(d)) v in float64 and, per output row, the bound above on what bf16 rounding moves it.
    func reference(q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool) -> (out: [Double], bound: [Double]) {
        let b = q.shape[0], lq = q.shape[1], hd = q.shape[2], lk = k.shape[1], d = hd / heads
        let scale = 1 / Double(d).squareRoot(), e = Self.epsilon
        let maxV = v.data.map { Double(abs($0)) }.max() ?? 0
        var out = [Double](repeating: 0, count: b * lq * hd), bound = [Double](repeating: 0, count: b * lq * heads)
        for bi in 0..<b {
            for h in 0..<heads {
                for i in 0..<lq {
                    let qRow = (bi * lq + i) * hd + h * d
                    var s = [Double](repeating: -.infinity, count: lk)
                    var magnitude = 0.0
                    for j in 0..<lk where !causal || j <= i {
                        let kRow = (bi * lk + j) * hd + h * d
                        var dot = 0.0, absolute = 0.0
                        for x in 0..<d {
                            let product = Double(q.data[qRow + x]) * Double(k.data[kRow + x])
                            dot += product
                            absolute += abs(product)
                        }
                        s[j] = dot * scale
                        magnitude = max(magnitude, absolute)
                    }
                    let delta = scale * (2 * e + e * e) * magnitude
                    bound[(bi * lq + i) * heads + h] = maxV * (exp(2 * delta) * (1 + e) * (1 + e) - 1) + 1e-5
                    let m = s.max()!
                    let p = s.map { exp($0 - m) }
                    let z = p.reduce(0, +)
                    for x in 0..<d {
                        var acc = 0.0
                        for j in 0..<lk { acc += p[j] / z * Double(v.data[(bi * lk + j) * hd + h * d + x]) }
                        out[qRow + x] = acc
                    }
                }
            }
        }
        return (out, bound)
    }

    /// Checks every output value against the reference within its row's bound, and that the result is not the fp32
    /// kernel's (which would pass the bound too, but means the bf16 kernel did not run).
    func check(
        q: Tensor, k: Tensor, v: Tensor, heads: Int, causal: Bool, chunks: [(Int?, Int?)], _ label: String
    ) {
        let (want, bound) = reference(q: q, k: k, v: v, heads: heads, causal: causal)
        let d = q.shape[2] / heads
        let fp32 = attention(q: q, k: k, v: v, heads: heads, causal: causal, kernel: .fused)
        for (chunk, block) in chunks {
            let got = attention(
                q: q, k: k, v: v, heads: heads, causal: causal, queryChunk: chunk, keyBlock: block, kernel: .fused,
                precision: .bf16)
            var worst = 0.0, worstRatio = 0.0
            for (index, value) in got.data.enumerated() {
                let error = abs(Double(value) - want[index])
                let rowBound = bound[index / d]
                worst = max(worst, error)
                worstRatio = max(worstRatio, error / rowBound)
            }
            let where_ = "\(label) chunk \(chunk ?? 0) block \(block ?? 0): max error \(worst)"
            XCTAssertLessThanOrEqual(worstRatio, 1, where_)
            XCTAssertLessThanOrEqual(worst, 4 * Self.epsilon * Double(v.maxAbs) + 1e-5, where_)
            XCTAssertGreaterThan(got.maxAbsDifference(fp32), 0, "\(where_): the fp32 kernel ran")
        }
    }

    /// SD's head sizes (40, 64, 80, 160: d % 16 of 8 and 0, one to ten output vectors), odd and masked ones (5,
    /// 13, 24, 56: the last dimension pair half empty, the 8-row and 6-row tail pairs), query counts that end
    /// inside the 6-row score and 8-row value tiles, key counts that are odd or end inside a 16-key panel,
    /// cross-attention on 77 keys, and odd or small key blocks (rounded up to even ones) that start inside panels;
    /// keys scaled by 4, so later blocks raise the maximum and rescale the output.
    func testMatchesFloat64ReferenceWithinBF16Rounding() {
        let cases = [
            (2, 40, 53, 77), (1, 64, 29, 29), (2, 80, 19, 77), (1, 160, 14, 33), (1, 5, 13, 21), (2, 13, 9, 40),
            (1, 24, 17, 45), (2, 56, 25, 31),
        ]
        let chunks: [(Int?, Int?)] = [(nil, nil), (5, 7), (1, 16), (13, 33), (6, 1), (48, 2)]
        for (heads, d, lq, lk) in cases {
            let q = randomTensor([2, lq, heads * d], seed: 41), v = randomTensor([2, lk, heads * d], seed: 43)
            var k = randomTensor([2, lk, heads * d], seed: 42)
            for i in k.data.indices { k.data[i] *= 4 }
            check(q: q, k: k, v: v, heads: heads, causal: false, chunks: chunks, "d \(d) lq \(lq) lk \(lk)")
            check(
                q: q, k: q, v: q, heads: heads, causal: true, chunks: [(nil, nil), (4, 3), (13, 17)],
                "causal d \(d) lq \(lq)")
        }
    }

    /// Long rows as the UNet's self-attention has (4096 keys at 512 px; 700 here: three 256-key blocks, the last
    /// partial), where the float32 sums run over many keys.
    func testLongSelfAttentionWithinBF16Rounding() {
        let x = randomTensor([1, 700, 2 * 40], seed: 44)
        check(q: x, k: x, v: x, heads: 2, causal: false, chunks: [(nil, nil)], "self-attention 700 x 700")
    }

    /// `precision: .fp32` (the default) runs the float32 kernel, bit for bit; bf16 under the other kernels does
    /// too, since only the AVX-512 fused kernel has a bf16 variant.
    func testFloat32AndOtherKernelsAreUnchanged() {
        let q = randomTensor([1, 30, 80], seed: 45), k = randomTensor([1, 77, 80], seed: 46),
            v = randomTensor([1, 77, 80], seed: 47)
        let fp32 = attention(q: q, k: k, v: v, heads: 2, kernel: .fused)
        XCTAssertEqual(attention(q: q, k: k, v: v, heads: 2, kernel: .fused, precision: .fp32).data, fp32.data)
        for kernel in [AttentionKernel.fusedAVX2, .blas] where kernel.isSupported {
            XCTAssertEqual(
                attention(q: q, k: k, v: v, heads: 2, kernel: kernel, precision: .bf16).data,
                attention(q: q, k: k, v: v, heads: 2, kernel: kernel).data, "\(kernel)")
        }
    }
}
