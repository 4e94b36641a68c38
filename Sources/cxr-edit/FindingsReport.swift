import CXRFindings
import Foundation

/// Resolved findings as the command line shows them in words, for `--dry-run` and `explain` (`FindingsJSON` is
/// their `--json`). The words name the flags, so they live here and not in the library.
extension ResolvedFindings {
    /// The edit area in words, e.g. "right-cp-angle + right-lower-zone (grown 18 atlas px)".
    var areaDescription: String {
        switch areaSource {
        case .wholeImage: return "whole image (SDEdit)"
        case .maskFile: return "the --mask file"
        case .extents, .named:
            let parts = regions.edit.map { a in
                a.regions.joined(separator: " + ") + (a.grow > 0 ? " (grown \(a.grow) atlas px)" : "")
                    + (a.followsFluid
                        ? ", or grown \(PleuralFluid.grow) and clipped to the fluid estimated from the lung's opacity"
                        : "")
            }
            let dilated = regions.dilate > 0 ? ", dilated \(regions.dilate) px" : ""
            let origin = areaSource == .extents ? " [the findings' extents]" : ""
            return parts.joined(separator: "; ") + dilated + origin
        }
    }

    /// Human-readable lines for --dry-run / explain.
    func describe() -> [String] {
        var lines: [String] = []
        lines.append("prompt:          \(prompt ?? "(none: give --prompt or --add/--remove)")")
        lines.append("negative prompt: \(negativePrompt.isEmpty ? "(none)" : negativePrompt)")
        if !adds.isEmpty { lines.append("add:             \(adds.map(\.summary).joined(separator: "; "))") }
        if !removes.isEmpty { lines.append("remove:          \(removes.map(\.summary).joined(separator: "; "))") }
        lines.append("edit region:     \(areaDescription)")
        if areaSource != .extents && !extents.isEmpty {
            let names = RegionRequest(edit: extents).editRegionNames
            lines.append("finding extents: \(names.joined(separator: " + ")) (the default; --region auto)")
        }
        let kept = regions.keep + keepMaskFiles
        lines.append("keep:            \(kept.isEmpty ? "(nothing)" : kept.joined(separator: " + "))")
        lines.append(
            "null edit:       \(nullPrompt)\(nullNegativePrompt.isEmpty ? "" : " (negative: \(nullNegativePrompt))")")
        if let prompt { lines.append("prompt tokens:   about \(estimatedCLIPTokens(prompt)) of 75") }
        for n in notes { lines.append("note:            \(n)") }
        return lines
    }
}
