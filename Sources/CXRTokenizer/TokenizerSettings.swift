import CXRFiles

/// The keys of `tokenizer_config.json` and `special_tokens_map.json` that decide the special tokens and the
/// sequence length, read as transformers 5 reads them; `CLIPTokenizer.init(directory:)` resolves them.
enum TokenizerSettings {
    /// The special-token roles, in transformers' registration order (a later role's flag wins for shared content).
    static let specialTokenKeys = ["bos_token", "eos_token", "unk_token", "pad_token"]

    /// The special tokens a file names: a plain string (never normalised) or a `{"content": ...}` object whose
    /// `normalized` flag defaults to `defaultNormalized` (true in tokenizer_config.json, false in
    /// special_tokens_map.json, as transformers treats them). Missing or null roles are left out.
    static func specialTokens(
        _ file: JSONConfig,
        defaultNormalized: Bool
    ) throws -> [String: (content: String, normalized: Bool)] {
        var tokens = [String: (content: String, normalized: Bool)]()
        for key in specialTokenKeys {
            switch file[key] {
            case nil, .null?:
                continue
            case .string(let content)?:
                tokens[key] = (content, false)
            case .object?:
                let token = try file.config(key)
                tokens[key] = (
                    try token.string("content"),
                    try token.optBool("normalized", default: defaultNormalized)
                )
            case let value?:
                throw file.invalid(
                    "should be a string or an object with \"content\", found \(value.typeName)",
                    key: key)
            }
        }
        return tokens
    }

    /// `added_tokens_decoder` (id -> token object; `normalized` defaults to true), empty when absent.
    static func addedTokensDecoder(_ file: JSONConfig) throws -> [SpecialToken] {
        guard let table = try file.optConfig("added_tokens_decoder") else { return [] }
        return try table.keys.map { key in
            guard let id = Int(key) else { throw table.invalid("key should be a token id", key: key) }
            let entry = try table.config(key)
            return SpecialToken(
                content: try entry.string("content"), id: id,
                normalized: try entry.optBool("normalized", default: true))
        }
    }

    /// `model_max_length` when it is a usable length. transformers writes 1e30 for "no limit" and older files hold
    /// other placeholders, so anything outside 2...1,000,000, or not a number, means "use the default" rather
    /// than an error (fractions are cut, as Python's `int()` does).
    static func modelMaxLength(_ file: JSONConfig) -> Int? {
        guard let length = file["model_max_length"]?.double, length >= 2, length <= 1_000_000 else { return nil }
        return Int(length)
    }
}
