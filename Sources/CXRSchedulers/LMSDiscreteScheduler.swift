import CXRTensor

/// diffusers' `LMSDiscreteScheduler`: linear multistep of order 4 over sigmas.
///
/// The coefficients are integrals of Lagrange basis polynomials. diffusers integrates them with
/// `scipy.integrate.quad` on a float32 integrand; a polynomial of degree <= 3 is integrated exactly by the 21-point
/// Gauss-Kronrod rule quad applies first (and, with `epsrel` 1e-4, last), so the same rule evaluated on the same
/// float32 integrand reproduces diffusers' coefficients.
public struct LMSDiscreteScheduler: RegisteredScheduler {
    public static let className = "LMSDiscreteScheduler"
    public let kind = SchedulerKind.lms
    public let config: SchedulerConfig
    public var timesteps: [Double] { state.timesteps }
    public var initNoiseSigma: Float { state.initNoiseSigma }
    public let order = 1
    public let hasBeginIndex = true

    private var state: SigmaState
    private let karras: Bool
    private var derivatives: [Tensor] = []
    /// LMS order used by `step` (diffusers' default argument).
    public var lmsOrder = 4

    /// `eta` is accepted for the registry and ignored: diffusers' class has no such parameter.
    public init(config: SchedulerConfig, eta: Double = 0) throws {
        self.config = config
        let schedule = try TrainingSchedule(
            config: config, defaultSpacing: .linspace,
            predictionTypes: [.epsilon, .vPrediction, .sample])
        state = SigmaState(schedule: schedule)
        karras = config.useKarrasSigmas ?? false
    }

    public mutating func setTimesteps(_ steps: Int) throws {
        let s = state.schedule
        try Spacing.check(steps, train: s.trainSteps)
        let ts = Spacing.sigmaBased(spacing: s.spacing, steps: steps, train: s.trainSteps, offset: s.stepsOffset)
        let (sig, outTs) = state.interpolated(ts, karras: karras, sigmaMin: nil, sigmaMax: nil)
        state.reset(sigmas: sig.map { Float($0) } + [0], timesteps: outTs.map(Double.init))
        derivatives = []
    }

    public mutating func setBeginIndex(_ i: Int) { state.beginIndex = i }

    public func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor {
        try state.scale(sample, timestep)
    }

    public mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor {
        let (i, sigma, _) = try state.beginStep(timestep)
        let x0 = try state.predictX0(modelOutput, sample, sigma: sigma)
        derivatives.append(try sample.zipValues(x0) { s, x in (s - x) / sigma })
        if derivatives.count > lmsOrder { derivatives.removeFirst() }
        let order = Swift.min(i + 1, lmsOrder)
        let coeffs = (0..<order).map { Float(coefficient(order: order, t: i, current: $0)) }
        // sample + sum(coeff * derivative for coeff, derivative in zip(coeffs, reversed(derivatives)))
        var total: Tensor?
        for (c, d) in zip(coeffs, derivatives.reversed()) {
            let term = d.mapValues { c * $0 }
            total = try total.map { try $0.zipValues(term) { a, b in a + b } } ?? term.mapValues { 0 + $0 }
        }
        let prev = try total.map { try sample.zipValues($0) { s, v in s + v } } ?? sample.mapValues { $0 + 0 }
        state.stepIndex = i + 1
        return prev
    }

    /// `get_lms_coefficient`: integral over [sigma_t, sigma_t+1] of the Lagrange basis polynomial of node
    /// `current` among the `order` latest sigmas, evaluated in float32 like diffusers' torch integrand.
    func coefficient(order: Int, t: Int, current: Int) -> Double {
        let s = state.sigmas
        let integrand: (Double) -> Double = { tau in
            var prod: Float = 1
            let tauF = Float(tau)
            for k in 0..<order where k != current {
                prod = prod * ((tauF - s[t - k]) / (s[t - current] - s[t - k]))
            }
            return Double(prod)
        }
        return GaussKronrod21.integrate(integrand, Double(s[t]), Double(s[t + 1]))
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor {
        try state.addNoise(original, noise, timestep)
    }
}

/// QUADPACK's 21-point Gauss-Kronrod rule (`qk21`), the first and, for low-degree polynomials, only rule
/// `scipy.integrate.quad` applies.
enum GaussKronrod21 {
    static let xgk: [Double] = [
        0.995657163025808080735527280689003, 0.973906528517171720077964012084452,
        0.930157491355708226001207180059508, 0.865063366688984510732096688423493,
        0.780817726586416897063717578345042, 0.679409568299024406234327365114874,
        0.562757134668604683339000099272694, 0.433395394129247190799265943165784,
        0.294392862701460198131126603103866, 0.148874338981631210884826001129720,
        0,
    ]
    static let wgk: [Double] = [
        0.011694638867371874278064396062192, 0.032558162307964727478818972459390,
        0.054755896574351996031381300244580, 0.075039674810919952767043140916190,
        0.093125454583697605535065465083366, 0.109387158802297641899210590325805,
        0.123491976262065851077208980103321, 0.134709217311473325928054001771707,
        0.142775938577060080797094273138717, 0.147739104901338491374841515972068,
        0.149445554002916905664936468389821,
    ]

    static func integrate(_ f: (Double) -> Double, _ a: Double, _ b: Double) -> Double {
        let centr = 0.5 * (a + b)
        let hlgth = 0.5 * (b - a)
        var resk = wgk[10] * f(centr)
        for j in 0..<5 {
            let jtw = 2 * j + 1
            let absc = hlgth * xgk[jtw]
            resk += wgk[jtw] * (f(centr - absc) + f(centr + absc))
        }
        for j in 0..<5 {
            let jtwm1 = 2 * j
            let absc = hlgth * xgk[jtwm1]
            resk += wgk[jtwm1] * (f(centr - absc) + f(centr + absc))
        }
        return resk * hlgth
    }
}
