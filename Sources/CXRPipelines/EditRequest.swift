import CXRImaging
import CXRSchedulers
import CXRTensor
import Foundation

/// Everything that decides the pixels of one edit of a radiograph: what `ImageEditor.edit(_:)` takes.
///
/// The CLI's `edit`, the probe and synthesize all describe their edits this way, so one request gives the same
/// counterfactual whoever makes it. Masks are at the image's own size (1 = edit, 1 = keep); region names, findings
/// and files are resolved by the caller (CXRFindings places regions) and described in `provenanceExtras`.
public struct EditRequest: Sendable {
    /// Strength of a whole-image edit when none is given: keeps the anatomy, changes the finding's impression.
    public static let defaultWholeImageStrength = 0.5
    /// Strength of a regional edit when none is given: a region is repainted in the context of an untouched
    /// image, so it may move further from the input without the rest of the patient drifting.
    public static let defaultRegionalStrength = 0.8
    /// Soft margin around an edit region, in pixels of the 256 px frame (see `ImageEditor`).
    public static let defaultMargin = 8
    /// Pixels of the reference frame that margins and blur radii are given in (the atlas's and cxr-mini's size).
    public static let referenceSize = 256

    public var image: RasterImage
    public var prompt: String
    public var negativePrompt: String
    /// Pixels to repaint (1 = edit); nil = the whole image (SDEdit).
    public var editMask: Mask?
    /// Pixels held to the input (1 = keep), at every denoising step and in the output.
    public var keepMask: Mask?
    public var strength: Double
    public var seed: UInt64
    public var steps: Int
    public var guidance: Double
    /// nil = the checkpoint's own scheduler.
    public var scheduler: SchedulerKind?
    public var eta: Double
    /// Edit-friendly DDPM inversion under `sourcePrompt` / `sourceNegativePrompt` (what describes the input as it
    /// is) before regenerating. With a findings edit's null prompts as the source, the null edit reproduces the
    /// input's latents exactly, so every change of the edit is the finding's.
    public var invert: Bool
    public var sourcePrompt: String
    public var sourceNegativePrompt: String
    /// How the output treats what the model cannot reproduce of the input (`DetailMode`); `.difference` needs
    /// `nullPrompt`.
    public var detail: DetailMode
    /// The matched null edit's prompts (the prompt without the finding's sentences, and for a removal the negative
    /// prompt without the sentences it adds): what `.difference` renders beside the edit.
    public var nullPrompt: String?
    public var nullNegativePrompt: String
    /// Soft margin in pixels of the 256 px frame: the model repaints this much around the edit mask and the output
    /// blends across it; beyond it the input is kept bit for bit.
    public var margin: Int
    /// Paste the input back outside the repainted area (off shows the raw model output everywhere).
    public var pasteBack: Bool
    /// Write RGB instead of grey.
    public var rgb: Bool
    /// Explicit initial noise replacing the seeded draw.
    public var noise: Tensor?
    /// nil = automatic: masked edits use the inpainting UNet when the model has one, whole-image edits `unet/`.
    public var unet: UNetChoice?
    /// Names the image for the editor's caches (its SHA-256); nil = nothing cached.
    public var imageKey: String?
    /// What the caller knows about the request (region names, fit, input hash, the command): copied into the
    /// output's provenance as `cxr-edit:x:<key>` entries.
    public var provenanceExtras: [String: String]

    public init(
        image: RasterImage, prompt: String, negativePrompt: String = "", editMask: Mask? = nil,
        keepMask: Mask? = nil, strength: Double? = nil, seed: UInt64 = 0, steps: Int = 50,
        guidance: Double = 7.5, scheduler: SchedulerKind? = nil, eta: Double = 0, invert: Bool = false,
        sourcePrompt: String = "", sourceNegativePrompt: String = "",
        detail: DetailMode = .transfer, nullPrompt: String? = nil, nullNegativePrompt: String = "",
        margin: Int = EditRequest.defaultMargin, pasteBack: Bool = true, rgb: Bool = false,
        noise: Tensor? = nil, unet: UNetChoice? = nil, imageKey: String? = nil,
        provenanceExtras: [String: String] = [:]
    ) {
        self.image = image; self.prompt = prompt; self.negativePrompt = negativePrompt
        self.editMask = editMask; self.keepMask = keepMask
        self.strength = strength ?? EditRequest.defaultStrength(regional: editMask != nil)
        self.seed = seed; self.steps = steps; self.guidance = guidance; self.scheduler = scheduler; self.eta = eta
        self.invert = invert; self.sourcePrompt = sourcePrompt; self.sourceNegativePrompt = sourceNegativePrompt
        self.detail = detail; self.nullPrompt = nullPrompt; self.nullNegativePrompt = nullNegativePrompt
        self.margin = margin
        self.pasteBack = pasteBack; self.rgb = rgb; self.noise = noise; self.unet = unet; self.imageKey = imageKey
        self.provenanceExtras = provenanceExtras
    }

    /// The strength used when the caller gives none.
    public static func defaultStrength(regional: Bool) -> Double {
        regional ? defaultRegionalStrength : defaultWholeImageStrength
    }

    /// Whether the edit repaints a region (else the whole image).
    public var isRegional: Bool { editMask != nil }

    /// The matched null edit (docs/EVALUATION.md): the same image, masks, seed, strength, sampler, inversion and
    /// detail settings, with `nullPrompt` (the prompt the edit would use without its findings' sentences) and
    /// `nullNegativePrompt` (without the sentences a removal adds) as its prompts. What it changes, any edit
    /// changes; only the difference between the two is the finding. Throws when the request has no null prompt.
    public func nullEdit() throws -> EditRequest {
        guard let nullPrompt else {
            throw PipelineError.invalid("this edit has no null prompt (the prompt without the finding)")
        }
        var null = self
        null.prompt = nullPrompt
        null.negativePrompt = nullNegativePrompt
        return null
    }

    /// Whether this request is its own null edit (its prompts are the null prompts).
    public var isNullEdit: Bool { prompt == nullPrompt && negativePrompt == nullNegativePrompt }

    /// Checks values a user can get wrong, with messages that name the value (callers map them to their options).
    public func validate() throws {
        guard strength > 0 && strength <= 1 else {
            throw PipelineError.invalid("strength must be in (0, 1], got \(strength)")
        }
        guard margin >= 0 && margin <= 256 else {
            throw PipelineError.invalid("margin must be between 0 and 256 pixels, got \(margin)")
        }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw PipelineError.invalid("the prompt is empty: say what the image should show")
        }
        if let editMask, editMask.coverage == 0 {
            throw PipelineError.invalid("the edit mask is empty (no pixel to edit)")
        }
        for (name, m) in [("edit", editMask), ("keep", keepMask)] {
            if let m, m.width != image.width || m.height != image.height {
                throw PipelineError.invalid(
                    "the \(name) mask is \(m.width)x\(m.height), the image \(image.width)x\(image.height)")
            }
        }
        if detail == .difference && nullPrompt == nil {
            throw PipelineError.invalid(
                "detail 'difference' needs the null edit's prompt (the prompt without the finding)")
        }
        if unet == .inpaint && editMask == nil {
            throw PipelineError.invalid("the inpainting UNet repaints inside an edit mask; a whole-image edit has none")
        }
    }
}
