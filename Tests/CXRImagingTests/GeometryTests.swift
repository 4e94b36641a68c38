import XCTest
@testable import CXRImaging

final class GeometryTests: XCTestCase {
    func testResizeOfConstantImageStaysConstant() throws {
        for filter in ResampleFilter.allCases {
            for (w, h) in [(17, 9), (64, 64), (3, 50), (100, 7)] {
                let img = try RasterImage(
                    width: 40, height: 30, channels: 3, bitDepth: 16,
                    samples: [UInt16](repeating: 31337, count: 40 * 30 * 3))
                let r = try img.resized(width: w, height: h, filter: filter)
                XCTAssertEqual(r.width, w)
                XCTAssertEqual(r.height, h)
                XCTAssertTrue(r.samples.allSatisfy { $0 == 31337 }, "\(filter) \(w)x\(h)")
            }
        }
    }

    /// Reference values: Pillow's resize of a mode "F" image (float path, same algorithm).
    func testMatchesPillowFloatResize() throws {
        let src: [Float] = [0, 10, 250, 30, 40, 5, 60, 70]
        let want: [(ResampleFilter, [Float], [Float])] = [
            (
                .bilinear, [65.5263, 65.8333, 48.2895],
                [
                    0.0, 4.23077, 19.2308, 166.923, 190.769, 55.3846, 35.0, 35.9615, 14.4231, 24.0385, 57.8846, 65.7692,
                    70.0,
                ]
            ),
            (
                .bicubic, [70.054, 67.3054, 44.2738],
                [
                    -0.73324, -7.79972, 15.4685, 191.95, 217.746, 47.7097, 23.4375, 37.4632, 9.145, 19.1419, 58.6207,
                    68.8759, 70.7332,
                ]
            ),
            (
                .lanczos, [74.0055, 70.2718, 38.162],
                [
                    6.58789, -21.566, 18.2379, 203.641, 223.648, 53.4777, 9.86413, 40.4758, 10.03, 16.435, 58.0055,
                    71.8724, 69.2954,
                ]
            ),
            (.nearest, [10, 40, 60], [0, 0, 10, 250, 250, 30, 40, 40, 5, 5, 60, 70, 70]),
        ]
        let p = try FloatPlanes(width: 8, height: 1, channels: 1, data: src)
        for (f, down, up) in want {
            for (o, ref) in [(3, down), (13, up)] {
                let got = try p.resized(width: o, height: 1, filter: f).data
                for (g, r) in zip(got, ref) { XCTAssertEqual(g, r, accuracy: 2e-3, "\(f) 8->\(o)") }
            }
        }
        // 2-D lanczos 7x5 -> 3x4 of x^1.5.
        let p2 = try FloatPlanes(width: 7, height: 5, channels: 1, data: (0..<35).map { Float(pow(Double($0), 1.5)) })
        let ref2: [Float] = [
            2.6784, 8.1486, 16.0172, 32.0043, 43.9272, 56.9907, 83.7814, 99.6879, 116.4965, 146.2161, 165.1728,
            184.8889,
        ]
        for (g, r) in zip(try p2.resized(width: 3, height: 4, filter: .lanczos).data, ref2) {
            XCTAssertEqual(g, r, accuracy: 2e-3)
        }
    }

    func testCoefficientsLikePillow() {
        // Nearest uses Int((i + 0.5) * scale).
        XCTAssertEqual(FloatPlanes.coefficients(inSize: 5, outSize: 3, filter: .nearest).map(\.start), [0, 2, 4])
        // Every filter's weights sum to 1.
        for f in ResampleFilter.allCases {
            for (i, o) in [(10, 3), (3, 10), (512, 100)] {
                for cc in FloatPlanes.coefficients(inSize: i, outSize: o, filter: f) {
                    XCTAssertEqual(cc.weights.reduce(0, +), 1, accuracy: 1e-5)
                    XCTAssertLessThanOrEqual(cc.start + cc.weights.count, i)
                }
            }
        }
    }

