import ArgumentParser
import CXRFindings
import CXRImaging
import CXRPipelines
import CXRRuns
import CXRSchedulers
import CXRTensor
import Foundation

/// `cxr-edit edit IN.png ...`: edit a real radiograph where the finding lives (or all of it with --global), through
/// the library's `ImageEditor`; optionally also its matched null edit.
struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a chest X-ray: add or remove a finding where it lives, or re-draw the whole image under a new "
            + "prompt.",
        discussion: """
            --add/--remove repaint the finding's own region (its extent for the --severity and --side given, fitted to \
            this image; docs/findings.md) at --strength 0.8 unless given. --global re-draws the whole image from a partly \
            noised version of itself (SDEdit, as RoentMod) at --strength 0.5; --prompt alone does the same. --region or \
            --mask (white = edit) name the area yourself.

            A region is repainted together with a --margin band around it, blended softly into the input; every pixel \
            beyond the band (and in --keep areas) is the input's, bit for bit. Inside, --detail difference (the \
            default) writes the input plus the difference between the model's rendering with and without the finding \
            (the null edit), so what any pass through the model changes cancels and the null edit is the input; \
            --detail on adds the input's fine detail back to the model's rendering wherever the edit left the content \
            alone; --detail off gives the pipeline's raw output (the same image as diffusers for the same seed).

            The image is fitted to the model's size (long side scaled, black padding), edited, mapped back and written \
            at the input's size and bit depth, grey unless --rgb. The output is marked synthetic, and its provenance \
            regenerates it (`cxr-edit provenance --command OUT.png`).

            Many images at once: name several files or folders (their .png, .jpg, .jpeg and .dcm files) with \
            --out-dir DIR, and --seeds 0..3 (or 0,2,5) to edit each with several seeds. The model is loaded once; \
            outputs are DIR/<stem>.seed<N>.png (.dcm for a .dcm input), null edits (--null-edits) \
            DIR/<stem>.seed<N>.null.png. A rerun skips the outputs that exist and record the same input, options and \
            seed; one that records anything else stops the run unless --overwrite. Every input is checked before the \
            first edit.
            """)

    @Argument(
        help: ArgumentHelp(
            "The radiographs to edit: files (PNG 8/16-bit, grey/RGB/palette, JPEG, or "
                + "DICOM), or folders of them (with --out-dir).", valueName: "IN.png"))
    var inputs: [String]

    @Option(
        name: .customLong("out-dir"),
        help: ArgumentHelp(
            "Write the outputs of several inputs or seeds here as <stem>.seed<N>.png (created if "
                + "missing; a rerun skips outputs already made).", valueName: "DIR"))
    var outDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Edit every input with each of these seeds: a range 0..3 (both ends "
                + "included), a list 0,2,5, or both (0..3,10).", valueName: "SEEDS"))
    var seeds: String?

    @Flag(
        name: .customLong("null-edits"),
        help: "With --out-dir: also write each output's matched null edit beside it, as <stem>.seed<N>.null.png.")
    var nullEdits = false

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Findings and regions") var findings: FindingOptions
    @OptionGroup(title: "DICOM input") var window: WindowOptions

    @Option(
        name: [.short, .long],
        help: ArgumentHelp(
            "How much of the noise schedule to re-run, in (0, 1]: low keeps the image, high "
                + "re-imagines it (default 0.8 for a region, 0.5 for the whole image)."))
    var strength: Double?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Edit only where this grey PNG is white (resized to the image; same aspect ratio).", valueName: "M.png"))
    var mask: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Soft margin around the edit region, in pixels of a 256 px image (scaled to the input): repainted and blended; beyond it the input is kept bit for bit.",
            valueName: "PX"))
    var margin: Int = EditRequest.defaultMargin

    @Option(
        name: .long,
        help: ArgumentHelp(
            "difference: the input plus the edit's difference from its null edit (keeps the patient; the null edit is the input); on: add the input's fine detail back where the edit left the content alone; off: the raw model output.",
            discussion: "difference renders the null prompt too: twice the UNet evaluations of on or off.",
            valueName: "difference|on|off"))
    var detail: DetailMode = .difference

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Force the UNet: standard (unet/) or inpaint (the 9-channel inpainting UNet). Default: inpaint for regions when the model has one.",
            valueName: "standard|inpaint"))
    var unet: UNetChoice?

    @Flag(name: .long, help: "Do not paste the original back outside the edit region (show the raw output everywhere).")
    var noPasteBack = false

    @Flag(name: .long, help: "Write RGB instead of grey.")
    var rgb = false

    @Flag(
        name: .long,
        help: ArgumentHelp(
            "Faithful edit: invert the image first (edit-friendly DDPM inversion, as RadEdit), then regenerate under the new prompt.",
            discussion: "Costs twice the UNet evaluations; changes less outside the finding than plain SDEdit."))
    var invert = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "With --invert: a prompt describing the input as it is.",
            discussion:
                "Default: the null edit's prompt and negative prompt, so the null edit reproduces the input exactly and every change is the finding's."
        ))
    var sourcePrompt: String = ""

    @Option(
        name: .customLong("null-edit"),
        help: ArgumentHelp(
            "Also write the matched null edit here: the same edit with the prompt stripped of the findings (docs/probe.md). The difference between the two is the finding.",
            valueName: "NULL.png"))
    var nullEdit: String?

    @Flag(
        name: .long,
        help:
            "With a .dcm output from a DICOM input: de-identify what is copied from the input (DICOM PS3.15 basic profile subset; docs/dicom.md)."
    )
    var anonymize = false

    @OptionGroup var output: OutputOptions

    /// True when the command edits more than one image or seed, or writes into --out-dir: the batch path
    /// (`BatchEdit`); otherwise the single-file edit, whose output and messages are as they always were.
    var isBatch: Bool {
        if outDir != nil || seeds != nil || nullEdits || inputs.count != 1 { return true }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: inputs[0], isDirectory: &isDirectory) && isDirectory.boolValue
    }

    func run() throws {
        try modelOptions.check()
        try sampling.check()
        if let strength, !(strength > 0 && strength <= 1) {
            throw CLIError("--strength must be in (0, 1], got \(strength)")
        }
        guard margin >= 0 && margin <= 256 else { throw CLIError("--margin must be between 0 and 256, got \(margin)") }
        if !sourcePrompt.isEmpty && !invert {
            // Only inversion reads it: without --invert it was silently ignored.
            throw CLIError("--source-prompt describes the input for --invert; give --invert too, or leave it out")
        }
        let batchSeeds = try isBatch ? checkBatchOptions() : nil
        let resolved = try findings.resolve(
            prompt: sampling.prompt, negativePrompt: sampling.negativePrompt, mask: mask)
        if findings.dryRun && batchSeeds != nil {
            explainRun(resolved)  // a batch's inputs are checked by BatchEdit, which a dry run does not start
            return
        }
        guard let prompt = resolved.prompt, !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CLIError(
                "say what to change: --add FINDING, --remove FINDING, or "
                    + "--prompt \"Large right pleural effusion.\"")
        }
        if let batchSeeds, let outDir {
            try BatchEdit(
                edit: self, resolved: resolved, prompt: prompt, seeds: batchSeeds,
                outDir: URL(fileURLWithPath: outDir)
            ).run()
            return
        }
        modelOptions.applyThreads()
        // The tokenizer is built meanwhile (a failure there is reported by the load, in its place).
        let tokenizer = findings.dryRun ? nil : (try? modelOptions.modelURL()).map { TokenizerPreload(modelFolder: $0) }
        let inURL = URL(fileURLWithPath: inputs[0])
        let input = try prepareInput(inURL, resolved: resolved)
        let outURL =
            output.output.map { URL(fileURLWithPath: $0) }
            ?? freshOutputPath(near: inURL, stem: inURL.deletingPathExtension().lastPathComponent, suffix: "edited")
        try checkOutputPath(outURL, overwrite: output.overwrite, allowDICOM: true)
        let nullURL = nullEdit.map { URL(fileURLWithPath: $0) }
        if let nullURL {
            try checkOutputPath(nullURL, overwrite: output.overwrite, allowDICOM: true)
            if nullURL.standardizedFileURL.path == outURL.standardizedFileURL.path {
                throw CLIError("--null-edit must name another file than the output")
            }
        }
        let noise = try sampling.noise.map { try InitialNoise.read(contentsOf: URL(fileURLWithPath: $0)) }
        if findings.dryRun {
            // Everything above is the real run's own checking (input, mask, region fit, output paths, noise):
            // a dry run refuses what the run refuses, and describes the area the run would repaint.
            if let fitWarning = input.fitWarning(resolved) { warn(fitWarning) }
            try explainRun(resolved, input: input, output: outURL)
            return
        }
        let seed = sampling.drawSeed()
        if sampling.seed == .random && !output.quiet { note("--seed -1: drew seed \(seed)") }

        let reporter = ProgressReporter(output, label: "edit")
        let modelURL = try modelOptions.modelURL()
        reporter.note("loading model \(modelURL.path)")
        let model = try loadModel(modelURL, prompt: prompt, tokenizer: tokenizer)
        let defaults = samplingDefaults(model)
        // After the model loaded, as before: a model that fails to load gives its one error line alone.
        if let fitWarning = input.fitWarning(resolved) { warn(fitWarning) }

        let steps = sampling.steps ?? defaults.steps
        let guidance = sampling.guidance ?? defaults.guidance
        let request = try makeRequest(
            input, seed: seed, resolved: resolved, prompt: prompt, modelURL: modelURL,
            steps: steps, guidance: guidance, noise: noise)
        let editor = ImageEditor(model: model)
        let stamp = OutputStamp(modelPath: modelURL.path, modelHash: WeightsHash.hex(of: model))
        let outcome = try run(editor, request, reporter: reporter)
        try write(outcome, of: request, to: outURL, stamp: stamp, source: inURL, overwrite: output.overwrite)
        var null: (url: URL, outcome: EditOutcome)?
        if let nullURL {
            let nullRequest = try makeNullRequest(request, outputName: outURL.lastPathComponent)
            let nullOutcome = try run(editor, nullRequest, reporter: ProgressReporter(output, label: "null edit"))
            try write(
                nullOutcome, of: nullRequest, to: nullURL, stamp: stamp, source: inURL,
                overwrite: output.overwrite, asNullEdit: true)
            null = (nullURL, nullOutcome)
        }
        try report(
            outURL: outURL, outcome: outcome, request: request, findings: resolved, placed: input.placed,
            null: null)
    }

    /// Checks the options that only a batch takes or that a batch refuses, and returns its seeds.
    private func checkBatchOptions() throws -> [UInt64] {
        guard outDir != nil else {
            if inputs.count == 1 && seeds == nil && !nullEdits {
                throw CLIError(
                    "\(inputs[0]): is a directory; to edit its images give --out-dir DIR for the outputs "
                        + "(-o names a single output)")
            }
            let what = inputs.count > 1 ? "several inputs" : seeds != nil ? "--seeds" : "--null-edits"
            throw CLIError("\(what): give --out-dir DIR for the outputs (-o names a single output)")
        }
        if output.output != nil {
            throw CLIError("-o names one output; with --out-dir the outputs are named <stem>.seed<N>.png")
        }
        if nullEdit != nil {
            throw CLIError("--null-edit names one file; with --out-dir use --null-edits (<stem>.seed<N>.null.png)")
        }
        guard let seeds else {
            let seed = sampling.drawSeed()
            if sampling.seed == .random && !output.quiet { note("--seed -1: drew seed \(seed)") }
            return [seed]
        }
        if sampling.seed != nil { throw CLIError("give --seed or --seeds, not both") }
        let list = try SeedList(parsing: seeds).seeds
        if sampling.noise != nil && list.count > 1 {
            throw CLIError("--noise replaces the seeded draw, so every seed would give the same image; give one seed")
        }
        return list
    }

    /// Loads the model once and checks it against the options that need it (the inpainting UNet, prompt length).
    func loadModel(_ modelURL: URL, prompt: String, tokenizer: TokenizerPreload? = nil) throws -> StableDiffusionModel {
        let model: StableDiffusionModel
        let precision = try modelOptions.gemmPrecision()
        do {
            model = try StableDiffusionModel.load(
                from: modelURL, precision: precision, vaeTiling: modelOptions.vaeTilingMode(), tokenizer: tokenizer)
        } catch let e as PipelineError {
            throw CLIError(e.description)
        }
        if unet == .inpaint && !model.hasInpaintingUNet {
            throw CLIError(
                "--unet inpaint: \(modelURL.path) has no inpainting UNet (name a 9-channel UNet folder as "
                    + "\"inpaint_unet\" in its \(ModelRecommendations.fileName))")
        }
        let truncated = model.tokenizer.encode(prompt)
        if truncated.truncated {
            let limit = model.tokenizer.maxLength
            warn("the prompt has \(truncated.tokenCount) tokens; the text encoder sees only \(limit)")
        }
        return model
    }

    /// Reads one input and places its areas: every check of an input that needs no model.
    func prepareInput(_ inURL: URL, resolved: ResolvedFindings) throws -> PreparedInput {
        let windowed = try window.read(inURL)
        let image = windowed.image
        let inputHash = try SHA256.hex(ofFileAt: inURL)
        let placed = try resolved.place(on: image)
        if unet == .inpaint && placed.edit == nil {
            throw CLIError(
                "--unet inpaint repaints inside a region; give --add/--remove (without --global), "
                    + "--region or --mask")
        }
        return PreparedInput(
            url: inURL, image: image, hash: inputHash, placed: placed,
            windowProvenance: window.provenance(of: windowed))
    }

    /// The library's request for one input and seed, with the provenance only the CLI knows (among it the command
    /// that makes the output again).
    func makeRequest(
        _ input: PreparedInput, seed: UInt64, resolved: ResolvedFindings, prompt: String,
        modelURL: URL, steps: Int, guidance: Double, noise: Tensor?
    ) throws -> EditRequest {
        var request = EditRequest(
            image: input.image, prompt: prompt, negativePrompt: resolved.negativePrompt,
            editMask: input.editMask, keepMask: input.placed.keep, strength: strength,
            seed: seed, steps: steps, guidance: guidance, scheduler: try sampling.schedulerKind(),
            eta: sampling.eta, invert: invert,
            sourcePrompt: sourcePrompt.isEmpty ? resolved.nullPrompt : sourcePrompt,
            sourceNegativePrompt: sourcePrompt.isEmpty ? resolved.nullNegativePrompt : "", detail: detail,
            nullPrompt: resolved.nullPrompt, nullNegativePrompt: resolved.nullNegativePrompt,
            margin: margin, pasteBack: !noPasteBack, rgb: rgb, noise: noise, unet: unet,
            imageKey: input.hash)
        let command = RegenerationCommand(
            edit: self, input: input.url, seed: seed, modelURL: modelURL, steps: steps, guidance: guidance,
            strength: request.strength)
        // What only the command line knows (the input file, the command that remakes the output), beside where the
        // edit acted on this image, in the library's entries.
        request.provenanceExtras = [
            "input": input.url.lastPathComponent, "input-sha256": input.hash, "command": command.text,
        ]
        request.provenanceExtras.merge(resolved.provenance(of: input.placed)) { kept, _ in kept }
        request.provenanceExtras.merge(input.windowProvenance) { kept, _ in kept }
        // Recorded only when not the default, so fp32 outputs stay byte-identical to those made before the option.
        if try modelOptions.gemmPrecision() == .bf16 { request.provenanceExtras["precision"] = "bf16" }
        let tiling = try modelOptions.vaeTilingMode()
        if tiling != .auto { request.provenanceExtras["vae-tiling"] = tiling.rawValue }
        return request
    }

    /// The matched null edit of `request`, naming the edit's file in its provenance.
    func makeNullRequest(_ request: EditRequest, outputName: String) throws -> EditRequest {
        var nullRequest = try request.nullEdit()
        nullRequest.provenanceExtras["null-edit-of"] = outputName
        nullRequest.provenanceExtras["command"] = nil
        return nullRequest
    }

    /// Writes an edit with its provenance (atomically; DICOM for a .dcm name); a null edit is marked as one.
    func write(
        _ outcome: EditOutcome, of request: EditRequest, to url: URL, stamp: OutputStamp, source: URL,
        overwrite: Bool, asNullEdit: Bool = false
    ) throws {
        var provenance = outcome.provenance(
            of: request, software: stamp.software, model: stamp.modelPath,
            modelHash: stamp.modelHash)
        if asNullEdit { provenance.mode = "null-edit" }
        try ImageIO.write(
            outcome.image, to: url, text: provenance.textChunks(), overwrite: overwrite, source: source,
            anonymize: anonymize, window: window.choice)
    }

    func run(_ editor: ImageEditor, _ request: EditRequest, reporter: ProgressReporter) throws -> EditOutcome {
        do { return try editor.edit(request, progress: reporter.callAsFunction) } catch let e as PipelineError {
            throw CLIError(e.description)
        }
    }

    /// --dry-run: what the edit would do, without loading the model.
    /// --dry-run of one edit, after the run's own checks: what would be repainted (the area actually placed on this
    /// image, or the --mask file), with which settings, into which file; `--json` gives the same as one object.
    func explainRun(_ r: ResolvedFindings, input: PreparedInput, output outURL: URL) throws {
        let regional = input.editMask != nil
        let modelURL = try modelOptions.modelURL()
        let defaults = samplingDefaults(try ModelRecommendations(modelFolder: modelURL), modelURL: modelURL)
        let steps = sampling.steps ?? defaults.steps, guidance = sampling.guidance ?? defaults.guidance
        let strength = self.strength ?? EditRequest.defaultStrength(regional: regional)
        let area = mask.map { "the white pixels of \($0)" } ?? r.areaDescription
        let fraction = input.editMask?.coverage ?? 1
        if output.json {
            let report = EditDryRunJSON(
                input: input.url.path, inputSHA256: input.hash, output: outURL.path, nullEdit: nullEdit,
                area: mask != nil ? "mask" : r.areaSource.rawValue, editFraction: fraction, mask: mask,
                strength: strength, steps: steps, guidance: guidance, seed: sampling.seed.map(\.description) ?? "0",
                detail: detail.rawValue, margin: margin, invert: invert,
                unet: unet?.rawValue ?? (regional ? "auto" : "standard"), findings: FindingsJSON(r),
                fit: input.placed.fit.map { AtlasFitJSON($0, weak: r.fitPolicy.isWeak($0)) })
            print(try StableJSON.string(report, escapingSlashes: true))
            return
        }
        for line in r.describe() {
            print(line.hasPrefix("edit region:") ? "edit region:     \(area)" : line)
        }
        print(
            String(
                format: "edit area:       %.1f%% of the image%@", fraction * 100,
                input.placed.fit.map { String(format: " (atlas fit score %.2f)", $0.score) } ?? ""))
        print("input:           \(input.url.path)")
        print("output:          \(outURL.path)")
        printSettings(regional: regional, strength: strength, steps: "\(steps)", guidance: "\(guidance)")
    }

    /// --dry-run of a batch: the composed edit and settings (BatchEdit checks its inputs when it runs).
    func explainRun(_ r: ResolvedFindings) {
        r.describe().forEach { print($0) }
        let regional = r.areaSource != .wholeImage
        print("input:           \(inputs.joined(separator: " "))")
        print("mask file:       \(mask ?? "(none)")")
        printSettings(
            regional: regional, strength: strength ?? EditRequest.defaultStrength(regional: regional),
            steps: sampling.steps.map(String.init) ?? "model default",
            guidance: sampling.guidance.map { "\($0)" } ?? "model default")
    }

    private func printSettings(regional: Bool, strength: Double, steps: String, guidance: String) {
        print("strength:        \(strength)")
        print("steps/guidance:  \(steps) / \(guidance)")
        print("seed:            \(seeds ?? sampling.seed.map(\.description) ?? "0")")
        print("scheduler:       \(sampling.scheduler ?? "the checkpoint's own")")
        print("inversion:       \(invert ? "edit-friendly DDPM" : "off (plain SDEdit)")")
        print("detail:          \(detail.rawValue)")
        let automatic = regional ? "inpaint if the model has one, else standard" : "standard"
        print("unet:            \(unet?.rawValue ?? automatic)")
        let paste = regional ? "outside the region + \(margin) px margin (256 px scale)" : "kept areas only"
        print("paste back:      \(noPasteBack ? "off" : paste)")
        print("null edit:       \(nullEdit ?? "(not written)")")
    }

    func report(
        outURL: URL, outcome: EditOutcome, request: EditRequest, findings: ResolvedFindings,
        placed: PlacedRegions, null: (url: URL, outcome: EditOutcome)?
    ) throws {
        let image = outcome.image
        if output.json {
            let nullEdit = try null.map {
                EditJSON.NullEdit(
                    output: $0.url.path, seconds: $0.outcome.seconds, prompt: findings.nullPrompt,
                    negativePrompt: findings.nullNegativePrompt, report: try $0.outcome.report,
                    differenceFromEdit: try outcome.changedFraction(from: $0.outcome))
            }
            let report = EditJSON(
                output: outURL.path, seconds: outcome.seconds, denoisingSteps: outcome.denoisingSteps,
                width: image.width, height: image.height, bitDepth: image.bitDepth, seed: request.seed,
                strength: request.strength, mask: mask, mode: outcome.mode, unet: outcome.unet.rawValue,
                detail: detail.rawValue, margin: margin, area: findings.areaSource.rawValue, report: try outcome.report,
                findings: FindingsJSON(findings),
                fit: placed.fit.map { AtlasFitJSON($0, weak: findings.fitPolicy.isWeak($0)) },
                pleuralFluid: placed.fluid.isEmpty ? nil : placed.fluid, nullEdit: nullEdit)
            print(try StableJSON.string(report, escapingSlashes: true))
        } else {
            print(outURL.path)
            if let null { print(null.url.path) }
            if !output.quiet {
                FileHandle.standardError.write(
                    Data(
                        String(
                            format: "wrote %@ (%dx%d, %d-bit, synthetic) in %.1f s\n",
                            outURL.path, image.width, image.height, image.bitDepth,
                            outcome.seconds
                        ).utf8))
            }
        }
    }
}
