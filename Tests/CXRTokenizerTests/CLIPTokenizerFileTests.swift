import Foundation
import XCTest
@testable import CXRTokenizer

final class CLIPTokenizerFileTests: XCTestCase {
    func testCommittedMergeListBuildsFullVocabulary() throws {
        let tokenizer = try TokenizerFixtures.sd1.get()
        XCTAssertEqual(tokenizer.vocabSize, 49_408)
        XCTAssertEqual(tokenizer.bosTokenID, 49_406)
        XCTAssertEqual(tokenizer.eosTokenID, 49_407)
        XCTAssertEqual(tokenizer.padTokenID, 49_407)
        XCTAssertEqual(tokenizer.maxLength, 77)
        XCTAssertEqual(tokenizer.token(for: 0), "!")
        XCTAssertEqual(tokenizer.token(for: 256), "!</w>")
        XCTAssertEqual(tokenizer.token(for: 49_405), "jekyll</w>")
        XCTAssertEqual(try TokenizerFixtures.sd2.get().padTokenID, 0)
    }

    func testPhotoOfACat() throws {
        let tokenizer = try TokenizerFixtures.sd1.get()
        let encoded = tokenizer.encode("a photo of a cat")
        XCTAssertEqual(Array(encoded.ids.prefix(7)), [49406, 320, 1125, 539, 320, 2368, 49407])
        XCTAssertEqual(encoded.ids.count, 77)
        XCTAssertTrue(encoded.ids.dropFirst(7).allSatisfy { $0 == 49407 })
        XCTAssertEqual(encoded.tokenCount, 7)
        XCTAssertFalse(encoded.truncated)
        XCTAssertNil(encoded.droppedText)
        XCTAssertEqual(tokenizer.tokenize("a photo of a cat"), [320, 1125, 539, 320, 2368])
        XCTAssertEqual(tokenizer.decode(tokenizer.tokenize("A Photo of a CAT")), "a photo of a cat")
        let sd2 = try TokenizerFixtures.sd2.get().encode("a photo of a cat")
        XCTAssertTrue(sd2.ids.dropFirst(7).allSatisfy { $0 == 0 })
    }

    func testTruncationKeepsBosAndEos() throws {
        let tokenizer = try TokenizerFixtures.sd1.get()
        let encoded = tokenizer.encode(Array(repeating: "lung", count: 100).joined(separator: " "))
        XCTAssertEqual(encoded.ids.count, 77)
        XCTAssertEqual(encoded.ids.first, 49406)
        XCTAssertEqual(encoded.ids.last, 49407)
        XCTAssertEqual(encoded.tokenCount, 102)
        XCTAssertTrue(encoded.truncated)
        XCTAssertEqual(encoded.droppedText, Array(repeating: "lung", count: 25).joined(separator: " "))
    }

