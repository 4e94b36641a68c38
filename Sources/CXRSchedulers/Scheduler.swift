import CXRTensor

/// A diffusion sampler with the interface of a diffusers scheduler, as the Stable Diffusion pipelines drive it.
///
/// Why this shape: the pipelines (text-to-image, SDEdit/img2img, inpainting) must call the scheduler exactly as
/// diffusers does — `setTimesteps`, optionally `setBeginIndex` for img2img, then per step `scaleModelInput` and
/// `step`, and `addNoise` to noise the start latents — so that results match the reference step by step.
/// Timesteps are `Double` because some schedulers (Euler, LMS) use fractional float32 timesteps; pass back the
/// values from `timesteps` unchanged.
public protocol Scheduler: Sendable {
    /// Which implementation this is.
    var kind: SchedulerKind { get }
    /// The checkpoint settings it was built from (unset settings took this class's defaults).
    var config: SchedulerConfig { get }
    /// diffusers' `scheduler.timesteps` after `setTimesteps` (empty before).
    var timesteps: [Double] { get }
    /// Factor for the initial noise: `latents = randn * initNoiseSigma`.
    var initNoiseSigma: Float { get }
    /// diffusers' `scheduler.order` (1 for every scheduler here; img2img slices `timesteps[tStart * order...]`).
    var order: Int { get }
    /// Whether diffusers' class has `set_begin_index` (img2img calls it only then).
    var hasBeginIndex: Bool { get }

    /// `set_timesteps(steps)`: computes `timesteps` and resets all per-run state.
    mutating func setTimesteps(_ steps: Int) throws
    /// `set_begin_index(i)`: the index of the first timestep a run will use (img2img); ignored where diffusers has none.
    mutating func setBeginIndex(_ i: Int)
    /// `scale_model_input`: what the UNet gets for `sample` at `timestep`.
    func scaleModelInput(_ sample: Tensor, timestep: Double) throws -> Tensor
    /// `step(model_output, t, sample, generator=...)`: the sample at the next timestep. Stochastic schedulers draw
    /// their noise from `generator` exactly as diffusers does.
    mutating func step(
        _ modelOutput: Tensor, timestep: Double, sample: Tensor,
        generator: inout TorchGenerator
    ) throws -> Tensor
    /// `add_noise(original, noise, [timestep])`, including the begin/step-index rules of the Euler-type schedulers.
    func addNoise(_ original: Tensor, noise: Tensor, timestep: Double) throws -> Tensor
}

extension Scheduler {
    /// StableDiffusionImg2ImgPipeline.get_timesteps: the timesteps an img2img (or inpainting) run with `strength`
    /// uses, and the index of the first one. Calls `setTimesteps(steps)` and, where diffusers' class has it,
    /// `setBeginIndex(startIndex)`; the pipeline then noises its start latents at `timesteps[0]`.
    public mutating func img2imgTimesteps(steps: Int, strength: Double) throws -> (timesteps: [Double], startIndex: Int)
    {
        guard strength >= 0, strength <= 1 else {
            throw SchedulerError.invalidUse("strength \(strength) must be between 0 and 1")
        }
        try setTimesteps(steps)
        let initTimestep = img2imgStepCount(steps: steps, strength: strength)
        let tStart = Swift.max(steps - initTimestep, 0)
        let start = Swift.min(tStart * order, timesteps.count)
        if hasBeginIndex { setBeginIndex(start) }
        return (Array(timesteps[start...]), start)
    }
}

/// How many of `steps` an img2img (or inpainting) run at `strength` re-runs: diffusers' `init_timestep`
/// (`get_timesteps`), the count a planner can use without building a scheduler (`probe --dry-run`).
public func img2imgStepCount(steps: Int, strength: Double) -> Int {
    Swift.min(Int(Double(steps) * strength), steps)
}
