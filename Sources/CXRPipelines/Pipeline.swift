import CXRModels
import CXRSchedulers
import CXRTensor
import Foundation

/// The settings of one run, as the diffusers pipelines take them.
public struct DiffusionSettings: Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var steps: Int
    /// Classifier-free guidance scale; guidance is applied when > 1, as in diffusers.
    public var guidance: Double
    public var seed: UInt64
    /// nil = the checkpoint's own scheduler class.
    public var scheduler: SchedulerKind?
    /// DDIM's eta (0 = deterministic).
    public var eta: Double
    /// img2img / inpainting strength in [0, 1]: the fraction of the schedule that is re-run.
    public var strength: Double
    /// Explicit initial noise (text-to-image: the `latents` argument of diffusers), replacing the seeded draw.
    public var initialNoise: Tensor?
    /// Region held to the original at every step, [1, 1, H, W] in model space, 1 = keep (e.g. a chest tube).
    public var keepMask: Tensor?
    /// Edit-friendly DDPM inversion (Huberman-Spiegelglas et al. 2023, as RadEdit): invert the image under
    /// `sourcePrompt`, then regenerate under `prompt` with the extracted noise maps.
    public var invert: Bool
    /// The prompt that describes the input image, for inversion ("" = unconditional).
    public var sourcePrompt: String
    /// The negative prompt the inversion guides against (the one the input's description goes with).
    public var sourceNegativePrompt: String
    /// Which UNet denoises (`model.unet(for:)`); a 9-channel one runs diffusers' inpainting conditioning.
    public var unet: UNetChoice

    public init(
        prompt: String, negativePrompt: String = "", steps: Int = 50, guidance: Double = 7.5, seed: UInt64 = 0,
        scheduler: SchedulerKind? = nil, eta: Double = 0, strength: Double = 1, initialNoise: Tensor? = nil,
        keepMask: Tensor? = nil, invert: Bool = false, sourcePrompt: String = "", sourceNegativePrompt: String = "",
        unet: UNetChoice = .standard
    ) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.steps = steps; self.guidance = guidance
        self.seed = seed; self.scheduler = scheduler; self.eta = eta; self.strength = strength
        self.initialNoise = initialNoise; self.keepMask = keepMask; self.invert = invert;
        self.sourcePrompt = sourcePrompt; self.sourceNegativePrompt = sourceNegativePrompt
        self.unet = unet
    }
}

/// What to do: generate from noise, edit a whole image (SDEdit), or repaint inside a mask.
public enum DiffusionTask {
    case generate(width: Int, height: Int)
    /// image [1, 3, H, W] in [-1, 1] at a size the model accepts.
    case edit(image: Tensor)
    /// image as above; mask [1, 1, H, W] with 1 = repaint (binarised by the caller or here at 0.5).
    case inpaint(image: Tensor, mask: Tensor)
}

/// Progress of the denoising loop, for the CLI's progress bar.
public struct StepProgress: Sendable {
    public let step: Int
    public let total: Int
    public let elapsed: Double
}

/// The result of a run: the decoded image [1, 3, H, W] in [-1, 1] (unclamped) and the final latents.
public struct DiffusionResult {
    public let image: Tensor
    public let latents: Tensor
    public let timesteps: [Double]
}

public enum PipelineError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let m): return m
        }
    }
}

/// Prompt embeddings and image posteriors computed once and reused across runs (a probe study edits each image
/// many times and uses each prompt for many images). Results are identical with or without it.
public final class EncodingCache {
    var prompts: [String: Tensor] = [:]
    var posteriors: [String: LatentDistribution] = [:]
    public init() {}

    /// Drops the cached image posteriors and keeps the prompt embeddings (a study moving on to its next image).
    public func forgetImages() { posteriors.removeAll() }
}

/// Stable Diffusion sampling exactly as diffusers' StableDiffusionPipeline, StableDiffusionImg2ImgPipeline and
/// StableDiffusionInpaintPipeline do it on CPU: same prompt encoding, same order of random draws from one torch
/// generator, same scheduler calls, same guidance arithmetic; so that a seed reproduces diffusers' image.
/// Extensions beyond diffusers (keep masks, inversion) change nothing when they are not used.
public struct StableDiffusionPipeline {
    public let model: StableDiffusionModel

