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
        }
    }

    /// "; did you mean 'a', 'b'?" for close names, or nothing.
    private static func hint(_ suggestions: [String]) -> String {
        suggestions.isEmpty ? "" : "; did you mean \(suggestions.map { "'\($0)'" }.joined(separator: ", "))?"
    }
}
