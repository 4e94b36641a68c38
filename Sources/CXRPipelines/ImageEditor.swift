import CXRImaging
import CXRTensor
import Foundation

/// The one orchestration of an edit of a radiograph, used by `cxr-edit edit`, the probe and synthesize.
///
/// 1. Fit the image to the model (letterbox, `PreparedImage`); masks follow it.
/// 2. Run the pipeline: SDEdit of the whole image, or inpainting of the edit mask grown by the soft margin (with the
///    9-channel inpainting UNet when the model has one); keep masks hold their latents to the input.
/// 3. Map the output back to the input's size and bit depth; with `detail` on, add back the input's detail where the
///    edit left the content alone (`DetailTransfer`).
/// 4. Paste the input back by `RepaintArea`'s rule: bit for bit beyond the margin and in kept areas.
/// 5. Measure the result against the input over the area actually repainted (`EditReport`, when asked for).
///
/// The editor caches prompt embeddings, the input's posterior and its VAE round trip by `EditRequest.imageKey`, so an
/// edit and its null edit (or a probe's many edits of one image) encode the image once. Results are the same with
/// or without the caches.
public final class ImageEditor {
    public let model: StableDiffusionModel
    let pipeline: StableDiffusionPipeline
    let cache: EncodingCache
    private var roundTrips: [String: Tensor] = [:]
    /// Raw renderings by everything that shapes them, so that an edit and its null edit under `.difference` (and a
    /// probe's edits sharing one null edit) render the null prompt once. Bounded: cleared when it grows past
    /// `renderCacheLimit` entries (a 512 px rendering is about 3 MB, so at most about 100 MB) and with the image
    /// caches; a cleared entry is rendered again, to the same pixels.
    private var renders: [String: DiffusionResult] = [:]
    static let renderCacheLimit = 32

    public init(model: StableDiffusionModel, cache: EncodingCache = EncodingCache()) {
        self.model = model
        self.pipeline = StableDiffusionPipeline(model: model)
        self.cache = cache
    }

    /// Drops what is cached about images (a caller moving on to its next image); prompt embeddings stay.
    public func forgetImages() {
        cache.forgetImages()
        roundTrips.removeAll()
        renders.removeAll()
    }

    /// Pixels of the input per pixel of the 256 px reference frame (margins and blur radii are given in that frame).
    static func inputPixelsPerReferencePixel(_ image: RasterImage) -> Double {
        Double(max(image.width, image.height)) / Double(EditRequest.referenceSize)
    }

    /// The UNet a request runs with: its own choice, else the inpainting UNet for masked edits when the model has one.
    public func unetChoice(for r: EditRequest) -> UNetChoice {
        if let u = r.unet { return u }
        return r.isRegional && model.hasInpaintingUNet ? .inpaint : .standard
    }

