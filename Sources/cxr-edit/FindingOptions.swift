import ArgumentParser
import CXRFindings
import CXRImaging
import Foundation

/// Finding-level edit options shared by `edit` and `explain`: what to add or remove, where, and what
/// to keep. `resolve(prompt:negativePrompt:)` turns them into prompts and region names;
/// `ResolvedFindings.masks(on:)` places the regions on the input image.
struct FindingOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Finding to add (repeatable): a name, synonym or phrase, e.g. \"pleural effusion\", PTX, \"large right effusion\".", valueName: "FINDING"))
    var add: [String] = []

    @Option(name: .long, help: ArgumentHelp("Finding to remove (repeatable): its absence goes in the prompt, its presence in the negative prompt.", valueName: "FINDING"))
    var remove: [String] = []

    @Option(name: .long, help: ArgumentHelp("Severity word (repeatable): the i-th applies to the i-th --add, or one applies to all (to --remove when there is no --add).", valueName: "WORD"))
    var severity: [String] = []

    @Option(name: .long, help: ArgumentHelp("left, right or bilateral (repeatable, same rule as --severity). Patient's side: image left is the patient's right.", valueName: "SIDE"))
    var side: [String] = []

    @Option(name: .long, help: ArgumentHelp("Edit only inside this anatomical region, fitted to the image (repeatable: union). 'auto' = the findings' default regions. See `cxr-edit explain --list`.", valueName: "NAME"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Grow the fitted --region by this many pixels (of the input image).", valueName: "PX"))
    var dilate: Int = 0

    @Option(name: .long, help: ArgumentHelp("Keep what is white in this mask exactly as in the input (repeatable: union).", valueName: "M.png"))
    var keep: [String] = []

    @Option(name: .customLong("keep-region"), help: ArgumentHelp("Keep this anatomical region exactly as in the input (repeatable: union), e.g. heart.", valueName: "NAME"))
    var keepRegion: [String] = []

    @Flag(name: .customLong("dry-run"), help: "Print the prompt, negative prompt, regions and settings that would be used, and stop.")
    var dryRun = false

    /// True when any finding-level option was given (so `edit` may compose its prompt).
    var isActive: Bool { !add.isEmpty || !remove.isEmpty }

    /// Resolves the options against the vocabulary (and the atlas when regions are named).
    /// `prompt`/`negativePrompt` are the user's --prompt / --negative-prompt (base texts).
    func resolve(prompt: String?, negativePrompt: String? = nil, vocabulary: Vocabulary? = nil) throws -> ResolvedFindings {
        do {
            return try resolveUnchecked(prompt: prompt, negativePrompt: negativePrompt, vocabulary: vocabulary)
        } catch let e as FindingsError {
            throw CLIError(e.description)
        }
    }

    private func resolveUnchecked(prompt: String?, negativePrompt: String?, vocabulary: Vocabulary?) throws -> ResolvedFindings {
        guard dilate >= 0 && dilate <= 1024 else { throw CLIError("--dilate must be between 0 and 1024 pixels, got \(dilate)") }
        if dilate > 0 && region.isEmpty { throw CLIError("--dilate applies to --region; give a --region (or --region auto)") }
        let vocab = try vocabulary ?? Vocabulary.standard()
        let sides = try side.map { word -> Side in
            guard let s = vocab.side(forWord: word) else { throw CLIError("--side must be left, right or bilateral, got '\(word)'") }
            return s
        }
        var adds = try add.map { try vocab.lookup($0) }
        var removes = try remove.map { try vocab.lookup($0) }
        if !sides.isEmpty || !severity.isEmpty {
            if adds.isEmpty && removes.isEmpty { throw CLIError("--side and --severity qualify an --add or --remove finding; give one") }
            let targetIsAdd = !adds.isEmpty
            let count = targetIsAdd ? adds.count : removes.count
            let flag = targetIsAdd ? "--add" : "--remove"
            for (name, n) in [("--side", sides.count), ("--severity", severity.count)] where n > 1 && n != count {
                throw CLIError("\(n) \(name) values for \(count) \(flag) findings; give one for all or one per finding")
            }
            for i in 0..<count {
                let s = sides.isEmpty ? nil : sides[sides.count == 1 ? 0 : i]
                let v = severity.isEmpty ? nil : severity[severity.count == 1 ? 0 : i]
                if targetIsAdd { try vocab.apply(side: s, severity: v, to: &adds[i]) } else { try vocab.apply(side: s, severity: v, to: &removes[i]) }
            }
        }

        var composed: ComposedEdit?
        if isActive {
            composed = try compose(EditSpec(basePrompt: prompt, baseNegativePrompt: negativePrompt, adds: adds, removes: removes),
                                   vocabulary: vocab)
        }
        let suggested = composed?.regions ?? []
        var editRegions: [String] = []
        for name in region.flatMap({ $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }) {
            if name.lowercased() == "auto" {
                guard isActive else { throw CLIError("--region auto uses the default regions of --add/--remove findings; give one") }
                for r in suggested where !editRegions.contains(r) { editRegions.append(r) }
            } else if !name.isEmpty && !editRegions.contains(name) {
                editRegions.append(name)
            }
        }
        var keepRegions: [String] = []
        for name in keepRegion.flatMap({ $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } })
            where !name.isEmpty && !keepRegions.contains(name) { keepRegions.append(name) }
        if !editRegions.isEmpty || !keepRegions.isEmpty {
            try RegionAtlas.standard().validate(editRegions + keepRegions)
        }
        return ResolvedFindings(prompt: composed?.prompt ?? prompt,
                                negativePrompt: composed?.negativePrompt ?? (negativePrompt ?? ""),
                                editRegions: editRegions, keepRegions: keepRegions, keepMasks: keep, dilate: dilate,
                                adds: adds, removes: removes, suggestedRegions: suggested, notes: composed?.notes ?? [])
    }
}

