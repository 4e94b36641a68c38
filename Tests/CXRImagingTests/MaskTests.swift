import XCTest
@testable import CXRImaging

final class MaskTests: XCTestCase {
    func testNearestResizeMatchesTorch() throws {
        // Indices produced by torch.nn.functional.interpolate(mode="nearest") for (in, out).
        let cases: [(Int, Int, [Int])] = [
            (5, 3, [0, 1, 3]), (3, 5, [0, 0, 1, 1, 2]), (7, 3, [0, 2, 4]), (64, 8, [0, 8, 16, 24, 32, 40, 48, 56]),
            (10, 4, [0, 2, 5, 7]), (13, 7, [0, 1, 3, 5, 7, 9, 11]),
            (100, 12, [0, 8, 16, 25, 33, 41, 50, 58, 66, 75, 83, 91]),
        ]
        for (i, o, want) in cases {
            let m = try Mask(width: i, height: 1, values: (0..<i).map { Float($0) })
            XCTAssertEqual(try m.nearestResize(width: o, height: 1).values, want.map { Float($0) }, "\(i)->\(o)")
            let v = try Mask(width: 1, height: i, values: (0..<i).map { Float($0) })
            XCTAssertEqual(
                try v.nearestResize(width: 1, height: o).values, want.map { Float($0) }, "\(i)->\(o) vertical")
        }
    }

    func testPasteBackKeepsAlphaZeroPixelsExactly() throws {
        for depth in [8, 16] {
            let maxV = depth == 16 ? 65535 : 255
            let n = 20 * 10
            var rng = SplitMix(seed: UInt64(depth))
            let o = try RasterImage(
                width: 20, height: 10, channels: 3, bitDepth: depth,
                samples: (0..<(n * 3)).map { _ in UInt16(rng.next() % UInt64(maxV + 1)) })
            let e = try RasterImage(
                width: 20, height: 10, channels: 3, bitDepth: depth,
                samples: (0..<(n * 3)).map { _ in UInt16(rng.next() % UInt64(maxV + 1)) })
            let alpha: [Float] = (0..<n).map { i in i % 3 == 0 ? 0 : (i % 3 == 1 ? 1 : 0.25) }
            let out = try Mask.pasteBack(original: o, edited: e, alpha: alpha)
            for i in 0..<n {
                for c in 0..<3 {
                    let j = i * 3 + c
                    switch i % 3 {
                    case 0: XCTAssertEqual(out.samples[j], o.samples[j])
                    case 1: XCTAssertEqual(out.samples[j], e.samples[j])
                    default:
                        let want = (Double(o.samples[j]) + (Double(e.samples[j]) - Double(o.samples[j])) * 0.25)
                            .rounded()
                        XCTAssertEqual(Double(out.samples[j]), want)
                    }
                }
            }
        }
        let g = try RasterImage(width: 2, height: 1, channels: 1, bitDepth: 8, samples: [1, 2])
        assertImageError(try Mask.pasteBack(original: g, edited: g.toRGB(), alpha: [0, 0]), contains: "cannot paste")
        assertImageError(try Mask.pasteBack(original: g, edited: g, alpha: [0]), contains: "alpha has 1 values")
    }

    func testFeatherOnlyInside() throws {
        // 21x21 mask with an inside square [5, 15].
        let w = 21
        let vals = (0..<(w * w)).map { i -> Float in
            let x = i % w, y = i / w
            return (5...15).contains(x) && (5...15).contains(y) ? 1 : 0
        }
        let m = try Mask(width: w, height: w, values: vals)
        let a = m.feathered(radius: 3)
        for i in 0..<(w * w) where vals[i] == 0 { XCTAssertEqual(a[i], 0) }
        XCTAssertEqual(a[10 * w + 10], 1, "deep inside")
        XCTAssertEqual(a[10 * w + 5], 0.25, accuracy: 1e-6, "border pixel: distance 1 / (radius + 1)")
        XCTAssertEqual(a[10 * w + 6], 0.5, accuracy: 1e-6)
        XCTAssertEqual(a[10 * w + 8], 1, accuracy: 1e-6)
        XCTAssertEqual(m.feathered(radius: 0), vals)
        // Whole-image mask: the image border does not count as outside.
        XCTAssertTrue(
            try Mask(width: 4, height: 4, values: [Float](repeating: 1, count: 16)).feathered(radius: 2).allSatisfy {
                $0 == 1
            })
    }

