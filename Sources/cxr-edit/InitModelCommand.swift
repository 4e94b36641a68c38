import ArgumentParser
import CXRPipelines
import Foundation

/// `cxr-edit init-model --arch sd15|sd21base DIR`: a diffusers folder with the real SD 1.5 / SD 2.1-base
/// architecture and random fp16 weights, so speed and memory can be measured (and compared with diffusers and
/// stable-diffusion.cpp) without gated checkpoints. The images it makes are noise.
struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-model",
        abstract:
            "Write a diffusers folder of a Stable Diffusion architecture with random fp16 weights (for benchmarks).",
        discussion:
            "The folder loads in diffusers and in cxr-edit. SD 1.5 is ~2 GB on disk (UNet 859,520,964 parameters).")

    @Option(name: .long, help: "Architecture: sd15 (Stable Diffusion 1.5, RoentGen v1) or sd21base (SD 2.1-base).")
    var arch: String

    @Argument(help: ArgumentHelp("Output folder (created; must not exist or be empty).", valueName: "DIR"))
    var dir: String

    @Option(name: .long, help: "Seed of the random weights.")
    var seed: UInt64 = 0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "CLIP BPE vocabulary (default: the bundled Resources/clip/bpe_simple_vocab_16e6.txt.gz).", valueName: "FILE"
        ))
    var bpe: String?

    @Flag(name: .long, help: "Replace files in a non-empty DIR.")
    var overwrite = false

    func run() throws {
        guard let a = RandomModelArchitecture(rawValue: arch) else {
            throw CLIError("--arch must be sd15 or sd21base, got '\(arch)'")
        }
        let url = URL(fileURLWithPath: dir)
        let fm = FileManager.default
        if let items = try? fm.contentsOfDirectory(atPath: url.path), !items.isEmpty, !overwrite {
            throw CLIError("\(url.path): folder is not empty (pass --overwrite to replace its files)")
        }
        guard let bpeURL = bpe.map({ URL(fileURLWithPath: $0) }) ?? BundledVocabulary.locate() else {
            throw CLIError(
                "the CLIP vocabulary Resources/clip/bpe_simple_vocab_16e6.txt.gz was not found; pass --bpe FILE")
        }
        let clock = Date()
        // Written into a staging folder beside the target and moved into place only when complete: a failure
        // (a bad --bpe, a full disk) left a half-written model folder that looked loadable.
        let staging = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).init-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? fm.removeItem(at: staging) }
        var writer = RandomModelWriter(architecture: a, seed: seed)
        writer.note = "random weights (init-model --arch \(a.rawValue) --seed \(seed)); not a trained model"
        try writer.write(to: staging, bpe: bpeURL) { progress in
            let line: String
            switch progress {
            case .configsAndTokenizerWritten: line = "configs and tokenizer written"
            case .weightsWritten(let component, let count): line = "\(component): \(grouped(count)) parameters"
            }
            let seconds = String(format: "%.1f", Date().timeIntervalSince(clock))
            FileHandle.standardError.write(Data("\(line) (\(seconds) s)\n".utf8))
        }
        try fm.createDirectory(at: url, withIntermediateDirectories: true)
        for item in try fm.contentsOfDirectory(atPath: staging.path) {
            let target = url.appendingPathComponent(item)
            if fm.fileExists(atPath: target.path) { try fm.removeItem(at: target) }
            try fm.moveItem(at: staging.appendingPathComponent(item), to: target)
        }
        print(url.path)
    }
}

/// The bundled CLIP BPE merges, found relative to the executable (repo checkout or installed share/ folder).
enum BundledVocabulary {
    static func locate() -> URL? {
        let rel = "Resources/clip/bpe_simple_vocab_16e6.txt.gz"
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<6 {
            for candidate in [rel, "share/cxr-edit/\(rel)"] {
                let url = dir.appendingPathComponent(candidate)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(rel)
        return FileManager.default.fileExists(atPath: cwd.path) ? cwd : nil
    }
}
