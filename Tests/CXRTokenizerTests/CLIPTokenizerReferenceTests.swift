import Foundation
import XCTest
@testable import CXRTokenizer

/// Every fixture case must give exactly the ids transformers gives.
final class CLIPTokenizerReferenceTests: XCTestCase {
    func testFixtureCasesMatchTransformersForBothPadTokens() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let sd1 = try TokenizerFixtures.sd1.get()
        let sd2 = try TokenizerFixtures.sd2.get()
        XCTAssertEqual(sd1.padTokenID, fixtures.pad_ids["eot"])
        XCTAssertEqual(sd2.padTokenID, fixtures.pad_ids["bang"])
        XCTAssertGreaterThanOrEqual(fixtures.cases.count, 250)
        var mismatches = 0
        for c in fixtures.cases {
            for (tokenizer, expected, label) in [(sd1, c.eot, "eot"), (sd2, c.bang, "bang")] {
                let got = tokenizer.encode(c.text)
                if got.ids != expected.ids || got.tokenCount != expected.count || got.truncated != expected.truncated
                    || got.droppedText != expected.dropped
                {
                    mismatches += 1
                    XCTFail(
                        "\(label) \(c.kind) \(c.text.debugDescription): got \(got.ids.prefix(got.tokenCount)) "
                            + "count \(got.tokenCount) dropped \(String(describing: got.droppedText)); expected "
                            + "\(expected.ids.prefix(expected.count)) count \(expected.count) dropped \(String(describing: expected.dropped))"
                    )
                }
                XCTAssertEqual(got.ids.count, fixtures.max_length)
            }
            if let expectedDecode = c.decode {
                let tokens = [sd1.bosTokenID] + sd1.tokenize(c.text) + [sd1.eosTokenID]
                XCTAssertEqual(sd1.decode(tokens), expectedDecode, "decode of \(c.text.debugDescription)")
            }
        }
        XCTAssertEqual(mismatches, 0)
        XCTAssertTrue(fixtures.cases.contains { $0.eot.truncated }, "fixtures must include truncated prompts")
    }

    func testReducedVocabularyMatchesTransformers() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let dir = try makeTemporaryDirectory("small")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(
            bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "<|endoftext|>",
            mergeCount: fixtures.small.merge_count)
        let small = try CLIPTokenizer(directory: dir)
        XCTAssertEqual(small.vocabSize, fixtures.small.vocab_size)
        XCTAssertEqual(small.vocabSize, 512 + fixtures.small.merge_count + 2)
        XCTAssertEqual(small.eosTokenID, small.vocabSize - 1)
        for c in fixtures.small.cases {
            let got = small.encode(c.text)
            XCTAssertEqual(got.ids, c.ids, "small vocab: \(c.text.debugDescription)")
            XCTAssertEqual(got.tokenCount, c.count)
            XCTAssertEqual(got.truncated, c.truncated)
            XCTAssertEqual(got.droppedText, c.dropped)
        }
    }

    /// diffusers-style configs: AddedToken objects with `normalized`, special_tokens_map overriding, pad `!`.
    func testCheckpointConfigVariantsMatchTransformers() throws {
        let fixtures = try TokenizerFixtures.loaded.get()
        let dir = try makeTemporaryDirectory("configs")
        defer { try? FileManager.default.removeItem(at: dir) }
        try CLIPTokenizer.writeFolder(bpeGzip: TokenizerFixtures.bpeGzip, to: dir, padToken: "<|endoftext|>")
        XCTAssertFalse(fixtures.configs.isEmpty)
        for config in fixtures.configs {
            let files = try TokenizerFixtures.configFiles(named: config.name)
            try files.tokenizerConfig.write(to: dir.appendingPathComponent("tokenizer_config.json"))
            let mapURL = dir.appendingPathComponent("special_tokens_map.json")
            try? FileManager.default.removeItem(at: mapURL)
            if let map = files.specialTokensMap { try map.write(to: mapURL) }
            let tokenizer = try CLIPTokenizer(directory: dir)
            XCTAssertEqual(tokenizer.padTokenID, config.pad_id, config.name)
            XCTAssertEqual(tokenizer.maxLength, config.model_max_length ?? 77, config.name)
            for c in config.cases {
                let tokens = [tokenizer.bosTokenID] + tokenizer.tokenize(c.text) + [tokenizer.eosTokenID]
                XCTAssertEqual(tokens, c.tokens, "\(config.name): \(c.text.debugDescription)")
                XCTAssertEqual(tokenizer.encode(c.text).ids, c.ids, "\(config.name): \(c.text.debugDescription)")
            }
        }
    }
}
