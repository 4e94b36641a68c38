import CXRRuns

/// One edit's statistics for one classifier, over the rows of a run: summary.json's `classifiers.<name>.edits.<edit>`
/// and the report's per-edit tables.
struct EditStats: Encodable {
    var edit: String
    @ExplicitNull var target: String?
    var action: String
    var mode: String
    var prompt: String
    @ExplicitNull var nullPrompt: String?
    var regions: String?
    var n: Int
    var images: Int
    /// p(edit) - p(null edit) on the target: what the finding itself did.
    @ExplicitNull var effect: Estimate?
    /// p(null edit) - p(input) on the target: what re-synthesis alone did.
    @ExplicitNull var sensitivity: Estimate?
    /// Share of rows whose effect has the sign the edit asks for (up for add/prompt, down for remove).
    @ExplicitNull var rightDirection: Double?
    @ExplicitNull var flipRate: Estimate?
    @ExplicitNull var targetDelta: Estimate?
    @ExplicitNull var offTarget: Estimate?
    var byStrength: [StrengthMean]

    /// The mean target effect of the rows of one strength.
    struct StrengthMean: Encodable {
        var strength: Double
        var mean: Double
        var n: Int
    }

    /// The edit's name and regions are known where the entry is filed; summary.json leaves them out.
    enum CodingKeys: String, CodingKey {
        case target, action, mode, prompt, n, images, effect
        case nullPrompt = "null_prompt", sensitivity = "sensitivity_to_resynthesis"
        case rightDirection = "right_direction", flipRate = "flip_rate", targetDelta = "target_delta"
        case offTarget = "off_target_mean_abs_delta", byStrength = "effect_by_strength"
    }
}
