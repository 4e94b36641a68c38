import CXRFindings
import CXRImaging
import Foundation

/// What `FindingOptions` resolved to: the prompts of the edit and of its null edit, and where it acts.
struct ResolvedFindings {
    /// Where the edit area comes from.
    enum AreaSource: String {
        /// The --add/--remove findings' extents (the default for findings).
        case extents
        /// --region names.
        case named
        /// A --mask file.
        case maskFile = "mask"
        /// The whole image (--global, or --prompt alone).
        case wholeImage = "whole-image"
    }

    /// The prompt to use; nil only when neither --prompt nor --add/--remove was given.
    var prompt: String?
    var negativePrompt: String
    /// The matched null edit's prompts: without the findings' sentences (docs/EVALUATION.md).
    var nullPrompt: String
    var nullNegativePrompt: String
    /// Atlas regions to repaint and keep (empty edit areas = whole image or --mask).
    var regions: RegionRequest
    var areaSource: AreaSource
    /// --keep mask files.
    var keepMasks: [String]
    var adds: [FindingRequest]
    var removes: [FindingRequest]
    /// The findings' extents for their side and severity (what `--region auto` and the default use).
    var extents: [ExtentArea]
    var notes: [String]
    var fitPolicy: FitPolicy

    /// Regions placed on `image` (nil fit when no region was named); --keep files are read at the image's size
    /// and joined to the kept regions. A weak atlas fit is an error unless --force.
    /// `enforceFit` false accepts a weak fit (explain shows it instead of refusing).
    func masks(on image: RasterImage, enforceFit: Bool = true) throws -> PlacedRegions {
        var placed = PlacedRegions(fit: nil, edit: nil, keep: nil, growth: [])
        var policy = fitPolicy
        if !enforceFit { policy.force = true }
        do {
            if !regions.isEmpty { placed = try RegionFitter.standard().place(regions, on: image, policy: policy) }
        } catch let e as FindingsError {
            throw CLIError(commandLineMessage(for: e))
        } catch let e as WeakFitError {
            throw CLIError("\(e) (`cxr-edit regions IN.png`); pass --force to edit anyway, or --global / --mask")
        }
        for path in keepMasks {
            let m = try Mask.read(URL(fileURLWithPath: path), size: (image.width, image.height))
            placed.keep = try placed.keep.map { try $0.union(m) } ?? m
        }
        return placed
    }

    /// The edit area in words, e.g. "right-cp-angle + right-lower-zone (grown 18 atlas px)".
    var areaDescription: String {
        switch areaSource {
        case .wholeImage: return "whole image (SDEdit)"
        case .maskFile: return "the --mask file"
        case .extents, .named:
            let parts = regions.edit.map { a in
                a.regions.joined(separator: " + ") + (a.grow > 0 ? " (grown \(a.grow) atlas px)" : "")
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
        let kept = regions.keep + keepMasks
        lines.append("keep:            \(kept.isEmpty ? "(nothing)" : kept.joined(separator: " + "))")
        lines.append(
            "null edit:       \(nullPrompt)\(nullNegativePrompt.isEmpty ? "" : " (negative: \(nullNegativePrompt))")")
        if let prompt { lines.append("prompt tokens:   about \(estimatedCLIPTokens(prompt)) of 75") }
        for n in notes { lines.append("note:            \(n)") }
        return lines
    }

    /// JSON-ready dictionary (for explain --json and edit --json summaries).
    func jsonObject() -> [String: Any] {
        func req(_ r: FindingRequest) -> [String: Any] {
            [
                "id": r.finding.id, "name": r.finding.name, "side": r.side?.rawValue as Any? ?? NSNull(),
                "severity": r.severity as Any? ?? NSNull(),
            ]
        }
        return [
            "prompt": prompt as Any? ?? NSNull(), "negative_prompt": negativePrompt,
            "null_prompt": nullPrompt, "null_negative_prompt": nullNegativePrompt,
            "add": adds.map(req), "remove": removes.map(req), "area_source": areaSource.rawValue,
            "edit_regions": regions.editRegionNames,
            "edit_areas": regions.edit.map { ["regions": $0.regions, "grow": $0.grow] as [String: Any] },
            "default_regions": RegionRequest(edit: extents).editRegionNames, "dilate": regions.dilate,
            "keep_regions": regions.keep, "keep_masks": keepMasks, "notes": notes,
            "prompt_tokens_estimate": prompt.map(estimatedCLIPTokens) ?? 0,
        ]
    }
}

extension AtlasFit {
    /// The fit as `edit --json`, `edit --dry-run --json` and `explain --json` report it.
    func json(weak: Bool) -> [String: Any] {
        [
            "score": score, "scale_x": scaleX, "scale_y": scaleY, "offset_x": offsetX, "offset_y": offsetY,
            "weak": weak,
            "method": method.rawValue, "parts": partsJSON,
        ]
    }

    /// The part transforms of a segmented fit (`right_lung`, `left_lung`, `heart`; a part without one is placed
    /// by the top-level transform and left out), so that a region can be rebuilt from the report alone.
    var partsJSON: [String: Any] {
        var out: [String: Any] = [:]
        for (key, t) in [("right_lung", rightLung), ("left_lung", leftLung), ("heart", heart)] {
            guard let t else { continue }
            out[key] = ["scale_x": t.scaleX, "scale_y": t.scaleY, "offset_x": t.offsetX, "offset_y": t.offsetY]
        }
        return out
    }
}
