import Foundation

/// An edit as its caller describes it, in findings and region names: what to add or remove, how (side,
/// severity), where (the findings' extents, named regions, a mask file or the whole image) and what to keep.
///
/// This is the one place where such a description becomes prompts and areas: the command line fills it from
/// `--add/--remove/--side/--severity/--region/--global/--mask/--dilate/--keep/--keep-region/--force`, the probe from
/// a spec's edit. `resolve()` checks it and composes the prompts (`ResolvedFindings`); `ResolvedFindings.place`
/// puts its areas on an image.
public struct FindingEdit: Sendable, Equatable {
    /// The free prompt, or the base prompt that the findings' sentences follow; nil = the default base prompt.
    public var prompt: String?
    public var negativePrompt: String?
    /// Findings to add and to remove, as typed ("large right effusion", "PTX").
    public var adds: [String]
    public var removes: [String]
    /// Side words and severity words: the i-th qualifies the i-th added finding (the removed ones when nothing is
    /// added), or a single one qualifies them all.
    public var sides: [String]
    public var severities: [String]
    /// Atlas regions to repaint; `auto` stands for the findings' extents.
    public var regions: [String]
    /// Repaint the whole image even when findings are given.
    public var wholeImage: Bool
    /// A mask file to repaint (white = edit), instead of regions.
    public var editMaskFile: String?
    /// Extra growth of the edit areas in the image's pixels.
    public var dilate: Int
    /// Atlas regions and mask files (white = keep) held to the input.
    public var keepRegions: [String]
    public var keepMaskFiles: [String]
    /// Accept a weak atlas fit (with a warning) instead of refusing it.
    public var force: Bool

    public init(
        prompt: String? = nil, negativePrompt: String? = nil, adds: [String] = [], removes: [String] = [],
        sides: [String] = [], severities: [String] = [], regions: [String] = [], wholeImage: Bool = false,
        editMaskFile: String? = nil, dilate: Int = 0, keepRegions: [String] = [], keepMaskFiles: [String] = [],
        force: Bool = false
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.adds = adds
        self.removes = removes
        self.sides = sides
        self.severities = severities
        self.regions = regions
        self.wholeImage = wholeImage
        self.editMaskFile = editMaskFile
        self.dilate = dilate
        self.keepRegions = keepRegions
        self.keepMaskFiles = keepMaskFiles
        self.force = force
    }

    /// The region name that stands for the findings' extents (in any case).
    public static let automaticRegion = "auto"

    /// Whether findings are added or removed (so that the prompt is composed from them).
    public var hasFindings: Bool { !adds.isEmpty || !removes.isEmpty }

    /// Checks the edit against the vocabulary and the atlas (every region name) and composes its prompts and areas.
    ///
    /// Where it acts: named regions (`auto` adding the findings' extents), else the mask file, else the findings'
    /// extents unless `wholeImage`, else (a free prompt) the whole image.
    public func resolve(vocabulary: Vocabulary? = nil, atlas: RegionAtlas? = nil) throws -> ResolvedFindings {
        guard (0...RegionFitter.maxDilation).contains(dilate) else {
            throw FindingsError(.dilationOutOfRange(pixels: dilate))
        }
        let named = regions.filter { $0.lowercased() != Self.automaticRegion }
        let automatic = named.count != regions.count
        if wholeImage && !regions.isEmpty { throw FindingsError(.areaGivenTwice(.wholeImage, .named)) }
        if wholeImage && editMaskFile != nil { throw FindingsError(.areaGivenTwice(.wholeImage, .maskFile)) }
        // Both name the edit area; the mask file used to win silently and the regions were dropped.
        if editMaskFile != nil && !regions.isEmpty { throw FindingsError(.areaGivenTwice(.named, .maskFile)) }
        let vocabulary = try vocabulary ?? Vocabulary.standard()
        let sides = try self.sides.map { word -> Side in
            guard let side = vocabulary.side(forWord: word) else { throw FindingsError(.unknownSide(word: word)) }
            return side
        }
        var adds = try self.adds.map { try vocabulary.lookup($0) }
        var removes = try self.removes.map { try vocabulary.lookup($0) }
        try qualify(&adds, &removes, sides: sides, vocabulary: vocabulary)

        // A free prompt is used as it is; findings are composed into it (or into the default base prompt).
        var composed: ComposedEdit?
        if hasFindings {
            let spec = EditSpec(basePrompt: prompt, baseNegativePrompt: negativePrompt, adds: adds, removes: removes)
            composed = try compose(spec, vocabulary: vocabulary)
        }
        let extents = composed?.areas ?? []
        let source: EditAreaSource
        var areas: [ExtentArea] = []
        if automatic {
            guard hasFindings else { throw FindingsError(.automaticRegionWithoutFinding) }
            areas = extents + (named.isEmpty ? [] : [ExtentArea(regions: named, grow: 0)])
            source = .extents
        } else if !named.isEmpty {
            areas = [ExtentArea(regions: named, grow: 0)]
            source = .named
        } else if editMaskFile != nil {
            source = .maskFile
        } else if hasFindings && !wholeImage {
            areas = extents
            source = .extents
        } else {
            source = .wholeImage
        }
        if dilate > 0 && areas.isEmpty { throw FindingsError(.dilationWithoutRegion(source)) }
        let request = RegionRequest(edit: areas, dilate: dilate, keep: keepRegions)
        if !request.isEmpty { try (atlas ?? RegionAtlas.standard()).validate(request.allRegionNames) }
        return ResolvedFindings(
            prompt: composed?.prompt ?? prompt,
            negativePrompt: composed?.negativePrompt ?? (negativePrompt ?? ""),
            nullPrompt: composed?.basePrompt ?? EditSpec.defaultBasePrompt,
            nullNegativePrompt: composed?.baseNegativePrompt ?? (negativePrompt ?? ""),
            regions: request, areaSource: source, editMaskFile: editMaskFile, keepMaskFiles: keepMaskFiles,
            adds: adds, removes: removes, extents: extents, notes: composed?.notes ?? [],
            fitPolicy: FitPolicy(force: force))
    }

    /// Applies the side and severity words to the added findings, or to the removed ones when none is added.
    private func qualify(
        _ adds: inout [FindingRequest], _ removes: inout [FindingRequest], sides: [Side], vocabulary: Vocabulary
    ) throws {
        guard !sides.isEmpty || !severities.isEmpty else { return }
        guard hasFindings else { throw FindingsError(.qualifierWithoutFinding) }
        let action: FindingsError.Action = adds.isEmpty ? .remove : .add
        let count = action == .add ? adds.count : removes.count
        for (qualifier, n) in [(FindingsError.Qualifier.side, sides.count), (.severity, severities.count)]
        where n > 1 && n != count {
            throw FindingsError(.qualifierCountMismatch(qualifier, given: n, findings: count, action: action))
        }
        for i in 0..<count {
            let side = sides.isEmpty ? nil : sides[sides.count == 1 ? 0 : i]
            let severity = severities.isEmpty ? nil : severities[severities.count == 1 ? 0 : i]
            if action == .add {
                try vocabulary.apply(side: side, severity: severity, to: &adds[i])
            } else {
                try vocabulary.apply(side: side, severity: severity, to: &removes[i])
            }
        }
    }
}
