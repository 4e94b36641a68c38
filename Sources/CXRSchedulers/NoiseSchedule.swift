import Foundation

/// The training noise schedule (betas, alphas_cumprod) computed with the same float32 arithmetic as diffusers
/// on PyTorch's CPU kernels, so that every scheduler constant matches the reference to the last bit.
enum NoiseSchedule {
    /// `torch.linspace(start, end, steps, dtype=float32)` as PyTorch's CPU kernel computes it: a float32 step,
    /// the first half counted up from `start`, the second half down from `end`,
    /// each value one fused multiply-add (as the compiled kernel does).
    static func torchLinspace(_ startD: Double, _ endD: Double, _ steps: Int) -> [Float] {
        if steps <= 0 { return [] }
        let start = Float(startD), end = Float(endD)
        if steps == 1 { return [start] }
        let step = (end - start) / Float(steps - 1)
        let halfway = steps / 2
        return (0..<steps).map { idx in
            if idx < halfway {
                return start.addingProduct(step, Float(idx))
            }
            return end.addingProduct(-step, Float(steps - idx - 1))
        }
    }

    /// betas for `beta_schedule`.
    static func betas(schedule: BetaSchedule, start: Double, end: Double, count: Int) -> [Float] {
        switch schedule {
        case .linear:
            return torchLinspace(start, end, count)
        case .scaledLinear:
            return torchLinspace(start.squareRoot(), end.squareRoot(), count).map { $0 * $0 }
        case .squaredcosCapV2:
            // Computed in float64 by Python's math module, then stored as float32.
            func alphaBar(_ t: Double) -> Double {
                let c = Foundation.cos((t + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            return (0..<count).map { i in
                let t1 = Double(i) / Double(count)
                let t2 = Double(i + 1) / Double(count)
                return Float(Swift.min(1 - alphaBar(t2) / alphaBar(t1), 0.999))
            }
        }
    }

    /// `torch.cumprod(1 - betas)`: PyTorch's CPU cumprod accumulates in double and stores float32.
    static func alphasCumprod(_ betas: [Float]) -> [Float] {
        var acc = 1.0
        return betas.map { b in
            acc *= Double(1 - b)
            return Float(acc)
        }
    }
}
