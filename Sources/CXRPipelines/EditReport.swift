import CXRImaging

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
}

/// The figures as `edit --json` prints them, beside the edit's own keys (and under `null_edit` for the null edit).
/// A figure that was not measured is written as `null`, not left out, so every report has the same keys; an infinite
/// PSNR (nothing changed) is written as "inf", which JSON numbers cannot hold.
extension EditReport: Encodable {
    enum CodingKeys: String, CodingKey {
        case changedFraction = "changed_fraction", repaintedFraction = "repainted_fraction"
        case changedFractionInside = "changed_fraction_inside", changedFractionOutside = "changed_fraction_outside"
        case psnrOutside = "psnr_outside_db", ssimOutside = "ssim_outside", psnr = "psnr_db"
        case sharpnessRatio = "sharpness_ratio", comparisonRegion = "comparison_region"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(changedFraction, forKey: .changedFraction)
        try c.encode(repaintedFraction, forKey: .repaintedFraction)
        try c.encode(changedFractionInside, forKey: .changedFractionInside)
        // An Optional encoded with `encode` (not `encodeIfPresent`) writes `null` when it has no value.
        try c.encode(changedFractionOutside, forKey: .changedFractionOutside)
        try c.encodeDecibels(psnrOutside, forKey: .psnrOutside)
        try c.encode(ssimOutside, forKey: .ssimOutside)
        try c.encodeDecibels(psnr, forKey: .psnr)
        try c.encode(sharpnessRatio, forKey: .sharpnessRatio)
        try c.encode(comparisonRegion, forKey: .comparisonRegion)
    }
}

extension KeyedEncodingContainer where K == EditReport.CodingKeys {
    fileprivate mutating func encodeDecibels(_ value: Double, forKey key: K) throws {
        if value.isFinite { try encode(value, forKey: key) } else { try encode("inf", forKey: key) }
    }
}
