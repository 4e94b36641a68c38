import XCTest

@testable import CXRImaging

/// The SSIM maps' row filter runs tap by tap across a row (so it vectorises); every value must have the bits of the
/// per-pixel loop it replaced, so the edit report's figures (pinned in `edit --json` fixtures) stay the same.
final class SSIMFilterTests: XCTestCase {
    /// The maps as computed before: the row pass summed each output pixel's taps in one loop.
    static func referenceMaps(_ a: GrayPlane, _ b: GrayPlane) -> (ssim: [Double], cs: [Double]) {
        let m = min(11, a.width, a.height)
        let win = max(m % 2 == 1 ? m : m - 1, 1), radius = win / 2
        var kernel = (0..<win).map { i -> Double in
            let d = Double(i - radius); return exp(-d * d / (2 * 1.5 * 1.5))
        }
        let ks = kernel.reduce(0, +); kernel = kernel.map { $0 / ks }
        let W = a.width, H = a.height, ow = W - win + 1, oh = H - win + 1
        func filter(_ f: [Double]) -> [Double] {
            var t = [Double](repeating: 0, count: ow * H), o = [Double](repeating: 0, count: ow * oh)
            for y in 0..<H {
                for x in 0..<ow {
                    var s = 0.0
                    for i in 0..<win { s += kernel[i] * f[y * W + x + i] }
                    t[y * ow + x] = s
                }
            }
            for y in 0..<oh {
                for i in 0..<win {
                    for x in 0..<ow { o[y * ow + x] += kernel[i] * t[(y + i) * ow + x] }
                }
            }
            return o
        }
        let x = a.values.map(Double.init), y = b.values.map(Double.init)
        let mu1 = filter(x), mu2 = filter(y)
        let s11 = filter(zip(x, x).map(*)), s22 = filter(zip(y, y).map(*)), s12 = filter(zip(x, y).map(*))
        let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
        var ssim = [Double](), cs = [Double]()
        for i in 0..<(ow * oh) {
            let m1 = mu1[i], m2 = mu2[i]
            let v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, cov = s12[i] - m1 * m2
            let c = (2 * cov + c2) / (v1 + v2 + c2)
            cs.append(c)
            ssim.append((2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1) * c)
        }
        return (ssim, cs)
    }

    func testMapsKeepTheirBits() throws {
        var state: UInt64 = 0x1234_5678
        func next() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(state >> 40) / Float(1 << 24)
        }
        for (w, h) in [(64, 48), (37, 53), (11, 11), (9, 30), (3, 2)] {
            let a = try GrayPlane(width: w, height: h, values: (0..<(w * h)).map { _ in next() })
            let b = try GrayPlane(width: w, height: h, values: a.values.map { min(1, max(0, $0 + next() * 0.2 - 0.1)) })
            let got = ImageQuality.ssimMaps(a, b), want = Self.referenceMaps(a, b)
            XCTAssertEqual(got.ssim.map(\.bitPattern), want.ssim.map(\.bitPattern), "\(w)x\(h)")
            XCTAssertEqual(got.cs.map(\.bitPattern), want.cs.map(\.bitPattern), "\(w)x\(h)")
        }
    }
}
