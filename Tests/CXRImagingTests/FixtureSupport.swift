import Foundation
import XCTest
@testable import CXRImaging

/// Locates Tests/Fixtures/imaging relative to this file and makes scratch directories.
enum Fixture {
    static let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/imaging")

    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }
    static func bad(_ name: String) -> URL { dir.appendingPathComponent("bad").appendingPathComponent(name) }

    struct Entry: Decodable {
        let file: String
        let expected: String
        let width: Int
        let height: Int
        let channels: Int
        let bitDepth: Int
        let tolerance: Int
    }

    static func manifest() throws -> [Entry] {
        try JSONDecoder().decode([Entry].self, from: Data(contentsOf: url("manifest.json")))
    }

    /// Raw expected samples: uint8, or little-endian uint16 for 16-bit.
    static func expectedSamples(_ name: String, bitDepth: Int) throws -> [UInt16] {
        let d = try Data(contentsOf: url(name))
        if bitDepth == 16 {
            return stride(from: 0, to: d.count - 1, by: 2).map { UInt16(d[$0]) | UInt16(d[$0 + 1]) << 8 }
        }
        return d.map { UInt16($0) }
    }

    static func tempDir() throws -> URL {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("cxrimaging-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: u, withIntermediateDirectories: true)
        return u
    }
}

/// Asserts that `body` throws an `ImageError` whose one-line description contains `fragment`
/// (and names the file when `file` is given).
func assertImageError<T>(
    _ body: @autoclosure () throws -> T, contains fragment: String, file name: String? = nil,
    line: UInt = #line
) {
    do {
        _ = try body()
        XCTFail("expected an ImageError containing \"\(fragment)\"", line: line)
    } catch let e as ImageError {
        XCTAssertTrue(e.description.contains(fragment), "\"\(e.description)\" lacks \"\(fragment)\"", line: line)
        XCTAssertFalse(e.description.contains("\n"), line: line)
        if let name { XCTAssertTrue(e.description.hasPrefix("\(name): "), e.description, line: line) }
    } catch {
        XCTFail("unexpected error type \(error)", line: line)
    }
}
