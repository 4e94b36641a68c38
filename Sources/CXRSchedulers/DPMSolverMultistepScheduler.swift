import CXRTensor

/// diffusers' `DPMSolverMultistepScheduler` with `algorithm_type` "dpmsolver++" (DPM-Solver++(2M) by default,
/// solver orders 1-3, midpoint or Heun second-order update, lower-order final steps, optional Karras sigmas).
public struct DPMSolverMultistepScheduler: RegisteredScheduler {
    public static let className = "DPMSolverMultistepScheduler"
    public static let aliases = ["dpmpp-2m"]
    public let kind = SchedulerKind.dpmpp2m
    public let config: SchedulerConfig
    public private(set) var timesteps: [Double] = []
    public let initNoiseSigma: Float = 1
    public let order = 1
    public let hasBeginIndex = true

    private let schedule: TrainingSchedule
    private let solverOrder: Int
    private let heun: Bool
    private let lowerOrderFinal: Bool
    private let eulerAtFinal: Bool
    private let finalSigmaMin: Bool
    private let karras: Bool
    private let lambdaMinClipped: Double
    private var sigmas: [Float]
    private var modelOutputs: [Tensor?]
    private var lowerOrderNums = 0
    private var stepIndex: Int?
    private var beginIndex: Int?

    /// `eta` is accepted for the registry and ignored: diffusers' class has no such parameter.
    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        schedule = try TrainingSchedule(
            config: config, defaultSpacing: .linspace,
            predictionTypes: [.epsilon, .vPrediction, .sample])
        solverOrder = config.solverOrder ?? 2
        guard (1...3).contains(solverOrder) else {
            throw SchedulerError.unsupportedSetting("solver_order", String(solverOrder))
        }
        let algorithm = config.algorithmType ?? "dpmsolver++"
        guard algorithm == "dpmsolver++" || algorithm == "deis" else {
            throw SchedulerError.unsupportedSetting("algorithm_type", algorithm)
        }
        let solver = config.solverType ?? "midpoint"
        guard ["midpoint", "heun", "logrho", "bh1", "bh2"].contains(solver) else {
            throw SchedulerError.unsupportedSetting("solver_type", solver)
        }
        heun = solver == "heun"
        lowerOrderFinal = config.lowerOrderFinal ?? true
        eulerAtFinal = config.eulerAtFinal ?? false
        let finalType = config.finalSigmasType ?? "zero"
        guard finalType == "zero" || finalType == "sigma_min" else {
            throw SchedulerError.unsupportedSetting("final_sigmas_type", finalType)
        }
        finalSigmaMin = finalType == "sigma_min"
        karras = config.useKarrasSigmas ?? false
        lambdaMinClipped = config.lambdaMinClipped ?? -Double.infinity
        sigmas = schedule.trainSigmas
        modelOutputs = Array(repeating: nil, count: solverOrder)
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        let t = schedule.trainSteps
        try Spacing.check(steps, train: t)
        // searchsorted(flip(lambda_t), lambda_min_clipped): lambda_t = log(sqrt(a)) - log(sqrt(1 - a)).
        let lambdas = schedule.alphasCumprod.map {
            NumpyCompat.logf($0.squareRoot()) - NumpyCompat.logf((1 - $0).squareRoot())
        }
        let flipped = Array(lambdas.reversed())
        let clippedIdx = flipped.firstIndex { Double($0) >= lambdaMinClipped } ?? flipped.count
        let last = t - clippedIdx
        var ts = Spacing.dpm(
            spacing: schedule.spacing, steps: steps, train: t, last: last,
            offset: schedule.stepsOffset)
        let train = schedule.trainSigmas
        var sig: [Double]
        if karras {
            let descending = Array(train.reversed())
            sig = NumpyCompat.karras(
                sigmaMin: config.sigmaMin ?? Double(descending[descending.count - 1]),
                sigmaMax: config.sigmaMax ?? Double(descending[0]), count: steps)
            let logs = train.map { NumpyCompat.logf($0) }
            let raw = sig.map { NumpyCompat.sigmaToT($0, logs) }
            let rounded = (config.betaSchedule ?? .linear) != .squaredcosCapV2
            ts = raw.map { Int(rounded ? NumpyCompat.round($0) : $0) }
        } else {
            sig = ts.map { NumpyCompat.interp(Double($0), train) }
        }
        let lastSigma: Float = finalSigmaMin ? train[0] : 0
        sigmas = sig.map { Float($0) } + [lastSigma]
        timesteps = ts.map(Double.init)
        modelOutputs = Array(repeating: nil, count: solverOrder)
        lowerOrderNums = 0
        stepIndex = nil
        beginIndex = nil
    }

    public mutating func setBeginIndex(_ i: Int) { beginIndex = i }

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor { sample }

    /// DPM-Solver's `index_for_timestep`: second occurrence if repeated, the last index if absent.
    private func index(for t: Double) -> Int {
        let hits = timesteps.indices.filter { timesteps[$0] == t }
        if hits.isEmpty { return timesteps.count - 1 }
        return hits.count > 1 ? hits[1] : hits[0]
    }

    private func sigma(_ i: Int) throws -> Float {
        guard i >= 0, i < sigmas.count else { throw SchedulerError.invalidUse("step index \(i) is past the last step") }
        return sigmas[i]
    }

    /// (alpha_t, sigma_t) = (1 / sqrt(sigma^2 + 1), sigma * alpha_t).
    private static func alphaSigma(_ s: Float) -> (Float, Float) {
        let a = 1 / (s * s + 1).squareRoot()
        return (a, s * a)
    }

    private static func lambda(_ s: Float) -> (alpha: Float, sigma: Float, lambda: Float) {
        let (a, sg) = alphaSigma(s)
        return (a, sg, NumpyCompat.logf(a) - NumpyCompat.logf(sg))
    }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        guard !timesteps.isEmpty else { throw SchedulerError.invalidUse("step called before setTimesteps") }
        let i = stepIndex ?? beginIndex ?? index(for: timestep)
        stepIndex = i
        let n = timesteps.count
        let lowerFinal = i == n - 1 && (eulerAtFinal || (lowerOrderFinal && n < 15) || !finalSigmaMin)
        let lowerSecond = i == n - 2 && lowerOrderFinal && n < 15

        // convert_model_output: the x0 prediction.
        let (aS, sS) = Self.alphaSigma(try sigma(i))
        let x0: Tensor
        switch schedule.predictionType {
        case .epsilon: x0 = try sample.zipValues(modelOutput) { s, m in (s - sS * m) / aS }
        case .vPrediction: x0 = try sample.zipValues(modelOutput) { s, m in aS * s - sS * m }
        case .sample: x0 = modelOutput
        }
        for k in 0..<(solverOrder - 1) { modelOutputs[k] = modelOutputs[k + 1] }
        modelOutputs[solverOrder - 1] = x0

        let prev: Tensor
        if solverOrder == 1 || lowerOrderNums < 1 || lowerFinal {
            prev = try firstOrder(x0, sample, i)
        } else if solverOrder == 2 || lowerOrderNums < 2 || lowerSecond {
            prev = try secondOrder(sample, i)
        } else {
            prev = try thirdOrder(sample, i)
        }
        if lowerOrderNums < solverOrder { lowerOrderNums += 1 }
        stepIndex = i + 1
        return prev
    }

    private func firstOrder(_ x0: Tensor, _ sample: Tensor, _ i: Int) throws -> Tensor {
        let t = Self.lambda(try sigma(i + 1)), s = Self.lambda(try sigma(i))
        let h = t.lambda - s.lambda
        let c1 = t.sigma / s.sigma
        let c2 = t.alpha * (NumpyCompat.expf(-h) - 1)
        return try sample.zipValues(x0) { x, m in c1 * x - c2 * m }
    }

    private func output(_ k: Int) throws -> Tensor {
        guard let m = modelOutputs[modelOutputs.count - k] else { throw SchedulerError.invalidUse("DPM state lost") }
        return m
    }

    private func secondOrder(_ sample: Tensor, _ i: Int) throws -> Tensor {
        let t = Self.lambda(try sigma(i + 1)), s0 = Self.lambda(try sigma(i)), s1 = Self.lambda(try sigma(i - 1))
        let m0 = try output(1), m1 = try output(2)
        let h = t.lambda - s0.lambda, h0 = s0.lambda - s1.lambda
        let r0 = h0 / h
        let invR0 = 1 / r0
        let d1 = try m0.zipValues(m1) { a, b in invR0 * (a - b) }
        let c1 = t.sigma / s0.sigma
        let em1 = NumpyCompat.expf(-h) - 1
        let c2 = t.alpha * em1
        let c3: Float = heun ? -(t.alpha * (em1 / h + 1)) : 0.5 * (t.alpha * em1)
        var out = [Float](repeating: 0, count: sample.count)
        for k in 0..<out.count {
            // midpoint: c1*x - c2*D0 - c3*D1; heun: c1*x - c2*D0 + (alpha*((e-1)/h+1))*D1.
            let a = c1 * sample.data[k] - c2 * m0.data[k]
            out[k] = heun ? a + (-c3) * d1.data[k] : a - c3 * d1.data[k]
        }
        return Tensor(shape: sample.shape, data: out)
    }

    private func thirdOrder(_ sample: Tensor, _ i: Int) throws -> Tensor {
        let t = Self.lambda(try sigma(i + 1)), s0 = Self.lambda(try sigma(i))
        let s1 = Self.lambda(try sigma(i - 1)), s2 = Self.lambda(try sigma(i - 2))
        let m0 = try output(1), m1 = try output(2), m2 = try output(3)
        let h = t.lambda - s0.lambda, h0 = s0.lambda - s1.lambda, h1 = s1.lambda - s2.lambda
        let r0 = h0 / h, r1 = h1 / h
        let inv0 = 1 / r0, inv1 = 1 / r1
        let w = r0 / (r0 + r1), inv01 = 1 / (r0 + r1)
        let em1 = NumpyCompat.expf(-h) - 1
        let c1 = t.sigma / s0.sigma
        let c2 = t.alpha * em1
        let c3 = t.alpha * (em1 / h + 1)
        let c4 = t.alpha * ((NumpyCompat.expf(-h) - 1 + h) / (h * h) - 0.5)
        var out = [Float](repeating: 0, count: sample.count)
        for k in 0..<out.count {
            let d10 = inv0 * (m0.data[k] - m1.data[k])
            let d11 = inv1 * (m1.data[k] - m2.data[k])
            let d1 = d10 + w * (d10 - d11)
            let d2 = inv01 * (d10 - d11)
            out[k] = c1 * sample.data[k] - c2 * m0.data[k] + c3 * d1 - c4 * d2
        }
        return Tensor(shape: sample.shape, data: out)
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        let i: Int
        if beginIndex == nil {
            i = index(for: timestep)
        } else if let s = stepIndex {
            i = s
        } else {
            i = beginIndex ?? 0
        }
        let (a, s) = Self.alphaSigma(try sigma(i))
        return try original.zipValues(noise) { x, n in a * x + s * n }
    }
}
