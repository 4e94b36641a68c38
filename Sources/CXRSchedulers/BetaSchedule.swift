/// The training noise schedule's betas (`beta_schedule` in scheduler_config.json); `NoiseSchedule.betas`
/// computes each exactly as diffusers does on PyTorch's CPU kernels.
public enum BetaSchedule: String, CaseIterable, Sendable {
    /// `linspace(beta_start, beta_end)`.
    case linear
    /// `linspace(sqrt(beta_start), sqrt(beta_end)) ** 2` (Stable Diffusion).
    case scaledLinear = "scaled_linear"
    /// The cosine schedule of improved DDPM, capped at 0.999.
    case squaredcosCapV2 = "squaredcos_cap_v2"
}
