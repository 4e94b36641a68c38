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
        let path = url.path
        func invalid(_ reason: String) -> TokenizerError { .invalidFile(path: path, reason: reason) }
        guard let root = try TokenizerFiles.readJSON(url) as? [String: Any] else {
            throw invalid("expected a JSON object")
        }
        guard let model = root["model"] as? [String: Any] else { throw invalid("no \"model\" object") }
        let type = model["type"] as? String ?? "BPE"  // tokenizers omits the tag in some versions; BPE is its default
        guard type == "BPE" else { throw invalid("model type \(type) is not CLIP's BPE") }
        guard (model["end_of_word_suffix"] as? String) == "</w>" else {
            throw invalid("BPE model without CLIP's \"</w>\" end-of-word suffix")
        }
        guard let vocabObject = model["vocab"] as? [String: Any] else { throw invalid("model.vocab is not an object") }
        vocab = try TokenizerFiles.vocabulary(vocabObject, path: path)

        // Merges are ["a", "b"] pairs (tokenizers >= 0.20) or "a b" strings (older files).
        guard let mergeList = model["merges"] as? [Any] else { throw invalid("model.merges is not a list") }
        merges = []
        merges.reserveCapacity(mergeList.count)
        for (k, entry) in mergeList.enumerated() {
            if let pair = entry as? [Any], pair.count == 2, let a = pair[0] as? String, let b = pair[1] as? String,
               !a.isEmpty, !b.isEmpty {
                merges.append((a, b))
            } else if let text = entry as? String {
                let parts = text.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    throw invalid("merge \(k) is not 'a b'")
                }
                merges.append((String(parts[0]), String(parts[1])))
            } else {
                throw invalid("merge \(k) is neither a pair nor 'a b'")
            }
        }

        addedTokens = []
        for (k, entry) in (root["added_tokens"] as? [Any] ?? []).enumerated() {
            guard let token = entry as? [String: Any], let content = token["content"] as? String,
                  let number = token["id"] as? NSNumber, let id = Int(exactly: number.doubleValue), id >= 0 else {
                throw invalid("added_tokens entry \(k) needs \"id\" and \"content\"")
            }
            let normalized = token["normalized"] as? Bool ?? false
            addedTokens.append(SpecialToken(content: content, id: id, normalized: normalized))
        }
    }
}

extension TokenizerJSON {
    /// The text of the tokenizer.json that transformers 5 (`tokenizers`' serde serialiser: two-space indent, no
    /// final newline) writes for a CLIP tokenizer: `vocab` in id order, the merges as pairs, the added tokens by id,
    /// CLIP's normaliser, pre-tokeniser, post-processor and decoder.
    static func text(vocab: [String], merges: [(String, String)], addedTokens: [SpecialToken],
                     bos: (String, Int), eos: (String, Int)) -> String {
        let q = JSONText.quote
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        for (k, t) in addedTokens.sorted(by: { $0.id < $1.id }).enumerated() {
            out += (k == 0 ? "\n" : ",\n") + """
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
