import Foundation

/// When an atlas fit is good enough to edit with.
///
/// A region placed by a poor fit lands somewhere else than the user asked (on Samples/covid_0434.png at score 0.59
/// the left lower zone lay mid-lung), so a fit scoring under `minimumScore` is an error unless `force` is set; a
/// forced weak fit yields a warning that callers record in provenance and result rows.
public struct FitPolicy: Sendable, Equatable {
    /// Chosen from measured scores (docs/regions.md, "Fit score"): frontal radiographs (Samples/, 447 NIH images,
    /// 103 COVID collection images) score 0.54-0.95, median 0.82; 60 non-chest images 0.16-0.74, median 0.31.
    /// Below 0.6 lie 1.6% of the radiographs, and those fits are visibly off (Samples/covid_0434.png at 0.59: the
    /// atlas half size, high on the chest) or marginal; above it only 3 of the 60 non-chest images (symmetric icons).
    public static let defaultMinimumScore = 0.6

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

    /// Throws `WeakFitError` for a weak fit unless forced.
    public func check(_ fit: AtlasFit) throws {
        guard isWeak(fit), !force else { return }
        throw WeakFitError(score: fit.score, minimumScore: minimumScore)
    }

    /// The warning recorded for a forced weak fit, nil for a good one.
    public func warning(for fit: AtlasFit) -> String? {
        guard isWeak(fit) else { return nil }
        return String(
            format: "weak atlas fit (score %.3f, below %.2f): regions may be misplaced", fit.score,
            minimumScore)
    }
}

/// A region edit refused because the atlas fits the image poorly (callers name their own way to force it).
public struct WeakFitError: Error, CustomStringConvertible, Equatable {
    public let score: Double
    public let minimumScore: Double

    public init(score: Double, minimumScore: Double) {
        self.score = score
        self.minimumScore = minimumScore
    }

    public var description: String {
        String(
            format: "the region atlas fits this image poorly (score %.2f, below %.2f): the regions would likely "
                + "land in the wrong place, or the image is not a frontal chest radiograph; check the regions overlay",
            score, minimumScore)
    }
}