    func testDownscaleAntialiases() throws {
        // A 1-pixel checkerboard downscaled 8x must average to mid grey (no aliasing).
        let n = 64
        let samples = (0..<(n * n)).map { UInt16((($0 % n) + ($0 / n)) % 2 == 0 ? 0 : 255) }
        let img = try RasterImage(width: n, height: n, channels: 1, bitDepth: 8, samples: samples)
        for f in [ResampleFilter.bilinear, .bicubic, .lanczos] {
            let r = try img.resized(width: 8, height: 8, filter: f)
            XCTAssertTrue(r.samples.allSatisfy { abs(Int($0) - 128) <= 2 }, "\(f): \(r.samples)")
        }
    }

    func testFitPlanPadAndInverse() throws {
        let plan = try FitPlan(sourceWidth: 300, sourceHeight: 200, targetWidth: 512, targetHeight: 512)
        XCTAssertEqual(plan.scaledWidth, 512)
        XCTAssertEqual(plan.scaledHeight, 341)
        XCTAssertEqual(plan.offsetX, 0)
        XCTAssertEqual(plan.offsetY, 85)
        let img = try RasterImage(
            width: 300, height: 200, channels: 1, bitDepth: 8, samples: [UInt16](repeating: 200, count: 60000))
        let fitted = try plan.apply(img)
        XCTAssertEqual(fitted.width, 512)
        XCTAssertEqual(fitted.height, 512)
        XCTAssertEqual(fitted.sample(x: 10, y: 10), 0, "padding is black")
        XCTAssertEqual(fitted.sample(x: 10, y: 300), 200)
        let back = try plan.invert(fitted)
        XCTAssertEqual(back.width, 300)
        XCTAssertEqual(back.height, 200)
        XCTAssertTrue(back.samples.allSatisfy { $0 == 200 }, "inverse must crop the padding away")
        // Mask: padding is never edited.
        let m = try plan.apply(Mask(width: 300, height: 200, values: [Float](repeating: 1, count: 60000)))
        XCTAssertEqual(m.values[0], 0)
        XCTAssertEqual(m.values[300 * 512 + 10], 1)
        assertImageError(
            try plan.apply(
                try RasterImage(
                    width: 10, height: 10, channels: 1, bitDepth: 8, samples: [UInt16](repeating: 0, count: 100))),
            contains: "does not match")
    }

    func testFitPlanTallAndStretch() throws {
        let tall = try FitPlan(sourceWidth: 100, sourceHeight: 400, targetWidth: 256, targetHeight: 256)
        XCTAssertEqual([tall.scaledWidth, tall.scaledHeight, tall.offsetX, tall.offsetY], [64, 256, 96, 0])
        let s = try FitPlan(sourceWidth: 100, sourceHeight: 400, targetWidth: 256, targetHeight: 256, mode: .stretch)
        XCTAssertEqual([s.scaledWidth, s.scaledHeight, s.offsetX, s.offsetY], [256, 256, 0, 0])
    }
}

final class OrientationTests: XCTestCase {
    /// All eight EXIF orientations against hand-derived results for a 3x2 image
    /// [[1 2 3], [4 5 6]] (Pillow's exif_transpose mapping).
    func testAllOrientations() throws {
        let img = try RasterImage(width: 3, height: 2, channels: 1, bitDepth: 8, samples: [1, 2, 3, 4, 5, 6])
        let want: [Int: (Int, Int, [UInt16])] = [
            1: (3, 2, [1, 2, 3, 4, 5, 6]),
            2: (3, 2, [3, 2, 1, 6, 5, 4]),
            3: (3, 2, [6, 5, 4, 3, 2, 1]),
            4: (3, 2, [4, 5, 6, 1, 2, 3]),
            5: (2, 3, [1, 4, 2, 5, 3, 6]),
            6: (2, 3, [4, 1, 5, 2, 6, 3]),
            7: (2, 3, [6, 3, 5, 2, 4, 1]),
            8: (2, 3, [3, 6, 2, 5, 1, 4]),
        ]
        for (o, (w, h, s)) in want {
            let r = img.oriented(exif: o)
            XCTAssertEqual([r.width, r.height], [w, h], "orientation \(o)")
            XCTAssertEqual(r.samples, s, "orientation \(o)")
        }
    }
}
