import Foundation
import CXRFiles
import XCTest
@testable import CXRCheckpoint

final class JSONValueTests: XCTestCase {
    func parse(_ s: String) throws -> JSONValue { try JSONValue(data: Data(s.utf8), source: "t.json") }

    func testParsesAllTypes() throws {
        let v = try parse(
            #" {"a": [1, -2.5e-1, true, false, null, "x\"y\u00e9\ud83d\ude00"], "b": {"c": 0.1}, "n": NaN} "#)
        XCTAssertEqual(v["a"]?[0]?.int, 1)
        XCTAssertEqual(v["a"]?[1]?.double, -0.25)
        XCTAssertNil(v["a"]?[1]?.int)
        XCTAssertEqual(v["a"]?[2]?.bool, true)
        XCTAssertEqual(v["a"]?[3]?.bool, false)
        XCTAssertEqual(v["a"]?[4]?.isNull, true)
        XCTAssertEqual(v["a"]?[5]?.string, "x\"yé😀")
        XCTAssertNil(v["a"]?[6])
        XCTAssertEqual(v["b"]?["c"]?.double, 0.1)
        XCTAssertEqual(v["n"]?.double?.isNaN, true)
        XCTAssertNil(v["zz"])
        XCTAssertEqual(try parse("[1,2,3]").intArray, [1, 2, 3])
        XCTAssertEqual(try parse(#"["a","b"]"#).stringArray, ["a", "b"])
        XCTAssertNil(try parse(#"[1,"b"]"#).intArray)
        XCTAssertEqual(try parse(#"{"k": 1, "k": 2}"#)["k"]?.int, 2)  // last wins, as Python's json
    }

    func testRejectsInvalid() {
        for bad in [
            "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"\\x\"", "\"\u{01}\"", "tru", "[1] x",
            #""\ud800""#, #""\udc00x""#, "{1: 2}", "1e", "+1",
        ] {
            assertCheckpointError("t.json", kind: .malformed) { _ = try parse(bad) }
        }
        assertCheckpointError("t.json", kind: .malformed, contains: "UTF-8") {
            _ = try JSONValue(data: Data([0x22, 0xFF, 0x22]), source: "t.json")
        }
    }

    func testLimits() throws {
        XCTAssertNoThrow(try parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
        assertCheckpointError("t.json", kind: .limit, contains: "deeper than 64") {
            _ = try parse(String(repeating: "[", count: 65) + String(repeating: "]", count: 65))
        }
        assertCheckpointError("t.json", kind: .limit, contains: "deeper than 64") {
            _ = try parse(String(repeating: "{\"a\":", count: 100000))
        }
        let big = Data(count: JSONValue.maxBytes + 1)
        assertCheckpointError("t.json", kind: .limit, contains: "limit") {
            _ = try JSONValue(data: big, source: "t.json")
        }
    }

    func testSerializationRoundTripsWithSortedKeys() throws {
        let v = try parse(#"{"z": 1, "a": [1.5, "q\n\u0001", null, true], "m": {"y": -0.0, "b": 1e-05, "big": 1e300}}"#)
        let compact = v.serialized(pretty: false)
        XCTAssertEqual(compact, #"{"a":[1.5,"q\n\u0001",null,true],"m":{"b":1e-05,"big":1e+300,"y":-0.0},"z":1}"#)
        XCTAssertEqual(try parse(compact), v)
        let pretty = v.serialized()
        XCTAssertTrue(pretty.contains("\n  \"a\": [\n    1.5,"))
        XCTAssertEqual(try parse(pretty), v)
    }

    func testTypedGettersNameFileAndKey() throws {
        let cfg = try parse(
            #"{"i": 3, "f": 0.5, "s": "x", "b": true, "ia": [1, 2], "sa": ["p"], "n": null, "o": {"k": "v"}, "h": 8}"#
        )
        .config(file: "unet/config.json")
        XCTAssertEqual(try cfg.int("i"), 3)
        XCTAssertEqual(try cfg.double("f"), 0.5)
        XCTAssertEqual(try cfg.double("i"), 3)
        XCTAssertEqual(try cfg.string("s"), "x")
        XCTAssertEqual(try cfg.bool("b"), true)
        XCTAssertEqual(try cfg.intArray("ia"), [1, 2])
        XCTAssertEqual(try cfg.stringArray("sa"), ["p"])
        XCTAssertEqual(try cfg.optInt("missing", default: 7), 7)
        XCTAssertEqual(try cfg.optInt("n", default: 7), 7)
        XCTAssertNil(try cfg.optString("n"))
        XCTAssertEqual(try cfg.optDouble("f", default: 1), 0.5)
        XCTAssertEqual(try cfg.optBool("missing", default: false), false)
        XCTAssertEqual(try cfg.intOrIntArray("h", count: 3), [8, 8, 8])
        XCTAssertEqual(try cfg.intOrIntArray("ia", count: 3), [1, 2])
        XCTAssertEqual(try cfg.config("o").string("k"), "v")
        XCTAssertTrue(cfg.has("i"))
        XCTAssertFalse(cfg.has("n"))

        assertCheckpointError("unet/config.json", kind: .missing, contains: "key 'nope' is missing") {
            _ = try cfg.int("nope")
        }
        assertCheckpointError("unet/config.json", kind: .malformed, contains: "'f' should be an integer, found number")
        {
            _ = try cfg.int("f")
        }
        assertCheckpointError("unet/config.json", kind: .malformed, contains: "'s' should be an integer") {
            _ = try cfg.optInt("s", default: 1)
        }
        assertCheckpointError("unet/config.json", kind: .missing, contains: "'o.zz'") {
            _ = try cfg.config("o").string("zz")
        }
        assertCheckpointError("unet/config.json", kind: .malformed, contains: "array of integers") {
            _ = try cfg.intArray("sa")
        }
    }
}
