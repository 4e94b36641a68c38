import CXRFiles
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension CLIPTokenizer {
    /// Number of merges CLIP uses from its merge list (lines 2...48,895): 256 + 256 + 48,894 + 2 = 49,408 ids.
    public static let clipMergeCount = 49_152 - 256 - 2

    /// The two ways a tokenizer folder stores the BPE model.
    public enum FileLayout: String, CaseIterable, Sendable {
        /// `vocab.json` + `merges.txt` (transformers 4, most diffusers checkpoints).
        case vocabAndMerges
        /// `tokenizer.json` alone (what transformers 5's `save_pretrained` writes).
        case tokenizerJSON
    }

    /// The layout `init(directory:)` reads: vocab.json/merges.txt when either is there (so a broken or half
    /// pair is reported, not silently replaced), else tokenizer.json; nil when the folder has neither.
    /// A folder with both gives the same tokenizer either way (tested).
    public static func layout(of directory: URL) -> FileLayout? {
        func has(_ name: String) -> Bool {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path)
        }
        if has("vocab.json") || has("merges.txt") { return .vocabAndMerges }
        return has("tokenizer.json") ? .tokenizerJSON : nil
    }

    /// Loads a diffusers `tokenizer/` folder: `vocab.json` + `merges.txt` or `tokenizer.json` (`layout`, default
    /// `layout(of:)`), and (optional) `tokenizer_config.json` and `special_tokens_map.json`, resolving the special
    /// tokens as transformers 5 does: values from `special_tokens_map.json` override `tokenizer_config.json`
    /// unless the latter has `added_tokens_decoder`; tokens may be strings or `{"content": ...}` objects (whose
    /// `normalized` flag decides whether they also match after lower-casing); tokenizer.json's `added_tokens`
    /// count like `added_tokens_decoder` entries. `model_max_length` defaults to 77 when absent or absurdly large.
    public init(directory: URL, layout: FileLayout? = nil) throws {
        guard let layout = layout ?? Self.layout(of: directory) else {
            throw TokenizerError.invalidFile(
                path: directory.path, reason: "no tokenizer files (vocab.json and merges.txt, or tokenizer.json)")
        }
        let vocab: [String: Int], merges: [(String, String)], addedTokens: [SpecialToken], source: String
        switch layout {
        case .vocabAndMerges:
            let vocabURL = directory.appendingPathComponent("vocab.json")
            let mergesURL = directory.appendingPathComponent("merges.txt")
            vocab = try TokenizerFiles.readVocab(vocabURL)
            merges = try TokenizerFiles.parseMerges(try TokenizerFiles.readText(mergesURL), path: mergesURL.path)
            addedTokens = []
            source = vocabURL.path
        case .tokenizerJSON:
            let url = directory.appendingPathComponent("tokenizer.json")
            let file = try TokenizerJSON(contentsOf: url)
            (vocab, merges, addedTokens, source) = (file.vocab, file.merges, file.addedTokens, url.path)
        }

        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        let mapURL = directory.appendingPathComponent("special_tokens_map.json")
        let config = try TokenizerFiles.readOptionalJSONObject(configURL) { file in
            (
                decoder: try TokenizerSettings.addedTokensDecoder(file),
                specials: try TokenizerSettings.specialTokens(file, defaultNormalized: true),
                maxLength: TokenizerSettings.modelMaxLength(file)
            )
        }
        let mapSpecials = try TokenizerFiles.readOptionalJSONObject(mapURL) { file in
            try TokenizerSettings.specialTokens(file, defaultNormalized: false)
        }

        var decoderTable = config?.decoder ?? []
        // special_tokens_map.json yields to the config's own table only (transformers' rule), not to tokenizer.json.
        let configHasDecoder = !decoderTable.isEmpty
        for token in addedTokens where !decoderTable.contains(where: { $0.id == token.id }) {
            decoderTable.append(token)
        }
        let defaults = [
            "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
            "unk_token": "<|endoftext|>", "pad_token": "<|endoftext|>",
        ]
        var specials = [(String, String, Bool)]()
        for key in TokenizerSettings.specialTokenKeys {
            var resolved = config?.specials[key]
            if !configHasDecoder, let fromMap = mapSpecials?[key] {
                resolved = fromMap
            }
            if let r = resolved, let entry = decoderTable.first(where: { $0.content == r.content }) {
                resolved = (entry.content, entry.normalized)
            }
            let (content, normalized) = resolved ?? (defaults[key] ?? "", false)
            specials.append((String(key.dropLast(6)), content, normalized))
        }
        let maxLength = config?.maxLength ?? 77
        try self.init(
            vocab: vocab, merges: merges, specials: specials, decoderTable: decoderTable,
            maxLength: maxLength, source: source)
    }

    /// Builds the CLIP vocabulary from OpenAI's original merge list (`bpe_simple_vocab_16e6.txt.gz`): the 256
    /// byte symbols, the same with `</w>`, one token per merge, then `<|startoftext|>` and `<|endoftext|>`.
    /// Lets tests and the default model run without a checkpoint's tokenizer folder.
    public init(bpeGzip: URL, padToken: String = "<|endoftext|>", maxLength: Int = 77) throws {
        let (vocab, merges) = try TokenizerFiles.clipVocabulary(bpeGzip: bpeGzip, mergeCount: nil)
        var table = [String: Int](minimumCapacity: vocab.count)
        for (i, t) in vocab.enumerated() where table[t] == nil { table[t] = i }
        try self.init(vocab: table, merges: merges, padToken: padToken, maxLength: maxLength)
    }

    /// Writes a tokenizer folder from the CLIP merge list in the form transformers (4.x, as found in diffusers
    /// checkpoints) writes it: `vocab.json` (sorted keys, indent 2), `merges.txt` (`#version: 0.2` header),
    /// `tokenizer_config.json` and `special_tokens_map.json`. transformers' `CLIPTokenizer.from_pretrained`
    /// loads it. `mergeCount` keeps only the first N merges (vocabulary 512 + N + 2) for tiny test models.
    ///
    /// `layout: .tokenizerJSON` writes what transformers 5's `save_pretrained` writes instead: `tokenizer.json`
    /// and its `tokenizer_config.json` (`backend`, `is_local` and `local_files_only` included, as it records them).
    public static func writeFolder(
        bpeGzip: URL, to dir: URL, padToken: String, mergeCount: Int? = nil,
        layout: FileLayout = .vocabAndMerges
    ) throws {
        let (vocab, merges) = try TokenizerFiles.clipVocabulary(bpeGzip: bpeGzip, mergeCount: mergeCount)
        if layout == .tokenizerJSON {
            try writeTokenizerJSONFolder(vocab: vocab, merges: merges, to: dir, padToken: padToken)
            return
        }
        var table = [String: Int](minimumCapacity: vocab.count)
        for (i, t) in vocab.enumerated() where table[t] == nil { table[t] = i }
        let vocabJSON = JSONValue.object(table.mapValues { .number(Double($0)) })
        var mergesText = "#version: 0.2\n"
        for (a, b) in merges { mergesText += a + " " + b + "\n" }
        let config: JSONValue = .object([
            "add_prefix_space": .bool(false), "bos_token": .string("<|startoftext|>"), "do_lower_case": .bool(true),
            "eos_token": .string("<|endoftext|>"), "errors": .string("replace"), "model_max_length": .number(77),
            "pad_token": .string(padToken), "tokenizer_class": .string("CLIPTokenizer"),
            "unk_token": .string("<|endoftext|>"),
        ])
        let map: JSONValue = .object([
            "bos_token": .string("<|startoftext|>"), "eos_token": .string("<|endoftext|>"),
            "pad_token": .string(padToken), "unk_token": .string("<|endoftext|>"),
        ])
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try TokenizerFiles.writeJSON(vocabJSON, to: dir.appendingPathComponent("vocab.json"))
            try Data(mergesText.utf8).write(to: dir.appendingPathComponent("merges.txt"), options: .atomic)
            try TokenizerFiles.writeJSON(config, to: dir.appendingPathComponent("tokenizer_config.json"))
            try TokenizerFiles.writeJSON(map, to: dir.appendingPathComponent("special_tokens_map.json"))
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.invalidFile(
                path: dir.path, reason: "cannot write tokenizer folder: \(error.localizedDescription)")
        }
    }
}

