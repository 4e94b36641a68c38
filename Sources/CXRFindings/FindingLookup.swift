import Foundation

/// A finding as the user asked for it: which one, and optionally its side and severity.
public struct FindingRequest: Sendable, Equatable {
    public var finding: Finding
    public var side: Side?
    /// Canonical severity word (one of `finding.severities`).
    public var severity: String?

    public init(finding: Finding, side: Side? = nil, severity: String? = nil) {
        self.finding = finding
        self.side = side
        self.severity = severity
    }

    /// Readable form, e.g. "pleural effusion (right, large)".
    public var summary: String {
        let extras = [side?.rawValue, severity].compactMap { $0 }
        return finding.name.lowercased() + (extras.isEmpty ? "" : " (\(extras.joined(separator: ", ")))")
    }
}

extension Vocabulary {
    /// Resolves what a user typed into a finding, a side and a severity.
    ///
    /// Case-insensitive; matches ids, names and synonyms ("PTX", "enlarged heart"), and free text
    /// that also carries side/severity words ("large right pleural effusion" -> pleural effusion,
    /// right, large; "small left-sided PTX"). When the words left over are not a known name, the
    /// longest known name contained in them is used ("right lower lobe pneumonia" -> pneumonia).
    /// Text naming two different findings, or none, is an error; the latter lists up to three
    /// close matches. Side and severity are validated against the finding.
    public func lookup(_ text: String) throws -> FindingRequest {
        let tokens = Text.tokens(text)
        guard !tokens.isEmpty else { throw FindingsError("empty finding name; give one such as \"pleural effusion\"") }
        let whole = tokens.joined(separator: " ")
        if let f = exactMatch(whole) { return FindingRequest(finding: f) }

        // Pull side and severity words out (multi-word ones first, e.g. "moderate sized").
        var rest = tokens
        var side: Side?
        var severity: String?
        var sidePhrases: [([String], Side)] = []
        for s in Side.allCases {
            for w in [s.rawValue] + (sideWords[s] ?? []) { sidePhrases.append((Text.tokens(w), s)) }
        }
        var sevPhrases: [([String], String)] = []
        for k in severityWords.keys.sorted() {
            for w in [k] + (severityWords[k] ?? []) { sevPhrases.append((Text.tokens(w), k)) }
        }
        // Longest phrases first ("moderate sized" before "moderate"); stable for equal lengths.
        sidePhrases = Vocabulary.longestFirst(sidePhrases)
        sevPhrases = Vocabulary.longestFirst(sevPhrases)
        func extract<T: Equatable>(_ phrases: [([String], T)], into value: inout T?, what: String) throws {
            var i = 0
            while i < rest.count {
                var matched = false
                for (words, v) in phrases
                where !words.isEmpty && i + words.count <= rest.count
                    && Array(rest[i..<(i + words.count)]) == words
                {
                    // Keep the word if removing it would leave nothing (e.g. a finding named "mass").
                    if rest.count == words.count { break }
                    if let old = value, old != v {
                        throw FindingsError("'\(text)' names two \(what)s; give one")
                    }
                    value = v
                    rest.removeSubrange(i..<(i + words.count))
                    matched = true
                    break
                }
                if !matched { i += 1 }
            }
        }
        try extract(sidePhrases, into: &side, what: "side")
        try extract(sevPhrases, into: &severity, what: "severity")
        // Connectives that free text carries ("small effusion on the right", "mild degree of").
        let filler: Set<String> = [
            "a", "an", "the", "of", "on", "in", "with", "sized", "size", "degree", "there", "is", "add", "remove",
        ]
        let core = rest.filter { !filler.contains($0) }
        let coreText = core.joined(separator: " ")

        let finding: Finding
        if let f = exactMatch(coreText) ?? exactMatch(rest.joined(separator: " ")) {
            finding = f
        } else {
            // The longest name found wins; another finding's name that is not part of it means
            // the text names two findings ("cardiomegaly and effusion"), but "coin lesion" is one.
            let hits = containedMatches(core)
            var distinct: [Finding] = []
            if let top = hits.first {
                distinct.append(top.finding)
                for h in hits.dropFirst()
                where h.finding != top.finding && !top.name.contains(h.name) && !distinct.contains(h.finding) {
                    distinct.append(h.finding)
                }
            }
            if distinct.count == 1 {
                finding = distinct[0]
            } else if distinct.count > 1 {
                throw FindingsError(.severalFindingsNamed(text: text, findings: distinct.map { $0.name.lowercased() }))
            } else {
                let close = suggestions(for: coreText.isEmpty ? whole : coreText)
                throw FindingsError(.unknownFinding(text: text, suggestions: close))
            }
        }
        var request = FindingRequest(finding: finding)
        try apply(side: side, severity: severity, to: &request)
        return request
    }

