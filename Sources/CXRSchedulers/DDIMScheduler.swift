import CXRTensor

/// diffusers' `DDIMScheduler`: deterministic for `eta` 0, adds generator noise for `eta` > 0.
public struct DDIMScheduler: RegisteredScheduler {
    public static let className = "DDIMScheduler"
    public let kind = SchedulerKind.ddim
    public let config: SchedulerConfig
    public private(set) var timesteps: [Double] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public let hasBeginIndex = false
    /// The pipeline's `eta` (0 = DDIM, 1 = DDPM-like noise).
    public var eta: Double

    private let schedule: TrainingSchedule
    private let finalAlphaCumprod: Float
    private let clipSample: Bool
    private let clipRange: Float
    private var steps = 0

    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        self.eta = eta
        schedule = try TrainingSchedule(
            config: config, defaultSpacing: .leading,
            predictionTypes: [.epsilon, .vPrediction, .sample])
        finalAlphaCumprod = (config.setAlphaToOne ?? true) ? 1 : schedule.alphasCumprod[0]
        clipSample = config.clipSample ?? true
        clipRange = Float(config.clipSampleRange ?? 1.0)
    }

    /// alpha_cumprod at `timestep` and at the timestep a step from it lands on (DDIM's prev_timestep rule,
    /// `set_alpha_to_one` after the last one). Edit-friendly DDPM inversion needs both.
    public func alphaPair(for timestep: Double) throws -> (current: Float, previous: Float) {
        guard steps > 0 else { throw SchedulerError.invalidUse("alphaPair before setTimesteps") }
        let t = try schedule.index(timestep)
        let prevT = t - schedule.trainSteps / steps
        return (schedule.alphasCumprod[t], prevT >= 0 ? schedule.alphasCumprod[prevT] : finalAlphaCumprod)
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        try Spacing.check(steps, train: schedule.trainSteps)
        self.steps = steps
        timesteps = Spacing.ddim(
            spacing: schedule.spacing, steps: steps, train: schedule.trainSteps,
            offset: schedule.stepsOffset
        ).map(Double.init)
    }

    public mutating func setBeginIndex(_ i: Int) {}

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor { sample }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        guard steps > 0 else { throw SchedulerError.invalidUse("step called before setTimesteps") }
        let t = try schedule.index(timestep)
        let prevT = t - schedule.trainSteps / steps
        let ac = schedule.alphasCumprod
        let aT = ac[t]
        let aPrev = prevT >= 0 ? ac[prevT] : finalAlphaCumprod
        let bT = 1 - aT
        let sqA = aT.squareRoot(), sqB = bT.squareRoot()

        var x0: Tensor, eps: Tensor
        switch schedule.predictionType {
        case .epsilon:
            x0 = try sample.zipValues(modelOutput) { s, m in (s - sqB * m) / sqA }
            eps = modelOutput
        case .sample:
            x0 = modelOutput
            eps = try sample.zipValues(x0) { s, x in (s - sqA * x) / sqB }
        case .vPrediction:
            x0 = try sample.zipValues(modelOutput) { s, m in sqA * s - sqB * m }
            eps = try modelOutput.zipValues(sample) { m, s in sqA * m + sqB * s }
        }
        if clipSample {
            let r = clipRange
            x0 = x0.mapValues { Swift.min(Swift.max($0, -r), r) }
        }
        let bPrev = 1 - aPrev
        let variance = (bPrev / bT) * (1 - aT / aPrev)
        let std = Float(eta) * variance.squareRoot()
        let dirCoef = (1 - aPrev - std * std).squareRoot()
        let sqAPrev = aPrev.squareRoot()
        var prev = try x0.zipValues(eps) { x, e in sqAPrev * x + dirCoef * e }
        if eta > 0 {
            let noise = generator.randn(modelOutput.shape)
            prev = try prev.zipValues(noise) { p, n in p + std * n }
        }
        return prev
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        try alphaNoise(schedule, original, noise, timestep)
    }
}

/// `add_noise` of DDIM and PNDM: sqrt(a_t) * x0 + sqrt(1 - a_t) * noise.
func alphaNoise(_ schedule: TrainingSchedule, _ original: Tensor, _ noise: Tensor, _ timestep: Double) throws -> Tensor
{
    let a = schedule.alphasCumprod[try schedule.index(timestep)]
    let sa = a.squareRoot(), sb = (1 - a).squareRoot()
    return try original.zipValues(noise) { x, n in sa * x + sb * n }
}
