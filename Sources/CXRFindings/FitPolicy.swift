import Foundation

/// When an atlas fit is good enough to edit with.
///
/// A region placed by a poor fit lands somewhere else than the user asked (on Samples/covid_0434.png at score 0.59
/// the left lower zone lay mid-lung), so a fit scoring under `minimumScore` is an error unless `force` is set; a
/// forced weak fit yields a warning that callers record in provenance and result rows.
public struct FitPolicy: Sendable, Equatable {
    /// The threshold measured in docs/regions.md ("Fit score"): every frontal radiograph of Samples/ and of the
    /// NIH labelled set scored above it, the non-chest images below.
    public static let defaultMinimumScore = 0.4

    public var minimumScore: Double
    /// Accept a weak fit (with a warning) instead of refusing it.
    public var force: Bool

    public init(minimumScore: Double = FitPolicy.defaultMinimumScore, force: Bool = false) {
        self.minimumScore = minimumScore
        self.force = force
    }

    public static let standard = FitPolicy()

    /// Whether `fit` is weak under this policy.
    public func isWeak(_ fit: AtlasFit) -> Bool { !(fit.score >= minimumScore) }

    /// Throws for a weak fit unless forced.
    public func check(_ fit: AtlasFit) throws {
        guard isWeak(fit), !force else { return }
        throw FindingsError(String(format: "the region atlas fits this image poorly (score %.2f, below %.2f): it may not be a frontal chest radiograph, or the regions would land in the wrong place; check the overlay of the regions command, and force the edit only if it looks right", fit.score, minimumScore))
    }

    /// The warning recorded for a forced weak fit, nil for a good one.
    public func warning(for fit: AtlasFit) -> String? {
        guard isWeak(fit) else { return nil }
        return String(format: "weak atlas fit (score %.3f, below %.2f): regions may be misplaced", fit.score, minimumScore)
    }
}
