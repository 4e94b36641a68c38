import ArgumentParser
import CXRImaging
import CXRPipelines
import CXRSchedulers
import CXRTensor
import Foundation

/// `cxr-edit edit IN.png ...`: SDEdit (whole image) or inpainting (inside --mask) of a real radiograph.
struct Edit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Edit a chest X-ray: re-noise it part-way and denoise under a new prompt (SDEdit), or only inside a mask.",
        discussion: """
        Without --mask the whole image is re-drawn from a partly noised version of itself (SDEdit, as RoentMod):
        --strength 0.3 keeps the anatomy and changes little, 0.8 changes much. With --mask (white = edit) only the
        masked region is repainted (inpainting); every pixel outside the mask is the input's, bit for bit.

        The image is fitted to the model's size (long side scaled, black padding), edited, mapped back and
        written at the input's size and bit depth, grey unless --rgb. The output is marked synthetic.
        """)

    @Argument(help: ArgumentHelp("The radiograph to edit (PNG 8/16-bit, grey/RGB/palette, or JPEG).", valueName: "IN.png"))
    var input: String

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup(title: "Findings and regions") var findings: FindingOptions

    @Option(name: .long, help: "How much of the noise schedule to re-run, in (0, 1]: low keeps the image, high re-imagines it.")
    var strength: Double = 0.5

    @Option(name: .long, help: ArgumentHelp("Edit only where this grey PNG is white (resized to the image; same aspect ratio).", valueName: "M.png"))
    var mask: String?

    @Flag(name: .long, help: "Do not paste the original back outside the mask (show the raw VAE round trip).")
    var noPasteBack = false

    @Option(name: .long, help: "Feather width in pixels inside the mask border when pasting back.")
    var feather: Int = 4

    @Flag(name: .long, help: "Write RGB instead of grey.")
    var rgb = false

    @Flag(name: .long, help: ArgumentHelp("Faithful edit: invert the image first (edit-friendly DDPM inversion, as RadEdit), then regenerate under the new prompt.",
                                          discussion: "Costs twice the UNet evaluations; changes less outside the finding than plain SDEdit."))
    var invert = false

    @Option(name: .long, help: "With --invert: a prompt describing the input as it is (default: empty, unconditional).")
    var sourcePrompt: String = ""

    @OptionGroup var output: OutputOptions

    func run() throws {
        try modelOptions.check()
        try sampling.check()
        guard strength > 0 && strength <= 1 else { throw CLIError("--strength must be in (0, 1], got \(strength)") }
        guard feather >= 0 && feather <= 256 else { throw CLIError("--feather must be between 0 and 256, got \(feather)") }
        let resolved = try findings.resolve(prompt: sampling.prompt, negativePrompt: sampling.negativePrompt)
        if findings.dryRun {
            explainRun(resolved)
            return
        }
        guard let prompt = resolved.prompt, !prompt.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw CLIError("say what to change: --add FINDING, --remove FINDING, or --prompt \"Large right pleural effusion.\"")
        }
        if mask != nil && !resolved.editRegions.isEmpty {
            throw CLIError("give either --mask or --region, not both (draw the union into one mask file instead)")
        }
        modelOptions.applyThreads()
        let inURL = URL(fileURLWithPath: input)
        let image = try ImageIO.read(inURL)
        let fileMask = try mask.map { try Mask.read(URL(fileURLWithPath: $0), size: (image.width, image.height)) }
        let placed = try resolved.masks(on: image)
        let editMask = fileMask ?? placed.edit
        if let editMask, editMask.coverage == 0 { throw CLIError("\(mask ?? "the region"): the edit mask is empty (no white pixels): nothing to edit") }
        let keepMask = placed.keep
        // What may change: the edit region (or everything) minus what must be kept.
        let changeable = try changeableRegion(edit: editMask, keep: keepMask, width: image.width, height: image.height)
        let outURL = output.output.map { URL(fileURLWithPath: $0) }
            ?? freshOutputPath(near: inURL, stem: inURL.deletingPathExtension().lastPathComponent, suffix: "edited")
        try checkOutputPath(outURL, overwrite: output.overwrite)
        let noise = try sampling.noise.map { try readNpy(URL(fileURLWithPath: $0)) }

        let reporter = ProgressReporter(output, label: "edit")
        let modelURL = try modelOptions.modelURL()
        reporter.note("loading model \(modelURL.path)")
        let model = try StableDiffusionModel.load(from: modelURL)
        let defaults = ModelDefaults(modelURL: modelURL)
        let prepared = try PreparedImage(image, size: model.nativeImageSize, rgb: rgb)
        let truncated = model.tokenizer.encode(prompt)
        if truncated.truncated { warn("the prompt has \(truncated.tokenCount) tokens; the text encoder sees only \(model.tokenizer.maxLength)") }

        var settings = DiffusionSettings(prompt: prompt, negativePrompt: resolved.negativePrompt,
                                         steps: sampling.steps ?? defaults.steps, guidance: sampling.guidance ?? defaults.guidance,
                                         seed: sampling.seed, scheduler: try sampling.schedulerKind(), eta: sampling.eta,
                                         strength: strength, initialNoise: noise, invert: invert, sourcePrompt: sourcePrompt)
        settings.keepMask = try keepMask.map { try prepared.modelMask($0) }
        let task: DiffusionTask = try editMask.map { .inpaint(image: prepared.tensor, mask: try prepared.modelMask($0)) }
            ?? .edit(image: prepared.tensor)
        let start = Date()
        let result = try StableDiffusionPipeline(model: model).run(task, settings: settings, progress: reporter.callAsFunction)
        let edited = try prepared.finish(result.image, mask: changeable, pasteBack: !noPasteBack, feather: feather)

        var provenance = Provenance(software: "cxr-edit \(CXREdit.version)", mode: editMask == nil ? "edit" : "inpaint",
                                    model: modelURL.path, modelHash: modelHash(model), prompt: prompt,
                                    negativePrompt: settings.negativePrompt, seed: settings.seed, steps: settings.steps,
                                    strength: strength, guidance: settings.guidance,
                                    scheduler: settings.scheduler?.rawValue ?? model.schedulerConfig.className ?? "default")
        provenance.maskHash = changeable.map { m in SHA256.hex(of: Data(m.values.map { $0 >= 0.5 ? UInt8(1) : 0 })) }
        provenance.extra["input"] = inURL.lastPathComponent
        if !noPasteBack && changeable != nil { provenance.extra["paste-back-feather"] = String(feather) }
        if !resolved.editRegions.isEmpty { provenance.extra["regions"] = resolved.editRegions.joined(separator: "+") }
        if !resolved.keepRegions.isEmpty || !resolved.keepMasks.isEmpty {
            provenance.extra["keep"] = (resolved.keepRegions + resolved.keepMasks.map { URL(fileURLWithPath: $0).lastPathComponent }).joined(separator: "+")
        }
        if let fit = placed.fit { provenance.extra["atlas-fit"] = fit.summary }
        if invert { provenance.extra["invert"] = "ddpm-edit-friendly"; provenance.extra["source-prompt"] = sourcePrompt }
        try ImageIO.writePNG(edited, to: outURL, text: provenance.textChunks(), overwrite: output.overwrite)
        let seconds = Date().timeIntervalSince(start)
        let touched = try EditReport(original: prepared.original, edited: edited, editRegion: changeable)
        try report(outURL: outURL, seconds: seconds, steps: result.timesteps.count, image: edited, touched: touched,
                   findings: resolved)
    }

    /// --dry-run: what the edit would do, without loading the model.
    func explainRun(_ r: ResolvedFindings) {
        r.describe().forEach { print($0) }
        print("input:           \(input)")
        print("mask file:       \(mask ?? "(none)")")
        print("strength:        \(strength)")
        print("steps/guidance:  \(sampling.steps.map(String.init) ?? "model default") / \(sampling.guidance.map { "\($0)" } ?? "model default")")
        print("seed:            \(sampling.seed)")
        print("scheduler:       \(sampling.scheduler ?? "the checkpoint's own")")
        print("inversion:       \(invert ? "edit-friendly DDPM" : "off (plain SDEdit)")")
        print("paste back:      \(noPasteBack ? "off" : "outside the edit region, feather \(feather) px")")
    }

    /// Pixels allowed to change: the edit mask (or all) minus the keep mask; nil when everything may change.
    func changeableRegion(edit: Mask?, keep: Mask?, width: Int, height: Int) throws -> Mask? {
        guard edit != nil || keep != nil else { return nil }
        var values = try edit?.fitted(width: width, height: height).values.map { $0 >= 0.5 ? Float(1) : 0 }
            ?? [Float](repeating: 1, count: width * height)
        if let keep = try keep?.fitted(width: width, height: height) {
            for i in 0..<values.count where keep.values[i] >= 0.5 { values[i] = 0 }
        }
        return try Mask(width: width, height: height, values: values)
    }

    func report(outURL: URL, seconds: Double, steps: Int, image: RasterImage, touched: EditReport,
                findings: ResolvedFindings) throws {
        if output.json {
            var obj: [String: Any] = ["output": outURL.path, "seconds": seconds, "denoising_steps": steps,
                                      "width": image.width, "height": image.height, "bit_depth": image.bitDepth,
                                      "seed": sampling.seed, "strength": strength, "mask": mask.map { $0 as Any } ?? NSNull()]
            obj.merge(touched.json) { a, _ in a }
            obj["findings"] = findings.jsonObject()
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(outURL.path)
            if !output.quiet {
                FileHandle.standardError.write(Data(String(format: "wrote %@ (%dx%d, %d-bit, synthetic) in %.1f s\n",
                                                           outURL.path, image.width, image.height, image.bitDepth, seconds).utf8))
            }
        }
    }
}

