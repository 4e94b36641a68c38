import CXRImaging
import Foundation

/// How much an edit changed, measured against the area it actually repainted (edit region + margin band, minus
/// kept pixels; the whole image minus kept pixels for a whole-image edit).
///
/// Inside and outside are reported together with the share of the image repainted, so a figure cannot mislead:
/// a whole-image edit holding the heart reports `changedFractionOutside` 0 (the heart is untouched) beside
/// `changedFraction` 0.62 and `repaintedFraction` 0.9. The whole-image PSNR and sharpness ratio (Laplacian variance
/// of the output over the input's) say how faithful the output is overall; for a null edit they are the fidelity
/// figures of docs/EVALUATION.md.
public struct EditReport: Sendable, Equatable {
    /// Pixels changing by more than this fraction of full scale count as changed.
    public static let changeThreshold: Float = 0.02

    /// Share of all pixels that changed.
    public var changedFraction: Double
    /// Share of the image the edit repainted (1 for a whole-image edit that keeps nothing).
    public var repaintedFraction: Double
    /// Share of the repainted pixels that changed.
    public var changedFractionInside: Double
    /// Share of the pixels outside the repainted area that changed (0 for a faithful paste-back); nil when the
    /// whole image was repainted.
    public var changedFractionOutside: Double?
    /// PSNR / SSIM against the input outside the repainted area (the whole image when all of it was repainted).
    public var psnrOutside: Double
    public var ssimOutside: Double
    /// Whole-image PSNR against the input (dB; +infinity when identical).
    public var psnr: Double
    /// Laplacian variance of the output over the input's (1 = as sharp); nil for a flat input.
    public var sharpnessRatio: Double?
    /// What `psnrOutside`/`ssimOutside` were measured on, in words.
    public var comparisonRegion: String

    public init(original: RasterImage, edited: RasterImage, repainted: Mask?) throws {
        let a = GrayPlane(original), b = GrayPlane(edited)
        let t = Self.changeThreshold
        changedFraction = try ImageQuality.changedFraction(a, b, threshold: t)
        if let repainted {
            repaintedFraction = repainted.coverage
            changedFractionInside = try ImageQuality.changedFraction(a, b, threshold: t, inside: repainted)
            changedFractionOutside =
                repainted.coverage < 1
                ? try ImageQuality.changedFraction(a, b, threshold: t, inside: repainted.complement()) : nil
        } else {
            repaintedFraction = 1
            changedFractionInside = changedFraction
            changedFractionOutside = nil
        }
        let outsideExists = changedFractionOutside != nil
        let region = outsideExists ? repainted : nil
        psnrOutside = try ImageQuality.psnr(a, b, outside: region) ?? .infinity
        ssimOutside = try ImageQuality.ssim(a, b, outside: region) ?? 1
        psnr = try ImageQuality.psnr(a, b) ?? .infinity
        sharpnessRatio = ImageQuality.sharpnessRatio(output: b, input: a)
        comparisonRegion =
            outsideExists
            ? "outside the repainted area (kept pixels count as outside, the margin band as repainted)"
            : "whole image (all of it repainted)"
    }

    /// JSON-ready figures (`--json`, probe rows); infinite PSNRs are written as "inf".
    public var json: [String: Any] {
        func db(_ v: Double) -> Any { v.isFinite ? v : "inf" }
        var o: [String: Any] = [
            "changed_fraction": changedFraction, "repainted_fraction": repaintedFraction,
            "changed_fraction_inside": changedFractionInside,
            "psnr_outside_db": db(psnrOutside), "ssim_outside": ssimOutside,
            "psnr_db": db(psnr), "comparison_region": comparisonRegion,
        ]
        o["changed_fraction_outside"] = changedFractionOutside.map { $0 as Any } ?? NSNull()
        o["sharpness_ratio"] = sharpnessRatio.map { $0 as Any } ?? NSNull()
        return o
    }
}
