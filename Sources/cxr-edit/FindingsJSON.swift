import CXRFindings
import CXRRuns

/// Resolved findings as `explain --json` prints them (at the top level) and `edit --json` and
/// `edit --dry-run --json` (under `findings`).
struct FindingsJSON: Encodable {
    /// One added or removed finding.
    struct Request: Encodable {
        var id: String
        var name: String
        @ExplicitNull var side: String?
        @ExplicitNull var severity: String?

        init(_ r: FindingRequest) {
            id = r.finding.id; name = r.finding.name; side = r.side?.rawValue; severity = r.severity
        }
    }

    /// One area repainted: its regions and their growth in atlas pixels, and whether it follows the measured
    /// pleural fluid (present only when it does).
    struct Area: Encodable {
        var regions: [String]
        var grow: Int
        var followsFluid: Bool?

        init(_ area: ExtentArea) {
            regions = area.regions
            grow = area.grow
            followsFluid = area.followsFluid ? true : nil
        }

        enum CodingKeys: String, CodingKey {
            case regions, grow, followsFluid = "follows_fluid"
        }
    }

    @ExplicitNull var prompt: String?
    var negativePrompt: String
    var nullPrompt: String
    var nullNegativePrompt: String
    var add: [Request]
    var remove: [Request]
    var areaSource: String
    var editRegions: [String]
    var editAreas: [Area]
    /// The findings' extents, what `--region auto` and the default repaint.
    var defaultRegions: [String]
    var dilate: Int
    var keepRegions: [String]
    var keepMasks: [String]
    var notes: [String]
    var promptTokensEstimate: Int

    init(_ r: ResolvedFindings) {
        prompt = r.prompt; negativePrompt = r.negativePrompt
        nullPrompt = r.nullPrompt; nullNegativePrompt = r.nullNegativePrompt
        add = r.adds.map(Request.init); remove = r.removes.map(Request.init)
        areaSource = r.areaSource.rawValue
        editRegions = r.regions.editRegionNames
        editAreas = r.regions.edit.map(Area.init)
        defaultRegions = RegionRequest(edit: r.extents).editRegionNames
        dilate = r.regions.dilate; keepRegions = r.regions.keep; keepMasks = r.keepMaskFiles; notes = r.notes
        promptTokensEstimate = r.prompt.map(estimatedCLIPTokens) ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case prompt, negativePrompt = "negative_prompt", nullPrompt = "null_prompt"
        case nullNegativePrompt = "null_negative_prompt", add, remove, areaSource = "area_source"
        case editRegions = "edit_regions", editAreas = "edit_areas", defaultRegions = "default_regions", dilate
        case keepRegions = "keep_regions", keepMasks = "keep_masks", notes
        case promptTokensEstimate = "prompt_tokens_estimate"
    }
}