/// What `FindingOptions` resolved to.
struct ResolvedFindings {
    /// The prompt to use; nil only when neither --prompt nor --add/--remove was given.
    var prompt: String?
    var negativePrompt: String
    /// Regions to edit (atlas names); empty = the whole image (or the user's --mask).
    var editRegions: [String]
    /// Regions to hold to the input.
    var keepRegions: [String]
    /// --keep mask files.
    var keepMasks: [String]
    var dilate: Int
    var adds: [FindingRequest]
    var removes: [FindingRequest]
    /// The findings' default regions (used by --region auto).
    var suggestedRegions: [String]
    var notes: [String]

    /// Regions placed on `image`: the fit (nil when no region was named), the edit mask (nil = no
    /// --region) and the keep mask (nil = nothing kept; --keep files are read at the image's size).
    func masks(on image: RasterImage) throws -> (fit: AtlasFit?, edit: Mask?, keep: Mask?) {
        var fit: AtlasFit?
        var edit: Mask?
        var keep: Mask?
        do {
            if !editRegions.isEmpty || !keepRegions.isEmpty {
                let fitter = try RegionFitter.standard()
                let f = fitter.fit(image)
                fit = f
                if !editRegions.isEmpty { edit = try fitter.place(editRegions, fit: f, dilate: dilate) }
                if !keepRegions.isEmpty { keep = try fitter.place(keepRegions, fit: f, dilate: 0) }
            }
        } catch let e as FindingsError { throw CLIError(e.description) }
        for path in keepMasks {
            let m = try Mask.read(URL(fileURLWithPath: path), size: (image.width, image.height))
            if var k = keep {
                for i in 0..<k.values.count where m.values[i] >= 0.5 { k.values[i] = 1 }
                keep = k
            } else { keep = m }
        }
        if let e = edit, e.coverage == 0 {
            throw CLIError("the fitted region \(editRegions.joined(separator: "+")) lies outside the image; check it with `cxr-edit regions`")
        }
        return (fit, edit, keep)
    }

    /// Human-readable lines for --dry-run / explain.
    func describe() -> [String] {
        var lines: [String] = []
        lines.append("prompt:          \(prompt ?? "(none: give --prompt or --add/--remove)")")
        lines.append("negative prompt: \(negativePrompt.isEmpty ? "(none)" : negativePrompt)")
        if !adds.isEmpty { lines.append("add:             \(adds.map(\.summary).joined(separator: "; "))") }
        if !removes.isEmpty { lines.append("remove:          \(removes.map(\.summary).joined(separator: "; "))") }
        let where_ = editRegions.isEmpty ? "whole image" : editRegions.joined(separator: " + ") + (dilate > 0 ? " (dilated \(dilate) px)" : "")
        lines.append("edit region:     \(where_)")
        if !suggestedRegions.isEmpty && editRegions != suggestedRegions {
            lines.append("default regions: \(suggestedRegions.joined(separator: " + ")) (use --region auto)")
        }
        let kept = keepRegions + keepMasks
        lines.append("keep:            \(kept.isEmpty ? "(nothing)" : kept.joined(separator: " + "))")
        if let prompt { lines.append("prompt tokens:   about \(estimatedCLIPTokens(prompt)) of 75") }
        for n in notes { lines.append("note:            \(n)") }
        return lines
    }

    /// JSON-ready dictionary (for explain --json and edit --json summaries).
    func jsonObject() -> [String: Any] {
        func req(_ r: FindingRequest) -> [String: Any] {
            ["id": r.finding.id, "name": r.finding.name, "side": r.side?.rawValue as Any? ?? NSNull(),
             "severity": r.severity as Any? ?? NSNull()]
        }
        return ["prompt": prompt as Any? ?? NSNull(), "negative_prompt": negativePrompt,
                "add": adds.map(req), "remove": removes.map(req),
                "edit_regions": editRegions, "default_regions": suggestedRegions, "dilate": dilate,
                "keep_regions": keepRegions, "keep_masks": keepMasks, "notes": notes,
                "prompt_tokens_estimate": prompt.map(estimatedCLIPTokens) ?? 0]
    }
}
