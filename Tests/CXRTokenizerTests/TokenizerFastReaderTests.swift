import CXRFiles
import Foundation
import XCTest

@testable import CXRTokenizer

/// The byte-level readers of vocab.json and merges.txt (`FlatVocabularyJSON`, `ByteLevelMergesText`) give exactly
/// what the general readers give, and leave every file outside their simple form to them.
final class TokenizerFastReaderTests: XCTestCase {
    static let bundledTokenizer = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Models/cxr-mini/tokenizer")

    /// The general reader's vocabulary of `data`.
    static func generalVocabulary(_ data: Data) throws -> [String: Int] {
        try TokenizerFiles.readJSONObject(data, of: URL(fileURLWithPath: "/v.json"), TokenizerFiles.vocabulary)
    }

    /// What `read` returns, or its error's message, as one comparable string.
    static func outcome(_ read: () throws -> [String: Int]) -> String {
        do {
            return "\(try read().sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
        } catch {
            return "error: \(error)"
        }
    }

    func testVocabularyFilesReadTheSameBothWays() throws {
        for dir in [Self.bundledTokenizer, TokenizerFixtures.directory.appendingPathComponent("small")] {
            let data = try Data(contentsOf: dir.appendingPathComponent("vocab.json"))
            let fast = try XCTUnwrap(FlatVocabularyJSON.parse(data), "\(dir.path) is in the simple form")
            XCTAssertEqual(fast, try Self.generalVocabulary(data))
        }
    }

    func testSimpleFormsAndWhatFallsBack() throws {
        let simple = [
            #"{"a": 1, "b": 0}"#, "\n{ \"a\" :\t1 ,\r\n\"b\":2147483647 }\n", #"{"\"": 1, "\\": 2, "\/": 3}"#,
            #"{"a": 1, "a": 2, "b": 1}"#, "{\"\u{E9}\": 1, \"e\u{301}\": 2}", "{\"\u{120}\u{107}</w>\": 5}",
        ]
        for text in simple {
            let data = Data(text.utf8)
            XCTAssertEqual(FlatVocabularyJSON.parse(data), try Self.generalVocabulary(data), text)
        }
        let fallBack = [
            #"{"a": 1.0}"#, #"{"a": 1e2}"#, #"{"a": 01}"#, #"{"a": -1}"#, #"{"a": 2147483648}"#,
            #"{"a": 99999999999999999999}"#, #"{"\u0041": 1}"#, #"{"a\n": 1}"#, #"{"a": "1"}"#, "{}", #"{"a": 1,}"#,
            #"{"a": 1} x"#, #"["a"]"#, #"{"a": 1"#, "", #"{"a" 1}"#, #"{"a": 1 "b": 2}"#,
        ]
        for text in fallBack {
            XCTAssertNil(FlatVocabularyJSON.parse(Data(text.utf8)), text)
        }
        XCTAssertNil(FlatVocabularyJSON.parse(Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])), "invalid UTF-8")
        // Through readVocab, a file that falls back reads as before: its value, or the general reader's error.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vocab-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("vocab.json")
        for text in simple + fallBack {
            try Data(text.utf8).write(to: file)
            let general = Self.outcome {
                try TokenizerFiles.readJSONObject(TokenizerFiles.readData(file), of: file, TokenizerFiles.vocabulary)
            }
            XCTAssertEqual(Self.outcome { try TokenizerFiles.readVocab(file) }, general, text)
        }
    }

    func testMergeFilesReadTheSameBothWays() throws {
        for dir in [Self.bundledTokenizer, TokenizerFixtures.directory.appendingPathComponent("small")] {
            let text = try TokenizerFiles.readText(dir.appendingPathComponent("merges.txt"))
            let fast = try XCTUnwrap(ByteLevelMergesText.parse(text), "\(dir.path) holds byte-level characters only")
            let general = try TokenizerFiles.parseMergeLines(text, path: "m")
            XCTAssertEqual(fast.map { [$0.0, $0.1] }, general.map { [$0.0, $0.1] })
        }
        let simple = [
            "", "\n", "#version: 0.2\na b\n", "a b", "\n\na b\n\n#versionx\nÄ ġ</w>\n", "#version\n~ !\nœ Ŀ",
        ]
        for text in simple {
            let fast = try XCTUnwrap(ByteLevelMergesText.parse(text), text)
            XCTAssertEqual(
                fast.map { [$0.0, $0.1] }, try TokenizerFiles.parseMergeLines(text, path: "m").map { [$0.0, $0.1] },
                text)
        }
        // Characters that join others into one grapheme (CR LF, combining marks), characters outside the byte-level
        // alphabet, tabs and malformed lines are left to the general reader, which keeps its rules and messages.
        let fallBack = [
            "a b\r\n", "a \u{301}b\n", "a\u{301} b\n", "#version\u{301}\na b", "a\tb\n", "a b c\n", " a b\n", "ab\n",
            "a \n", "a\u{AD} b", "a\u{A0} b", "猫 b",
        ]
        for text in fallBack {
            XCTAssertNil(ByteLevelMergesText.parse(text), text.debugDescription)
        }
    }
}
