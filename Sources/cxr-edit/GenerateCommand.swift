import ArgumentParser
import CXRImaging
import CXRPipelines
import CXRRuns
import CXRTensor
import Foundation

/// `cxr-edit generate`: text-to-image, as diffusers' StableDiffusionPipeline.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a synthetic chest X-ray from a prompt.",
        discussion:
            "With --count N, seeds seed, seed+1, ... are used and outputs are numbered OUT-1.png, OUT-2.png, ...")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var sampling: SamplingOptions

    @Option(name: .long, help: "Width in pixels (multiple of 8; default: the model's native size).")
    var width: Int?

    @Option(name: .long, help: "Height in pixels (multiple of 8; default: the model's native size).")
    var height: Int?

    @Option(name: .long, help: "Number of images (consecutive seeds).")
    var count: Int = 1

    @Flag(name: .long, help: "Write RGB instead of grey.")
    var rgb = false

    @Flag(name: .customLong("bit16"), help: "Write 16-bit PNGs.")
    var sixteenBit = false

    @OptionGroup var output: OutputOptions

    func run() throws {
        try modelOptions.check()
        try sampling.check()
        guard count >= 1 && count <= 10000 else { throw CLIError("--count must be between 1 and 10000, got \(count)") }
        guard let prompt = sampling.prompt else { throw CLIError("give a --prompt (e.g. --prompt \"Cardiomegaly.\")") }
        modelOptions.applyThreads()
        let base =
            output.output.map { URL(fileURLWithPath: $0) }
            ?? freshOutputPath(near: nil, stem: "generated", suffix: "cxr")
        let outputs: [URL] =
            count == 1
            ? [base]
            : (1...count).map {
                base.deletingLastPathComponent().appendingPathComponent(
                    "\(base.deletingPathExtension().lastPathComponent)-\($0).\(base.pathExtension)")
            }
        for url in outputs { try checkOutputPath(url, overwrite: output.overwrite, allowDICOM: true) }
        let noise = try sampling.noise.map { try InitialNoise.read(contentsOf: URL(fileURLWithPath: $0)) }

        let reporter = ProgressReporter(output, label: "generate")
        let modelURL = try modelOptions.modelURL()
        reporter.note("loading model \(modelURL.path)")
        let model = try StableDiffusionModel.load(
            from: modelURL, precision: modelOptions.gemmPrecision(), vaeTiling: modelOptions.vaeTilingMode())
        let defaults = samplingDefaults(model)
        let w = width ?? model.nativeImageSize, h = height ?? model.nativeImageSize
        let hash = WeightsHash.hex(of: model)
        let pipeline = StableDiffusionPipeline(model: model)
        let seed = sampling.drawSeed()
        if sampling.seed == .random && !output.quiet { note("--seed -1: drew seed \(seed)") }
        var images = [GeneratedImages.Image]()
        for (i, url) in outputs.enumerated() {
            let settings = DiffusionSettings(
                prompt: prompt, negativePrompt: sampling.negativePrompt,
                steps: sampling.steps ?? defaults.steps, guidance: sampling.guidance ?? defaults.guidance,
                seed: seed &+ UInt64(i), scheduler: try sampling.schedulerKind(),
                eta: sampling.eta, initialNoise: noise)
            let start = Date()
            let result = try pipeline.run(
                .generate(width: w, height: h), settings: settings, progress: reporter.callAsFunction)
            let rgbImage = try RasterImage(
                floatsCHW: result.image.data, width: w, height: h, channels: 3, bitDepth: sixteenBit ? 16 : 8)
            let image = rgb ? rgbImage : rgbImage.toGray()
            var provenance = Provenance(
                software: "cxr-edit \(CXREdit.version)", mode: "generate", model: modelURL.path,
                modelHash: hash, prompt: prompt, negativePrompt: settings.negativePrompt,
                seed: settings.seed, steps: settings.steps, guidance: settings.guidance,
                scheduler: settings.scheduler?.rawValue ?? model.schedulerConfig.className ?? "default")
            if try modelOptions.gemmPrecision() == .bf16 { provenance.extra["precision"] = "bf16" }
            // Like the precision, recorded only when not the default, so default outputs keep their bytes.
            let tiling = try modelOptions.vaeTilingMode()
            if tiling != .auto { provenance.extra["vae-tiling"] = tiling.rawValue }
            try ImageIO.write(image, to: url, text: provenance.textChunks(), overwrite: output.overwrite)
            let seconds = Date().timeIntervalSince(start)
            images.append(.init(output: url.path, seed: settings.seed, seconds: seconds))
            if !output.json { print(url.path) }
            if !output.quiet {
                FileHandle.standardError.write(
                    Data(String(format: "wrote %@ (%dx%d, synthetic) in %.1f s\n", url.path, w, h, seconds).utf8))
            }
        }
        if output.json {
            print(try StableJSON.string(GeneratedImages(images: images, prompt: prompt), escapingSlashes: true))
        }
    }
}
