import CXRTensor

/// diffusers' `PNDMScheduler` (SD 1.x's default): PLMS with `skip_prk_steps`, or Runge-Kutta warm-up steps
/// followed by PLMS otherwise.
///
/// The call counter and the list of past model outputs behave exactly as in diffusers, including the second call
/// that re-evaluates the first timestep, and when an img2img run starts in the middle of `timesteps`.
public struct PNDMScheduler: RegisteredScheduler {
    public static let className = "PNDMScheduler"
    public let kind = SchedulerKind.pndm
    public let config: SchedulerConfig
    public private(set) var timesteps: [Double] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public let hasBeginIndex = false

    private let schedule: TrainingSchedule
    private let finalAlphaCumprod: Float
    private let skipPrk: Bool
    private var steps = 0
    private var prkTimesteps: [Int] = []
    private var counter = 0
    private var ets: [Tensor] = []
    private var curSample: Tensor?
    private var curModelOutput: Tensor?

    /// `eta` is accepted for the registry and ignored: diffusers' class has no such parameter.
    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        schedule = try TrainingSchedule(
            config: config, defaultSpacing: .leading,
            predictionTypes: [.epsilon, .vPrediction])
        finalAlphaCumprod = (config.setAlphaToOne ?? false) ? 1 : schedule.alphasCumprod[0]
        skipPrk = config.skipPrkSteps ?? false
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        try Spacing.check(steps, train: schedule.trainSteps)
        self.steps = steps
        let ts = Spacing.pndm(
            spacing: schedule.spacing, steps: steps, train: schedule.trainSteps,
            offset: schedule.stepsOffset)
        let plms: [Int]
        if skipPrk {
            prkTimesteps = []
            // concatenate([ts[:-1], ts[-2:-1], ts[-1:]])[::-1]: the second-to-last timestep is repeated.
            let secondLast: [Int] = ts.count >= 2 ? [ts[ts.count - 2]] : []
            plms = (Array(ts.dropLast()) + secondLast + [ts[ts.count - 1]]).reversed()
        } else {
            guard ts.count >= 4 else {
                throw SchedulerError.invalidUse("PNDM without skip_prk_steps needs at least 4 steps")
            }
            // np.array(ts[-4:]).repeat(2) + np.tile([0, T // N // 2], 4), then [:-1].repeat(2)[1:-1] reversed.
            let half = schedule.trainSteps / steps / 2
            let last = Array(ts.suffix(4))
            var prk: [Int] = []
            for (i, v) in last.flatMap({ [$0, $0] }).enumerated() { prk.append(v + (i % 2 == 0 ? 0 : half)) }
            let doubled = prk.dropLast().flatMap { [$0, $0] }
            prkTimesteps = Array(doubled.dropFirst().dropLast().reversed())
            plms = ts.count > 3 ? Array(ts.dropLast(3).reversed()) : []
        }
        timesteps = (prkTimesteps + plms).map(Double.init)
        reset()
    }

    private mutating func reset() {
        ets = []
        counter = 0
        curSample = nil
        curModelOutput = nil
    }

    public mutating func setBeginIndex(_ i: Int) {}

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor { sample }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        guard steps > 0 else { throw SchedulerError.invalidUse("step called before setTimesteps") }
        let t = try schedule.index(timestep)
        if counter < prkTimesteps.count && !skipPrk {
            return try stepPRK(modelOutput, t, sample)
        }
        return try stepPLMS(modelOutput, t, sample)
    }

    private mutating func stepPRK(_ modelOutput: Tensor, _ timestep: Int, _ sample: Tensor) throws -> Tensor {
        let diffToPrev = counter % 2 != 0 ? 0 : schedule.trainSteps / steps / 2
        let prevT = timestep - diffToPrev
        let t = prkTimesteps[counter / 4 * 4]
        var output = modelOutput
        let sixth = Float(1.0 / 6.0), third = Float(1.0 / 3.0)
        func accumulate(_ c: Float) throws {
            let add = modelOutput.mapValues { c * $0 }
            curModelOutput =
                try curModelOutput.map { try $0.zipValues(add) { a, b in a + b } }
                ?? add.mapValues { 0 + $0 }
        }
        switch counter % 4 {
        case 0:
            try accumulate(sixth)
            ets.append(modelOutput)
            curSample = sample
        case 1, 2:
            try accumulate(third)
        default:
            let add = modelOutput.mapValues { sixth * $0 }
            output = try curModelOutput.map { try $0.zipValues(add) { a, b in a + b } } ?? add.mapValues { 0 + $0 }
            curModelOutput = nil
        }
        let base = curSample ?? sample
        let prev = try prevSample(base, t, prevT, output)
        counter += 1
        return prev
    }

    private mutating func stepPLMS(_ modelOutput: Tensor, _ timestepIn: Int, _ sampleIn: Tensor) throws -> Tensor {
        guard skipPrk || ets.count >= 3 else {
            throw SchedulerError.invalidUse("PNDM PLMS step before 12 Runge-Kutta steps")
        }
        var timestep = timestepIn
        var sample = sampleIn
        var prevT = timestep - schedule.trainSteps / steps
        if counter != 1 {
            ets = Array(ets.suffix(3))
            ets.append(modelOutput)
        } else {
            prevT = timestep
            timestep = timestep + schedule.trainSteps / steps
        }
        let e = ets
        let n = e.count
        var output: Tensor
        if n == 1 && counter == 0 {
            output = modelOutput
            curSample = sample
        } else if n == 1 && counter == 1 {
            output = try modelOutput.zipValues(e[n - 1]) { m, a in (m + a) / 2 }
            guard let cs = curSample else { throw SchedulerError.invalidUse("PNDM state lost") }
            sample = cs
            curSample = nil
        } else if n == 2 {
            output = try e[n - 1].zipValues(e[n - 2]) { a, b in (3 * a - b) / 2 }
        } else if n == 3 {
            var o = [Float](repeating: 0, count: modelOutput.count)
            for i in 0..<o.count {
                o[i] = (23 * e[2].data[i] - 16 * e[1].data[i] + 5 * e[0].data[i]) / 12
            }
            output = Tensor(shape: modelOutput.shape, data: o)
        } else if n >= 4 {
            let c = Float(1.0 / 24.0)
            var o = [Float](repeating: 0, count: modelOutput.count)
            for i in 0..<o.count {
                o[i] =
                    c
                    * (55 * e[n - 1].data[i] - 59 * e[n - 2].data[i] + 37 * e[n - 3].data[i]
                        - 9 * e[n - 4].data[i])
            }
            output = Tensor(shape: modelOutput.shape, data: o)
        } else {
            throw SchedulerError.invalidUse("PNDM state lost")
        }
        let prev = try prevSample(sample, timestep, prevT, output)
        counter += 1
        return prev
    }

    /// Formula (9) of the PNDM paper, as `_get_prev_sample`.
    private func prevSample(_ sample: Tensor, _ t: Int, _ prevT: Int, _ modelOutputIn: Tensor) throws -> Tensor {
        let ac = schedule.alphasCumprod
        guard t >= 0, t < ac.count, prevT < ac.count else {
            throw SchedulerError.invalidUse("timestep \(t) out of range")
        }
        let aT = ac[t]
        let aPrev = prevT >= 0 ? ac[prevT] : finalAlphaCumprod
        let bT = 1 - aT, bPrev = 1 - aPrev
        var modelOutput = modelOutputIn
        if schedule.predictionType == .vPrediction {
            let sa = aT.squareRoot(), sb = bT.squareRoot()
            modelOutput = try modelOutputIn.zipValues(sample) { m, s in sa * m + sb * s }
        }
        let sampleCoeff = (aPrev / aT).squareRoot()
        let denom = aT * bPrev.squareRoot() + (aT * bT * aPrev).squareRoot()
        let diff = aPrev - aT
        return try sample.zipValues(modelOutput) { s, m in sampleCoeff * s - diff * m / denom }
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        try alphaNoise(schedule, original, noise, timestep)
    }
}