    /// Sets a side and/or severity on a request after checking that the finding allows them;
    /// a conflicting value already present (from free text) is an error.
    public func apply(side: Side?, severity: String?, to request: inout FindingRequest) throws {
        let f = request.finding
        if let side {
            guard f.sided else {
                throw FindingsError(
                    .sideNotApplicable(
                        finding: f.name.lowercased(), side: side.rawValue,
                        sidedFindings: findings.filter(\.sided).map(\.id)))
            }
            if let old = request.side, old != side {
                throw FindingsError(
                    "\(f.name.lowercased()): side given twice ('\(old.rawValue)' and '\(side.rawValue)')")
            }
            request.side = side
        }
        if let severity {
            let canonical = self.severity(forWord: severity) ?? Text.normalise(severity)
            guard f.severities.contains(canonical) else {
                if f.severities.isEmpty {
                    throw FindingsError("\(f.name.lowercased()) takes no severity; drop '\(severity)'")
                }
                throw FindingsError(
                    "'\(severity)' is not a severity of \(f.name.lowercased()); use \(Vocabulary.list(f.severities, "or"))"
                )
            }
            if let old = request.severity, old != canonical {
                throw FindingsError("\(f.name.lowercased()): severity given twice ('\(old)' and '\(canonical)')")
            }
            request.severity = canonical
        }
    }

    static func longestFirst<T>(_ items: [([String], T)]) -> [([String], T)] {
        let indexed: [(offset: Int, element: ([String], T))] = Array(items.enumerated())
        let sorted = indexed.sorted { a, b in
            a.element.0.count != b.element.0.count ? a.element.0.count > b.element.0.count : a.offset < b.offset
        }
        return sorted.map { $0.element }
    }

    /// "a, b or c".
    static func list(_ items: [String], _ conjunction: String) -> String {
        if items.count <= 1 { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " \(conjunction) " + (items.last ?? "")
    }

    /// Every string a finding answers to, normalised.
    func names(of f: Finding) -> [String] {
        var out = [Text.normalise(f.id), Text.normalise(f.name)] + f.synonyms.map(Text.normalise)
        for label in f.labels.values { out.append(Text.normalise(label)) }
        var seen = Set<String>()
        return out.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    private func exactMatch(_ text: String) -> Finding? {
        guard !text.isEmpty else { return nil }
        let singular = text.hasSuffix("s") ? String(text.dropLast()) : text
        for f in findings where names(of: f).contains(text) { return f }
        for f in findings where names(of: f).contains(singular) { return f }
        return nil
    }

    /// Findings whose name occurs as a whole-word run inside `tokens`, longest first.
    private func containedMatches(_ tokens: [String]) -> [(finding: Finding, name: String)] {
        guard !tokens.isEmpty else { return [] }
        let padded = " " + tokens.joined(separator: " ") + " "
        let singular =
            " " + tokens.map { $0.count > 3 && $0.hasSuffix("s") ? String($0.dropLast()) : $0 }.joined(separator: " ")
            + " "
        var hits: [(finding: Finding, name: String)] = []
        for f in findings {
            let found = names(of: f).filter { padded.contains(" \($0) ") || singular.contains(" \($0) ") }
            if let best = found.max(by: { $0.count < $1.count }) { hits.append((f, best)) }
        }
        return hits.sorted { $0.name.count > $1.name.count }
    }

    /// Up to three finding names close to `text`: by edit distance to any name (relative to its
    /// length), and by shared words.
    public func suggestions(for text: String, limit: Int = 3) -> [String] {
        let q = Text.normalise(text)
        let qTokens = Set(q.split(separator: " ").map(String.init))
        var scored: [(score: Double, name: String)] = []
        for f in findings {
            var best = Double.infinity
            for n in names(of: f) {
                let d = Double(Text.editDistance(q, n)) / Double(max(q.count, n.count, 1))
                let nTokens = Set(n.split(separator: " ").map(String.init))
                let overlap = Double(qTokens.intersection(nTokens).count) / Double(max(qTokens.union(nTokens).count, 1))
                // prefix typos ("pneumo") score well too
                let prefix = n.hasPrefix(q) && q.count >= 3 ? 0.2 : 1.0
                best = min(best, min(d, 1 - overlap, prefix))
            }
            if best <= 0.5 { scored.append((best, Text.normalise(f.name))) }
        }
        return scored.sorted { $0.score < $1.score || ($0.score == $1.score && $0.name < $1.name) }.prefix(limit).map(
            \.name)
    }
}
