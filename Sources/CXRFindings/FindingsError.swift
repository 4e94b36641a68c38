import Foundation

/// A user-facing error of the findings layer: one line that names the input (a finding, a region,
/// a file) and the problem, ready to print.
///
/// Problems a caller may want to phrase in its own vocabulary carry their values in `problem`: the command line
/// names its flags (`--dilate`, `--side`), a spec its keys, while `description` uses neither.
public struct FindingsError: Error, CustomStringConvertible, Equatable, Sendable {
    /// A problem of the request itself, with the offending values.
    public enum Problem: Equatable, Sendable {
        /// The extra growth of the edit area is outside 0...`RegionFitter.maxDilation` pixels.
        case dilationOutOfRange(pixels: Int)
        /// No region was named where at least one is needed.
        case noRegionNamed
        /// `text` names several findings (lower-case names, longest match first).
        case severalFindingsNamed(text: String, findings: [String])
        /// `text` names no finding; `suggestions` are close names (possibly none).
        case unknownFinding(text: String, suggestions: [String])
        /// A side was given for a finding that has none; `sidedFindings` are the ids of those that have one.
        case sideNotApplicable(finding: String, side: String, sidedFindings: [String])
        /// The same finding is added twice (two sides are one bilateral finding).
        case addedTwice(finding: String)
        /// The edit regions, placed by the atlas fit, cover no pixel of the image.
        case regionOutsideImage(regions: [String])
        /// Two ways of naming the edit area were given together (e.g. the whole image and named regions).
        case areaGivenTwice(EditAreaSource, EditAreaSource)
        /// A side word that is not left, right or bilateral (nor one of their synonyms).
        case unknownSide(word: String)
        /// A side or severity was given without a finding to qualify.
        case qualifierWithoutFinding
        /// More than one side (or severity) was given, but not one per finding of `action`.
        case qualifierCountMismatch(Qualifier, given: Int, findings: Int, action: Action)
        /// The `auto` region (the findings' extents) was named without a finding.
        case automaticRegionWithoutFinding
        /// A dilation was asked for an edit whose area (`source`) is no region.
        case dilationWithoutRegion(EditAreaSource)
        /// The edit mask file has no white pixel: nothing to edit.
        case emptyMask(file: String)
    }

    /// What qualifies a finding.
    public enum Qualifier: String, Sendable {
        case side, severity
    }

    /// What an edit does with a finding.
    public enum Action: String, Sendable {
        case add, remove
    }

    public let description: String
    /// The typed problem, when the error is one a caller may phrase itself; nil for all others.
    public let problem: Problem?

    public init(_ description: String) {
        self.description = description
        problem = nil
    }

    public init(_ problem: Problem) {
        self.problem = problem
        description = problem.description
    }
}

extension FindingsError.Problem: CustomStringConvertible {
    /// The problem in the findings layer's own words (no command-line flags, no spec keys).
    public var description: String {
        switch self {
        case .dilationOutOfRange(let pixels):
            return "dilation must be between 0 and \(RegionFitter.maxDilation) pixels, got \(pixels)"
        case .noRegionNamed:
            return "no region named; give at least one region"
        case .severalFindingsNamed(let text, let findings):
            return "'\(text)' names several findings (\(findings.joined(separator: ", "))); give one per request"
        case .unknownFinding(let text, let suggestions):
            return "unknown finding '\(text)'" + Self.hint(suggestions)
        case .sideNotApplicable(let finding, let side, let sidedFindings):
            return "\(finding) has no side; drop '\(side)' (sided findings: \(sidedFindings.joined(separator: ", ")))"
        case .addedTwice(let finding):
            return "\(finding) is added twice; give it once (bilateral for both sides)"
        case .regionOutsideImage(let regions):
            return "the fitted region \(regions.joined(separator: "+")) lies outside the image; check the atlas fit"
        case .areaGivenTwice(let first, let second):
            return "give \(Self.words(first)) or \(Self.words(second)), not both (each names the edit area)"
        case .unknownSide(let word):
            return "the side must be left, right or bilateral, got '\(word)'"
        case .qualifierWithoutFinding:
            return "a side or severity qualifies a finding to add or remove; give one"
        case .qualifierCountMismatch(let qualifier, let given, let findings, let action):
            return
                "\(given) \(qualifier.rawValue) values for \(findings) findings to \(action.rawValue); give one for all "
                + "or one per finding"
        case .automaticRegionWithoutFinding:
            return "the region 'auto' is the extents of findings to add or remove; give one"
        case .dilationWithoutRegion(let source):
            return "dilation grows a region; it applies to findings' extents or named regions, not to "
                + (source == .maskFile ? "a mask file" : "whole-image edits")
        case .emptyMask(let file):
            return "\(file): the edit mask is empty (no white pixels): nothing to edit"
        }
    }

    /// An edit area in words.
    private static func words(_ source: EditAreaSource) -> String {
        switch source {
        case .extents: return "the findings' extents"
        case .named: return "regions"
        case .maskFile: return "a mask file"
        case .wholeImage: return "the whole image"
        }
    }

    /// "; did you mean 'a', 'b'?" for close names, or nothing.
    private static func hint(_ suggestions: [String]) -> String {
        suggestions.isEmpty ? "" : "; did you mean \(suggestions.map { "'\($0)'" }.joined(separator: ", "))?"
    }
}
