import CXRFiles
import Foundation

/// `tokenizer.json`, the `tokenizers` library's single-file form, which transformers 5 writes instead of
/// `vocab.json` + `merges.txt`: the BPE model's vocabulary and merges and the added tokens. Only CLIP's byte-level
/// BPE (merges joined with the `</w>` end-of-word suffix) is accepted; the normaliser and pre-tokeniser it
/// describes are CLIP's, which `TextSplitting` implements, and a file for another model is refused rather than
/// tokenised wrongly.
struct TokenizerJSON {
    var vocab: [String: Int]
    var merges: [(String, String)]
    /// `added_tokens` (special tokens with their ids and `normalized` flags).
    var addedTokens: [SpecialToken]

    init(contentsOf url: URL) throws {
        self = try TokenizerFiles.readJSONObject(url, TokenizerJSON.init)
    }

    /// Reads the parsed file; every error names the key it is about (`model.merges[12]`).
    init(_ root: JSONConfig) throws {
        let model = try root.config("model")
        let type = try model.optString("type", default: "BPE")  // tokenizers omits the tag in some versions
        guard type == "BPE" else { throw model.invalid("model type \(type) is not CLIP's BPE", key: "type") }
        guard try model.optString("end_of_word_suffix") == "</w>" else {
            throw model.invalid("BPE model without CLIP's \"</w>\" end-of-word suffix", key: "end_of_word_suffix")
        }
        vocab = try TokenizerFiles.vocabulary(try model.config("vocab"))

        // Merges are ["a", "b"] pairs (tokenizers >= 0.20) or "a b" strings (older files).
        let mergeList = try model.array("merges")
        merges = []
        merges.reserveCapacity(mergeList.count)
        for (k, entry) in mergeList.enumerated() {
            switch entry.value {
            case .array(let pair) where pair.count == 2:
                guard case .string(let a) = pair[0], case .string(let b) = pair[1], !a.isEmpty, !b.isEmpty else {
                    throw entry.invalid("merge \(k) should be a pair of non-empty strings")
                }
                merges.append((a, b))
            case .string(let text):
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw entry.invalid("merge \(k) is not 'a b'")
                }
                merges.append((String(parts[0]), String(parts[1])))
            default:
                throw entry.invalid("merge \(k) should be a pair of strings or 'a b', found \(entry.value.typeName)")
            }
        }

        addedTokens = []
        for token in try root.optArray("added_tokens") ?? [] {
            let id = try token.int("id")
            guard id >= 0 else { throw token.invalid("token id \(id) is negative", key: "id") }
            addedTokens.append(
                SpecialToken(
                    content: try token.string("content"), id: id,
                    normalized: try token.optBool("normalized", default: false)))
        }
    }
}

extension TokenizerJSON {
    /// The text of the tokenizer.json that transformers 5 (`tokenizers`' serde serialiser: two-space indent, no
    /// final newline) writes for a CLIP tokenizer: `vocab` in id order, the merges as pairs, the added tokens by id,
    /// CLIP's normaliser, pre-tokeniser, post-processor and decoder.
    static func text(
        vocab: [String], merges: [(String, String)], addedTokens: [SpecialToken],
        bos: (String, Int), eos: (String, Int)
    ) -> String {
        let q = { JSONValue.quoted($0) }
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (k, t) in addedTokens.sorted(by: { $0.id < $1.id }).enumerated() {
            out +=
                (k == 0 ? "\n" : ",\n") + """
                        {
                          "id": \(t.id),
                          "content": \(q(t.content)),
                          "single_word": false,
                          "lstrip": false,
                          "rstrip": false,
                          "normalized": \(t.normalized),
                          "special": true
                        }
                    """
        }
        out += addedTokens.isEmpty ? "],\n" : "\n  ],\n"
        out += #"""
              "normalizer": {
                "type": "Sequence",
                "normalizers": [
                  {
                    "type": "NFC"
                  },
                  {
                    "type": "Replace",
                    "pattern": {
                      "Regex": "\\s+"
                    },
                    "content": " "
                  },
                  {
                    "type": "Lowercase"
                  }
                ]
              },
              "pre_tokenizer": {
                "type": "Sequence",
                "pretokenizers": [
                  {
                    "type": "Split",
                    "pattern": {
                      "Regex": "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+"
                    },
                    "behavior": "Removed",
                    "invert": true
                  },
                  {
                    "type": "ByteLevel",
                    "add_prefix_space": false,
                    "trim_offsets": true,
                    "use_regex": true
                  }
                ]
              },
              "post_processor": {
                "type": "RobertaProcessing",
                "sep": [

            """#
        out += "      \(q(eos.0)),\n      \(eos.1)\n    ],\n"
        out += "    \"cls\": [\n      \(q(bos.0)),\n      \(bos.1)\n    ],\n"
        out += #"""
                "trim_offsets": false,
                "add_prefix_space": false
              },
              "decoder": {
                "type": "ByteLevel",
                "add_prefix_space": true,
                "trim_offsets": true,
                "use_regex": true
              },
              "model": {
                "type": "BPE",
                "dropout": null,
                "unk_token": "<|endoftext|>",
                "continuing_subword_prefix": "",
                "end_of_word_suffix": "</w>",
                "fuse_unk": false,
                "byte_fallback": false,
                "ignore_merges": false,
                "vocab": {
            """#
        for (id, token) in vocab.enumerated() {
            out += (id == 0 ? "\n" : ",\n") + "      \(q(token)): \(id)"
        }
        out += "\n    },\n    \"merges\": ["
        for (k, (a, b)) in merges.enumerated() {
            out += (k == 0 ? "\n" : ",\n") + "      [\n        \(q(a)),\n        \(q(b))\n      ]"
        }
        out += merges.isEmpty ? "]\n  }\n}" : "\n    ]\n  }\n}"
        return out
    }
}
