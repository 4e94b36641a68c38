import CXRCheckpoint
import CXRFiles
import Foundation
import XCTest

/// `JSONConfig` paths through arrays and odd keys, `invalid` for checks the getters cannot express, and the
/// writer's Python-compatible quoting and key order.
final class JSONConfigPathTests: XCTestCase {
    func config(_ s: String) throws -> JSONConfig {
        try JSONValue(data: Data(s.utf8), source: "t.json").config(file: "t.json")
    }

    func testArrayElementsAndOddKeysKeepTheirPath() throws {
        let cfg = try config(#"{"model": {"merges": [["a", "b"], 3], "vocab": {"a.b": "x", "c</w>": 1}}, "n": null}"#)
        let merges = try cfg.config("model").array("merges")
        XCTAssertEqual(merges.count, 2)
        XCTAssertEqual(merges[0].value.stringArray, ["a", "b"])
        XCTAssertEqual(merges[1].path, "model.merges[1]")
        assertCheckpointError("t.json", kind: .malformed, contains: "t.json: model.merges[1]: expected a pair") {
            throw merges[1].invalid("expected a pair")
        }
        assertCheckpointError("t.json", kind: .malformed, contains: "'model.merges[1]' is not an object") {
            _ = try merges[1].int("id")
        }
        let vocab = try cfg.config("model").config("vocab")
        assertCheckpointError("t.json", kind: .malformed, contains: #"key 'model.vocab["a.b"]' should be an integer"#) {
            _ = try vocab.int("a.b")
        }
        assertCheckpointError("t.json", kind: .malformed, contains: #"t.json: model.vocab["c</w>"]: too small"#) {
            throw vocab.invalid("too small", key: "c</w>")
        }
        assertCheckpointError("t.json", kind: .malformed, contains: "t.json: whole file wrong") {
            throw cfg.invalid("whole file wrong")
        }
        XCTAssertNil(try cfg.optArray("n"))
        XCTAssertNil(try cfg.optArray("absent"))
        XCTAssertNil(try cfg.optConfig("n"))
        XCTAssertEqual(try cfg.optConfig("model")?.path, "model")
        assertCheckpointError("t.json", kind: .malformed, contains: "key 'model' should be an array, found object") {
            _ = try cfg.optArray("model")
        }
        assertCheckpointError(
            "t.json", kind: .malformed, contains: "key 'model.merges' should be an object, found array"
        ) {
            _ = try cfg.config("model").optConfig("merges")
        }
        assertCheckpointError("t.json", kind: .missing, contains: "key 'absent' is missing") {
            _ = try cfg.array("absent")
        }
    }

    func testQuotingAndKeyOrderFollowPython() throws {
        // json.dumps("q\"\\\n\t\b\f\u0001é😀", ensure_ascii=False)
        XCTAssertEqual(JSONValue.quoted("q\"\\\n\t\u{8}\u{C}\u{1}é😀"), #""q\"\\\n\t\b\f\u0001é😀""#)
        // json.dumps("é😀\n\x7f", ensure_ascii=True): UTF-16 units, lower-case hex, short escapes kept.
        XCTAssertEqual(JSONValue.quoted("é😀\n\u{7F}", asciiOnly: true), #""\u00e9\ud83d\ude00\n\u007f""#)
        // Python sorts by code point: "e" + U+0301 (not NFC) before "f", though Swift's `<` puts it after.
        let value = JSONValue.object(["f": .number(2), "e\u{301}": .number(1)])
        XCTAssertEqual(value.serialized(pretty: false), "{\"e\u{301}\":1,\"f\":2}")
    }
}
