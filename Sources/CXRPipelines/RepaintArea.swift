import CXRImaging
import Foundation

/// Where an edit may change the image, at the input's size: the one place the paste-back and keep rules live.
///
/// - The model repaints the edit mask grown by a margin band (`modelMask`), so the border of the region is redrawn
///   in context instead of being cut out of it.
/// - The output takes the edit with weight 1 inside the edit mask, falling linearly to 0 across the band
///   (`Mask.softEdge`), so no seam shows; beyond the band every pixel is the input's, bit for bit.
/// - Kept pixels are the input's, bit for bit, and the edit fades in across a band of the same width around them.
/// - Without an edit mask the whole image is repainted (SDEdit); only the keep rule applies.
struct RepaintArea {
    /// Repainted by the model (edit mask + band), nil = the whole image.
    let modelMask: Mask?
    /// Paste-back weight of the edit per pixel, nil = 1 everywhere (no paste-back needed).
    let alpha: [Float]?
    /// Pixels whose output may differ from the input (weight > 0), nil = all: the region an edit report measures.
    let repainted: Mask?

    init(edit: Mask?, keep: Mask?, margin: Int, width: Int, height: Int) throws {
        for m in [edit, keep].compactMap({ $0 }) where m.width != width || m.height != height {
            throw PipelineError.invalid("mask size \(m.width)x\(m.height) differs from the image's \(width)x\(height)")
        }
        let grown = edit?.dilatedAndSoftEdge(margin: margin)
        modelMask = grown?.dilated
        var weights = grown?.softEdge
        if let keep {
            let near = keep.softEdge(margin: margin)
            var w = weights ?? [Float](repeating: 1, count: width * height)
            for i in 0..<w.count { w[i] = min(w[i], 1 - near[i]) }
            weights = w
        }
        alpha = weights
        repainted = try weights.map { try Mask(width: width, height: height, pixels: $0.map { $0 > 0 }) }
    }
}
