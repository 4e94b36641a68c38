import ArgumentParser
import CXRFindings
import CXRImaging
import Foundation

/// Finding-level edit options shared by `edit` and `explain`: what to add or remove, where, and what to keep.
/// `resolve(prompt:negativePrompt:maskGiven:)` turns them into prompts and a `RegionRequest`;
/// `ResolvedFindings.masks(on:)` places it on the input image.
///
/// Where an edit acts: `--add/--remove` repaint the findings' extents (their severity's regions, grown as
/// findings.json says) unless `--global` asks for the whole image or `--region`/`--mask` name the area;
/// `--prompt` alone repaints the whole image.
struct FindingOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Finding to add (repeatable): a name, synonym or phrase, e.g. \"pleural effusion\", PTX, \"large right effusion\".",
            valueName: "FINDING"))
    var add: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Finding to remove (repeatable): its absence goes in the prompt, its presence in the negative prompt.",
            valueName: "FINDING"))
    var remove: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Severity word (repeatable): the i-th applies to the i-th --add, or one applies to all (to --remove when there is no --add). Also sets how far the edit reaches (docs/findings.md).",
            valueName: "WORD"))
    var severity: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "left, right or bilateral (repeatable, same rule as --severity). Patient's side: image left is the patient's right.",
            valueName: "SIDE"))
    var side: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Edit only inside this anatomical region, fitted to the image (repeatable: union), instead of the findings' own extents. 'auto' = the findings' extents. See `cxr-edit explain --list`.",
            valueName: "NAME"))
    var region: [String] = []

    @Flag(name: .long, help: "Re-draw the whole image (SDEdit) instead of the findings' regions.")
    var global = false

    @Option(
        name: .long,
        help: ArgumentHelp("Grow the edit region by this many more pixels (of the input image).", valueName: "PX"))
    var dilate: Int = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Keep what is white in this mask exactly as in the input (repeatable: union).", valueName: "M.png"))
    var keep: [String] = []

    @Option(
        name: .customLong("keep-region"),
        help: ArgumentHelp(
            "Keep this anatomical region exactly as in the input (repeatable: union), e.g. heart.", valueName: "NAME"))
    var keepRegion: [String] = []

    @Flag(
        name: .long,
        help:
            "Edit regions even when the atlas fits the image poorly (score under 0.6; `cxr-edit regions` shows it); recorded as a warning in the provenance."
    )
    var force = false

    @Flag(
        name: .customLong("dry-run"),
        help: "Print the prompt, negative prompt, regions and settings that would be used, and stop.")
    var dryRun = false

    /// True when any finding-level option was given (so `edit` may compose its prompt).
    var isActive: Bool { !add.isEmpty || !remove.isEmpty }

    /// Names given to a repeatable option, comma lists split, empty ones and repeats dropped.
    static func names(_ values: [String]) -> [String] {
        var out: [String] = []
        for v in values {
            for part in v.split(separator: ",") {
                let name = part.trimmingCharacters(in: .whitespaces)
                if !name.isEmpty && !out.contains(name) { out.append(name) }
            }
        }
        return out
    }

    /// Resolves the options against the vocabulary (and checks region names against the atlas).
    /// `prompt`/`negativePrompt` are the user's --prompt / --negative-prompt (base texts); `maskGiven` says that the
    /// edit area comes from a --mask file instead.
    func resolve(
        prompt: String?, negativePrompt: String? = nil, maskGiven: Bool = false,
        vocabulary: Vocabulary? = nil
    ) throws -> ResolvedFindings {
        do {
            return try resolveUnchecked(
                prompt: prompt, negativePrompt: negativePrompt, maskGiven: maskGiven,
                vocabulary: vocabulary)
        } catch let e as FindingsError {
            throw CLIError(commandLineMessage(for: e))
        }
    }

    private func resolveUnchecked(
        prompt: String?, negativePrompt: String?, maskGiven: Bool,
        vocabulary: Vocabulary?
    ) throws -> ResolvedFindings {
        guard dilate >= 0 && dilate <= 1024 else {
            throw CLIError("--dilate must be between 0 and 1024 pixels, got \(dilate)")
        }
        let regionNames = Self.names(region)
        if global && !regionNames.isEmpty { throw CLIError("give --global or --region, not both") }
        if global && maskGiven { throw CLIError("give --global or --mask, not both") }
        // Both name the edit area; the mask file used to win silently and the region was dropped.
        if maskGiven && !regionNames.isEmpty {
            throw CLIError("give --region or --mask, not both (each names the edit area)")
        }
        let vocab = try vocabulary ?? Vocabulary.standard()
        let sides = try side.map { word -> Side in
            guard let s = vocab.side(forWord: word) else {
                throw CLIError("--side must be left, right or bilateral, got '\(word)'")
            }
            return s
        }
        var adds = try add.map { try vocab.lookup($0) }
        var removes = try remove.map { try vocab.lookup($0) }
        if !sides.isEmpty || !severity.isEmpty {
            if adds.isEmpty && removes.isEmpty {
                throw CLIError("--side and --severity qualify an --add or --remove finding; give one")
            }
            let targetIsAdd = !adds.isEmpty
            let count = targetIsAdd ? adds.count : removes.count
            let flag = targetIsAdd ? "--add" : "--remove"
            for (name, n) in [("--side", sides.count), ("--severity", severity.count)] where n > 1 && n != count {
                throw CLIError("\(n) \(name) values for \(count) \(flag) findings; give one for all or one per finding")
            }
            for i in 0..<count {
                let s = sides.isEmpty ? nil : sides[sides.count == 1 ? 0 : i]
                let v = severity.isEmpty ? nil : severity[severity.count == 1 ? 0 : i]
                if targetIsAdd {
                    try vocab.apply(side: s, severity: v, to: &adds[i])
                } else {
                    try vocab.apply(side: s, severity: v, to: &removes[i])
                }
            }
        }

        var composed: ComposedEdit?
        if isActive {
            composed = try compose(
                EditSpec(basePrompt: prompt, baseNegativePrompt: negativePrompt, adds: adds, removes: removes),
                vocabulary: vocab)
        }
        let extents = composed?.areas ?? []
        var source: ResolvedFindings.AreaSource
        var areas: [ExtentArea] = []
        if regionNames.contains(where: { $0.lowercased() == "auto" }) {
            guard isActive else {
                throw CLIError("--region auto uses the extents of --add/--remove findings; give one")
            }
            let named = regionNames.filter { $0.lowercased() != "auto" }
            areas = extents + (named.isEmpty ? [] : [ExtentArea(regions: named, grow: 0)])
            source = .extents
        } else if !regionNames.isEmpty {
            areas = [ExtentArea(regions: regionNames, grow: 0)]
            source = .named
        } else if maskGiven {
            source = .maskFile
        } else if isActive && !global {
            areas = extents
            source = .extents
        } else {
            source = .wholeImage
        }
        if dilate > 0 && areas.isEmpty {
            throw CLIError(
                "--dilate grows a region; it applies to --add/--remove regions or --region, not to \(maskGiven ? "--mask" : "whole-image edits")"
            )
        }
        let keepRegions = Self.names(keepRegion)
        let request = RegionRequest(edit: areas, dilate: dilate, keep: keepRegions)
        if !request.isEmpty { try RegionAtlas.standard().validate(request.allRegionNames) }
        return ResolvedFindings(
            prompt: composed?.prompt ?? prompt,
            negativePrompt: composed?.negativePrompt ?? (negativePrompt ?? ""),
            nullPrompt: composed?.basePrompt ?? EditSpec.defaultBasePrompt,
            nullNegativePrompt: composed?.baseNegativePrompt ?? (negativePrompt ?? ""),
            regions: request, areaSource: source, keepMasks: keep, adds: adds, removes: removes,
            extents: extents, notes: composed?.notes ?? [], fitPolicy: FitPolicy(force: force))
    }
}
