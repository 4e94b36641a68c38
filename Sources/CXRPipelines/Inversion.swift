import CXRSchedulers
import CXRTensor
import Foundation

/// Edit-friendly DDPM inversion (Huberman-Spiegelglas, Kulikov & Michaeli, CVPR 2024), as RadEdit uses it.
///
/// Plain SDEdit noises the image once and lets the model re-imagine it: with the original prompt the result still
/// drifts from the input. Here every timestep gets its own independently noised copy x_t of the image latents,
/// and the noise maps z_t that make DDPM sampling (DDIM with eta = 1) pass exactly through those copies under the
/// *source* prompt are recorded. Regenerating with the same z_t under the *edited* prompt changes what the prompt
/// changes and little else; with the source prompt it reproduces the input latents exactly.
extension StableDiffusionPipeline {
    func runInverted(
        _ task: DiffusionTask, settings s: DiffusionSettings, cache: EncodingCache?, imageKey: String?,
        progress: ((StepProgress) -> Void)?
    ) throws -> DiffusionResult {
        let image: Tensor, editMask: Tensor?
        switch task {
        case .edit(let img): image = img; editMask = nil
        case .inpaint(let img, let mask): image = img; editMask = binarized(mask)
        case .generate: throw PipelineError.invalid("inversion needs an input image")
        }
        let prediction = model.schedulerConfig.predictionType ?? .epsilon
        guard prediction == .epsilon || prediction == .vPrediction else {
            throw PipelineError.invalid(
                "inversion supports epsilon and v_prediction models, not '\(prediction.rawValue)'")
        }
        let guided = s.guidance > 1
        let target = try encodePrompt(s.prompt, negative: s.negativePrompt, guided: guided, cache: cache)
        let source = try encodePrompt(s.sourcePrompt, negative: s.negativePrompt, guided: guided, cache: cache)
        // The DDPM step is DDIM with eta = 1 on the checkpoint's own schedule settings.
        var ddim = try DDIMScheduler(config: model.schedulerConfig, eta: 1)
        var dummy = ddim as any Scheduler
        let (timesteps, _) = try dummy.img2imgTimesteps(steps: s.steps, strength: s.strength)
        try ddim.setTimesteps(s.steps)
        guard !timesteps.isEmpty else { throw noStepError(s) }
        var generator = TorchGenerator(seed: s.seed)
        let scale = model.vae.config.scalingFactor, f = model.vae.config.downscale
        // The faithful starting point is the posterior mean, not a sample.
        let x0 = scaled(posterior(image, key: imageKey, cache: cache).mean, scale)
        let n = timesteps.count

        // 1. Independently noised copies x_t for every timestep; x after the last step is x0 itself.
        var xs = [Tensor]()
        for t in timesteps {
            let a = try ddim.alphaPair(for: t).current
            let e = generator.randn(x0.shape)
            xs.append(combine(x0, a.squareRoot(), e, (1 - a).squareRoot()))
        }
        xs.append(x0)

        // 2. Noise maps z_t under the source prompt.
        let clock = Date()
        var zs = [Tensor]()
        for (i, t) in timesteps.enumerated() {
            let eps = try epsilon(xs[i], t: t, context: source, guidance: s.guidance, ddim: ddim)
            let (mean, sigma) = try ddpmMean(xs[i], eps: eps, t: t, ddim: ddim)
            zs.append(combine(xs[i + 1], 1 / sigma, mean, -1 / sigma))
            progress?(StepProgress(step: i + 1, total: 2 * n, elapsed: Date().timeIntervalSince(clock)))
        }

        // 3. Regenerate under the target prompt with the recorded noise maps. Outside an edit mask and inside a
        //    keep mask the latents follow the inverted trajectory exactly.
        var generate: Tensor? = editMask.map { upsampleNearest($0, height: x0.dim(2), width: x0.dim(3)) }
        if let keep = s.keepMask {
            let k = complement(maxPoolMask(keep, factor: f))
            generate = generate.map { multiply($0, k) } ?? k
        }
        var x = xs[0]
        for (i, t) in timesteps.enumerated() {
            let eps = try epsilon(x, t: t, context: target, guidance: s.guidance, ddim: ddim)
            let (mean, sigma) = try ddpmMean(x, eps: eps, t: t, ddim: ddim)
            x = combine(mean, 1, zs[i], sigma)
            if let generate { x = blend(known: xs[i + 1], generated: x, mask: generate) }
            progress?(StepProgress(step: n + i + 1, total: 2 * n, elapsed: Date().timeIntervalSince(clock)))
        }
        return DiffusionResult(image: model.vae.decode(scaled(x, 1 / scale)), latents: x, timesteps: timesteps)
    }

    /// The model's noise prediction (converted from v for v_prediction models).
    private func epsilon(_ x: Tensor, t: Double, context: Tensor, guidance: Double, ddim: DDIMScheduler) throws
        -> Tensor
    {
        let out = try predictNoise(
            x, t: t, context: context, guidance: guidance, scheduler: ddim, unet: try model.unet,
            conditioning: nil)
        guard model.schedulerConfig.predictionType == .vPrediction else { return out }
        let a = try ddim.alphaPair(for: t).current
        return combine(out, a.squareRoot(), x, (1 - a).squareRoot())
    }

    /// DDPM posterior mean and standard deviation of x_{t-1} given x_t and the predicted noise (DDIM, eta = 1).
    private func ddpmMean(_ x: Tensor, eps: Tensor, t: Double, ddim: DDIMScheduler) throws -> (Tensor, Float) {
        let (a, aPrev) = try ddim.alphaPair(for: t)
        let x0 = combine(x, 1 / a.squareRoot(), eps, -(1 - a).squareRoot() / a.squareRoot())
        let variance = (1 - aPrev) / (1 - a) * (1 - a / aPrev)
        let sigma = max(variance, 1e-12).squareRoot()
        let mean = combine(x0, aPrev.squareRoot(), eps, max(0, 1 - aPrev - variance).squareRoot())
        return (mean, sigma)
    }

    /// p * a + q * b.
    private func combine(_ a: Tensor, _ p: Float, _ b: Tensor, _ q: Float) -> Tensor {
        var out = a
        for i in 0..<out.count { out.data[i] = p * a.data[i] + q * b.data[i] }
        return out
    }
}
