import CXRTensor

/// diffusers' `EulerAncestralDiscreteScheduler`: an Euler step to sigma_down plus generator noise of sigma_up.
public struct EulerAncestralDiscreteScheduler: RegisteredScheduler {
    public static let className = "EulerAncestralDiscreteScheduler"
    public static let aliases = ["euler_a"]
    public let kind = SchedulerKind.eulerAncestral
    public let config: SchedulerConfig
    public var timesteps: [Double] { state.timesteps }
    public var initNoiseSigma: Float { state.initNoiseSigma }
    public let order = 1
    public let hasBeginIndex = true

    private var state: SigmaState

    /// `eta` is accepted for the registry and ignored: diffusers' class has no such parameter.
    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        let schedule = try TrainingSchedule(
            config: config, defaultSpacing: .linspace,
            predictionTypes: [.epsilon, .vPrediction])
        state = SigmaState(schedule: schedule)
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        let s = state.schedule
        try Spacing.check(steps, train: s.trainSteps)
        let ts = Spacing.sigmaBased(spacing: s.spacing, steps: steps, train: s.trainSteps, offset: s.stepsOffset)
        let (sig, _) = state.interpolated(ts, karras: false, sigmaMin: nil, sigmaMax: nil)
        state.reset(sigmas: sig.map { Float($0) } + [0], timesteps: ts.map(Double.init))
    }

    public mutating func setBeginIndex(_ i: Int) { state.beginIndex = i }

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor {
        try state.scale(sample, timestep)
    }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        let (i, sigma, sigmaTo) = try state.beginStep(timestep)
        let x0 = try state.predictX0(modelOutput, sample, sigma: sigma)
        let sigmaUp = ((sigmaTo * sigmaTo) * (sigma * sigma - sigmaTo * sigmaTo) / (sigma * sigma)).squareRoot()
        let sigmaDown = (sigmaTo * sigmaTo - sigmaUp * sigmaUp).squareRoot()
        let dt = sigmaDown - sigma
        var prev = try sample.zipValues(x0) { s, x in s + ((s - x) / sigma) * dt }
        let noise = generator.randn(modelOutput.shape)
        prev = try prev.zipValues(noise) { p, n in p + n * sigmaUp }
        state.stepIndex = i + 1
        return prev
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        try state.addNoise(original, noise, timestep)
    }
}
