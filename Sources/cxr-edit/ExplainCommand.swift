import ArgumentParser
import CXRFindings
import CXRImaging
import CXRRuns
import Foundation

/// `cxr-edit explain`: shows what an `edit` with the same finding options would do (prompt, negative
/// prompt, regions, keep regions) without loading a model; `--list` prints the vocabulary.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Show the prompt, negative prompt, regions and keep regions an edit would use (no model needed).",
        discussion: """
            Examples:
              cxr-edit explain --add "pleural effusion" --side right --severity large --region right-lower-zone
              cxr-edit explain --remove PTX --keep-region heart --json
              cxr-edit explain chest.png --add cardiomegaly --region auto --dilate 12   (also fits the regions)
              cxr-edit explain --list
            """)

    @Argument(
        help: ArgumentHelp(
            "Optional radiograph: also fit the regions on it and report their placement.", valueName: "IN.png"))
    var input: String?

    @OptionGroup var findings: FindingOptions
    @OptionGroup(title: "DICOM input") var window: WindowOptions

    @Option(name: .long, help: "Base prompt (default: \"\(EditSpec.defaultBasePrompt)\").")
    var prompt: String?

    @Option(name: .customLong("negative-prompt"), help: "Base negative prompt.")
    var negativePrompt: String?

    @Flag(name: .long, help: "Print JSON instead of text.")
    var json = false

    @Flag(name: .long, help: "List the findings vocabulary and the region names, and stop.")
    var list = false

    func run() throws {
        if list { try printList(); return }
        let resolved = try findings.resolve(prompt: prompt, negativePrompt: negativePrompt)
        var report = ExplainJSON(findings: FindingsJSON(resolved))
        var lines = resolved.describe()
        if input == nil, let w = window.window {
            throw CLIError("--window \(w) chooses how a DICOM input is shown; give the input image")
        }
        if let input {
            let windowed = try window.read(URL(fileURLWithPath: input))
            let image = windowed.image
            if let w = windowed.window {
                lines.append("window:          \(w)")
                report.window = w
            }
            let placed = try resolved.place(on: image, enforcingFit: false)
            if let fit = placed.fit {
                lines.append("fit:             \(fit.summary)")
                let weak = FitPolicy.standard.isWeak(fit)
                if weak {
                    lines.append(
                        String(
                            format: "warning:         weak fit (score %.2f, below %.2f): the edit needs --force",
                            fit.score, FitPolicy.standard.minimumScore))
                }
                report.fit = AtlasFitJSON(fit, weak: weak, withMatch: true)
            }
            if let e = placed.edit {
                lines.append(String(format: "edit area:       %.1f%% of the image", e.coverage * 100))
                report.editCoverage = e.coverage
            }
            for f in placed.fluid { lines.append("pleural fluid:   \(f.summary)") }
            if !placed.fluid.isEmpty { report.pleuralFluid = placed.fluid }
            if let k = placed.keep {
                lines.append(String(format: "keep area:       %.1f%% of the image", k.coverage * 100))
                report.keepCoverage = k.coverage
            }
        }
        if json {
            print(try StableJSON.string(report, escapingSlashes: true))
        } else {
            lines.forEach { print($0) }
        }
    }

    private func printList() throws {
        let vocab: Vocabulary
        do { vocab = try Vocabulary.standard() } catch let e as FindingsError {
            throw CLIError(commandLineMessage(for: e))
        }
        let regions = (try? RegionAtlas.standard().availableNames) ?? RegionAtlas.standardNames
        if json {
            print(try StableJSON.string(VocabularyListing(vocab, regions: regions), escapingSlashes: true))
            return
        }
        for f in vocab.findings {
            var extras: [String] = []
            if f.sided { extras.append("side") }
            if !f.severities.isEmpty { extras.append(f.severities.joined(separator: "/")) }
            let head = f.id + (extras.isEmpty ? "" : " [\(extras.joined(separator: "; "))]")
            print("\(head): \(f.synonyms.prefix(5).joined(separator: ", "))")
        }
        print("regions: \(regions.joined(separator: ", "))")
    }
}
