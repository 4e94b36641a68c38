import ArgumentParser
import CXRPipelines
import CXRSchedulers
import CXRTensor
import Foundation

/// Where the model comes from: --model, else $CXR_EDIT_MODEL, else the bundled default model.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Diffusers model folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/, scheduler/).",
                                            discussion: "Default: $CXR_EDIT_MODEL, else the bundled Models/cxr-mini.",
                                            valueName: "DIR"))
    var model: String?

    @Option(name: .long, help: "Threads for BLAS and for cxr-edit's own loops (default: all cores).")
    var threads: Int?

    func check() throws {
        if let threads, threads < 1 || threads > 1024 { throw CLIError("--threads must be between 1 and 1024, got \(threads)") }
    }

    /// Applies --threads to BLAS and our loops.
    func applyThreads() {
        ComputeThreads.set(threads ?? ComputeThreads.defaultCount())
    }

    func modelURL() throws -> URL {
        if let model { return URL(fileURLWithPath: model) }
        if let env = ProcessInfo.processInfo.environment["CXR_EDIT_MODEL"], !env.isEmpty { return URL(fileURLWithPath: env) }
        if let bundled = DefaultModel.locate() { return bundled }
        throw CLIError("no model given: pass --model DIR or set CXR_EDIT_MODEL (the bundled Models/cxr-mini was not found)")
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
                if FileManager.default.fileExists(atPath: url.appendingPathComponent("model_index.json").path) { return url }
            }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models/cxr-mini")
        return FileManager.default.fileExists(atPath: cwd.appendingPathComponent("model_index.json").path) ? cwd : nil
    }
}

/// Sampling settings shared by `generate` and `edit`.
struct SamplingOptions: ParsableArguments {
    @Option(name: .long, help: "What the image should show, in radiology-report phrasing (e.g. \"Large right pleural effusion.\").")
    var prompt: String?

    @Option(name: .long, help: "What to steer away from (classifier-free guidance's negative prompt).")
    var negativePrompt: String = ""

    @Option(name: .long, help: "Random seed; the same seed gives the same image as diffusers with torch.Generator().manual_seed(seed).")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Denoising steps (default: the model's, else 50).")
    var steps: Int?

    @Option(name: .long, help: "Guidance scale (default: the model's, else 7.5; RoentGen used 4).")
    var guidance: Double?

    @Option(name: .long, help: "Sampler: \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", ")) (default: the checkpoint's own).")
    var scheduler: String?

    @Option(name: .long, help: "DDIM eta (0 = deterministic).")
    var eta: Double = 0

    @Option(name: .long, help: ArgumentHelp("Explicit initial noise as a float32 .npy (replaces the seeded draw).", valueName: "FILE.npy"))
    var noise: String?

    func schedulerKind() throws -> SchedulerKind? {
        guard let scheduler else { return nil }
        guard let k = SchedulerKind(rawValue: scheduler.lowercased()) else {
            throw CLIError("unknown scheduler '\(scheduler)'; choose one of \(SchedulerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return k
    }

    func check() throws {
        if let steps, steps < 1 || steps > 1000 { throw CLIError("--steps must be between 1 and 1000, got \(steps)") }
        if let guidance, !(guidance >= 0 && guidance <= 100) { throw CLIError("--guidance must be between 0 and 100, got \(guidance)") }
        if !(eta >= 0 && eta <= 1) { throw CLIError("--eta must be between 0 and 1, got \(eta)") }
        _ = try schedulerKind()
    }
}

/// Output and reporting.
struct OutputOptions: ParsableArguments {
    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Output path: PNG, or DICOM for a .dcm name where the command supports it (docs/dicom.md).", valueName: "OUT.png"))
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

/// An on/off option value (`--detail on`).
enum Switch: String, ExpressibleByArgument, CaseIterable {
    case on, off
}

extension UNetChoice: ExpressibleByArgument {}