    public init(model: StableDiffusionModel) { self.model = model }

    /// Prompt embeddings for the UNet: [negative, prompt] when guiding, else [prompt] (diffusers' encode_prompt).
    public func encodePrompt(_ prompt: String, negative: String, guided: Bool, cache: EncodingCache? = nil) throws
        -> Tensor
    {
        let key = "\(guided)\u{0}\(negative)\u{0}\(prompt)"
        if let hit = cache?.prompts[key] { return hit }
        let cond = model.tokenizer.encode(prompt).ids
        let out =
            guided
            ? try model.textEncoder([model.tokenizer.encode(negative).ids, cond]) : try model.textEncoder([cond])
        cache?.prompts[key] = out
        return out
    }

    /// The VAE posterior of an image, cached under `key` when given.
    func posterior(_ image: Tensor, key: String?, cache: EncodingCache?) -> LatentDistribution {
        if let key, let hit = cache?.posteriors[key] { return hit }
        let p = model.vae.encode(image)
        if let key { cache?.posteriors[key] = p }
        return p
    }

    /// The VAE round trip of an image (posterior mean, decoded): what the model makes of the input when it changes
    /// nothing. `DetailTransfer` measures the input's lost detail against it.
    public func roundTrip(_ image: Tensor, cache: EncodingCache? = nil, imageKey: String? = nil) -> Tensor {
        model.vae.decode(posterior(image, key: imageKey, cache: cache).mean)
    }

    /// Validates settings with messages a user can act on.
    public func validate(_ s: DiffusionSettings, task: DiffusionTask) throws {
        guard s.steps >= 1 && s.steps <= 1000 else {
            throw PipelineError.invalid("steps must be between 1 and 1000, got \(s.steps)")
        }
        guard s.strength > 0 && s.strength <= 1 else {
            throw PipelineError.invalid("strength must be in (0, 1], got \(s.strength)")
        }
        guard s.guidance.isFinite && s.guidance >= 0 && s.guidance <= 100 else {
            throw PipelineError.invalid("guidance must be between 0 and 100, got \(s.guidance)")
        }
        guard s.eta >= 0 && s.eta <= 1 else { throw PipelineError.invalid("eta must be between 0 and 1, got \(s.eta)") }
        let f = model.vae.config.downscale
        let (w, h): (Int, Int)
        switch task {
        case .generate(let width, let height):
            (w, h) = (width, height)
            if s.keepMask != nil || s.invert {
                throw PipelineError.invalid("keep masks and inversion need an input image")
            }
        case .edit(let image): (w, h) = (image.dim(3), image.dim(2))
        case .inpaint(let image, let mask):
            (w, h) = (image.dim(3), image.dim(2))
            guard mask.dim(2) == h && mask.dim(3) == w else {
                throw PipelineError.invalid("mask size \(mask.dim(3))x\(mask.dim(2)) differs from image size \(w)x\(h)")
            }
        }
        guard w > 0, h > 0, w % f == 0, h % f == 0, w <= 4096, h <= 4096 else {
            throw PipelineError.invalid("image size \(w)x\(h) must be a multiple of \(f) and at most 4096")
        }
        if let k = s.keepMask, k.dim(2) != h || k.dim(3) != w {
            throw PipelineError.invalid("keep mask size differs from image size")
        }
        let inpainting = model.isInpainting(try model.unet(for: s.unet))
        if case .edit = task, inpainting {
            throw PipelineError.invalid("an inpainting UNet (9 input channels) edits inside a mask; this edit has none")
        }
    }

