import ArgumentParser
import CXRImaging
import CXRModels
import CXRPipelines
import CXRSchedulers
import CXRTensor
import Foundation

/// Where the model comes from: --model, else $CXR_EDIT_MODEL, else the bundled default model.
struct ModelOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Diffusers model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/).",
            discussion: "Default: $CXR_EDIT_MODEL, else the bundled Models/cxr-mini.",
            valueName: "DIR"))
    var model: String?

    @Option(name: .long, help: "Threads for BLAS and for cxr-edit's own loops (default: all cores).")
    var threads: Int?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Largest input image in pixels (default 24000000, about 2.6 GB to edit).",
            valueName: "N"))
    var maxPixels: Int?

    @Flag(name: .long, help: "Decode JPEGs with corrupt data anyway (a warning instead of an error).")
    var lenient = false

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Arithmetic of the UNet's and the VAE's GEMMs and convolutions: fp32 (default, "
                + "what the parity tests check), bf16 (bf16 operands with fp32 sums, needs "
                + "AVX512-BF16), auto (bf16 where the CPU has it, else fp32).",
            valueName: "fp32|bf16|auto"))
    var precision = GEMMPrecision.Request.fp32.rawValue

    @Option(
        name: .long,
        help: ArgumentHelp(
            "When the VAE encodes and decodes in overlapping tiles (diffusers' enable_tiling; bounds the memory of "
                + "large images): auto (default: images larger than \(VAETiling.automaticLimit) px on a side), on "
                + "(whenever larger than the VAE's sample_size), off.",
            valueName: "auto|on|off"))
    var vaeTiling = VAETiling.auto.rawValue

    /// The most threads `--threads` may ask for: 4 per core, at most 256. More only adds thread stacks and malloc
    /// arenas (1000 threads under an address-space limit made OpenBLAS, used before, hang at exit).
    static var maxThreads: Int { min(256, 4 * max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// Checks the values and applies the input limits (they must be in place before the first image is read).
    func check() throws {
        if let threads, threads < 1 || threads > ModelOptions.maxThreads {
            throw CLIError("--threads must be between 1 and \(ModelOptions.maxThreads), got \(threads)")
        }
        if ComputeThreads.fitting(1) == nil, let limit = ComputeThreads.addressSpaceLimit() {
            let need = (ComputeThreads.baseAddressSpace + ComputeThreads.addressSpacePerThread) >> 20
            throw CLIError(
                "the address-space limit (ulimit -v) of \(limit >> 20) MiB is below the \(need) MiB a run needs")
        }
        if let maxPixels {
            guard maxPixels >= 1 && maxPixels <= ImageLimits.maxPixelBudget else {
                throw CLIError("--max-pixels must be between 1 and \(ImageLimits.maxPixelBudget), got \(maxPixels)")
            }
            ImageLimits.default.maxPixels = maxPixels
        }
        _ = try gemmPrecision()
        _ = try vaeTilingMode()
        if lenient {
            ImageLimits.default.lenient = true
            ImageLimits.warningHandler = { warn("\($0) (decoded anyway: --lenient)") }
        }
    }

    /// Applies --threads to our loops and GEMMs, and generates the GEMM kernels before the work (`OneDNN`).
    /// The count is lowered to what fits an address-space limit (`check()` refused a limit too small for one).
    func applyThreads() {
        let wanted = threads ?? ComputeThreads.defaultCount()
        let fitted = ComputeThreads.fitting(wanted) ?? 1
        if fitted < wanted && threads != nil {
            warn("--threads \(wanted) lowered to \(fitted) to fit the address-space limit (ulimit -v)")
        }
        ComputeThreads.set(fitted)
        OneDNN.prepareKernels()
    }

    /// The precision of the UNet's and VAE's GEMMs that --precision gives on this CPU; bf16 on a CPU without bf16
    /// instructions is refused rather than emulated (emulation would only be slower than fp32).
    func gemmPrecision() throws -> GEMMPrecision {
        // Parsed here rather than by ArgumentParser, whose value errors are several lines (cxr-edit's are one).
        guard let request = GEMMPrecision.Request(rawValue: precision) else {
            throw CLIError("--precision must be fp32, bf16 or auto, got \(precision)")
        }
        guard let p = GEMMPrecision.resolve(request) else {
            throw CLIError(
                "--precision bf16 needs a CPU with AVX512-BF16 (this one has: "
                    + "\(CPUFeatures.current.featureList)); use fp32 or auto")
        }
        return p
    }

    /// The VAE tiling --vae-tiling asks for.
    func vaeTilingMode() throws -> VAETiling {
        guard let tiling = VAETiling(rawValue: vaeTiling) else {
            throw CLIError("--vae-tiling must be auto, on or off, got \(vaeTiling)")
        }
        return tiling
    }

    func modelURL() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        if let env = ProcessInfo.processInfo.environment["CXR_EDIT_MODEL"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        if let bundled = DefaultModel.locate() { return bundled }
        throw CLIError(
            "no model given: pass --model DIR or set CXR_EDIT_MODEL (the bundled Models/cxr-mini was not found)")
    }
}

/// The bundled default model, found relative to the executable (repo checkout or installed share/ folder).
enum DefaultModel {
    static func locate() -> URL? {
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<6 {
            for candidate in ["Models/cxr-mini", "share/cxr-edit/Models/cxr-mini"] {
                let url = dir.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("model_index.json").path) {
                    return url
                }
            }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(
            "Models/cxr-mini")
        return FileManager.default.fileExists(atPath: cwd.appendingPathComponent("model_index.json").path) ? cwd : nil
    }
}

/// Sampling settings shared by `generate` and `edit`.
struct SamplingOptions: ParsableArguments {
    // -p/-n as in stable-diffusion.cpp and most diffusers scripts.
    @Option(
        name: [.short, .long],
        help: "What the image should show, in radiology-report phrasing (e.g. \"Large right pleural effusion.\").")
    var prompt: String?

    @Option(
        name: [.customShort("n"), .long],
        help: "What to steer away from (classifier-free guidance's negative prompt).")
    var negativePrompt: String = ""

    // .unconditional: "-1" would otherwise be read as an option ("Missing value for '--seed'").
    @Option(
        name: .long, parsing: .unconditional,
        help: ArgumentHelp(
            "Random seed (default 0); the same seed gives the same image as diffusers with "
                + "torch.Generator().manual_seed(seed). -1 draws one at random, printed and "
                + "recorded in the provenance.", valueName: "N"))
    var seed: SeedChoice?

    @Option(name: .long, help: "Denoising steps (default: the model's, else 50).")
    var steps: Int?

    // --cfg-scale: the name stable-diffusion.cpp and AUTOMATIC1111 users bring.
    @Option(
        name: [.long, .customLong("cfg-scale")],
        help: "Guidance scale (default: the model's, else 7.5; RoentGen used 4).")
    var guidance: Double?

    @Option(name: .long, help: "Sampler: \(SchedulerKind.nameList) (default: the checkpoint's own).")
    var scheduler: String?

    @Option(name: .long, help: "DDIM eta (0 = deterministic).")
    var eta: Double = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Explicit initial noise as a float32 .npy (replaces the seeded draw).", valueName: "FILE.npy"))
    var noise: String?

    /// The seed to run with: the one given, else 0; -1 draws one (call once per run and keep the result).
    func drawSeed() -> UInt64 { (seed ?? .fixed(0)).draw() }

    func schedulerKind() throws -> SchedulerKind? {
        guard let scheduler else { return nil }
        guard let k = SchedulerKind(name: scheduler) else {
            throw CLIError("unknown scheduler '\(scheduler)'; choose one of \(SchedulerKind.nameList)")
        }
        return k
    }

    func check() throws {
        // Only spaces, tabs or line breaks: passed the edit's empty-prompt check (which trims spaces only).
        if let prompt, !prompt.isEmpty, prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw CLIError("--prompt is blank (only spaces, tabs or line breaks)")
        }
        if let steps, steps < 1 || steps > 1000 { throw CLIError("--steps must be between 1 and 1000, got \(steps)") }
        if let guidance, !(guidance >= 0 && guidance <= 100) {
            throw CLIError("--guidance must be between 0 and 100, got \(guidance)")
        }
        if !(eta >= 0 && eta <= 1) { throw CLIError("--eta must be between 0 and 1, got \(eta)") }
        _ = try schedulerKind()
    }
}

/// Output and reporting.
struct OutputOptions: ParsableArguments {
    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp(
            "Output path: PNG, or DICOM for a .dcm name where the command supports it (docs/dicom.md).",
            valueName: "OUT.png"))
    var output: String?

    @Flag(name: .long, help: "Replace the output file if it exists.")
    var overwrite = false

    @Flag(name: .long, help: "Print a machine-readable JSON summary on stdout.")
    var json = false

    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    @Flag(name: .long, help: "Show progress even when stderr is not a terminal.")
    var progress = false
}

/// A user error: printed as one line, exit code 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

extension UNetChoice: ExpressibleByArgument {}

extension DetailMode: ExpressibleByArgument {}
