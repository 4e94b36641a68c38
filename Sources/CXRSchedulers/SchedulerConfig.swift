import Foundation

/// The settings of a diffusers `scheduler_config.json`, exactly as the checkpoint wrote them.
///
/// Why optionals: diffusers fills every setting the file does not name with the defaults of the class that is
/// *being built*, and those defaults differ per class (DDIM clips samples by default, PNDM does not; Euler spaces
/// timesteps "linspace", DDIM "leading"). Keeping "not given" distinct lets every scheduler apply its own defaults,
/// which is what `NewScheduler.from_config(pipe.scheduler.config)` does in diffusers (the loaded scheduler's own
/// defaults are recorded as `_use_default_values` and dropped when switching class). Unknown keys are ignored.
public struct SchedulerConfig: Sendable, Equatable {
    /// `_class_name`, e.g. "PNDMScheduler".
    public var className: String?
    public var numTrainTimesteps: Int?
    public var betaStart: Double?
    public var betaEnd: Double?
    /// "linear", "scaled_linear" or "squaredcos_cap_v2".
    public var betaSchedule: String?
    /// "epsilon", "v_prediction" or "sample".
    public var predictionType: String?
    /// "leading", "trailing" or "linspace".
    public var timestepSpacing: String?
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
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SchedulerError.invalidConfig(file, "not valid JSON")
        }
        guard let dict = object as? [String: Any] else {
            throw SchedulerError.invalidConfig(file, "top level is not an object")
        }
        try self.init(dictionary: dict, file: file)
    }

    /// Reads a `scheduler_config.json` file from disk.
    public init(contentsOf url: URL) throws {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw SchedulerError.invalidConfig(url.path, "cannot read file")
        }
        try self.init(json: data, file: url.path)
    }

    /// Takes the dictionary `JSONSerialization` produces for a scheduler_config.json.
    public init(dictionary d: [String: Any], file: String = "scheduler_config.json") throws {
        func present(_ key: String) -> Any? {
            guard let v = d[key], !(v is NSNull) else { return nil }
            return v
        }
        func string(_ key: String) throws -> String? {
            guard let v = present(key) else { return nil }
            guard let s = v as? String else { throw SchedulerError.invalidConfig(file, "\(key) is not a string") }
            return s
        }
        func number(_ key: String) throws -> Double? {
            guard let v = present(key) else { return nil }
            guard case let .number(x) = JSONScalar(v) else {
                throw SchedulerError.invalidConfig(file, "\(key) is not a number")
            }
            return x
        }
        func integer(_ key: String) throws -> Int? {
            guard let x = try number(key) else { return nil }
            guard x.isFinite, x == x.rounded(), abs(x) < 1e9 else {
                throw SchedulerError.invalidConfig(file, "\(key) is not an integer")
            }
            return Int(x)
        }
        func bool(_ key: String) throws -> Bool? {
            // diffusers passes JSON null as None, which every scheduler treats as false.
            if let v = d[key], v is NSNull { return false }
            guard let v = present(key) else { return nil }
            guard case let .bool(b) = JSONScalar(v) else {
                throw SchedulerError.invalidConfig(file, "\(key) is not a boolean")
            }
            return b
        }
        className = try string("_class_name")
        numTrainTimesteps = try integer("num_train_timesteps")
        betaStart = try number("beta_start")
        betaEnd = try number("beta_end")
        betaSchedule = try string("beta_schedule")
        predictionType = try string("prediction_type")
        timestepSpacing = try string("timestep_spacing")
        stepsOffset = try integer("steps_offset")
        setAlphaToOne = try bool("set_alpha_to_one")
        clipSample = try bool("clip_sample")
        clipSampleRange = try number("clip_sample_range")
        skipPrkSteps = try bool("skip_prk_steps")
        useKarrasSigmas = try bool("use_karras_sigmas")
        finalSigmasType = try string("final_sigmas_type")
        lowerOrderFinal = try bool("lower_order_final")
        eulerAtFinal = try bool("euler_at_final")
        solverOrder = try integer("solver_order")
        algorithmType = try string("algorithm_type")
        solverType = try string("solver_type")
        interpolationType = try string("interpolation_type")
        lambdaMinClipped = try number("lambda_min_clipped")
        sigmaMin = try number("sigma_min")
        sigmaMax = try number("sigma_max")

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
        if present("trained_betas") != nil { unsupported["trained_betas"] = "(array)" }
        for key in ["thresholding", "rescale_betas_zero_snr", "use_exponential_sigmas", "use_beta_sigmas",
                    "use_lu_lambdas", "use_flow_sigmas", "use_dynamic_shifting"] {
            if let v = present(key), case .bool(true) = JSONScalar(v) { unsupported[key] = "true" }
        }
        if let v = try string("timestep_type"), v != "discrete" { unsupported["timestep_type"] = v }
        if let v = try string("variance_type"), v == "learned" || v == "learned_range" { unsupported["variance_type"] = v }
    }

    /// Fails when the configuration names a setting that is present but not implemented.
    func checkSupported(keys: [String]) throws {
        for key in keys.sorted() {
            if let v = unsupported[key] { throw SchedulerError.unsupportedSetting(key, v) }
        }
    }
}

/// A JSON scalar as Foundation hands it over on Linux and macOS (booleans and numbers both arrive as NSNumber
/// from JSONSerialization, as Swift values from hand-built dictionaries).
enum JSONScalar {
    case bool(Bool)
    case number(Double)
    case other

    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))

    init(_ v: Any) {
        if type(of: v) == Bool.self, let b = v as? Bool {
            self = .bool(b)
        } else if type(of: v) is NSNumber.Type, let n = v as? NSNumber {
            self = ObjectIdentifier(type(of: n)) == Self.booleanClass ? .bool(n.boolValue) : .number(n.doubleValue)
        } else if let x = v as? Double, type(of: v) == Double.self {
            self = .number(x)
        } else if let i = v as? Int, type(of: v) == Int.self {
            self = .number(Double(i))
        } else {
            self = .other
        }
    }
}