extension CLIPTokenizer {
    /// The transformers 5 form: tokenizer.json (special tokens registered as added tokens, the pad token too when
    /// it is in the vocabulary under another role, as `!` for SD 2.x) and tokenizer_config.json.
    static func writeTokenizerJSONFolder(
        vocab: [String], merges: [(String, String)], to dir: URL,
        padToken: String
    ) throws {
        let bos = ("<|startoftext|>", vocab.count - 2), eos = ("<|endoftext|>", vocab.count - 1)
        var added = [
            SpecialToken(content: bos.0, id: bos.1, normalized: false),
            SpecialToken(content: eos.0, id: eos.1, normalized: false),
        ]
        if padToken != bos.0 && padToken != eos.0 {
            guard let id = vocab.firstIndex(of: padToken) else {
                throw TokenizerError.invalidArgument("pad token \(padToken) is not in the vocabulary")
            }
            added.append(SpecialToken(content: padToken, id: id, normalized: false))
        }
        let text = TokenizerJSON.text(vocab: vocab, merges: merges, addedTokens: added, bos: bos, eos: eos)
        let config: JSONValue = .object([
            "add_prefix_space": .bool(false), "backend": .string("tokenizers"), "bos_token": .string(bos.0),
            "do_lower_case": .bool(true), "eos_token": .string(eos.0), "errors": .string("replace"),
            "is_local": .bool(true), "local_files_only": .bool(false), "model_max_length": .number(77),
            "pad_token": .string(padToken), "tokenizer_class": .string("CLIPTokenizer"),
            "unk_token": .string("<|endoftext|>"),
        ])
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: dir.appendingPathComponent("tokenizer.json"), options: .atomic)
            try TokenizerFiles.writeJSON(config, to: dir.appendingPathComponent("tokenizer_config.json"))
        } catch {
            throw TokenizerError.invalidFile(
                path: dir.path,
                reason: "cannot write tokenizer folder: \(error.localizedDescription)")
        }
    }
}

