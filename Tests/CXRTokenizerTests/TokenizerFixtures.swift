import Foundation
import XCTest
@testable import CXRTokenizer

/// Reference data written by Tools/make_tokenizer_fixtures.py with transformers 5's CLIPTokenizer.
struct TokenizerFixtures: Decodable, Sendable {
    struct Encoded: Decodable, Sendable {
        var ids: [Int]
        var count: Int
        var truncated: Bool
        var dropped: String?
    }
    struct Case: Decodable, Sendable {
        var kind: String
        var text: String
        var eot: Encoded
        var bang: Encoded
        var decode: String?
    }
    struct SmallCase: Decodable, Sendable {
        var text: String
        var ids: [Int]
        var count: Int
        var truncated: Bool
        var dropped: String?
    }
    struct Small: Decodable, Sendable {
        var merge_count: Int
        var vocab_size: Int
        var cases: [SmallCase]
    }
    struct ConfigCase: Decodable, Sendable {
        var text: String
        var tokens: [Int]
        var ids: [Int]
    }
    struct Config: Decodable, Sendable {
        var name: String
        var pad_id: Int
        var model_max_length: Int?
        var cases: [ConfigCase]
    }
    var transformers: String
    var max_length: Int
    var vocab_size: Int
    var pad_ids: [String: Int]
    var cases: [Case]
    var small: Small
    var configs: [Config]

    /// Tests/Fixtures/tokenizer, found from this file's location.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent("tokenizer")

    /// Resources/clip/bpe_simple_vocab_16e6.txt.gz (committed with the repository).
    static let bpeGzip: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Resources/clip/bpe_simple_vocab_16e6.txt.gz")

    static let loaded: Result<TokenizerFixtures, Error> = Result {
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        return try JSONDecoder().decode(TokenizerFixtures.self, from: data)
    }

    static let sd1: Result<CLIPTokenizer, Error> = Result { try CLIPTokenizer(bpeGzip: bpeGzip) }
    static let sd2: Result<CLIPTokenizer, Error> = Result { try CLIPTokenizer(bpeGzip: bpeGzip, padToken: "!") }

    /// Raw config JSON objects per fixture config (kept as text: [String: Any] is not Sendable).
    static func configFiles(named name: String) throws -> (tokenizerConfig: Data, specialTokensMap: Data?) {
        let data = try Data(contentsOf: directory.appendingPathComponent("cases.json"))
        guard let root = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let configs = root["configs"] as? [[String: Any]],
            let entry = configs.first(where: { ($0["name"] as? String) == name }),
            let tc = entry["tokenizer_config"]
        else {
            throw TokenizerError.invalidArgument("fixture config \(name) not found")
        }
        let tcData = try JSONSerialization.data(withJSONObject: tc)
        var smData: Data? = nil
        if let sm = entry["special_tokens_map"], !(sm is NSNull) {
            smData = try JSONSerialization.data(withJSONObject: sm)
        }
        return (tcData, smData)
    }
}

/// A fresh temporary directory, removed by the caller's `defer`.
func makeTemporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory
        .appendingPathComponent(
            "cxr-tokenizer-\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
