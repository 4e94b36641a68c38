import CXRImaging
import Foundation

/// What `ImageEditor.edit(_:)` gives back: the output at the input's size and bit depth, where it was repainted,
/// how much it changed, and the settings that made it.
public struct EditOutcome: Sendable {
    public var image: RasterImage
    /// Pixels the output may differ in (edit region + margin band, minus kept pixels); nil = the whole image.
    public var repainted: Mask?
    /// The input as the output is measured against (at the output's size and bit depth).
    let original: RasterImage
    /// How much the edit changed, measured when asked (`edit --json`, probes): a plain edit that writes its
    /// output does not need it, and the SSIM and PSNR maps took 10 ms of a 0.55 s bundled-model edit.
    public var report: EditReport {
        get throws { try EditReport(original: original, edited: image, repainted: repainted) }
    }
    /// Which UNet denoised.
    public var unet: UNetChoice
    /// Scheduler steps actually run (strength x steps).
    public var denoisingSteps: Int
    /// The scheduler's name as recorded (its kind, else the checkpoint's class).
    public var schedulerName: String
    /// Seconds of the whole edit (model passes, round trip, compositing).
    public var seconds: Double
    /// "inpaint" for a masked edit, else "edit".
    public var mode: String { repaintedByMask ? "inpaint" : "edit" }
    let repaintedByMask: Bool

    /// The fraction of pixels in which this output differs visibly from `other` (an edit from its matched null
    /// edit), by the threshold of `EditReport`.
    public func changedFraction(from other: EditOutcome) throws -> Double {
        try ImageQuality.changedFraction(
            GrayPlane(image), GrayPlane(other.image), threshold: EditReport.changeThreshold)
    }

    /// Provenance of the output: every setting of `request` that changes a pixel, plus the caller's extras
    /// (`cxr-edit:x:` entries). `mask-sha256` hashes the repainted area (binary, one byte per pixel).
    public func provenance(of request: EditRequest, software: String, model: String, modelHash: String) -> Provenance {
        var p = Provenance(
            software: software, mode: mode, model: model, modelHash: modelHash, prompt: request.prompt,
            negativePrompt: request.negativePrompt, seed: request.seed, steps: request.steps,
            strength: request.strength, guidance: request.guidance, scheduler: schedulerName)
        p.maskHash = repainted.map { m in SHA256.hex(of: Data(m.pixels.map { $0 ? UInt8(1) : 0 })) }
        var x = request.provenanceExtras
        x["detail"] = request.detail.rawValue
        if request.detail == .difference {
            x["null-prompt"] = request.nullPrompt ?? ""
            if !request.nullNegativePrompt.isEmpty { x["null-negative-prompt"] = request.nullNegativePrompt }
        }
        x["unet"] = unet.rawValue
        if request.editMask != nil || request.keepMask != nil { x["margin"] = String(request.margin) }
        if !request.pasteBack { x["paste-back"] = "off" }
        if request.eta != 0 { x["eta"] = "\(request.eta)" }
        if request.rgb { x["rgb"] = "on" }
        if request.noise != nil { x["noise"] = "explicit" }
        if request.invert {
            x["invert"] = "ddpm-edit-friendly"; x["source-prompt"] = request.sourcePrompt
            if !request.sourceNegativePrompt.isEmpty { x["source-negative-prompt"] = request.sourceNegativePrompt }
        }
        p.extra.merge(x) { _, new in new }
        return p
    }
}
