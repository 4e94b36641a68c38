import XCTest
@testable import CXRImaging

final class BadInputTests: XCTestCase {
    /// Every file of the bad corpus yields a one-line ImageError naming the file; no crash.
    func testBadCorpus() throws {
        let expectations: [String: String] = [
            "truncated.png": "truncated PNG data",
            "bad_crc.png": "bad CRC in chunk IDAT",
            "bomb.png": "image 100000x100000 exceeds the limit of 16384 px per side",
            "zero_size.png": "zero size",
            "random.bin": "not a PNG or JPEG file",
            "empty.png": "empty file",
            "palette16.png": "invalid bit depth 16 for PNG colour type 3",
            "huge_text.png": "truncated PNG data (chunk tEXt",
            "bad_zlib.png": "corrupt PNG data",
            "short_idat.png": "PNG data",
            "no_ihdr.png": "IHDR",
            "truncated.jpg": "truncated JPEG data",
            "early_eoi.jpg": "corrupt JPEG data: premature end of data segment",
            "bad_huffman.jpg": "corrupt JPEG data: Bogus Huffman table",
            "undefined_qtable.jpg": "corrupt JPEG data: Quantization table 0x03 was not defined",
            "huge_dims.jpg": "image 20000x20000 exceeds the limit",
            "precision12.jpg": "precision 12",
            "lossless.jpg": "lossless",
            "no_scan.jpg": "no image scan",
            "soi_only.jpg": "truncated JPEG data",
            "cmyk.jpg": "CMYK",
        ]
        let files = try FileManager.default.contentsOfDirectory(atPath: Fixture.dir.appendingPathComponent("bad").path)
        XCTAssertEqual(Set(files), Set(expectations.keys), "bad corpus and expectations differ")
        for (name, fragment) in expectations.sorted(by: { $0.key < $1.key }) {
            assertImageError(try ImageIO.read(Fixture.bad(name)), contains: fragment, file: name)
        }
    }

    /// The fatal-error paths (libpng/libjpeg error callbacks ending the worker thread) can be taken
    /// many times in one process without crashing or leaking threads; a good file still decodes.
    func testRepeatedFatalErrorsAreContained() throws {
        for _ in 0..<50 {
            assertImageError(try ImageIO.read(Fixture.bad("bad_zlib.png")), contains: "corrupt PNG data")
            assertImageError(try ImageIO.read(Fixture.bad("bad_huffman.jpg")), contains: "Bogus Huffman")
        }
        XCTAssertEqual(try ImageIO.read(Fixture.url("grey8.png")).width, 32)
    }

    func testMissingFileAndDirectory() throws {
        assertImageError(
            try ImageIO.read(URL(fileURLWithPath: "/nonexistent/in.png")), contains: "cannot open file", file: "in.png")
        assertImageError(try ImageIO.read(Fixture.dir), contains: "is a directory")
    }

    func testCustomLimits() throws {
        let tight = ImageLimits(maxSide: 16, maxPixels: 100, maxFileBytes: 1 << 20)
        assertImageError(
            try ImageIO.read(Fixture.url("grey8.png"), limits: tight), contains: "exceeds the limit of 16 px per side")
        let fewPixels = ImageLimits(maxSide: 100, maxPixels: 100, maxFileBytes: 1 << 20)
        assertImageError(
            try ImageIO.read(Fixture.url("grey.jpg"), limits: fewPixels), contains: "exceeds the limit of 100 pixels")
        let small = ImageLimits(maxSide: 100, maxPixels: 10000, maxFileBytes: 100)
        assertImageError(
            try ImageIO.read(Fixture.url("grey8.png"), limits: small), contains: "exceeds the limit of 100 bytes")
    }

    /// Random single-byte corruptions of valid files must never crash: either an error or an image.
    func testMutationFuzzNeverCrashes() throws {
        var rng = SplitMix(seed: 42)
        for name in [
            "grey8.png", "rgb8_interlaced.png", "palette4.png", "rgb_baseline.jpg", "rgb_progressive.jpg", "grey.jpg",
        ] {
            let original = try Data(contentsOf: Fixture.url(name))
            for _ in 0..<60 {
                var d = original
                let flips = 1 + Int(rng.next() % 4)
                for _ in 0..<flips {
                    let pos = Int(rng.next() % UInt64(d.count))
                    d[pos] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 4 == 0 { d = d.prefix(Int(rng.next() % UInt64(d.count))) }
                do {
                    let img = try ImageIO.decode(d, name: name)
                    XCTAssertEqual(img.samples.count, img.width * img.height * img.channels)
                } catch let e as ImageError {
                    XCTAssertTrue(e.description.hasPrefix(name + ": "))
                }
            }
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
