import CXRTensor

/// What Euler, Euler ancestral and LMS share: inference sigmas, float32 timesteps and diffusers' step-index /
/// begin-index bookkeeping (which decides the sigma for a timestep, also in `add_noise`).
struct SigmaState: Sendable {
    let schedule: TrainingSchedule
    /// float32 sigmas, one per timestep plus the final one.
    var sigmas: [Float]
    var timesteps: [Double] = []
    var stepIndex: Int?
    var beginIndex: Int?

    init(schedule: TrainingSchedule) {
        self.schedule = schedule
        // Before set_timesteps diffusers holds the training sigmas, descending, with a final 0.
        sigmas = schedule.trainSigmas.reversed() + [0]
    }

    /// `init_noise_sigma`: the largest sigma, or sqrt(max^2 + 1) for "leading" spacing.
    var initNoiseSigma: Float {
        let m = sigmas.max() ?? 0
        switch schedule.spacing {
        case .linspace, .trailing: return m
        case .leading: return (m * m + 1).squareRoot()
        }
    }

    /// The step index `step`/`scale_model_input` use for `t` (without recording it).
    func currentIndex(_ t: Double) throws -> Int {
        if let s = stepIndex { return s }
        if let b = beginIndex { return b }
        return try indexForTimestep(t, in: timesteps)
    }

    /// A new schedule from `set_timesteps`: sigmas (with the final one appended), timesteps, and no position yet.
    mutating func reset(sigmas newSigmas: [Float], timesteps newTimesteps: [Double]) {
        sigmas = newSigmas
        timesteps = newTimesteps
        stepIndex = nil
        beginIndex = nil
    }

    /// The start of every `step`: the index for `t` (recorded), its sigma and the next one.
    mutating func beginStep(_ t: Double) throws -> (index: Int, sigma: Float, next: Float) {
        guard !timesteps.isEmpty else { throw SchedulerError.invalidUse("step called before setTimesteps") }
        let i = try currentIndex(t)
        stepIndex = i
        return (i, try sigma(at: i), try sigma(at: i + 1))
    }

    func sigma(at i: Int) throws -> Float {
        guard i >= 0, i < sigmas.count else { throw SchedulerError.invalidUse("step index \(i) is past the last step") }
        return sigmas[i]
    }

    /// `scale_model_input`: sample / sqrt(sigma^2 + 1).
    func scale(_ sample: Tensor, _ t: Double) throws -> Tensor {
        let s = try sigma(at: try currentIndex(t))
        let d = (s * s + 1).squareRoot()
        return sample.mapValues { $0 / d }
    }

    /// The sigma `add_noise` uses: by timestep when no begin index is set, else the current step or begin index.
    func noiseSigma(_ t: Double) throws -> Float {
        let i: Int
        if beginIndex == nil {
            i = try indexForTimestep(t, in: timesteps)
        } else if let s = stepIndex {
            i = s
        } else {
            i = beginIndex ?? 0
        }
        return try sigma(at: i)
    }

    /// `add_noise`: original + noise * sigma.
    func addNoise(_ original: Tensor, _ noise: Tensor, _ t: Double) throws -> Tensor {
        let s = try noiseSigma(t)
        return try original.zipValues(noise) { x, n in x + n * s }
    }

    /// x0 prediction of the Euler/LMS family for prediction types epsilon, v_prediction and sample.
    func predictX0(_ modelOutput: Tensor, _ sample: Tensor, sigma: Float) throws -> Tensor {
        switch schedule.predictionType {
        case .epsilon:
            return try sample.zipValues(modelOutput) { s, m in s - sigma * m }
        case .vPrediction:
            let c1 = -sigma / (sigma * sigma + 1).squareRoot()
            let c2 = sigma * sigma + 1
            return try modelOutput.zipValues(sample) { m, s in m * c1 + s / c2 }
        case .sample:
            return modelOutput
        }
    }

    /// Sigmas for `timesteps` by linear interpolation of the training sigmas (np.interp in float64), optionally
    /// Karras-spaced; returns float64 sigmas and the (possibly replaced) timesteps.
    func interpolated(_ ts: [Float], karras: Bool, sigmaMin: Double?, sigmaMax: Double?) -> ([Double], [Float]) {
        let train = schedule.trainSigmas
        var sig = ts.map { NumpyCompat.interp(Double($0), train) }
        var outTs = ts
        if karras, let first = sig.first, let last = sig.last {
            sig = NumpyCompat.karras(sigmaMin: sigmaMin ?? last, sigmaMax: sigmaMax ?? first, count: sig.count)
            let logs = train.map { NumpyCompat.logf($0) }
            outTs = sig.map { Float(NumpyCompat.sigmaToT($0, logs)) }
        }
        return (sig, outTs)
    }
}
