import Foundation

/// The result of `CLIPTokenizer.encode`: what the text encoder is fed, plus what was lost to truncation
/// (diffusers logs the dropped part; the CLI can show it).
public struct TokenizedPrompt: Sendable, Equatable {
    /// Exactly `maxLength` ids: BOS, up to `maxLength - 2` tokens, EOS, then the pad id.
    public var ids: [Int]
    /// Length of the untruncated sequence including BOS and EOS (before padding).
    public var tokenCount: Int
    /// True when `tokenCount > maxLength`, i.e. tokens were dropped.
    public var truncated: Bool
    /// The dropped tokens decoded back to text (as diffusers reports them), nil if nothing was dropped.
    public var droppedText: String?
}

/// CLIP's byte-level BPE tokenizer, giving the same ids as transformers 5's `CLIPTokenizer` (the
/// `tokenizers`-backed one) used by diffusers' Stable Diffusion pipelines: NFC + lower-case normalisation,
/// CLIP's pre-tokeniser regex, byte-level alphabet, `</w>` end-of-word marker, BPE by merge rank, special
/// tokens matched literally, BOS/EOS around the text, truncation to `maxLength` and padding.
public struct CLIPTokenizer: Sendable {
    /// Vocabulary size including special tokens that were added beyond the vocab file (like transformers' `len(tok)`).
    public let vocabSize: Int
    /// Sequence length the text encoder expects (77 for SD 1.x/2.x).
    public let maxLength: Int
    public let bosTokenID: Int
    public let eosTokenID: Int
    /// `<|endoftext|>` (49407) for SD 1.x checkpoints, `!` (0) for SD 2.x.
    public let padTokenID: Int
    /// Special tokens matched literally in the text, with the normalisation flag transformers would give them.
    public let specialTokens: [SpecialToken]

    private let idToToken: [Int: String]
    private let bpe: BPEModel
    private let rawMatcher: SpecialMatcher
    private let normalizedMatcher: SpecialMatcher

    /// Builds a tokenizer from an in-memory vocabulary and merge list (e.g. parsed from a checkpoint).
    /// BOS/EOS/pad ids are looked up in `vocab`; a token missing there is appended after the largest id, as
    /// transformers does. The special tokens are matched case-sensitively in the raw text (transformers'
    /// behaviour for plain-string tokens); `init(directory:)` also honours `normalized` flags from a config.
    /// - Throws: `TokenizerError` if a merge uses a token missing from `vocab` or `maxLength < 2`.
    public init(
        vocab: [String: Int], merges: [(String, String)], padToken: String = "<|endoftext|>",
        bosToken: String = "<|startoftext|>", eosToken: String = "<|endoftext|>", maxLength: Int = 77
    ) throws {
        try self.init(
            vocab: vocab, merges: merges,
            specials: [
                ("bos", bosToken, false), ("eos", eosToken, false),
                ("unk", "<|endoftext|>", false), ("pad", padToken, false),
            ],
            decoderTable: [], maxLength: maxLength, source: "vocab")
    }

    /// Shared initialiser. `specials` are (role, content, normalized) in transformers' registration order
    /// (bos, eos, unk, pad): a later entry with the same content replaces the earlier one's flag.
    init(
        vocab: [String: Int], merges: [(String, String)], specials: [(String, String, Bool)],
        decoderTable: [SpecialToken], maxLength: Int, source: String
    ) throws {
        guard maxLength >= 2 else {
            throw TokenizerError.invalidArgument("maxLength \(maxLength) must be at least 2 (BOS and EOS)")
        }
        guard !vocab.isEmpty else { throw TokenizerError.invalidFile(path: source, reason: "empty vocabulary") }
        var vocab = vocab
        var registered = [SpecialToken]()
        func register(_ token: SpecialToken) {
            if let k = registered.firstIndex(where: { $0.content == token.content }) {
                registered[k].normalized = token.normalized
            } else {
                registered.append(token)
            }
        }
        for t in decoderTable.sorted(by: { $0.id < $1.id }) {
            if vocab[t.content] == nil { vocab[t.content] = t.id }
            register(SpecialToken(content: t.content, id: vocab[t.content] ?? t.id, normalized: t.normalized))
        }
        var roles = [String: Int]()
        for (role, content, normalized) in specials {
            guard !content.isEmpty else {
                throw TokenizerError.invalidFile(path: source, reason: "empty \(role) token")
            }
            let id: Int
            if let existing = vocab[content] {
                id = existing
            } else {
                id = (vocab.values.max() ?? -1) + 1
                vocab[content] = id
            }
            roles[role] = id
            register(SpecialToken(content: content, id: id, normalized: normalized))
        }
        guard let bos = roles["bos"], let eos = roles["eos"], let pad = roles["pad"] else {
            throw TokenizerError.invalidArgument("bos, eos and pad tokens are required")
        }
        self.bosTokenID = bos
        self.eosTokenID = eos
        self.padTokenID = pad
        self.maxLength = maxLength
        self.specialTokens = registered
        self.bpe = try BPEModel(vocab: vocab, merges: merges, unkID: roles["unk"], source: source)
        var inverse = [Int: String](minimumCapacity: vocab.count)
        for (token, id) in vocab where inverse[id] == nil || token < (inverse[id] ?? "") { inverse[id] = token }
        self.idToToken = inverse
        self.vocabSize = inverse.count
        self.rawMatcher = SpecialMatcher(registered.filter { !$0.normalized })
        self.normalizedMatcher = SpecialMatcher(registered.filter { $0.normalized })
    }