    /// Runs the task. `progress` is called after every denoising step. `imageKey` names the input image in `cache`.
    public func run(
        _ task: DiffusionTask, settings s: DiffusionSettings, cache: EncodingCache? = nil, imageKey: String? = nil,
        progress: ((StepProgress) -> Void)? = nil
    ) throws -> DiffusionResult {
        try validate(s, task: task)
        if s.invert { return try runInverted(task, settings: s, cache: cache, imageKey: imageKey, progress: progress) }
        let guided = s.guidance > 1
        let context = try encodePrompt(s.prompt, negative: s.negativePrompt, guided: guided, cache: cache)
        let unet = try model.unet(for: s.unet)
        var scheduler = try makeScheduler(kind: s.scheduler, config: model.schedulerConfig, eta: s.eta)
        var generator = TorchGenerator(seed: s.seed)
        let scale = model.vae.config.scalingFactor
        let lc = model.vae.config.latentChannels, f = model.vae.config.downscale

        var latents: Tensor
        var timesteps: [Double]
        // Blending state: where the result is generated (1) or follows the image's own noised trajectory (0),
        // the un-noised image latents and the noise; plus the 9-channel conditioning.
        var generateMask: Tensor? = nil, imageLatents: Tensor? = nil, noise: Tensor? = nil
        var conditioning: (mask: Tensor, maskedImageLatents: Tensor)? = nil

        switch task {
        case .generate(let width, let height):
            try scheduler.setTimesteps(s.steps)
            timesteps = scheduler.timesteps
            let shape = [1, lc, height / f, width / f]
            let start = try s.initialNoise.map { try checkedNoise($0, shape: shape) } ?? generator.randn(shape)
            latents = scaled(start, scheduler.initNoiseSigma)

        case .edit(let image):
            (timesteps, _) = try scheduler.img2imgTimesteps(steps: s.steps, strength: s.strength)
            guard let t0 = timesteps.first else { throw noStepError(s) }
            // diffusers samples the posterior (one draw) before drawing the noise.
            let post = posterior(image, key: imageKey, cache: cache)
            let z0 = scaled(post.sample(noise: generator.randn(post.mean.shape)), scale)
            let n = try s.initialNoise.map { try checkedNoise($0, shape: z0.shape) } ?? generator.randn(z0.shape)
            latents = try scheduler.addNoise(z0, noise: n, timestep: t0)
            if let keep = s.keepMask {
                generateMask = complement(maxPoolMask(keep, factor: f))
                imageLatents = z0
                noise = n
            }

        case .inpaint(let image, let mask):
            (timesteps, _) = try scheduler.img2imgTimesteps(steps: s.steps, strength: s.strength)
            guard let t0 = timesteps.first else { throw noStepError(s) }
            let isStrengthMax = s.strength == 1
            let fourChannel = !model.isInpainting(unet)
            let latentShape = [1, lc, image.dim(2) / f, image.dim(3) / f]
            let binary = binarized(mask)
            if fourChannel || !isStrengthMax {
                let post = posterior(image, key: imageKey, cache: cache)
                imageLatents = scaled(post.sample(noise: generator.randn(latentShape)), scale)
            }
            let n = try s.initialNoise.map { try checkedNoise($0, shape: latentShape) } ?? generator.randn(latentShape)
            noise = n
            latents =
                isStrengthMax
                ? scaled(n, scheduler.initNoiseSigma) : try scheduler.addNoise(imageLatents!, noise: n, timestep: t0)
            // masked_image = image * (mask < 0.5); diffusers encodes it (one more draw) even for 4-channel UNets.
            let maskedLatents = scaled(
                model.vae.encode(maskedImage(image, binary)).sample(noise: generator.randn(latentShape)), scale)
            let latentMask = upsampleNearest(binary, height: latentShape[2], width: latentShape[3])
            if fourChannel {
                generateMask = latentMask
            } else {
                conditioning = (latentMask, maskedLatents)
            }
            if let keep = s.keepMask {
                let k = complement(maxPoolMask(keep, factor: f))
                generateMask = generateMask.map { multiply($0, k) } ?? k
                // A 9-channel run at full strength drew no image sample: hold the kept area to the posterior mean.
                if imageLatents == nil {
                    imageLatents = scaled(posterior(image, key: imageKey, cache: cache).mean, scale)
                }
            }
        }

        let clock = Date()
        for (i, t) in timesteps.enumerated() {
            let eps = try predictNoise(
                latents, t: t, context: context, guidance: s.guidance, scheduler: scheduler,
                unet: unet, conditioning: conditioning)
            latents = try scheduler.step(eps, timestep: t, sample: latents, generator: &generator)
            if let generateMask, let imageLatents, let noise {
                // Keep the known region on the image's own noised trajectory (diffusers' 4-channel blending).
                let known =
                    i < timesteps.count - 1
                    ? try scheduler.addNoise(imageLatents, noise: noise, timestep: timesteps[i + 1]) : imageLatents
                latents = blend(known: known, generated: latents, mask: generateMask)
            }
            progress?(StepProgress(step: i + 1, total: timesteps.count, elapsed: Date().timeIntervalSince(clock)))
        }
        let image = model.vae.decode(scaled(latents, 1 / scale))
        return DiffusionResult(image: image, latents: latents, timesteps: timesteps)
    }

