import Foundation

/// What the user asked to change: a base prompt plus findings to add and to remove.
public struct EditSpec: Sendable, Equatable {
    /// The user's `--prompt`; nil uses `EditSpec.defaultBasePrompt`.
    public var basePrompt: String?
    /// The user's `--negative-prompt`, kept in front of the composed negative phrases.
    public var baseNegativePrompt: String?
    public var adds: [FindingRequest]
    public var removes: [FindingRequest]

    /// Neutral description of the image type, in the reports' register.
    public static let defaultBasePrompt = "Frontal chest radiograph."

    public init(
        basePrompt: String? = nil, baseNegativePrompt: String? = nil,
        adds: [FindingRequest] = [], removes: [FindingRequest] = []
    ) {
        self.basePrompt = basePrompt
        self.baseNegativePrompt = baseNegativePrompt
        self.adds = adds
        self.removes = removes
    }
}

/// The prompts and default regions an `EditSpec` turns into.
public struct ComposedEdit: Sendable, Equatable {
    public var prompt: String
    /// The user's negative prompt, then, if the edit removes findings, the base prompt and the removed findings'
    /// presence phrases (guidance moves from the image as it is away from them); "" if neither.
    public var negativePrompt: String
    /// Default region names of the findings involved (Masks/ names), for `--region auto`.
    public var regions: [String]
    /// Human-readable remarks (e.g. an estimated prompt length over CLIP's 77 tokens).
    public var notes: [String]
    /// The area each added or removed finding's edit repaints (its extent for the side and severity asked).
    public var areas: [ExtentArea]
    /// The prompt without the findings' sentences: what the matched null edit asks for (docs/EVALUATION.md).
    public var basePrompt: String
    /// The negative prompt without the presence sentences of removed findings (the null edit's): the user's own,
    /// then the base prompt if the edit removes findings.
    public var baseNegativePrompt: String

    public init(
        prompt: String, negativePrompt: String, regions: [String], notes: [String], areas: [ExtentArea] = [],
        basePrompt: String = EditSpec.defaultBasePrompt, baseNegativePrompt: String = ""
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.regions = regions
        self.notes = notes
        self.areas = areas
        self.basePrompt = basePrompt
        self.baseNegativePrompt = baseNegativePrompt
    }
}

/// Builds the prompt, negative prompt and default regions for an edit.
///
/// - `--add F`: F's presence sentence ("Large right pleural effusion.") is appended to the prompt.
/// - `--remove F`: F's absence sentence ("No pleural effusion.") is appended to the prompt AND the base prompt
///   followed by F's presence sentence (with the side/severity given) goes into the negative prompt, so
///   classifier-free guidance moves from the image as it is away from the finding instead of only towards
///   "no X", which a text encoder represents close to "X". The null edit's negative prompt is then the base
///   prompt (after the user's own negative prompt).
/// Prompt order: base prompt, added findings, removed findings (each a short report sentence, so
/// several findings stay well within CLIP's 77 tokens).
public func compose(_ spec: EditSpec, vocabulary: Vocabulary) throws -> ComposedEdit {
    var seen: [String: String] = [:]
    for r in spec.adds {
        if seen[r.finding.id] != nil { throw FindingsError(.addedTwice(finding: r.finding.name.lowercased())) }
        seen[r.finding.id] = "add"
    }
    for r in spec.removes {
        if seen[r.finding.id] == "add" {
            throw FindingsError("\(r.finding.name.lowercased()) is both added and removed")
        }
        if seen[r.finding.id] == "remove" { throw FindingsError("\(r.finding.name.lowercased()) is removed twice") }
        seen[r.finding.id] = "remove"
    }
    for r in spec.adds + spec.removes {
        // Re-validate requests built by hand.
        var check = FindingRequest(finding: r.finding)
        try vocabulary.apply(side: r.side, severity: r.severity, to: &check)
    }

    var notes: [String] = []
    let base = spec.basePrompt.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    var parts: [String] = [(base?.isEmpty ?? true) ? EditSpec.defaultBasePrompt : ensureSentence(base!)]
    for r in spec.adds { parts.append(r.finding.presencePhrase(side: r.side, severity: r.severity)) }
    let basePrompt = parts[0]
    var negatives: [String] = []
    if let n = spec.baseNegativePrompt?.trimmingCharacters(in: .whitespacesAndNewlines), !n.isEmpty {
        negatives.append(ensureSentence(n))
    }
    // A removal's guidance starts from the image as it is: the base prompt heads the negative prompt, before
    // the removed findings' presence sentences, and the null edit's negative prompt too. Guidance then moves
    // from "base + finding" to "base + no finding" only, and the null edit is the plain conditional rendering
    // of the base prompt; with an empty negative both were also pushed along "base" at the full guidance.
    // On 12 held-out NIH images (third-run model) this took --remove cardiomegaly from 38% to 57% of the
    // classifier's gap (Tools/cxr_mini/runs/not-kept/, docs/model.md); an --add is weaker this way (24% -> 14%),
    // so edits that only add keep the empty negative prompt.
    if !spec.removes.isEmpty { negatives.append(basePrompt) }
    let baseNegative = negatives.joined(separator: " ")
    for r in spec.removes {
        if let a = r.finding.absencePhrase() { parts.append(a) }
        negatives.append(r.finding.presencePhrase(side: r.side, severity: r.severity))
    }
    if spec.adds.contains(where: { $0.finding.category == .none }) && spec.adds.count > 1 {
        notes.append("'no finding' is added together with other findings; the prompt contradicts itself")
    }
    var regions: [String] = []
    for r in spec.adds + spec.removes {
        for name in r.finding.defaultRegions(side: r.side) where !regions.contains(name) { regions.append(name) }
    }
    let prompt = parts.joined(separator: " ")
    let negative = negatives.joined(separator: " ")
    for (label, text) in [("prompt", prompt), ("negative prompt", negative)] {
        let n = estimatedCLIPTokens(text)
        if n > 75 { notes.append("the \(label) is about \(n) CLIP tokens; the text encoder reads only the first 75") }
    }
    let areas =
        spec.adds.map { $0.finding.editExtent(side: $0.side, severity: $0.severity) }
        + spec.removes.map { $0.finding.removalExtent(side: $0.side, severity: $0.severity) }
    return ComposedEdit(
        prompt: prompt, negativePrompt: negative, regions: regions, notes: notes, areas: areas,
        basePrompt: basePrompt, baseNegativePrompt: baseNegative)
}

/// Adds a final period if the text does not end in punctuation, so sentences join cleanly.
func ensureSentence(_ s: String) -> String {
    guard let last = s.last else { return s }
    return ".!?".contains(last) ? s : s + "."
}

/// Rough CLIP BPE token count (words, plus one per punctuation mark, plus one for every 8
/// letters beyond the first 8 in a long word); it over-estimates slightly, which is the safe side.
/// The exact count comes from CXRTokenizer in the CLI.
public func estimatedCLIPTokens(_ text: String) -> Int {
    var count = 0
    var word = 0
    func flush() {
        if word > 0 { count += 1 + max(0, (word - 1) / 8) }
        word = 0
    }
    for ch in text {
        if ch.isLetter || ch.isNumber {
            word += 1
        } else {
            flush()
            if !ch.isWhitespace { count += 1 }
        }
    }
    flush()
    return count
}
