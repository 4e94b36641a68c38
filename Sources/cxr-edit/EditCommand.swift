import ArgumentParser
import CXRFindings
import CXRImaging
import CXRPipelines
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
        beyond the band (and in --keep areas) is the input's, bit for bit. With --detail on (the default) the input's \
        own fine detail, which the model cannot represent, is added back wherever the edit left the content alone; \
        --detail off gives the pipeline's raw output (the same image as diffusers for the same seed).

        The image is fitted to the model's size (long side scaled, black padding), edited, mapped back and written \
        at the input's size and bit depth, grey unless --rgb. The output is marked synthetic, and its provenance \
        regenerates it (`cxr-edit provenance --command OUT.png`).
        """)

    @Argument(help: ArgumentHelp("The radiograph to edit (PNG 8/16-bit, grey/RGB/palette, JPEG, or DICOM).", valueName: "IN.png"))
    var input: String

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Findings and regions") var findings: FindingOptions
    @OptionGroup(title: "DICOM input") var window: WindowOptions

    @Option(name: .long, help: "How much of the noise schedule to re-run, in (0, 1]: low keeps the image, high re-imagines it (default 0.8 for a region, 0.5 for the whole image).")
    var strength: Double?

    @Option(name: .long, help: ArgumentHelp("Edit only where this grey PNG is white (resized to the image; same aspect ratio).", valueName: "M.png"))
    var mask: String?

    @Option(name: .long, help: ArgumentHelp("Soft margin around the edit region, in pixels of a 256 px image (scaled to the input): repainted and blended; beyond it the input is kept bit for bit.", valueName: "PX"))
    var margin: Int = EditRequest.defaultMargin

    @Option(name: .long, help: ArgumentHelp("on: add the input's own fine detail back where the edit left the content alone; off: the raw model output.", valueName: "on|off"))
    var detail: Switch = .on

    @Option(name: .long, help: ArgumentHelp("Force the UNet: standard (unet/) or inpaint (the 9-channel inpainting UNet). Default: inpaint for regions when the model has one.", valueName: "standard|inpaint"))
    var unet: UNetChoice?

    @Flag(name: .long, help: "Do not paste the original back outside the edit region (show the raw output everywhere).")
    var noPasteBack = false

    @Flag(name: .long, help: "Write RGB instead of grey.")
    var rgb = false

    @Flag(name: .long, help: ArgumentHelp("Faithful edit: invert the image first (edit-friendly DDPM inversion, as RadEdit), then regenerate under the new prompt.",
                                          discussion: "Costs twice the UNet evaluations; changes less outside the finding than plain SDEdit."))
    var invert = false

    @Option(name: .long, help: "With --invert: a prompt describing the input as it is (default: empty, unconditional).")
    var sourcePrompt: String = ""

    @Option(name: .customLong("null-edit"), help: ArgumentHelp("Also write the matched null edit here: the same edit with the prompt stripped of the findings (docs/probe.md). The difference between the two is the finding.", valueName: "NULL.png"))
    var nullEdit: String?

    @Flag(name: .long, help: "With a .dcm output from a DICOM input: de-identify what is copied from the input (DICOM PS3.15 basic profile subset; docs/dicom.md).")
    var anonymize = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        try modelOptions.check()
        try sampling.check()
        if let strength, !(strength > 0 && strength <= 1) {
            throw CLIError("--strength must be in (0, 1], got \(strength)")
        }
        guard margin >= 0 && margin <= 256 else { throw CLIError("--margin must be between 0 and 256, got \(margin)") }
        let resolved = try findings.resolve(prompt: sampling.prompt, negativePrompt: sampling.negativePrompt,
                                            maskGiven: mask != nil)
        if findings.dryRun {
            explainRun(resolved)
            return
        }
        guard let prompt = resolved.prompt, !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw CLIError("say what to change: --add FINDING, --remove FINDING, or "
                           + "--prompt \"Large right pleural effusion.\"")
        }
        modelOptions.applyThreads()
        let inURL = URL(fileURLWithPath: input)
        let windowed = try window.read(inURL)
        let image = windowed.image
        let inputHash = try SHA256.hex(ofFileAt: inURL)
        let fileMask = try mask.map { try Mask.read(URL(fileURLWithPath: $0), size: (image.width, image.height)) }
        let placed = try resolved.masks(on: image)
        let editMask = fileMask ?? placed.edit
        if let editMask, editMask.coverage == 0 {
            throw CLIError("\(mask ?? "the region"): the edit mask is empty (no white pixels): nothing to edit")
        }
        if unet == .inpaint && editMask == nil {
            throw CLIError("--unet inpaint repaints inside a region; give --add/--remove (without --global), "
                           + "--region or --mask")
        }
        let outURL = output.output.map { URL(fileURLWithPath: $0) }
            ?? freshOutputPath(near: inURL, stem: inURL.deletingPathExtension().lastPathComponent, suffix: "edited")
        try checkOutputPath(outURL, overwrite: output.overwrite, allowDICOM: true)
        let nullURL = nullEdit.map { URL(fileURLWithPath: $0) }
        if let nullURL {
            try checkOutputPath(nullURL, overwrite: output.overwrite, allowDICOM: true)
            if nullURL.standardizedFileURL.path == outURL.standardizedFileURL.path {
                throw CLIError("--null-edit must name another file than the output")
            }
        }
        let noise = try sampling.noise.map { try readNpy(URL(fileURLWithPath: $0)) }

        let reporter = ProgressReporter(output, label: "edit")
        let modelURL = try modelOptions.modelURL()
        reporter.note("loading model \(modelURL.path)")
        let model: StableDiffusionModel
        do { model = try StableDiffusionModel.load(from: modelURL) } catch let e as PipelineError {
            throw CLIError(e.description)
        }
        let defaults = ModelDefaults(model: model)
        if unet == .inpaint && !model.hasInpaintingUNet {
            throw CLIError("--unet inpaint: \(modelURL.path) has no inpainting UNet (name a 9-channel UNet folder as "
                           + "\"inpaint_unet\" in its \(ModelRecommendations.fileName))")
        }
        let truncated = model.tokenizer.encode(prompt)
        if truncated.truncated {
            let limit = model.tokenizer.maxLength
            warn("the prompt has \(truncated.tokenCount) tokens; the text encoder sees only \(limit)")
        }
        let fitWarning = placed.fit.flatMap { resolved.fitPolicy.warning(for: $0) }
        if let fitWarning { warn(fitWarning) }

        let steps = sampling.steps ?? defaults.steps
        let guidance = sampling.guidance ?? defaults.guidance
        var request = EditRequest(image: image, prompt: prompt, negativePrompt: resolved.negativePrompt,
                                  editMask: editMask, keepMask: placed.keep, strength: strength, seed: sampling.seed,
                                  steps: steps, guidance: guidance, scheduler: try sampling.schedulerKind(),
                                  eta: sampling.eta, invert: invert, sourcePrompt: sourcePrompt, detail: detail == .on,
                                  margin: margin, pasteBack: !noPasteBack, rgb: rgb, noise: noise, unet: unet,
                                  imageKey: inputHash)
        let command = RegenerationCommand(edit: self, resolved: resolved, modelURL: modelURL, steps: steps,
                                          guidance: guidance, strength: request.strength)
        request.provenanceExtras = provenanceExtras(resolved: resolved, placed: placed, inputHash: inputHash,
                                                    fitWarning: fitWarning, command: command.text)
        request.provenanceExtras.merge(window.provenance(of: windowed)) { kept, _ in kept }
        let editor = ImageEditor(model: model)
        let software = "cxr-edit \(CXREdit.version)"
        let hash = modelHash(model)
        let outcome = try run(editor, request, reporter: reporter)
        try ImageIO.write(outcome.image, to: outURL,
                          text: outcome.provenance(of: request, software: software, model: modelURL.path,
                                                   modelHash: hash).textChunks(),
                          overwrite: output.overwrite, source: inURL, anonymize: anonymize, window: window.choice)
        var null: (url: URL, outcome: EditOutcome)?
        if let nullURL {
            var nullRequest = request.nullEdit(basePrompt: resolved.nullPrompt,
                                               baseNegativePrompt: resolved.nullNegativePrompt)
            nullRequest.provenanceExtras["null-edit-of"] = outURL.lastPathComponent
            nullRequest.provenanceExtras["command"] = nil
            let nullOutcome = try run(editor, nullRequest, reporter: ProgressReporter(output, label: "null edit"))
            var provenance = nullOutcome.provenance(of: nullRequest, software: software, model: modelURL.path,
                                                    modelHash: hash)
            provenance.mode = "null-edit"
            try ImageIO.write(nullOutcome.image, to: nullURL, text: provenance.textChunks(), overwrite: output.overwrite,
                              source: inURL, anonymize: anonymize, window: window.choice)
            null = (nullURL, nullOutcome)
        }
        try report(outURL: outURL, outcome: outcome, request: request, findings: resolved, placed: placed, null: null)
    }

    private func run(_ editor: ImageEditor, _ request: EditRequest, reporter: ProgressReporter) throws -> EditOutcome {
        do { return try editor.edit(request, progress: reporter.callAsFunction) } catch let e as PipelineError {
            throw CLIError(e.description)
        }
    }

    /// Provenance entries only the CLI knows: where the regions came from and how they were placed, the input's
    /// hash, and the command that regenerates the file.
    private func provenanceExtras(resolved: ResolvedFindings, placed: PlacedRegions, inputHash: String,
                                  fitWarning: String?, command: String) -> [String: String] {
        var x: [String: String] = ["input": URL(fileURLWithPath: input).lastPathComponent, "input-sha256": inputHash,
                                   "area": resolved.areaSource.rawValue, "command": command]
        if !resolved.regions.edit.isEmpty {
            x["regions"] = resolved.regions.editDescription
            x["region-grow-px"] = placed.growth.map(String.init).joined(separator: ",")
        }
        if resolved.regions.dilate > 0 { x["dilate"] = String(resolved.regions.dilate) }
        if let mask { x["mask-file"] = URL(fileURLWithPath: mask).lastPathComponent }
        let kept = resolved.regions.keep + resolved.keepMasks.map { URL(fileURLWithPath: $0).lastPathComponent }
        if !kept.isEmpty { x["keep"] = kept.joined(separator: "+") }
        if let fit = placed.fit {
            x["atlas-fit"] = fit.summary
            x["atlas-fit-score"] = String(format: "%.4f", fit.score)
        }
        if let fitWarning { x["warning"] = fitWarning }
        return x
    }

    /// --dry-run: what the edit would do, without loading the model.
    func explainRun(_ r: ResolvedFindings) {
        r.describe().forEach { print($0) }
        let regional = r.areaSource != .wholeImage
        print("input:           \(input)")
        print("mask file:       \(mask ?? "(none)")")
        print("strength:        \(strength ?? EditRequest.defaultStrength(regional: regional))")
        let steps = sampling.steps.map(String.init) ?? "model default"
        print("steps/guidance:  \(steps) / \(sampling.guidance.map { "\($0)" } ?? "model default")")
        print("seed:            \(sampling.seed)")
        print("scheduler:       \(sampling.scheduler ?? "the checkpoint's own")")
        print("inversion:       \(invert ? "edit-friendly DDPM" : "off (plain SDEdit)")")
        print("detail:          \(detail.rawValue)")
        let automatic = regional ? "inpaint if the model has one, else standard" : "standard"
        print("unet:            \(unet?.rawValue ?? automatic)")
        let paste = regional ? "outside the region + \(margin) px margin (256 px scale)" : "kept areas only"
        print("paste back:      \(noPasteBack ? "off" : paste)")
        print("null edit:       \(nullEdit ?? "(not written)")")
    }

    func report(outURL: URL, outcome: EditOutcome, request: EditRequest, findings: ResolvedFindings,
                placed: PlacedRegions, null: (url: URL, outcome: EditOutcome)?) throws {
        let image = outcome.image
        if output.json {
            var obj: [String: Any] = ["output": outURL.path, "seconds": outcome.seconds,
                                      "denoising_steps": outcome.denoisingSteps,
                                      "width": image.width, "height": image.height, "bit_depth": image.bitDepth,
                                      "seed": request.seed, "strength": request.strength,
                                      "mask": mask.map { $0 as Any } ?? NSNull(),
                                      "mode": outcome.mode, "unet": outcome.unet.rawValue, "detail": detail.rawValue,
                                      "margin": margin, "area": findings.areaSource.rawValue]
            obj.merge(outcome.report.json) { a, _ in a }
            obj["findings"] = findings.jsonObject()
            if let fit = placed.fit {
                obj["fit"] = ["score": fit.score, "scale_x": fit.scaleX, "scale_y": fit.scaleY, "offset_x": fit.offsetX,
                              "offset_y": fit.offsetY, "weak": findings.fitPolicy.isWeak(fit)]
            }
            if let null {
                var n: [String: Any] = ["output": null.url.path, "seconds": null.outcome.seconds,
                                        "prompt": findings.nullPrompt, "negative_prompt": findings.nullNegativePrompt]
                n.merge(null.outcome.report.json) { a, _ in a }
                n["difference_from_edit"] = try ImageQuality.changedFraction(
                    GrayPlane(image), GrayPlane(null.outcome.image), threshold: EditReport.changeThreshold)
                obj["null_edit"] = n
            }
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(outURL.path)
            if let null { print(null.url.path) }
            if !output.quiet {
                FileHandle.standardError.write(Data(String(format: "wrote %@ (%dx%d, %d-bit, synthetic) in %.1f s\n",
                                                           outURL.path, image.width, image.height, image.bitDepth,
                                                           outcome.seconds).utf8))
            }
        }
    }
}