    /// One guided UNet evaluation: eps = uncond + g * (cond - uncond) when guiding (g > 1), in float32 like torch.
    func predictNoise(
        _ latents: Tensor, t: Double, context: Tensor, guidance: Double, scheduler: any Scheduler,
        unet: UNet2DConditionModel,
        conditioning: (mask: Tensor, maskedImageLatents: Tensor)?
    ) throws -> Tensor {
        let guided = context.dim(0) == 2
        var input = try scheduler.scaleModelInput(
            guided ? Tensor.concatBatch([latents, latents]) : latents, timestep: t)
        if let c = conditioning {
            let m = c.mask, mi = c.maskedImageLatents
            input = concatChannels(
                concatChannels(input, guided ? Tensor.concatBatch([m, m]) : m),
                guided ? Tensor.concatBatch([mi, mi]) : mi)
        }
        let out = unet(input, timesteps: [Float(t)], context: context)
        guard guided else { return out }
        let g = Float(guidance)
        let uncond = out.item(0), cond = out.item(1)
        var eps = uncond
        for i in 0..<eps.count { eps.data[i] = uncond.data[i] + g * (cond.data[i] - uncond.data[i]) }
        return eps
    }

    /// (1 - m) * known + m * generated, m broadcast over channels.
    func blend(known: Tensor, generated: Tensor, mask: Tensor) -> Tensor {
        var out = generated
        let plane = mask.count
        for c in 0..<generated.dim(1) {
            for i in 0..<plane {
                let m = mask.data[i], j = c * plane + i
                out.data[j] = (1 - m) * known.data[j] + m * generated.data[j]
            }
        }
        return out
    }

    /// image * (mask < 0.5), per channel.
    func maskedImage(_ image: Tensor, _ binary: Tensor) -> Tensor {
        var masked = image
        let plane = image.dim(2) * image.dim(3)
        for c in 0..<image.dim(1) {
            for i in 0..<plane where binary.data[i] >= 0.5 { masked.data[c * plane + i] = 0 }
        }
        return masked
    }

    func binarized(_ mask: Tensor) -> Tensor {
        var m = mask
        for i in 0..<m.count { m.data[i] = m.data[i] >= 0.5 ? 1 : 0 }
        return m
    }

    func complement(_ mask: Tensor) -> Tensor {
        var m = mask
        for i in 0..<m.count { m.data[i] = 1 - m.data[i] }
        return m
    }

    func multiply(_ a: Tensor, _ b: Tensor) -> Tensor {
        var m = a
        for i in 0..<m.count { m.data[i] *= b.data[i] }
        return m
    }

    /// A pixel mask [1, 1, H, W] to latent size by max-pooling `factor` x `factor` blocks (binarised at 0.5):
    /// a latent cell is kept if any of its pixels is, so kept structures are never partly regenerated.
    func maxPoolMask(_ mask: Tensor, factor f: Int) -> Tensor {
        let h = mask.dim(2), w = mask.dim(3), lh = h / f, lw = w / f
        var out = Tensor(zeros: [1, 1, lh, lw])
        for y in 0..<h {
            for x in 0..<w where mask.data[y * w + x] >= 0.5 {
                out.data[min(lh - 1, y / f) * lw + min(lw - 1, x / f)] = 1
            }
        }
        return out
    }

    func noStepError(_ s: DiffusionSettings) -> PipelineError {
        PipelineError.invalid("strength \(s.strength) with \(s.steps) steps leaves no denoising step")
    }

    func checkedNoise(_ t: Tensor, shape: [Int]) throws -> Tensor {
        guard t.count == shape.reduce(1, *) else {
            throw PipelineError.invalid("the noise tensor has shape \(t.shape), this run needs \(shape)")
        }
        return t.reshaped(shape)
    }
}