    /// writeFolder must produce the same bytes as the Python writer (whose folder transformers loads).
    func testWriteFolderMatchesTransformersFilesByteForByte() throws {
        let dir = try makeTemporaryDirectory("write")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(
            bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "<|endoftext|>",
            mergeCount: 1000)
        let reference = TokenizerFixtures.directory.appendingPathComponent("small")
        for name in ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"] {
            let ours = try Data(contentsOf: dir.appendingPathComponent(name))
            let theirs = try Data(contentsOf: reference.appendingPathComponent(name))
            XCTAssertEqual(ours, theirs, "\(name) differs from the transformers-form reference")
        }
    }

    func testDirectoryRoundTripGivesIdenticalIds() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let dir = try makeTemporaryDirectory("roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (pad, reference) in [
            ("<|endoftext|>", try TokenizerFixtures.sd1.get()), ("!", try TokenizerFixtures.sd2.get()),
        ] {
            try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: pad)
            let loaded = try CLIPTokenizer(directory: dir)
            XCTAssertEqual(loaded.vocabSize, 49_408)
            XCTAssertEqual(loaded.padTokenID, reference.padTokenID)
            XCTAssertEqual(loaded.specialTokens, reference.specialTokens)
            for c in fixtures.cases {
                XCTAssertEqual(loaded.encode(c.text), reference.encode(c.text), c.text.debugDescription)
            }
        }
    }

    func testInvalidFilesGiveOneLineErrorsNamingTheFile() throws {
        let dir = try makeTemporaryDirectory("invalid")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 50)
        let vocabURL = dir.appendingPathComponent("vocab.json")
        let good = try Data(contentsOf: vocabURL)

        func expectError(_ fileName: String, _ body: () throws -> Void) {
            do {
                try body()
                XCTFail("expected an error for \(fileName)")
            } catch let error as TokenizerError {
                XCTAssertTrue(error.description.contains(fileName), error.description)
                XCTAssertFalse(error.description.contains("\n"), error.description)
            } catch {
                XCTFail("unexpected error type \(error)")
            }
        }
        try good.prefix(good.count / 2).write(to: vocabURL)
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try Data("[1, 2, 3]".utf8).write(to: vocabURL)
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try Data("{\"a\": \"x\"}".utf8).write(to: vocabURL)
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try Data("{\"a\": 0}".utf8).write(to: vocabURL)  // merges refer to tokens it lacks
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try FileManager.default.removeItem(at: vocabURL)
        expectError("vocab.json") { _ = try CLIPTokenizer(directory: dir) }
        try good.write(to: vocabURL)
        XCTAssertNoThrow(try CLIPTokenizer(directory: dir))

        let mergesURL = dir.appendingPathComponent("merges.txt")
        try Data("#version: 0.2\ni n\nbroken\n".utf8).write(to: mergesURL)
        expectError("merges.txt") { _ = try CLIPTokenizer(directory: dir) }

        try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 50)
        let configURL = dir.appendingPathComponent("tokenizer_config.json")
        try Data("{\"pad_token\": ".utf8).write(to: configURL)
        expectError("tokenizer_config.json") { _ = try CLIPTokenizer(directory: dir) }

        let gz = dir.appendingPathComponent("bad.txt.gz")
        let original = try Data(contentsOf: TokenizerFixtures.bpeGzip)
        try original.prefix(5000).write(to: gz)
        expectError("bad.txt.gz") { _ = try CLIPTokenizer(bpeGzip: gz) }
        try Data("not gzip at all".utf8).write(to: gz)
        expectError("bad.txt.gz") { _ = try CLIPTokenizer(bpeGzip: gz) }
        expectError("missing.gz") { _ = try CLIPTokenizer(bpeGzip: dir.appendingPathComponent("missing.gz")) }
    }

    func testPadTokenObjectAndUnknownPadToken() throws {
        let dir = try makeTemporaryDirectory("pad")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "!", mergeCount: 100)
        let configURL = dir.appendingPathComponent("tokenizer_config.json")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("special_tokens_map.json"))
        try Data(
            #"{"pad_token": {"__type": "AddedToken", "content": "!", "normalized": true}, "model_max_length": 16}"#.utf8
        )
        .write(to: configURL)
        let tokenizer = try CLIPTokenizer(directory: dir)
        XCTAssertEqual(tokenizer.padTokenID, 0)
        XCTAssertEqual(tokenizer.maxLength, 16)
        XCTAssertEqual(tokenizer.encode("a").ids.count, 16)
        try Data(#"{"pad_token": "<pad>"}"#.utf8).write(to: configURL)
        let added = try CLIPTokenizer(directory: dir)
        XCTAssertEqual(added.padTokenID, 512 + 100 + 2)  // appended after the vocabulary, as transformers does
        XCTAssertEqual(added.vocabSize, 512 + 100 + 3)
    }

    func testTokenizingAThousandPhrasesIsFast() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let tokenizer = try CLIPTokenizer(bpeGzip: TokenizerFixtures.bpeGzip)  // fresh, empty cache
        let phrases = (0..<1000).map { fixtures.cases[$0 % fixtures.cases.count].text + " \($0)" }
        let start = Date()
        var total = 0
        for p in phrases { total += tokenizer.encode(p).tokenCount }
        let elapsed = Date().timeIntervalSince(start)
        print("tokenized 1000 phrases (\(total) tokens) in \(String(format: "%.3f", elapsed)) s")
        XCTAssertGreaterThan(total, 2000)
        XCTAssertLessThan(elapsed, 2.0, "debug build; release is several times faster")
    }

    /// A hostile prompt (one 50,000-letter word) must not take quadratic time, and must still round-trip.
    func testVeryLongWordIsHandledQuickly() throws {
        let tokenizer = try TokenizerFixtures.sd1.get()
        let word = String(repeating: "pneumothorax", count: 4_000) + "é"
        let start = Date()
        let tokens = tokenizer.tokenize(word)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertLessThan(elapsed, 5.0)
        XCTAssertEqual(tokenizer.decode(tokens), word)
        let encoded = tokenizer.encode(word)
        XCTAssertTrue(encoded.truncated)
        XCTAssertEqual(encoded.tokenCount, tokens.count + 2)
    }
}