/// How much an edit touched (issue: every edit states how much else it changed): the fraction of pixels changed by
/// more than 2% of full scale, and PSNR/SSIM against the input outside the edit region (the whole image without one).
struct EditReport {
    let changedFraction: Double
    let changedFractionOutside: Double?
    let psnrOutside: Double
    let ssimOutside: Double
    let region: String

    init(original: RasterImage, edited: RasterImage, editRegion: Mask?) throws {
        let a = GrayPlane(original), b = GrayPlane(edited)
        let region = try editRegion?.fitted(width: original.width, height: original.height)
        changedFraction = try ImageQuality.changedFraction(a, b)
        changedFractionOutside = try region.map { r in
            try ImageQuality.changedFraction(a, b, inside: Mask(width: r.width, height: r.height, values: r.values.map { $0 >= 0.5 ? 0 : 1 }))
        }
        psnrOutside = try ImageQuality.psnr(a, b, outside: region) ?? .infinity
        ssimOutside = try ImageQuality.ssim(a, b, outside: region) ?? 1
        self.region = editRegion == nil ? "whole image (no edit region)" : "outside the edit region"
    }

    var json: [String: Any] {
        var o: [String: Any] = ["changed_fraction": changedFraction,
                                "psnr_outside_db": psnrOutside.isFinite ? psnrOutside : "inf",
                                "ssim_outside": ssimOutside, "comparison_region": region]
        if let c = changedFractionOutside { o["changed_fraction_outside"] = c }
        return o
    }
}