    /// Token ids of `text` without BOS/EOS and without truncation.
    public func tokenize(_ text: String) -> [Int] {
        var out = [Int]()
        let raw = Array(text.unicodeScalars)
        for segment in rawMatcher.split(raw[...]) {
            switch segment {
            case .special(let id):
                out.append(id)
            case .text(let part):
                let normalized = TextSplitting.normalize(String(String.UnicodeScalarView(part)))
                for inner in normalizedMatcher.split(normalized[...]) {
                    switch inner {
                    case .special(let id):
                        out.append(id)
                    case .text(let chunk):
                        for piece in TextSplitting.pieces(Array(chunk)) { bpe.encode(piece, into: &out) }
                    }
                }
            }
        }
        return out
    }

    /// What diffusers feeds the text encoder: `tokenizer(text, padding="max_length", max_length=77,
    /// truncation=True)`, i.e. BOS + at most `maxLength - 2` tokens + EOS, padded with the pad id.
    public func encode(_ text: String) -> TokenizedPrompt {
        let tokens = tokenize(text)
        let keep = min(tokens.count, maxLength - 2)
        var ids = [bosTokenID]
        ids.reserveCapacity(maxLength)
        ids.append(contentsOf: tokens[0..<keep])
        ids.append(eosTokenID)
        while ids.count < maxLength { ids.append(padTokenID) }
        let truncated = keep < tokens.count
        return TokenizedPrompt(
            ids: ids, tokenCount: tokens.count + 2, truncated: truncated,
            droppedText: truncated ? decode(Array(tokens[keep...])) : nil)
    }

    /// Text of `ids` as transformers' `decode` gives it (special tokens kept, `</w>` -> space, ends stripped).
    /// Unknown ids are skipped; invalid UTF-8 becomes U+FFFD.
    public func decode(_ ids: [Int]) -> String {
        var bytes = [UInt8]()
        for id in ids {
            guard let token = idToToken[id] else { continue }
            bytes.append(contentsOf: ByteLevel.bytes(ofToken: token))
        }
        // Replace `</w>` scalar by scalar: a combining mark after `>` must not hide the marker (as it would
        // with grapheme-based String matching).
        let scalars = Array(String(decoding: bytes, as: UTF8.self).unicodeScalars)
        var replaced = [Unicode.Scalar]()
        replaced.reserveCapacity(scalars.count)
        var i = 0
        while i < scalars.count {
            if TextSplitting.matches(Self.endOfWord, in: scalars, at: i) {
                replaced.append(" ")
                i += Self.endOfWord.count
            } else {
                replaced.append(scalars[i])
                i += 1
            }
        }
        return Self.pythonStrip(replaced)
    }

    private static let endOfWord = Array("</w>".unicodeScalars)

    /// The token string for an id (byte-level form, e.g. `cat</w>`), nil when unknown.
    public func token(for id: Int) -> String? { idToToken[id] }

    /// Python's `str.strip()`: removes White_Space characters and U+001C...U+001F from both ends.
    static func pythonStrip(_ scalars: [Unicode.Scalar]) -> String {
        func isSpace(_ c: Unicode.Scalar) -> Bool {
            (c.value >= 0x1C && c.value <= 0x1F) || TextSplitting.isSpace(c)
        }
        var lo = 0, hi = scalars.count
        while lo < hi && isSpace(scalars[lo]) { lo += 1 }
        while hi > lo && isSpace(scalars[hi - 1]) { hi -= 1 }
        return String(String.UnicodeScalarView(scalars[lo..<hi]))
    }
}
