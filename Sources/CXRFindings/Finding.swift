import Foundation

/// Laterality as radiology reports state it. The patient's right is on the image's left (PA display).
public enum Side: String, Sendable, CaseIterable, Codable {
    case right, left, bilateral

    /// The single sides a region template `{side}` expands to.
    public var expanded: [Side] { self == .bilateral ? [.right, .left] : [self] }
}

/// What kind of entry a finding is: a pathology, a support device, or the "no finding" label.
public enum FindingCategory: String, Sendable, Codable {
    case finding, device, none
}

/// One entry of the findings vocabulary (`Resources/findings.json`, documented in docs/findings.md).
///
/// Each finding carries the phrases a radiology report uses, so that a prompt composed from
/// `--add`/`--remove` reads like the reports the model (RoentGen) was trained on.
public struct Finding: Sendable, Equatable, Codable {
    /// Stable identifier, kebab-case (`pleural-effusion`).
    public let id: String
    /// Display name (`Pleural effusion`).
    public let name: String
    public let category: FindingCategory
    /// Label strings of classifier label sets, keyed by set (`torchxrayvision`, `chexpert`), exactly as
    /// those libraries spell them (`Effusion`, `Pleural_Thickening`): the probe maps classifier
    /// outputs to findings through these.
    public let labels: [String: String]
    /// What users type (lower case); the id and name are matched as well.
    public let synonyms: [String]
    /// Whether `--side` applies (effusion: yes; cardiomegaly: no).
    public let sided: Bool
    /// Canonical severity words allowed for this finding, mildest first (empty = none).
    public let severities: [String]
    /// Presence sentence without a side; `{Severity}` is replaced (or dropped).
    public let presence: String
    /// Presence sentence with `{side}` (right/left); defaults to `presence`.
    public let presenceSided: String?
    /// Presence sentence for both sides; defaults to `presenceSided` with "bilateral".
    public let presenceBilateral: String?
    /// How a report states the finding is absent (`No pleural effusion.`); nil for "no finding".
    public let absence: String?
    /// Default region names (from Masks/); `{side}` expands to right/left (both when bilateral or unsided).
    public let region: [String]
    /// How far an edit reaches per severity (see `editExtent(side:severity:)`); nil = `region`, ungrown.
    public let extent: EditExtent?

    /// torchxrayvision's output label (`Effusion`), if the finding is one of its 18 outputs.
    public var torchxrayvisionLabel: String? { labels["torchxrayvision"] }
    /// CheXpert's label (`Pleural Effusion`), if the finding is one of its 14 labels.
    public var chexpertLabel: String? { labels["chexpert"] }

    /// The presence sentence for `side` and `severity` (nil = unspecified).
    public func presencePhrase(side: Side?, severity: String?) -> String {
        let template: String
        switch side {
        case nil: template = presence
        case .bilateral?: template = presenceBilateral ?? presenceSided ?? presence
        case .some: template = presenceSided ?? presence
        }
        return PhraseTemplate.fill(template, side: side?.rawValue, severity: severity)
    }

    /// The absence sentence (nil for "no finding", which has none).
    public func absencePhrase() -> String? {
        absence.map { PhraseTemplate.fill($0, side: nil, severity: nil) }
    }

    /// Default region names for `side` (nil or bilateral = both sides), deduplicated, in order.
    public func defaultRegions(side: Side?) -> [String] {
        Finding.expand(region, side: side)
    }
}

/// Fills `{Severity}` / `{side}` placeholders and tidies the sentence.
enum PhraseTemplate {
    /// Empty placeholders are removed with their space, double spaces collapsed, the first letter
    /// capitalised ("{Severity} {side} pleural effusion." with nothing -> "Pleural effusion.").
    static func fill(_ template: String, side: String?, severity: String?) -> String {
        var s = template
        s = s.replacingOccurrences(of: "{Severity}", with: severity ?? "")
        s = s.replacingOccurrences(of: "{severity}", with: severity ?? "")
        s = s.replacingOccurrences(of: "{side}", with: side ?? "")
        let words = s.split(separator: " ", omittingEmptySubsequences: true)
        var joined = words.joined(separator: " ")
        joined = joined.replacingOccurrences(of: " .", with: ".")
        guard let first = joined.first else { return joined }
        return first.uppercased() + joined.dropFirst()
    }
}
