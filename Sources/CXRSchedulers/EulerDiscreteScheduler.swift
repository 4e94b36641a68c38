import CXRTensor

/// diffusers' `EulerDiscreteScheduler` (deterministic Euler; `s_churn` 0 as the pipelines call it).
public struct EulerDiscreteScheduler: RegisteredScheduler {
    public static let className = "EulerDiscreteScheduler"
    public let kind = SchedulerKind.euler
    public let config: SchedulerConfig
    public var timesteps: [Double] { state.timesteps }
    public var initNoiseSigma: Float { state.initNoiseSigma }
    public let order = 1
    public let hasBeginIndex = true

    private var state: SigmaState
    private let karras: Bool
    private let finalSigmaMin: Bool

    /// `eta` is accepted for the registry and ignored: diffusers' class has no such parameter.
    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        let schedule = try TrainingSchedule(
            config: config, defaultSpacing: .linspace,
            predictionTypes: [.epsilon, .vPrediction, .sample])
        state = SigmaState(schedule: schedule)
        karras = config.useKarrasSigmas ?? false
        let interpolation = config.interpolationType ?? "linear"
        guard interpolation == "linear" else {
            throw SchedulerError.unsupportedSetting("interpolation_type", interpolation)
        }
        let finalType = config.finalSigmasType ?? "zero"
        guard finalType == "zero" || finalType == "sigma_min" else {
            throw SchedulerError.unsupportedSetting("final_sigmas_type", finalType)
        }
        finalSigmaMin = finalType == "sigma_min"
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        let s = state.schedule
        try Spacing.check(steps, train: s.trainSteps)
        let ts = Spacing.sigmaBased(spacing: s.spacing, steps: steps, train: s.trainSteps, offset: s.stepsOffset)
        let (sig, outTs) = state.interpolated(ts, karras: karras, sigmaMin: config.sigmaMin, sigmaMax: config.sigmaMax)
        let last: Float = finalSigmaMin ? s.trainSigmas[0] : 0
        state.reset(sigmas: sig.map { Float($0) } + [last], timesteps: outTs.map(Double.init))
    }

    public mutating func setBeginIndex(_ i: Int) { state.beginIndex = i }

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor {
        try state.scale(sample, timestep)
    }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        let (i, sigma, sigmaNext) = try state.beginStep(timestep)
        let sigmaHat = sigma * (0 + 1)  // gamma is 0 without churn
        let x0 = try state.predictX0(modelOutput, sample, sigma: sigmaHat)
        let dt = sigmaNext - sigmaHat
        let prev = try sample.zipValues(x0) { s, x in s + ((s - x) / sigmaHat) * dt }
        state.stepIndex = i + 1
        return prev
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        try state.addNoise(original, noise, timestep)
    }
}
