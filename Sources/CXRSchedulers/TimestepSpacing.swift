/// How inference timesteps are laid over the training steps (`timestep_spacing` in scheduler_config.json).
///
/// Each scheduler class has its own default (DDIM and PNDM "leading", the sigma-based ones "linspace"), so a
/// config that omits the key keeps nil and the class being built chooses; `Spacing` computes each class's layout.
public enum TimestepSpacing: String, CaseIterable, Sendable {
    /// Evenly spaced integer steps counted up from `steps_offset`.
    case leading
    /// Evenly spaced steps counted down from the last training step.
    case trailing
    /// `linspace(0, T - 1, n)`, rounded where the class uses integers.
    case linspace
}
