import Foundation

/// The findings vocabulary: findings plus the side and severity words users type.
///
/// Loaded from `Resources/findings.json` (`Vocabulary.standard()`), or from any file of the same
/// shape (`Vocabulary(contentsOf:)`) so a site can add its own findings without rebuilding.
public struct Vocabulary: Sendable {
    public let findings: [Finding]
    /// Canonical side -> words meaning it ("rt", "right-sided", "bibasilar"...).
    public let sideWords: [Side: [String]]
    /// Canonical severity -> words meaning it ("big" -> large, "borderline" -> mild...).
    public let severityWords: [String: [String]]

    private struct File: Decodable {
        let findings: [Finding]
        let sideWords: [String: [String]]
        let severityWords: [String: [String]]
    }

    public init(findings: [Finding], sideWords: [Side: [String]], severityWords: [String: [String]]) throws {
        var ids = Set<String>()
        for f in findings {
            guard ids.insert(f.id).inserted else { throw FindingsError("findings vocabulary: duplicate id '\(f.id)'") }
        }
        self.findings = findings
        self.sideWords = sideWords
        self.severityWords = severityWords
    }

    /// Parses a vocabulary file; errors name the file.
    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw FindingsError("\(url.lastPathComponent): cannot read the findings vocabulary")
        }
        try self.init(data: data, name: url.lastPathComponent)
    }

    public init(data: Data, name: String = "findings.json") throws {
        let file: File
        do { file = try JSONDecoder().decode(File.self, from: data) } catch {
            throw FindingsError("\(name): invalid findings vocabulary (\(Vocabulary.shortDecodingError(error)))")
        }
        var sides: [Side: [String]] = [:]
        for (k, v) in file.sideWords {
            guard let s = Side(rawValue: k) else { throw FindingsError("\(name): unknown side '\(k)' in sideWords") }
            sides[s] = v.map(Text.normalise)
        }
        try self.init(
            findings: file.findings, sideWords: sides,
            severityWords: file.severityWords.mapValues { $0.map(Text.normalise) })
    }

    private static func shortDecodingError(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        switch e {
        case .keyNotFound(let k, let c):
            return "missing '\(k.stringValue)' at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(c.debugDescription) at \(c.codingPath.map(\.stringValue).joined(separator: "."))"
        @unknown default: return "\(e)"
        }
    }

    /// The bundled vocabulary (cached after the first load).
    public static func standard() throws -> Vocabulary {
        try StandardVocabulary.shared.get()
    }

    /// The finding with this exact id.
    public func finding(id: String) -> Finding? { findings.first { $0.id == id } }

    /// The finding whose classifier label (in `set`, e.g. "torchxrayvision") is `label`, exactly.
    public func finding(label: String, in set: String) -> Finding? {
        findings.first { $0.labels[set] == label }
    }

    /// Canonical side for a typed word ("rt" -> right), or nil.
    public func side(forWord word: String) -> Side? {
        let w = Text.normalise(word)
        for s in Side.allCases where s.rawValue == w || (sideWords[s] ?? []).contains(w) { return s }
        return nil
    }

    /// Canonical severity for a typed word ("big" -> large), or nil.
    public func severity(forWord word: String) -> String? {
        let w = Text.normalise(word)
        for key in severityWords.keys.sorted() where key == w || (severityWords[key] ?? []).contains(w) { return key }
        return nil
    }
}

/// Thread-safe lazy cache of the bundled vocabulary.
private final class StandardVocabulary: @unchecked Sendable {
    static let shared = StandardVocabulary()
    private let lock = NSLock()
    private var cached: Vocabulary?

    func get() throws -> Vocabulary {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        guard let url = FindingsResources.url("findings.json") else {
            throw FindingsError(
                "findings.json: the bundled findings vocabulary was not found (CXRFindings resources missing)")
        }
        let v = try Vocabulary(contentsOf: url)
        cached = v
        return v
    }
}

/// Text normalisation shared by lookups.
enum Text {
    /// Lower case, `_`/`/`/`,`/`;` to spaces, trailing `.` dropped, spaces collapsed.
    static func normalise(_ s: String) -> String {
        tokens(s).joined(separator: " ")
    }

    static func tokens(_ s: String) -> [String] {
        let lowered = s.lowercased()
        var cleaned = ""
        for ch in lowered {
            if ch.isLetter || ch.isNumber || ch == "-" { cleaned.append(ch) } else { cleaned.append(" ") }
        }
        return cleaned.split(separator: " ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "-")) }.filter {
            !$0.isEmpty
        }
    }

    /// Levenshtein distance (small strings only: O(n*m)).
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a), y = Array(b)
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var prev = Array(0...y.count)
        var cur = [Int](repeating: 0, count: y.count + 1)
        for i in 1...x.count {
            cur[0] = i
            for j in 1...y.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x[i - 1] == y[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[y.count]
    }
}