/// File reading and parsing helpers; every failure names the file.
enum TokenizerFiles {
    /// Largest tokenizer file read (CLIP's vocab.json is ~1.6 MB, its gzipped merge list ~1.3 MB).
    static let maximumFileBytes = 64 << 20

    /// Reads a regular file after checking its size through the opened descriptor (`BoundedFile`: a symbolic link
    /// is judged by what it points at, so it cannot smuggle in a huge file).
    static func readData(_ url: URL) throws -> Data {
        do {
            return try BoundedFile.read(url, limit: maximumFileBytes)
        } catch let failure as BoundedFile.Failure {
            switch failure {
            case .tooLarge(let size, let limit):
                throw TokenizerError.invalidFile(
                    path: url.path,
                    reason: "file of \(size) bytes exceeds the \(limit)-byte limit")
            default: throw TokenizerError.missingFile(path: url.path)
            }
        }
    }

    static func readText(_ url: URL) throws -> String {
        let data = try readData(url)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.invalidFile(path: url.path, reason: "not valid UTF-8")
        }
        return text
    }

    /// Parses the JSON object in `url` with CXRFiles' reader and hands it to `read`; the reader's errors (which name
    /// the file and the key) become `TokenizerError`s, the tokenizer's one error type.
    static func readJSONObject<T>(_ url: URL, _ read: (JSONConfig) throws -> T) throws -> T {
        try readJSONObject(try readData(url), of: url, read)
    }

    /// `readJSONObject` of bytes already read from `url`.
    static func readJSONObject<T>(_ data: Data, of url: URL, _ read: (JSONConfig) throws -> T) throws -> T {
        do {
            let value = try JSONValue(data: data, source: url.path, maxBytes: maximumFileBytes)
            let file = value.config(file: url.path)
            guard value.object != nil else { throw file.invalid("expected a JSON object, found \(value.typeName)") }
            return try read(file)
        } catch let error as InputFileError {
            throw TokenizerError.invalidFile(path: error.file, reason: error.message)
        }
    }

    /// `readJSONObject` for the optional files of a folder: nil when `url` does not exist.
    static func readOptionalJSONObject<T>(_ url: URL, _ read: (JSONConfig) throws -> T) throws -> T? {
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        return try readJSONObject(url, read)
    }

    /// The common flat form is read byte by byte (`FlatVocabularyJSON`); anything else, errors included, by the
    /// general JSON reader. Both give the same vocabulary.
    static func readVocab(_ url: URL) throws -> [String: Int] {
        let data = try readData(url)
        if let vocab = FlatVocabularyJSON.parse(data) { return vocab }
        return try readJSONObject(data, of: url, vocabulary)
    }

    /// A token -> id object (vocab.json, or tokenizer.json's model.vocab) with every id checked.
    static func vocabulary(_ object: JSONConfig) throws -> [String: Int] {
        let members = object.value.object ?? [:]
        var vocab = [String: Int](minimumCapacity: members.count)
        for (token, value) in members {
            guard let id = value.int, id >= 0, id < 1 << 31 else {
                let found = value.double != nil ? value.serialized(pretty: false) : value.typeName
                throw object.invalid("token id should be an integer in 0..<2^31, found \(found)", key: token)
            }
            vocab[token] = id
        }
        if vocab.isEmpty { throw object.invalid("empty vocabulary") }
        return vocab
    }

    /// Writes what Python's `json.dump(value, f, indent=2, sort_keys=True, ensure_ascii=False)` followed by a
    /// newline writes (transformers' `save_pretrained`), so written folders match its files byte for byte.
    static func writeJSON(_ value: JSONValue, to url: URL) throws {
        try Data((value.serialized(pretty: true) + "\n").utf8).write(to: url, options: .atomic)
    }

    /// `merges.txt` as the `tokenizers` library reads it: lines starting with `#version` are skipped, every
    /// other non-empty line must be two tokens separated by one space. Files of byte-level characters only are read
    /// as bytes (`ByteLevelMergesText`, same result); others, and malformed ones, as below.
    static func parseMerges(_ text: String, path: String) throws -> [(String, String)] {
        if let merges = ByteLevelMergesText.parse(text) { return merges }
        return try parseMergeLines(text, path: path)
    }

    /// `parseMerges` on the `String`'s characters: any file, with the line number of a malformed line.
    static func parseMergeLines(_ text: String, path: String) throws -> [(String, String)] {
        var merges = [(String, String)]()
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            if line.isEmpty || line.hasPrefix("#version") { continue }
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.invalidFile(path: path, reason: "line \(lineNumber) is not a merge 'a b'")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        return merges
    }

    /// CLIP's vocabulary (in id order) and merges from the original gzipped merge list.
    static func clipVocabulary(bpeGzip: URL, mergeCount: Int?) throws -> ([String], [(String, String)]) {
        let count = mergeCount ?? CLIPTokenizer.clipMergeCount
        guard count >= 0, count <= CLIPTokenizer.clipMergeCount else {
            throw TokenizerError.invalidArgument("mergeCount \(count) outside 0...\(CLIPTokenizer.clipMergeCount)")
        }
        let data = try Gzip.inflate(try readData(bpeGzip), path: bpeGzip.path)
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.invalidFile(path: bpeGzip.path, reason: "merge list is not valid UTF-8")
        }
        let lines = text.split(separator: "\n", maxSplits: count + 1, omittingEmptySubsequences: false)
        guard lines.count >= count + 1 else {
            throw TokenizerError.invalidFile(
                path: bpeGzip.path,
                reason: "merge list has \(max(lines.count - 1, 0)) merges, need \(count)")
        }
        var merges = [(String, String)]()
        merges.reserveCapacity(count)
        for k in stride(from: 1, through: count, by: 1) {
            let parts = lines[k].split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw TokenizerError.invalidFile(path: bpeGzip.path, reason: "line \(k + 1) is not a merge 'a b'")
            }
            merges.append((String(parts[0]), String(parts[1])))
        }
        let alphabet = ByteLevel.alphabet
        var vocab = alphabet + alphabet.map { $0 + "</w>" }
        vocab.reserveCapacity(512 + count + 2)
        for (a, b) in merges { vocab.append(a + b) }
        vocab += ["<|startoftext|>", "<|endoftext|>"]
        return (vocab, merges)
    }
}