    func testDistanceTransformIsExact() {
        // Compare with brute force on a random pattern.
        var rng = SplitMix(seed: 7)
        let w = 23, h = 17
        let inside = (0..<(w * h)).map { _ in rng.next() % 5 != 0 }
        let d2 = Mask.squaredDistanceToOutside(inside, width: w, height: h)
        for y in 0..<h {
            for x in 0..<w {
                var best = Double.greatestFiniteMagnitude
                for yy in 0..<h {
                    for xx in 0..<w where !inside[yy * w + xx] {
                        best = min(best, Double((x - xx) * (x - xx) + (y - yy) * (y - yy)))
                    }
                }
                XCTAssertEqual(d2[y * w + x], best)
            }
        }
    }

    func testReadMaskAndAspectCheck() throws {
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 16-bit RGB mask, white right half.
        let w = 30, h = 20
        var s = [UInt16](repeating: 0, count: w * h * 3)
        for y in 0..<h { for x in (w / 2)..<w { for c in 0..<3 { s[(y * w + x) * 3 + c] = 65535 } } }
        let url = dir.appendingPathComponent("mask.png")
        try ImageIO.writePNG(try RasterImage(width: w, height: h, channels: 3, bitDepth: 16, samples: s), to: url)
        let m = try Mask.read(url, size: (60, 40))
        XCTAssertEqual(m.width, 60)
        XCTAssertEqual(m.values[0], 0)
        XCTAssertEqual(m.values[59], 1)
        XCTAssertEqual(m.coverage, 0.5, accuracy: 0.02)
        XCTAssertTrue(m.values.allSatisfy { $0 == 0 || $0 == 1 })
        assertImageError(
            try Mask.read(url, size: (40, 40)), contains: "aspect ratio 1.50 does not match the image's 1.00",
            file: "mask.png")
        XCTAssertNoThrow(try Mask.read(url, size: (303, 200)), "within 1%")
    }
}

/// Set operations, dilation and the soft margin of the paste-back rule.
final class MaskOperationTests: XCTestCase {
    func square(_ w: Int, _ lo: Int, _ hi: Int) throws -> Mask {
        try Mask(
            width: w, height: w, pixels: (0..<(w * w)).map { (lo...hi).contains($0 % w) && (lo...hi).contains($0 / w) })
    }

    func testUnionSubtractComplement() throws {
        let a = try square(10, 0, 4), b = try square(10, 3, 7)
        let u = try a.union(b), d = try a.subtracting(b)
        for i in 0..<100 {
            XCTAssertEqual(u.contains(i), a.contains(i) || b.contains(i))
            XCTAssertEqual(d.contains(i), a.contains(i) && !b.contains(i))
            XCTAssertEqual(a.complement().contains(i), !a.contains(i))
        }
        XCTAssertThrowsError(try a.union(try square(11, 0, 1)))
    }

    func testSoftEdgeRampsOutsideAndEndsAtTheDilation() throws {
        let w = 31
        let m = try square(w, 10, 20)
        let alpha = m.softEdge(margin: 3)
        let band = m.dilated(by: 3)
        for i in 0..<(w * w) {
            if m.contains(i) { XCTAssertEqual(alpha[i], 1) }
            XCTAssertEqual(alpha[i] > 0, band.contains(i), "the ramp covers exactly the dilated band (pixel \(i))")
        }
        XCTAssertEqual(alpha[15 * w + 21], 0.75, accuracy: 1e-6, "distance 1: 1 - 1 / (margin + 1)")
        XCTAssertEqual(alpha[15 * w + 23], 0.25, accuracy: 1e-6)
        XCTAssertEqual(alpha[15 * w + 24], 0)
        XCTAssertEqual(m.softEdge(margin: 0), m.values)
        XCTAssertTrue(try Mask(empty: 4, height: 4).softEdge(margin: 2).allSatisfy { $0 == 0 })
    }

    /// One distance transform for both: the same mask and weights as the two calls.
    func testDilatedAndSoftEdgeTogetherEqualEachAlone() throws {
        let soft = try Mask(width: 5, height: 4, values: (0..<20).map { Float($0 % 7) / 6 })
        for m in [try square(31, 10, 20), soft, try Mask(empty: 4, height: 4)] {
            for margin in [0, 1, 3, 8] {
                let both = m.dilatedAndSoftEdge(margin: margin)
                XCTAssertEqual(both.dilated, m.dilated(by: margin), "margin \(margin)")
                XCTAssertEqual(both.softEdge, m.softEdge(margin: margin), "margin \(margin)")
            }
        }
    }
}
