import ArgumentParser
import CXRFindings
import Foundation

/// Finding-level edit options shared by `edit` and `explain`: what to add or remove, where, and what to keep.
/// `edit(prompt:negativePrompt:mask:)` hands them to the library as a `FindingEdit`, which resolves them into
/// prompts and a `RegionRequest` (`ResolvedFindings`) and places those on the input image.
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

    /// The library's description of the edit these options ask for. `prompt`/`negativePrompt` are the user's
    /// --prompt / --negative-prompt (base texts); `mask` is the --mask file that names the edit area instead.
    func edit(prompt: String?, negativePrompt: String? = nil, mask: String? = nil) -> FindingEdit {
        FindingEdit(
            prompt: prompt, negativePrompt: negativePrompt, adds: add, removes: remove, sides: side,
            severities: severity, regions: Self.names(region), wholeImage: global, editMaskFile: mask, dilate: dilate,
            keepRegions: Self.names(keepRegion), keepMaskFiles: keep, force: force)
    }

    /// Resolves the options against the vocabulary and the atlas (`FindingEdit.resolve`); its errors name no flag,
    /// `commandLineMessage(for:)` phrases them with these options' names.
    func resolve(prompt: String?, negativePrompt: String? = nil, mask: String? = nil) throws -> ResolvedFindings {
        try edit(prompt: prompt, negativePrompt: negativePrompt, mask: mask).resolve()
    }
}
