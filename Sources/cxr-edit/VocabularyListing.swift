import CXRFindings
import CXRRuns

/// `explain --list --json`: every finding of the vocabulary with its names, options and phrases, and the region
/// names the atlas offers.
struct VocabularyListing: Encodable {
    struct Entry: Encodable {
        var id: String
        var name: String
        var synonyms: [String]
        var sided: Bool
        var severities: [String]
        var labels: [String: String]
        /// The phrase the prompt gets for the finding (no side, no severity).
        var presence: String
        /// The phrase that says it is absent; null for findings without one.
        @ExplicitNull var absence: String?
        var defaultRegions: [String]

        init(_ f: Finding) {
            id = f.id; name = f.name; synonyms = f.synonyms; sided = f.sided; severities = f.severities
            labels = f.labels; presence = f.presencePhrase(side: nil, severity: nil); absence = f.absencePhrase()
            defaultRegions = f.defaultRegions(side: nil)
        }

        enum CodingKeys: String, CodingKey {
            case id, name, synonyms, sided, severities, labels, presence, absence, defaultRegions = "default_regions"
        }
    }

    var findings: [Entry]
    var regions: [String]

    init(_ vocabulary: Vocabulary, regions: [String]) {
        findings = vocabulary.findings.map(Entry.init); self.regions = regions
    }
}
