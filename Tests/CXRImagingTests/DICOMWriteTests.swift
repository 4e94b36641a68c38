import Foundation
import XCTest
@testable import CXRImaging

/// DICOM writing: derived images keep the source's encoding (unedited stored values bit for bit), say what they
/// are (derived-image attributes, provenance in Image Comments and a private block) and parse with DCMTK.
final class DICOMWriteTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try Fixture.tempDir() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    let text: [(key: String, value: String)] = [
        ("Software", "cxr-edit test"), ("Source", Provenance.syntheticNotice), ("cxr-edit:mode", "edit"),
        ("cxr-edit:model", "/models/roentgen"), ("cxr-edit:prompt", "Large right pleural effusion."),
        ("cxr-edit:seed", "42"), ("cxr-edit:strength", "0.5"), ("cxr-edit:mask-sha256", "ab12"),
        ("cxr-edit:x:note", "ünïcode \"quoted\" \\ back\nslash"),
    ]

    func source(_ name: String) -> URL { DICOMReadTests.url(name) }

    /// The last `count` bytes of a file: the native pixel data of the fixtures and of every file we write.
    func tail(_ url: URL, _ count: Int) throws -> Data { try Data(contentsOf: url).suffix(count) }

    func write(_ image: RasterImage, from name: String?, to out: String = "out.dcm") throws -> URL {
        let url = dir.appendingPathComponent(out)
        try ImageIO.write(image, to: url, text: text, source: name.map(source))
        return url
    }

    func testUneditedRoundTripKeepsStoredPixelsBitForBit() throws {
        for name in [
            "cr12_explicit.dcm", "cr12_implicit.dcm", "cr12_deflate.dcm", "cr12_bigendian.dcm",
            "cr12_jpeg_lossless.dcm", "cr12_jpegls.dcm", "cr12_rle.dcm", "dx12_mono1.dcm", "dx12_signed.dcm",
            "dx14_voilut.dcm", "sc8.dcm",
        ] {
            let image = try ImageIO.read(source(name))
            let out = try write(image, from: name, to: name)
            XCTAssertEqual(try ImageIO.read(out), image, "\(name): displays the same")
            let bytes = image.width * image.height * (image.bitDepth == 16 ? 2 : 1)
            let reference = name.hasPrefix("cr12") ? "cr12_explicit.dcm" : name
            XCTAssertEqual(try tail(out, bytes), try tail(source(reference), bytes), "\(name): stored values")
        }
    }

    func testEditedPixelsGetTheClosestStoredValueAndTheRestStays() throws {
        for name in ["cr12_explicit.dcm", "dx12_mono1.dcm", "dx12_signed.dcm", "dx14_voilut.dcm", "sc8.dcm"] {
            let image = try ImageIO.read(source(name))
            var edited = image
            let target = UInt16(image.maxValue * 2 / 5)
            for y in 10..<20 { for x in 10..<30 { edited.samples[y * image.width + x] = target } }
            let back = try ImageIO.read(try write(edited, from: name, to: name))
            for y in 0..<image.height {
                for x in 0..<image.width {
                    let i = y * image.width + x
                    if (10..<20).contains(y) && (10..<30).contains(x) {
                        XCTAssertLessThanOrEqual(
                            abs(Int(back.samples[i]) - Int(target)), image.maxValue / 200,
                            "\(name) edited (\(x), \(y))")
                    } else {
                        XCTAssertEqual(back.samples[i], image.samples[i], "\(name) unedited (\(x), \(y))")
                    }
                }
            }
        }
    }

    func testMonochrome1IsWrittenBackAsMonochrome1() throws {
        let out = try write(try ImageIO.read(source("dx12_mono1.dcm")), from: "dx12_mono1.dcm")
        let data = try Data(contentsOf: out)
        XCTAssertNotNil(data.range(of: Data("MONOCHROME1".utf8)))
        XCTAssertNil(data.range(of: Data("MONOCHROME2".utf8)))
    }

    func testProvenanceRoundTrips() throws {
        let out = try write(try ImageIO.read(source("cr12_explicit.dcm")), from: "cr12_explicit.dcm")
        let back = try ImageIO.readText(out)
        XCTAssertEqual(back.map(\.key), text.map(\.key))
        XCTAssertEqual(back.map(\.value), text.map(\.value))
        let provenance = try XCTUnwrap(Provenance.read(from: out))
        XCTAssertEqual(provenance.prompt, "Large right pleural effusion.")
        XCTAssertEqual(provenance.seed, 42)
        XCTAssertEqual(provenance.source, Provenance.syntheticNotice)
        XCTAssertNil(try Provenance.read(from: source("cr12_explicit.dcm")), "a plain DICOM file has none")
    }

    func testNewSecondaryCaptureWithoutSource() throws {
        for bits in [8, 16] {
            let image = try ImageIO.read(source("cr12_explicit.dcm"))
            let converted = bits == 8 ? image.to8Bit() : image
            let out = try write(converted, from: nil, to: "gen\(bits).dcm")
            XCTAssertEqual(try ImageIO.read(out).samples, converted.samples, "\(bits) bit")
            XCTAssertEqual(try ImageIO.readText(out).first?.value, "cxr-edit test")
        }
    }

    func testAPNGSourceGivesANewSecondaryCapture() throws {
        let png = source("cr12_dcm2pnm.png")
        let image = try ImageIO.read(png)
        let url = dir.appendingPathComponent("from-png.dcm")
        try ImageIO.write(image, to: url, text: text, source: png)
        XCTAssertEqual(try ImageIO.read(url), image)
    }

    func testAnonymizeRemovesIdentityAndLinksButKeepsPixelsAndProvenance() throws {
        let name = "cr12_explicit.dcm"
        let image = try ImageIO.read(source(name))
        let url = dir.appendingPathComponent("anon.dcm")
        try ImageIO.write(image, to: url, text: text, source: source(name), anonymize: true)
        let data = try Data(contentsOf: url)
        for identifying in [
            "Test^Patient", "CXR-0001", "20240102", "1.2.826.0.1.3680043.9.7433.2.1",
            "1.2.826.0.1.3680043.9.7433.4.1",
        ] {
            XCTAssertNil(data.range(of: Data(identifying.utf8)), "\(identifying) survived anonymization")
        }
        XCTAssertNotNil(data.range(of: Data("PS3.15".utf8)), "De-identification Method")
        XCTAssertEqual(try ImageIO.read(url), image)
        let bytes = image.pixelCount * 2
        XCTAssertEqual(try tail(url, bytes), try tail(source(name), bytes))
        XCTAssertEqual(try ImageIO.readText(url).map(\.value), text.map(\.value))
        if let dump = try tool("dcmdump", [url.path]) {
            XCTAssertTrue(dump.output.contains("(0012,0062) CS [YES]"), dump.output)
            XCTAssertTrue(dump.output.contains("(0010,0010) PN (no value available)"), "Patient's Name kept, emptied")
        }
    }

    func testRefusalsLeaveNoFile() throws {
        let image = try ImageIO.read(source("cr12_explicit.dcm"))
        let small = try RasterImage(
            width: 8, height: 8, channels: 1, bitDepth: 16,
            samples: Array(repeating: 0, count: 64))
        XCTAssertThrowsError(try write(small, from: "cr12_explicit.dcm")) { error in
            XCTAssertTrue("\(error)".contains("keeps the source's size"), "\(error)")
        }
        XCTAssertThrowsError(try write(image, from: "bad/rgb.dcm")) { error in
            XCTAssertTrue("\(error)".contains("only greyscale"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
        let out = try write(image, from: "cr12_explicit.dcm")
        let before = try Data(contentsOf: out)
        XCTAssertThrowsError(try write(image, from: "cr12_explicit.dcm")) { error in
            XCTAssertTrue("\(error)".contains("exists"), "\(error)")
        }
        XCTAssertEqual(try Data(contentsOf: out), before)
    }

    /// dcmdump (DCMTK) parses the file and shows the derived-image attributes; dciodvfy (dicom3tools) finds no
    /// error in it. Each is skipped when the tool is not installed.
    func testDCMTKAndDciodvfyAcceptTheOutput() throws {
        let out = try write(try ImageIO.read(source("cr12_jpeg_lossless.dcm")), from: "cr12_jpeg_lossless.dcm")
        guard let dump = try tool("dcmdump", [out.path]) else { throw XCTSkip("dcmdump not installed") }
        XCTAssertEqual(dump.status, 0, dump.output)
        for expected in [
            "DERIVED\\SECONDARY", "(0008,2112)", "(0008,2111)", "(0020,4000)", "SYNTHETIC", "Test^Patient",
            "CXR-0001", "1.2.826.0.1.3680043.9.7433.4.1", "CXR-EDIT PROVENANCE", "BurnedInAnnotation",
            "LittleEndianExplicit",
        ] {
            XCTAssertTrue(dump.output.contains(expected), "dcmdump lacks \(expected)")
        }
        XCTAssertFalse(
            dump.output.contains("(0008,0018) UI [1.2.826.0.1.3680043.9.7433.4.1]"),
            "a new SOP Instance UID")
        // The fixture lacks some Type 2 attributes of its own; the output must add no error to the source's, and
        // a new Secondary Capture must have none.
        guard let sourceCheck = try tool("dciodvfy", [source("cr12_jpeg_lossless.dcm").path]),
            let check = try tool("dciodvfy", [out.path])
        else { return }
        let errors = { (s: String) in Set(s.split(separator: "\n").filter { $0.hasPrefix("Error") }.map(String.init)) }
        XCTAssertEqual(errors(check.output).subtracting(errors(sourceCheck.output)), [], check.output)
        let generated = try write(try ImageIO.read(out), from: nil, to: "generated.dcm")
        let generatedCheck = try XCTUnwrap(try tool("dciodvfy", [generated.path]))
        XCTAssertEqual(errors(generatedCheck.output), [], generatedCheck.output)
    }

    func tool(_ name: String, _ args: [String]) throws -> (status: Int32, output: String)? {
        guard
            let path = ["/usr/bin/", "/usr/local/bin/"].map({ $0 + name })
                .first(where: FileManager.default.isExecutableFile)
        else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
