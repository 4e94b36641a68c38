import Foundation
import XCTest
@testable import CXRTokenizer

/// Every JSON file of a tokenizer folder is read through CXRFiles' typed reader: a bad value is reported with the
/// file and the key path that holds it, so the user can open the file at the right place.
final class TokenizerFileErrorTests: XCTestCase {
    func testTokenizerJSONErrorsNameTheKeyPath() throws {
        let dir = try makeTemporaryDirectory("key-paths-json")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(
            bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 50,
            layout: .tokenizerJSON)
        let url = dir.appendingPathComponent("tokenizer.json")
        let good = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        func expect(
            _ message: String, _ change: (inout [String: Any], inout [String: Any]) -> Void,
            line: UInt = #line
        ) throws {
            var root = good
            var model = try XCTUnwrap(root["model"] as? [String: Any])
            change(&root, &model)
            root["model"] = model
            try JSONSerialization.data(withJSONObject: root).write(to: url)
            expectTokenizerError(url.path + ": " + message, line: line) { _ = try CLIPTokenizer(directory: dir) }
        }

        try expect("model.merges[12]: merge 12 should be a pair of strings or 'a b', found number") { _, model in
            var merges = model["merges"] as! [Any]
            merges[12] = 7
            model["merges"] = merges
        }
        try expect("model.merges[3]: merge 3 should be a pair of non-empty strings") { _, model in
            var merges = model["merges"] as! [Any]
            merges[3] = ["i", ""]
            model["merges"] = merges
        }
        try expect(#"model.vocab["a</w>"]: token id should be an integer in 0..<2^31, found -1"#) { _, model in
            var vocab = model["vocab"] as! [String: Any]
            vocab["a</w>"] = -1
            model["vocab"] = vocab
        }
        try expect("model.vocab.zz: token id should be an integer in 0..<2^31, found string") { _, model in
            var vocab = model["vocab"] as! [String: Any]
            vocab["zz"] = "3"
            model["vocab"] = vocab
        }
        try expect("key 'model.merges' should be an array, found object") { _, model in model["merges"] = [:] }
        try expect("key 'added_tokens[1].content' is missing") { root, _ in
            root["added_tokens"] = [["id": 49406, "content": "<|startoftext|>"], ["id": 49407]]
        }
        try expect("added_tokens[0].id: token id -4 is negative") { root, _ in
            root["added_tokens"] = [["id": -4, "content": "x"]]
        }
        try expect("key 'model.end_of_word_suffix' should be a string, found number") { _, model in
            model["end_of_word_suffix"] = 1
        }
    }

    func testConfigAndVocabErrorsNameTheKeyPath() throws {
        let dir = try makeTemporaryDirectory("key-paths-pair")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 50)
        XCTAssertNoThrow(try CLIPTokenizer(directory: dir))

        let vocab = dir.appendingPathComponent("vocab.json")
        let goodVocab = try Data(contentsOf: vocab)
        try Data(#"{"a": 1.5}"#.utf8).write(to: vocab)
        expectTokenizerError(vocab.path + ": a: token id should be an integer in 0..<2^31, found 1.5") {
            _ = try CLIPTokenizer(directory: dir)
        }
        try Data("[1]".utf8).write(to: vocab)
        expectTokenizerError(vocab.path + ": expected a JSON object, found array") {
            _ = try CLIPTokenizer(directory: dir)
        }
        try Data("{}".utf8).write(to: vocab)
        expectTokenizerError(vocab.path + ": empty vocabulary") { _ = try CLIPTokenizer(directory: dir) }
        try goodVocab.write(to: vocab)

        let config = dir.appendingPathComponent("tokenizer_config.json")
        let goodConfig = try Data(contentsOf: config)
        try Data(#"{"added_tokens_decoder": {"49407": {"special": true}}}"#.utf8).write(to: config)
        expectTokenizerError(config.path + ": key 'added_tokens_decoder.49407.content' is missing") {
            _ = try CLIPTokenizer(directory: dir)
        }
        try Data(#"{"added_tokens_decoder": {"x": {"content": "a"}}}"#.utf8).write(to: config)
        expectTokenizerError(config.path + ": added_tokens_decoder.x: key should be a token id") {
            _ = try CLIPTokenizer(directory: dir)
        }
        try Data(#"{"bos_token": {"content": "<|startoftext|>", "normalized": "no"}}"#.utf8).write(to: config)
        expectTokenizerError(config.path + ": key 'bos_token.normalized' should be true or false, found string") {
            _ = try CLIPTokenizer(directory: dir)
        }
        try goodConfig.write(to: config)

        let map = dir.appendingPathComponent("special_tokens_map.json")
        try Data(#"{"pad_token": 0}"#.utf8).write(to: map)
        expectTokenizerError(map.path + #": pad_token: should be a string or an object with "content", found number"#) {
            _ = try CLIPTokenizer(directory: dir)
        }
    }

    /// The whole one-line description, so that the file, the key path and the reason are all checked.
    func expectTokenizerError(_ description: String, line: UInt = #line, _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected the error \(description)", line: line)
        } catch let error as TokenizerError {
            XCTAssertEqual(error.description, description, line: line)
        } catch {
            XCTFail("unexpected error type \(error)", line: line)
        }
    }
}
