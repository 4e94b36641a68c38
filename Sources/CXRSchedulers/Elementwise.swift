import CXRTensor

/// Element-wise helpers. Each closure spells out one PyTorch expression with the same operation order, so every
/// float32 operation rounds exactly where PyTorch's separate kernels round (Swift does not fuse `a * b + c`).
extension Tensor {
    func mapValues(_ f: (Float) -> Float) -> Tensor {
        Tensor(shape: shape, data: data.map(f))
    }

    func zipValues(_ other: Tensor, _ f: (Float, Float) -> Float) throws -> Tensor {
        guard shape == other.shape else {
            throw SchedulerError.invalidUse("tensor shapes differ: \(shape) vs \(other.shape)")
        }
        var out = [Float](repeating: 0, count: data.count)
        for i in 0..<data.count { out[i] = f(data[i], other.data[i]) }
        return Tensor(shape: shape, data: out)
    }
}

/// The training noise schedule and the settings every scheduler shares, with one class's defaults applied.
struct TrainingSchedule: Sendable {
    let trainSteps: Int
    let alphasCumprod: [Float]
    let predictionType: PredictionType
    let spacing: TimestepSpacing
    let stepsOffset: Int

    init(config c: SchedulerConfig, defaultSpacing: TimestepSpacing, predictionTypes: Set<PredictionType>) throws {
        try c.checkSupported(keys: [
            "trained_betas", "rescale_betas_zero_snr", "thresholding", "timestep_type",
            "use_exponential_sigmas", "use_beta_sigmas", "use_lu_lambdas",
            "use_flow_sigmas", "use_dynamic_shifting", "variance_type",
        ])
        trainSteps = c.numTrainTimesteps ?? 1000
        let betas = NoiseSchedule.betas(
            schedule: c.betaSchedule ?? .linear, start: c.betaStart ?? 0.0001,
            end: c.betaEnd ?? 0.02, count: trainSteps)
        alphasCumprod = NoiseSchedule.alphasCumprod(betas)
        predictionType = c.predictionType ?? .epsilon
        // A known prediction type can still be one this class does not implement (diffusers' PNDM has no "sample").
        guard predictionTypes.contains(predictionType) else {
            throw SchedulerError.unsupportedSetting("prediction_type", predictionType.rawValue)
        }
        spacing = c.timestepSpacing ?? defaultSpacing
        stepsOffset = c.stepsOffset ?? 0
    }

    /// Training sigmas `((1 - a) / a) ** 0.5` in float32, ascending in timestep.
    var trainSigmas: [Float] { alphasCumprod.map { ((1 - $0) / $0).squareRoot() } }

    /// An integer training timestep from a pipeline's `Double`, validated.
    func index(_ t: Double) throws -> Int {
        guard t.isFinite, t == t.rounded(), t >= 0, t < Double(trainSteps) else {
            throw SchedulerError.invalidUse("timestep \(t) is not an integer in 0..<\(trainSteps)")
        }
        return Int(t)
    }
}

/// diffusers' `index_for_timestep` of the Euler/LMS family: the position of `t` in `timesteps`, taking the
/// second occurrence when it occurs more than once (so img2img starting mid-schedule never skips a sigma).
func indexForTimestep(_ t: Double, in timesteps: [Double]) throws -> Int {
    let hits = timesteps.indices.filter { timesteps[$0] == t }
    guard let first = hits.first else {
        throw SchedulerError.invalidUse("timestep \(t) is not one of the scheduler's timesteps")
    }
    return hits.count > 1 ? hits[1] : first
}
