/// What the UNet was trained to predict (`prediction_type` in scheduler_config.json).
///
/// Every scheduler turns the model output into an estimate of the clean sample (x0); this says which formula.
/// The raw values are diffusers' spellings, so a config value maps to a case or is refused while the file is named.
public enum PredictionType: String, CaseIterable, Sendable {
    /// The added noise (SD 1.x/2.x base models).
    case epsilon
    /// The velocity sqrt(a) * noise - sqrt(1 - a) * x0 (SD 2.x 768 models).
    case vPrediction = "v_prediction"
    /// The clean sample itself.
    case sample
}
