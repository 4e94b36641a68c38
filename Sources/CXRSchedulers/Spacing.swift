/// Timestep layouts of the diffusers schedulers (`TimestepSpacing`), each class's own variant.
///
/// Why per class: the classes compute the same idea with different integer/float types and orders, and the
/// exact values matter (they select alphas_cumprod entries and feed the UNet's time embedding).
enum Spacing {
    static func check(_ steps: Int, train: Int) throws {
        guard steps >= 1, steps <= train else {
            throw SchedulerError.invalidUse("steps \(steps) must be between 1 and num_train_timesteps \(train)")
        }
    }

    /// DDIM (int64, descending).
    static func ddim(spacing: TimestepSpacing, steps n: Int, train t: Int, offset: Int) -> [Int] {
        switch spacing {
        case .linspace:
            return NumpyCompat.linspace(0, Double(t - 1), n).map { Int(NumpyCompat.round($0)) }.reversed()
        case .leading:
            let ratio = t / n
            return (0..<n).reversed().map { $0 * ratio + offset }
        case .trailing:
            return NumpyCompat.arange(Double(t), 0, -Double(t) / Double(n)).map { Int(NumpyCompat.round($0)) - 1 }
        }
    }

    /// PNDM's `_timesteps` (int64, ascending).
    static func pndm(spacing: TimestepSpacing, steps n: Int, train t: Int, offset: Int) -> [Int] {
        switch spacing {
        case .linspace:
            return NumpyCompat.linspace(0, Double(t - 1), n).map { Int(NumpyCompat.round($0)) }
        case .leading:
            let ratio = t / n
            return (0..<n).map { $0 * ratio + offset }
        case .trailing:
            return NumpyCompat.arange(Double(t), 0, -Double(t) / Double(n)).reversed()
                .map { Int(NumpyCompat.round($0)) - 1 }
        }
    }

    /// Euler, Euler ancestral and LMS (float32, descending).
    static func sigmaBased(spacing: TimestepSpacing, steps n: Int, train t: Int, offset: Int) -> [Float] {
        switch spacing {
        case .linspace:
            return NumpyCompat.linspace(0, Double(t - 1), n).reversed().map { Float($0) }
        case .leading:
            let ratio = t / n
            return (0..<n).reversed().map { Float($0 * ratio) + Float(offset) }
        case .trailing:
            return NumpyCompat.arange(Double(t), 0, -Double(t) / Double(n)).map { Float(NumpyCompat.round($0)) - 1 }
        }
    }

    /// DPM-Solver multistep (int64, descending), laid over `last` training steps (lambda_min_clipped).
    static func dpm(spacing: TimestepSpacing, steps n: Int, train t: Int, last: Int, offset: Int) -> [Int] {
        switch spacing {
        case .linspace:
            return Array(
                NumpyCompat.linspace(0, Double(last - 1), n + 1).map { Int(NumpyCompat.round($0)) }
                    .reversed().dropLast())
        case .leading:
            let ratio = last / (n + 1)
            return Array((0...n).reversed().map { $0 * ratio }.dropLast()).map { $0 + offset }
        case .trailing:
            return NumpyCompat.arange(Double(last), 0, -Double(t) / Double(n)).map { Int(NumpyCompat.round($0)) - 1 }
        }
    }
}
