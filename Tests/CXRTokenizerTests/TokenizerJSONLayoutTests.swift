import Foundation
import XCTest
@testable import CXRTokenizer

/// Folders saved by transformers 5 hold tokenizer.json (+ tokenizer_config.json) instead of vocab.json and
/// merges.txt. Both layouts must give transformers' ids, and a folder with both must give the same tokenizer
/// whichever it reads.
final class TokenizerJSONLayoutTests: XCTestCase {
    /// The 294 fixture phrases (transformers gives the same ids from either layout; the fixture script asserts
    /// it) through a tokenizer.json-only folder, both pad tokens.
    func testFixtureCasesMatchTransformersInTheTokenizerJSONLayout() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        XCTAssertGreaterThanOrEqual(fixtures.cases.count, 294)
        for (pad, label) in [("<|endoftext|>", "eot"), ("!", "bang")] {
            let dir = try makeTemporaryDirectory("json-\(label)")
            defer { try? FileManager.default.removeItem(at: dir) }
            try CLIPTokenizer.writeFolder(
                bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: pad,
                layout: .tokenizerJSON)
            XCTAssertEqual(folderListing(dir), ["tokenizer.json", "tokenizer_config.json"])
            XCTAssertEqual(CLIPTokenizer.layout(of: dir), .tokenizerJSON)
            let tokenizer = try CLIPTokenizer(directory: dir)
            XCTAssertEqual(tokenizer.vocabSize, fixtures.vocab_size)
            XCTAssertEqual(tokenizer.padTokenID, fixtures.pad_ids[label])
            var mismatches = 0
            for c in fixtures.cases {
                let expected = label == "eot" ? c.eot : c.bang
                let got = tokenizer.encode(c.text)
                if got.ids != expected.ids || got.tokenCount != expected.count || got.truncated != expected.truncated
                    || got.droppedText != expected.dropped
                {
                    mismatches += 1
                    XCTFail(
                        "\(label) \(c.text.debugDescription): got \(got.ids.prefix(got.tokenCount)), "
                            + "expected \(expected.ids.prefix(expected.count))")
                }
            }
            XCTAssertEqual(mismatches, 0, label)
        }
    }

    /// The committed folder transformers' save_pretrained wrote (Tools/make_tokenizer_fixtures.py): our writer
    /// produces it byte for byte, and our reader gives transformers' ids on it.
    func testTransformersSavedFolderLoadsAndOurWriterMatchesItByteForByte() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let reference = TokenizerFixtures.directory.appendingPathComponent("small-json")
        XCTAssertEqual(folderListing(reference), ["tokenizer.json", "tokenizer_config.json"])
        let small = try CLIPTokenizer(directory: reference)
        XCTAssertEqual(small.vocabSize, fixtures.small.vocab_size)
        for c in fixtures.small.cases {
            let got = small.encode(c.text)
            XCTAssertEqual(got.ids, c.ids, c.text.debugDescription)
            XCTAssertEqual(got.tokenCount, c.count)
            XCTAssertEqual(got.droppedText, c.dropped)
        }
        let dir = try makeTemporaryDirectory("json-write")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(
            bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "<|endoftext|>",
            mergeCount: fixtures.small.merge_count, layout: .tokenizerJSON)
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            XCTAssertEqual(
                try Data(contentsOf: dir.appendingPathComponent(name)),
                try Data(contentsOf: reference.appendingPathComponent(name)), "\(name) differs")
        }
    }

    /// A folder with both layouts: the same vocabulary, specials and ids from either (full CLIP vocabulary, both
    /// pad tokens, and the committed tiny model folders, which transformers saved with both).
    func testFolderWithBothLayoutsGivesTheSameTokenizerEitherWay() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        var folders = [URL]()
        var temporary = [URL]()
        defer { for d in temporary { try? FileManager.default.removeItem(at: d) } }
        for pad in ["<|endoftext|>", "!"] {
            let dir = try makeTemporaryDirectory("both")
            temporary.append(dir)
            try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: pad)
            try CLIPTokenizer.writeFolder(
                bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: pad,
                layout: .tokenizerJSON)
            folders.append(dir)
        }
        let models = TokenizerFixtures.directory.deletingLastPathComponent().appendingPathComponent("models")
        for name in ["sd1-tiny", "sd2-tiny", "sd1-inpaint-tiny"] {
            folders.append(models.appendingPathComponent(name).appendingPathComponent("tokenizer"))
        }
        for dir in folders {
            XCTAssertEqual(CLIPTokenizer.layout(of: dir), .vocabAndMerges, "vocab.json/merges.txt are read first")
            let a = try CLIPTokenizer(directory: dir, layout: .vocabAndMerges)
            let b = try CLIPTokenizer(directory: dir, layout: .tokenizerJSON)
            let name = dir.path
            XCTAssertEqual(a.vocabSize, b.vocabSize, name)
            XCTAssertEqual(
                [a.bosTokenID, a.eosTokenID, a.padTokenID, a.maxLength],
                [b.bosTokenID, b.eosTokenID, b.padTokenID, b.maxLength], name)
            XCTAssertEqual(Set(a.specialTokens.map(\.content)), Set(b.specialTokens.map(\.content)), name)
            for c in fixtures.cases { XCTAssertEqual(a.encode(c.text), b.encode(c.text), "\(name): \(c.text)") }
            for id in 0..<a.vocabSize { XCTAssertEqual(a.token(for: id), b.token(for: id), "\(name): id \(id)") }
        }
    }

    func testLayoutChoiceAndErrors() throws {
        let dir = try makeTemporaryDirectory("json-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertNil(CLIPTokenizer.layout(of: dir))
        expectError("no tokenizer files") { _ = try CLIPTokenizer(directory: dir) }

        try CLIPTokenizer.writeFolder(
            bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 50,
            layout: .tokenizerJSON)
        let url = dir.appendingPathComponent("tokenizer.json")
        let good = try Data(contentsOf: url)
        XCTAssertNoThrow(try CLIPTokenizer(directory: dir))
        // Half of a vocab.json/merges.txt pair is reported, not silently replaced by tokenizer.json.
        try Data("#version: 0.2\n".utf8).write(to: dir.appendingPathComponent("merges.txt"))
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))

        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: good) as? [String: Any])
        func write(_ change: (inout [String: Any]) -> Void) throws {
            var object = json
            change(&object)
            try JSONSerialization.data(withJSONObject: object).write(to: url)
        }
        try good.prefix(good.count / 2).write(to: url)
        expectError("tokenizer.json") { _ = try CLIPTokenizer(directory: dir) }
        try write { $0["model"] = nil }
        expectError("tokenizer.json") { _ = try CLIPTokenizer(directory: dir) }
        try write { o in
            var m = o["model"] as! [String: Any]; m["type"] = "WordPiece"; o["model"] = m
        }
        expectError("not CLIP's BPE") { _ = try CLIPTokenizer(directory: dir) }
        try write { o in
            var m = o["model"] as! [String: Any]; m["end_of_word_suffix"] = nil; o["model"] = m
        }
        expectError("</w>") { _ = try CLIPTokenizer(directory: dir) }
        try write { o in
            var m = o["model"] as! [String: Any]; m["merges"] = [["i"]]; o["model"] = m
        }
        expectError("merge 0") { _ = try CLIPTokenizer(directory: dir) }
        try write { o in
            var m = o["model"] as! [String: Any]; m["vocab"] = ["a": "x"]; o["model"] = m
        }
        expectError("tokenizer.json") { _ = try CLIPTokenizer(directory: dir) }
        try write { $0["added_tokens"] = [["content": "x"]] }
        expectError("added_tokens") { _ = try CLIPTokenizer(directory: dir) }
        // Older tokenizers wrote merges as "a b" strings: the same tokenizer.
        try write { o in
            var m = o["model"] as! [String: Any]
            m["merges"] = (m["merges"] as! [[String]]).map { $0.joined(separator: " ") }
            o["model"] = m
        }
        let strings = try CLIPTokenizer(directory: dir)
        try good.write(to: url)
        let pairs = try CLIPTokenizer(directory: dir)
        XCTAssertEqual(strings.encode("a photo of the thin lung"), pairs.encode("a photo of the thin lung"))
    }

    func expectError(_ fragment: String, _ body: () throws -> Void, line: UInt = #line) {
        do {
            try body()
            XCTFail("expected an error mentioning \(fragment)", line: line)
        } catch let error as TokenizerError {
            XCTAssertTrue(error.description.contains(fragment), error.description, line: line)
            XCTAssertFalse(error.description.contains("\n"), error.description, line: line)
        } catch {
            XCTFail("unexpected error type \(error)", line: line)
        }
    }
}

/// Names in a folder, sorted, without hidden files.
func folderListing(_ dir: URL) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
}
