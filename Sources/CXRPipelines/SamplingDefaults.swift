/// The sampler settings a run uses where it is given none: what the model folder recommends
/// (`ModelRecommendations`, e.g. RoentGen: 75 steps, guidance 4), else diffusers' own defaults.
public struct SamplingDefaults: Sendable, Equatable {
    /// diffusers' default number of denoising steps.
    public static let fallbackSteps = 50
    /// diffusers' default classifier-free guidance scale.
    public static let fallbackGuidance = 7.5

    public var steps: Int
    public var guidance: Double

    public init(recommendations: ModelRecommendations) {
        steps = recommendations.steps ?? Self.fallbackSteps
        guidance = recommendations.guidance ?? Self.fallbackGuidance
    }
}
