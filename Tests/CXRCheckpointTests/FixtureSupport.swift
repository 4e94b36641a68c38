import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

/// Locates Tests/Fixtures/checkpoint relative to this file.
enum Fixtures {
    static let dir: URL = {
        var u = URL(fileURLWithPath: #filePath)
        while u.lastPathComponent != "Tests" && u.path != "/" { u.deleteLastPathComponent() }
        return u.appendingPathComponent("Fixtures").appendingPathComponent("checkpoint")
    }()

    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }

    struct Expected {
        let shape: [Int]
        let f32: [Float]
        let f16: [Float]
        let bf16: [Float]
    }

    /// Reference values written by Tools/make_checkpoint_fixtures.py (torch's own roundings for F16/BF16).
    static func expected() throws -> [String: Expected] {
        let data = try Data(contentsOf: url("expected.json"))
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        var out = [String: Expected]()
        for (k, v) in obj {
            func floats(_ key: String) throws -> [Float] {
                try XCTUnwrap(v[key] as? [NSNumber]).map { Float($0.doubleValue) }
            }
            out[k] = Expected(
                shape: try XCTUnwrap(v["shape"] as? [Int]), f32: try floats("f32"),
                f16: try floats("f16"), bf16: try floats("bf16"))
        }
        return out
    }
}

/// Bitwise equality (distinguishes -0.0 from 0.0, which matters for exact dtype conversion checks).
func assertBitwiseEqual(_ a: [Float], _ b: [Float], _ what: String, file: StaticString = #filePath, line: UInt = #line)
{
    XCTAssertEqual(a.count, b.count, "\(what): count", file: file, line: line)
    for i in 0..<min(a.count, b.count) where a[i].bitPattern != b[i].bitPattern {
        XCTFail("\(what)[\(i)]: \(a[i]) != \(b[i])", file: file, line: line)
        return
    }
}

/// Runs `body`, requires a `CheckpointError` whose description is one line and names `fileName`.
@discardableResult
func assertCheckpointError(
    _ fileName: String, kind: CheckpointError.Kind? = nil, contains: String? = nil,
    file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> Void
) -> CheckpointError? {
    do {
        try body()
        XCTFail("\(fileName): expected a CheckpointError, got success", file: file, line: line)
        return nil
    } catch let e as CheckpointError {
        let d = e.description
        XCTAssertFalse(d.contains("\n") || d.contains("\r"), "multi-line description: \(d)", file: file, line: line)
        XCTAssertTrue(d.contains(fileName), "description does not name \(fileName): \(d)", file: file, line: line)
        if let kind { XCTAssertEqual(e.kind, kind, "kind for \(fileName): \(d)", file: file, line: line) }
        if let contains {
            XCTAssertTrue(d.contains(contains), "description lacks '\(contains)': \(d)", file: file, line: line)
        }
        return e
    } catch {
        XCTFail("\(fileName): expected a CheckpointError, got \(type(of: error)): \(error)", file: file, line: line)
        return nil
    }
}
