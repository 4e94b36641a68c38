import Foundation
import XCTest
@testable import CXRImaging

/// Hostile DICOM files (Tests/Fixtures/dicom/bad, with the substrings their one-line errors must contain in
/// manifest.json): refused with an ImageError naming the file, never a crash.
final class DICOMBadInputTests: XCTestCase {
    static let dir = DICOMReadTests.dir.appendingPathComponent("bad")

    func assertRefused(
        _ url: URL, limits: ImageLimits = .default, matching: [String], file: StaticString = #filePath,
        line: UInt = #line
    ) {
        do {
            _ = try ImageIO.read(url, limits: limits)
            XCTFail("\(url.lastPathComponent) was accepted", file: file, line: line)
        } catch let e as ImageError {
            XCTAssertEqual(e.file, url.lastPathComponent, file: file, line: line)
            XCTAssertFalse(e.description.contains("\n"), file: file, line: line)
            for m in matching {
                XCTAssertTrue(
                    e.reason.contains(m), "\(url.lastPathComponent): \"\(e.reason)\" lacks \"\(m)\"",
                    file: file, line: line)
            }
        } catch {
            XCTFail("\(url.lastPathComponent): not an ImageError: \(error)", file: file, line: line)
        }
    }

    func testCorpusIsRefused() throws {
        let data = try Data(contentsOf: Self.dir.appendingPathComponent("manifest.json"))
        let manifest = try JSONDecoder().decode([String: [String]].self, from: data)
        XCTAssertGreaterThanOrEqual(manifest.count, 15)
        for (name, matching) in manifest.sorted(by: { $0.key < $1.key }) {
            assertRefused(Self.dir.appendingPathComponent(name), matching: matching)
        }
    }

    func testDeflateBombIsRefusedBeforeInflatingPastTheLimit() throws {
        let url = DICOMReadTests.url("deflate_4mib.dcm")
        assertRefused(url, limits: ImageLimits(maxFileBytes: 1 << 20), matching: ["inflates to more than"])
        XCTAssertNoThrow(try ImageIO.read(url), "within the default limit the same file reads")
    }

    func testDeepUncompressedNestingIsRefused() throws {
        // 20000 nested sequences in explicit VR little endian, made here (the file would be 700 KB).
        let good = try Data(contentsOf: DICOMReadTests.url("cr12_explicit.dcm"))
        func tag(_ g: UInt16, _ e: UInt16) -> [UInt8] {
            [UInt8(g & 0xFF), UInt8(g >> 8), UInt8(e & 0xFF), UInt8(e >> 8)]
        }
        let undefined: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF], zero: [UInt8] = [0, 0, 0, 0]
        let open = tag(0x0040, 0xA730) + Array("SQ".utf8) + [0, 0] + undefined + tag(0xFFFE, 0xE000) + undefined
        let close = tag(0xFFFE, 0xE00D) + zero + tag(0xFFFE, 0xE0DD) + zero
        let depth = 20000
        var bytes = [UInt8](good)
        bytes += Array(repeating: open, count: depth).flatMap { $0 }
        bytes += Array(repeating: close, count: depth).flatMap { $0 }
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("deep.dcm")
        try Data(bytes).write(to: url)
        assertRefused(url, matching: ["nested deeper than"])
    }

    func testEveryTruncationIsRefusedOrDecodes() throws {
        let good = try Data(contentsOf: DICOMReadTests.url("cr12_jpeg_lossless.dcm"))
        for cut in stride(from: 0, to: good.count, by: 97) {
            do {
                _ = try ImageIO.decode(good.prefix(cut), name: "cut.dcm")
            } catch let e as ImageError {
                XCTAssertFalse(e.description.contains("\n"))
            }
        }
    }
}
