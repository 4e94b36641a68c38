import CXRCheckpoint
import CXRFiles
import Foundation

/// The settings of a diffusers `scheduler_config.json`, exactly as the checkpoint wrote them.
///
/// Why optionals: diffusers fills every setting the file does not name with the defaults of the class that is
/// *being built*, and those defaults differ per class (DDIM clips samples by default, PNDM does not; Euler spaces
/// timesteps "linspace", DDIM "leading"). Keeping "not given" distinct lets every scheduler apply its own defaults,
/// which is what `NewScheduler.from_config(pipe.scheduler.config)` does in diffusers (the loaded scheduler's own
/// defaults are recorded as `_use_default_values` and dropped when switching class). Unknown keys are ignored; the
/// enumerated settings are typed, so a misspelt value is refused at load with the file and key named.
public struct SchedulerConfig: Sendable, Equatable {
    /// `_class_name`, e.g. "PNDMScheduler".
    public var className: String?
    public var numTrainTimesteps: Int?
    public var betaStart: Double?
    public var betaEnd: Double?
    public var betaSchedule: BetaSchedule?
    public var predictionType: PredictionType?
    public var timestepSpacing: TimestepSpacing?
    public var stepsOffset: Int?
    public var setAlphaToOne: Bool?
    public var clipSample: Bool?
    public var clipSampleRange: Double?
    public var skipPrkSteps: Bool?
    public var useKarrasSigmas: Bool?
    /// "zero" or "sigma_min".
    public var finalSigmasType: String?
    public var lowerOrderFinal: Bool?
    public var eulerAtFinal: Bool?
    public var solverOrder: Int?
    /// "dpmsolver++" (others are rejected).
    public var algorithmType: String?
    /// "midpoint" or "heun".
    public var solverType: String?
    /// "linear" (others are rejected).
    public var interpolationType: String?
    public var lambdaMinClipped: Double?
    public var sigmaMin: Double?
    public var sigmaMax: Double?
    /// Settings that are present and would change results but are not implemented, as (key, value) pairs;
    /// building a scheduler that reads one of them fails with a clear error instead of silently differing.
    public var unsupported: [String: String] = [:]

    /// An empty configuration: every setting takes the chosen class's default.
    public init() {}

    /// Parses the bytes of a `scheduler_config.json`; `file` names it in error messages.
    public init(json data: Data, file: String = "scheduler_config.json") throws {
        try self.init(JSONValue(data: data, source: file).config(file: file))
    }

    /// Reads a `scheduler_config.json` file from disk (regular files under `JSONValue.maxBytes` only).
    public init(contentsOf url: URL) throws {
        try self.init(JSONConfig(contentsOf: url))
    }

    /// Reads the settings from a parsed scheduler_config.json, through the same typed reader as the model configs:
    /// a value of the wrong type or an unknown enumeration value is an error naming the file and the key.
    public init(_ c: JSONConfig) throws {
        let file = c.file
        func integer(_ key: String) throws -> Int? {
            // Integral but absurd values (1e12 steps) would only fail later, far from the file that holds them.
            guard let i = try c.optInt(key) else { return nil }
            guard abs(i) < 1_000_000_000 else {
                throw SchedulerError.invalidConfig(file, "\(key) \(i) is out of range")
            }
            return i
        }
        func bool(_ key: String) throws -> Bool? {
            // diffusers passes JSON null as None, which every scheduler treats as false.
            if c[key]?.isNull == true { return false }
            return c.has(key) ? try c.optBool(key, default: false) : nil
        }
        className = try c.optString("_class_name")
        numTrainTimesteps = try integer("num_train_timesteps")
        betaStart = try c.optDouble("beta_start")
        betaEnd = try c.optDouble("beta_end")
        betaSchedule = try c.optEnum("beta_schedule")
        predictionType = try c.optEnum("prediction_type")
        timestepSpacing = try c.optEnum("timestep_spacing")
        stepsOffset = try integer("steps_offset")
        setAlphaToOne = try bool("set_alpha_to_one")
        clipSample = try bool("clip_sample")
        clipSampleRange = try c.optDouble("clip_sample_range")
        skipPrkSteps = try bool("skip_prk_steps")
        useKarrasSigmas = try bool("use_karras_sigmas")
        finalSigmasType = try c.optString("final_sigmas_type")
        lowerOrderFinal = try bool("lower_order_final")
        eulerAtFinal = try bool("euler_at_final")
        solverOrder = try integer("solver_order")
        algorithmType = try c.optString("algorithm_type")
        solverType = try c.optString("solver_type")
        interpolationType = try c.optString("interpolation_type")
        lambdaMinClipped = try c.optDouble("lambda_min_clipped")
        sigmaMin = try c.optDouble("sigma_min")
        sigmaMax = try c.optDouble("sigma_max")

        if let n = numTrainTimesteps, n < 2 || n > 100_000 {
            throw SchedulerError.invalidConfig(file, "num_train_timesteps \(n) is out of range")
        }
        // Values outside these ranges make the noise schedule NaN (sqrt of a negative beta, log of a non-positive
        // sigma) and the run would end in a black image with exit 0; refuse them while the file is named.
        if let b = betaStart, !(b > 0 && b < 1) {
            throw SchedulerError.invalidConfig(file, "beta_start \(b) is out of range (0, 1)")
        }
        if let b = betaEnd, !(b > 0 && b < 1) {
            throw SchedulerError.invalidConfig(file, "beta_end \(b) is out of range (0, 1)")
        }
        if let a = betaStart, let b = betaEnd, a > b {
            throw SchedulerError.invalidConfig(file, "beta_start \(a) is larger than beta_end \(b)")
        }
        for (key, value) in [("clip_sample_range", clipSampleRange), ("sigma_min", sigmaMin), ("sigma_max", sigmaMax)] {
            if let v = value, !(v.isFinite && v > 0) {
                throw SchedulerError.invalidConfig(file, "\(key) \(v) must be a positive finite number")
            }
        }
        if let v = lambdaMinClipped, v.isNaN { throw SchedulerError.invalidConfig(file, "lambda_min_clipped is NaN") }
        if c.has("trained_betas") { unsupported["trained_betas"] = "(array)" }
        for key in [
            "thresholding", "rescale_betas_zero_snr", "use_exponential_sigmas", "use_beta_sigmas",
            "use_lu_lambdas", "use_flow_sigmas", "use_dynamic_shifting",
        ] where c[key]?.bool == true {
            unsupported[key] = "true"
        }
        if let v = try c.optString("timestep_type"), v != "discrete" { unsupported["timestep_type"] = v }
        if let v = try c.optString("variance_type"), v == "learned" || v == "learned_range" {
            unsupported["variance_type"] = v
        }
    }

    /// Fails when the configuration names a setting that is present but not implemented.
    func checkSupported(keys: [String]) throws {
        for key in keys.sorted() {
            if let v = unsupported[key] { throw SchedulerError.unsupportedSetting(key, v) }
        }
    }
}
