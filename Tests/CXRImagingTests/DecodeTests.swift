import XCTest
@testable import CXRImaging

final class DecodeTests: XCTestCase {
    /// Every fixture in the manifest decodes to Pillow's samples (JPEG within the listed tolerance).
    func testFixturesMatchPillow() throws {
        let entries = try Fixture.manifest()
        XCTAssertGreaterThanOrEqual(entries.count, 17)
        for e in entries {
            let img = try ImageIO.read(Fixture.url(e.file))
            XCTAssertEqual(img.width, e.width, e.file)
            XCTAssertEqual(img.height, e.height, e.file)
            XCTAssertEqual(img.channels, e.channels, e.file)
            XCTAssertEqual(img.bitDepth, e.bitDepth, e.file)
            let want = try Fixture.expectedSamples(e.expected, bitDepth: e.bitDepth)
            XCTAssertEqual(want.count, img.samples.count, e.file)
            guard want.count == img.samples.count else { continue }
            let maxDiff = zip(want, img.samples).map { abs(Int($0) - Int($1)) }.max() ?? 0
            XCTAssertLessThanOrEqual(maxDiff, e.tolerance, "\(e.file): max difference \(maxDiff)")
            if e.file.hasSuffix(".jpg") {
                // libjpeg-turbo with Pillow's settings should in fact be exact.
                XCTAssertEqual(maxDiff, 0, "\(e.file) differs from Pillow by \(maxDiff)")
            }
        }
    }

    func testGrayConversionMatchesPillowConvertL() throws {
        let rgb = try ImageIO.read(Fixture.url("rgb8.png"))
        let want = try Fixture.expectedSamples("rgb8.L.expected.raw", bitDepth: 8)
        let gray = rgb.toGray()
        XCTAssertEqual(gray.channels, 1)
        XCTAssertEqual(gray.samples, want)
    }

    func testGray16AndRGBConversions() throws {
        let img = try RasterImage(
            width: 2, height: 1, channels: 3, bitDepth: 16, samples: [65535, 65535, 65535, 1000, 2000, 3000])
        let g = img.toGray()
        XCTAssertEqual(g.samples[0], 65535)
        // (1000*19595 + 2000*38470 + 3000*7471 + 32768) >> 16 = 1815
        XCTAssertEqual(g.samples[1], 1815)
        XCTAssertEqual(g.toRGB().samples, [65535, 65535, 65535, 1815, 1815, 1815])
        XCTAssertEqual(
            try RasterImage(width: 1, height: 1, channels: 1, bitDepth: 8, samples: [255]).to16Bit().samples, [65535])
    }

    func testSniffsByContentNotExtension() throws {
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let disguised = dir.appendingPathComponent("really_a_jpeg.png")
        try FileManager.default.copyItem(at: Fixture.url("grey.jpg"), to: disguised)
        let a = try ImageIO.read(disguised), b = try ImageIO.read(Fixture.url("grey.jpg"))
        XCTAssertEqual(a, b)
    }

    func testFloatConversionMatchesDiffusers() throws {
        let img = try RasterImage(width: 3, height: 1, channels: 1, bitDepth: 8, samples: [0, 255, 51])
        let f = img.floatPixelsCHW(channels: 1)
        XCTAssertEqual(f[0], -1)
        XCTAssertEqual(f[1], 1)
        XCTAssertEqual(f[2], 2 * (Float(51) / 255) - 1)
        XCTAssertEqual(img.floatPixelsCHW(channels: 3).count, 9)
        // Values computed with torch ((x/2+0.5).clamp(0,1)) and numpy ((y*255).round()).
        let xs: [Float] = [
            -1, 0, 1, 0.5, -0.3, 2, -2, 0.1, 0.9, -0.99, 1.0 / 255, 3.0 / 255, -0.4941176176071167, 0.5725489854812622,
        ]
        let want8: [UInt16] = [0, 128, 255, 191, 89, 255, 0, 140, 242, 1, 128, 129, 64, 200]
        let out8 = try RasterImage(floatsCHW: xs, width: xs.count, height: 1, channels: 1, bitDepth: 8)
        XCTAssertEqual(out8.samples, want8)
        let want16: [UInt16] = [0, 32768, 65535, 49151, 22937, 65535, 0, 36044, 62258, 328, 32896, 33153]
        let out16 = try RasterImage(floatsCHW: Array(xs.prefix(12)), width: 12, height: 1, channels: 1, bitDepth: 16)
        XCTAssertEqual(out16.samples, want16)
        // A NaN or infinity means the model broke down: refused, never drawn as black or white (issue 18).
        for bad: Float in [.nan, .infinity, -.infinity] {
            assertImageError(
                try RasterImage(floatsCHW: [0, bad], width: 2, height: 1, channels: 1, bitDepth: 8),
                contains: "NaN or infinite")
        }
        // Round trip of every 8-bit level.
        let all = try RasterImage(
            width: 256, height: 1, channels: 1, bitDepth: 8, samples: (0...255).map { UInt16($0) })
        let back = try RasterImage(
            floatsCHW: all.floatPixelsCHW(channels: 1), width: 256, height: 1, channels: 1, bitDepth: 8)
        XCTAssertEqual(back, all)
    }

    func testRejectsInconsistentShapes() {
        assertImageError(
            try RasterImage(width: 2, height: 2, channels: 1, bitDepth: 8, samples: [1, 2, 3]),
            contains: "does not match")
        assertImageError(
            try RasterImage(width: 1, height: 1, channels: 2, bitDepth: 8, samples: [1, 2]), contains: "channel")
        assertImageError(
            try RasterImage(floatsCHW: [0, 0], width: 1, height: 1, channels: 1, bitDepth: 8), contains: "do not match")
    }
}