    public func edit(_ r: EditRequest, progress: ((StepProgress) -> Void)? = nil) throws -> EditOutcome {
        try r.validate()
        let clock = Date()
        let prepared = try PreparedImage(r.image, size: model.nativeImageSize, rgb: r.rgb)
        let scale = Self.inputPixelsPerReferencePixel(r.image)
        let margin = Int((Double(r.margin) * scale).rounded())
        let area = try RepaintArea(
            edit: r.editMask, keep: r.keepMask, margin: margin, width: r.image.width,
            height: r.image.height)
        let unet = unetChoice(for: r)
        var settings = DiffusionSettings(
            prompt: r.prompt, negativePrompt: r.negativePrompt, steps: r.steps,
            guidance: r.guidance, seed: r.seed, scheduler: r.scheduler, eta: r.eta,
            strength: r.strength, initialNoise: r.noise, invert: r.invert,
            sourcePrompt: r.sourcePrompt, sourceNegativePrompt: r.sourceNegativePrompt, unet: unet)
        settings.keepMask = try r.keepMask.map { try prepared.modelMask($0) }
        let task: DiffusionTask
        if let repaint = area.modelMask {
            let m = try prepared.modelMask(repaint)
            guard m.data.contains(where: { $0 >= Mask.threshold }) else {
                throw PipelineError.invalid("the edit region is too small to reach a pixel at the model's size")
            }
            task = .inpaint(image: prepared.tensor, mask: m)
        } else {
            task = .edit(image: prepared.tensor)
        }
        // Under `.difference` an edit renders twice (its prompt, then the null prompt): progress counts both.
        let passes = r.detail == .difference && !r.isNullEdit ? 2 : 1
        let result = try render(task, settings: settings, key: r.imageKey) { p in
            progress?(StepProgress(step: p.step, total: passes * p.total, elapsed: p.elapsed))
        }
        var composite = try prepared.unfit(result.image)
        switch r.detail {
        case .off:
            break
        case .transfer:
            let roundTrip = try prepared.unfit(roundTripTensor(prepared, key: r.imageKey))
            let radius = max(1, Int((Double(DetailTransfer.blurRadius) * scale).rounded()))
            composite = try DetailTransfer.apply(
                original: prepared.original, raw: composite, roundTrip: roundTrip,
                radius: radius)
        case .difference:
            if r.isNullEdit {
                composite = prepared.original
            } else {
                var nullSettings = settings
                nullSettings.prompt = r.nullPrompt ?? ""
                nullSettings.negativePrompt = r.nullNegativePrompt
                let null = try render(task, settings: nullSettings, key: r.imageKey) { p in
                    progress?(StepProgress(step: p.total + p.step, total: 2 * p.total, elapsed: p.elapsed))
                }
                composite = try NullDifference.apply(
                    original: prepared.original, edit: composite, null: prepared.unfit(null.image))
            }
        }
        var output = composite
        if r.pasteBack, let alpha = area.alpha {
            output = try Mask.pasteBack(original: prepared.original, edited: composite, alpha: alpha)
        }
        let repainted = r.pasteBack ? area.repainted : nil
        let scheduler = settings.scheduler?.rawValue ?? model.schedulerConfig.className ?? "default"
        return EditOutcome(
            image: output, repainted: repainted, original: prepared.original, unet: unet,
            denoisingSteps: result.timesteps.count, schedulerName: scheduler,
            seconds: Date().timeIntervalSince(clock), repaintedByMask: area.modelMask != nil)
    }

    /// One pipeline run, cached by the image key and every setting that changes its pixels (none without a key or
    /// with explicit noise).
    private func render(
        _ task: DiffusionTask, settings s: DiffusionSettings, key: String?,
        progress: ((StepProgress) -> Void)?
    ) throws -> DiffusionResult {
        let renderKey = key.flatMap { Self.renderKey(task, settings: s, imageKey: $0) }
        if let renderKey, let hit = renders[renderKey] { return hit }
        let result = try pipeline.run(task, settings: s, cache: cache, imageKey: key, progress: progress)
        if let renderKey {
            if renders.count >= Self.renderCacheLimit { renders.removeAll() }
            renders[renderKey] = result
        }
        return result
    }

    /// Everything in a run that changes its pixels besides the image itself, as one string; nil for explicit noise.
    static func renderKey(_ task: DiffusionTask, settings s: DiffusionSettings, imageKey: String) -> String? {
        guard s.initialNoise == nil else { return nil }
        func hash(_ t: Tensor) -> String { SHA256.hex(of: t.data.withUnsafeBytes { Data($0) }) }
        let mask: String
        switch task {
        case .generate(let w, let h): mask = "generate \(w)x\(h)"
        case .edit: mask = "whole image"
        case .inpaint(_, let m): mask = hash(m)
        }
        let parts: [String] = [
            imageKey, s.prompt, s.negativePrompt, String(s.steps), "\(s.guidance)", String(s.seed),
            s.scheduler?.rawValue ?? "default", "\(s.eta)", "\(s.strength)", "\(s.invert)", s.sourcePrompt,
            s.sourceNegativePrompt, s.unet.rawValue, mask, s.keepMask.map(hash) ?? "no keep",
        ]
        return parts.joined(separator: "\u{1F}")
    }

    /// The model's rendering of the unedited input: posterior mean, decoded (cached by image key).
    private func roundTripTensor(_ prepared: PreparedImage, key: String?) -> Tensor {
        if let key, let hit = roundTrips[key] { return hit }
        let t = pipeline.roundTrip(prepared.tensor, cache: cache, imageKey: key)
        if let key { roundTrips[key] = t }
        return t
    }
}
