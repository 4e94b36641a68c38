import XCTest
@testable import CXRImaging

final class WriteTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixture.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func pattern(channels: Int, bitDepth: Int, width: Int = 37, height: Int = 19) throws -> RasterImage {
        let maxV = bitDepth == 16 ? 65535 : 255
        let samples = (0..<(width * height * channels)).map { UInt16(($0 * 7919 + $0 / 3) % (maxV + 1)) }
        return try RasterImage(width: width, height: height, channels: channels, bitDepth: bitDepth, samples: samples)
    }

    func testRoundTripAllFormats() throws {
        for (c, d) in [(1, 8), (1, 16), (3, 8), (3, 16)] {
            let img = try pattern(channels: c, bitDepth: d)
            let url = dir.appendingPathComponent("rt_\(c)_\(d).png")
            try ImageIO.writePNG(img, to: url, text: [])
            XCTAssertEqual(try ImageIO.read(url), img, "channels \(c) depth \(d)")
        }
    }

    func testTextChunksRoundTrip() throws {
        let img = try pattern(channels: 1, bitDepth: 16)
        let url = dir.appendingPathComponent("text.png")
        let text: [(key: String, value: String)] = [
            ("Software", "cxr-edit 0.1"),
            ("Source", Provenance.syntheticNotice),
            ("Comment", "caf\u{E9} latin-1"),
            ("cxr-edit:prompt", "left pleural effusion\nsecond line \u{1F600}"),
            ("Empty", ""),
        ]
        try ImageIO.writePNG(img, to: url, text: text)
        let back = try ImageIO.readPNGText(url)
        XCTAssertEqual(back.map(\.key), text.map(\.key))
        XCTAssertEqual(back.map(\.value), text.map(\.value))
        // Chunk types: tEXt for Latin-1 values, iTXt for the others, all before IDAT.
        let data = try Data(contentsOf: url)
        let types: [String] = try data.withUnsafeBytes { try PNGStructure.chunks($0, file: "x").map(\.type) }
        XCTAssertEqual(Array(types.prefix(6)), ["IHDR", "tEXt", "iTXt", "tEXt", "iTXt", "tEXt"])
        XCTAssertEqual(types.last, "IEND")
        XCTAssertEqual(try ImageIO.read(url), img)
        // Manual interoperability check: CXR_KEEP_TEXT_PNG=/tmp/x.png keeps the file for Pillow.
        if let keep = ProcessInfo.processInfo.environment["CXR_KEEP_TEXT_PNG"] {
            try? FileManager.default.removeItem(atPath: keep)
            try FileManager.default.copyItem(at: url, to: URL(fileURLWithPath: keep))
        }
    }

    /// A 9 MB text chunk (above libpng's 8 MB ancillary-chunk cap, which libpng only warns about)
    /// must neither break decoding nor text reading.
    func testHugeTextChunk() throws {
        let img = try pattern(channels: 1, bitDepth: 8, width: 4, height: 4)
        let url = dir.appendingPathComponent("big.png")
        let value = String(repeating: "x", count: 9_000_000)
        try ImageIO.writePNG(img, to: url, text: [("Comment", value)])
        XCTAssertEqual(try ImageIO.read(url), img)
        XCTAssertEqual(try ImageIO.readPNGText(url).first?.value.count, 9_000_000)
    }

    func testReadsPillowWrittenText() throws {
        let text = try ImageIO.readPNGText(Fixture.url("text_pillow.png"))
        XCTAssertEqual(text.first?.key, "Software")
        XCTAssertEqual(text.first?.value, "Pillow")
        XCTAssertTrue(text.contains { $0.key == "Source" && $0.value == "synthetic \u{2014} test" })
        XCTAssertFalse(text.contains { $0.key == "Comment" }, "zTXt is documented as skipped")
    }

    func testInvalidTextIsRejected() throws {
        let img = try pattern(channels: 1, bitDepth: 8)
        assertImageError(
            try ImageIO.writePNG(img, to: dir.appendingPathComponent("k.png"), text: [(" bad", "v")]),
            contains: "invalid PNG text keyword", file: "k.png")
        assertImageError(
            try ImageIO.writePNG(img, to: dir.appendingPathComponent("k.png"), text: [("k", "a\0b")]),
            contains: "NUL")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("k.png").path))
    }

    func testAtomicWriteRefusesOverwriteAndLeavesNoTemp() throws {
        let a = try pattern(channels: 1, bitDepth: 8), b = try pattern(channels: 3, bitDepth: 8)
        let url = dir.appendingPathComponent("out.png")
        try ImageIO.writePNG(a, to: url)
        assertImageError(try ImageIO.writePNG(b, to: url), contains: "file exists", file: "out.png")
        XCTAssertEqual(try ImageIO.read(url), a, "refused write must not touch the file")
        try ImageIO.writePNG(b, to: url, overwrite: true)
        XCTAssertEqual(try ImageIO.read(url), b)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        XCTAssertEqual(leftovers, ["out.png"], "temp files left behind: \(leftovers)")
    }

    func testMissingDirectory() throws {
        let img = try pattern(channels: 1, bitDepth: 8)
        assertImageError(
            try ImageIO.writePNG(img, to: dir.appendingPathComponent("nope/out.png")),
            contains: "does not exist", file: "out.png")
    }

    func testFailedWriteRemovesTemp() throws {
        // /dev/full reports ENOSPC on write; emulate a full disk by writing into a directory where
        // the temp file cannot be created (read-only directory) when not root, else via /dev/full.
        if FileManager.default.fileExists(atPath: "/dev/full") {
            XCTAssertEqual(
                AtomicFile.failure("x.png", "write failed", ENOSPC).description,
                "x.png: write failed: no space left on device")
        }
        let ro = dir.appendingPathComponent("ro")
        try FileManager.default.createDirectory(at: ro, withIntermediateDirectories: true)
        chmod(ro.path, 0o555)
        defer { chmod(ro.path, 0o755) }
        let img = try pattern(channels: 1, bitDepth: 8)
        if getuid() != 0 {
            assertImageError(
                try ImageIO.writePNG(img, to: ro.appendingPathComponent("o.png")), contains: "permission denied")
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: ro.path).filter { $0.contains(".tmp-") }
        XCTAssertEqual(leftovers, [])
    }
}
