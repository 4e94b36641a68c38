import ArgumentParser
import CXRCheckpoint
import CXRFiles
import CXRModels
import CXRTensor
import CXRTokenizer
import Foundation

/// `cxr-edit init-model --arch sd15|sd21base DIR`: a diffusers folder with the real SD 1.5 / SD 2.1-base
/// architecture and random fp16 weights, so speed and memory can be measured (and compared with diffusers and
/// stable-diffusion.cpp) without gated checkpoints. The images it makes are noise.
struct InitModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init-model",
        abstract: "Write a diffusers folder of a Stable Diffusion architecture with random fp16 weights (for benchmarks).",
        discussion: "The folder loads in diffusers and in cxr-edit. SD 1.5 is ~2 GB on disk (UNet 859,520,964 parameters).")

    @Option(name: .long, help: "Architecture: sd15 (Stable Diffusion 1.5, RoentGen v1) or sd21base (SD 2.1-base).")
    var arch: String

    @Argument(help: ArgumentHelp("Output folder (created; must not exist or be empty).", valueName: "DIR"))
    var dir: String

    @Option(name: .long, help: "Seed of the random weights.")
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("CLIP BPE vocabulary (default: the bundled Resources/clip/bpe_simple_vocab_16e6.txt.gz).", valueName: "FILE"))
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
            throw CLIError("the CLIP vocabulary Resources/clip/bpe_simple_vocab_16e6.txt.gz was not found; pass --bpe FILE")
        }
        let clock = Date()
        // Written into a staging folder beside the target and moved into place only when complete: a failure
        // (a bad --bpe, a full disk) left a half-written model folder that looked loadable.
        let staging = url.deletingLastPathComponent()
            .appendingPathComponent(".\(url.lastPathComponent).init-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? fm.removeItem(at: staging) }
        try RandomModelWriter(arch: a, seed: seed).write(to: staging, bpe: bpeURL) { line in
            FileHandle.standardError.write(Data("\(line) (\(String(format: "%.1f", Date().timeIntervalSince(clock))) s)\n".utf8))
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

enum RandomModelArchitecture: String {
    case sd15, sd21base
}

/// Builds each network from its config with a provider that invents the weights the network asks for, so the
/// written names and shapes are exactly the ones the loaders (ours and diffusers') expect.
struct RandomModelWriter {
    let arch: RandomModelArchitecture
    let seed: UInt64

    func write(to url: URL, bpe: URL, log: (String) -> Void) throws {
        let fm = FileManager.default
        for c in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            try fm.createDirectory(at: url.appendingPathComponent(c), withIntermediateDirectories: true)
        }
        let configs = RandomModelConfigs(arch)
        func put(_ text: String, _ path: String) throws {
            try Data(text.utf8).write(to: url.appendingPathComponent(path), options: .atomic)
        }
        try put(configs.modelIndex, "model_index.json")
        try put(configs.unet, "unet/config.json")
        try put(configs.vae, "vae/config.json")
        try put(configs.textEncoder, "text_encoder/config.json")
        try put(configs.scheduler, "scheduler/scheduler_config.json")
        try CLIPTokenizer.writeFolder(bpeGzip: bpe, to: url.appendingPathComponent("tokenizer"),
                                      padToken: arch == .sd15 ? "<|endoftext|>" : "!")
        log("configs and tokenizer written")

        let meta = ["format": "pt", "cxr-edit": "random weights (init-model --arch \(arch.rawValue) --seed \(seed)); not a trained model"]
        do {
            let te = RandomWeights(seed: seed &+ 1)
            _ = try CLIPTextModel(config: CLIPTextConfig(JSONConfig(contentsOf: url.appendingPathComponent("text_encoder/config.json"))),
                                  weights: te)
            try SafeTensorsWriter.write(te.entries.map { ("text_model." + $0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("text_encoder/model.safetensors"))
            log("text_encoder: \(grouped(te.parameterCount)) parameters")
        }
        do {
            let vae = RandomWeights(seed: seed &+ 2)
            _ = try AutoencoderKL(config: VAEConfig(JSONConfig(contentsOf: url.appendingPathComponent("vae/config.json"))), weights: vae)
            try SafeTensorsWriter.write(vae.entries.map { ($0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
            log("vae: \(grouped(vae.parameterCount)) parameters")
        }
        do {
            let unet = RandomWeights(seed: seed &+ 3)
            _ = try UNet2DConditionModel(config: UNetConfig(JSONConfig(contentsOf: url.appendingPathComponent("unet/config.json"))),
                                         weights: unet)
            try SafeTensorsWriter.write(unet.entries.map { ($0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
            log("unet: \(grouped(unet.parameterCount)) parameters")
        }
    }
}

/// A weight provider that makes up every parameter on request (shape from the network's own config) and
/// remembers it for writing: matrices and kernels N(0, 1/fan_in), norm scales 1, biases 0, embeddings N(0, 0.02²)
/// (the scales keep activations O(1) through the network, so the benchmark computes on ordinary numbers).
final class RandomWeights: WeightProvider {
    private(set) var entries: [(name: String, tensor: Tensor)] = []
    let seed: UInt64

    init(seed: UInt64) { self.seed = seed }

    var parameterNames: [String] { [] }
    var parameterCount: Int { entries.reduce(0) { $0 + $1.tensor.count } }

    func parameter(_ name: String) throws -> Tensor { throw ModelError.missingWeight(name) }

    func parameter(_ name: String, expectedShape shape: [Int]) throws -> Tensor {
        let t = make(name, shape)
        entries.append((name, t))
        return t
    }

    func weight(_ name: String, expectedShape shape: [Int]) throws -> Weight {
        Weight(try parameter(name, expectedShape: shape))
    }

    private func make(_ name: String, _ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        if shape.count == 1 {
            return Tensor(repeating: name.hasSuffix(".weight") ? 1 : 0, shape: shape)
        }
        let std: Float = name.contains("embedding") ? 0.02 : 1 / Float(shape.dropFirst().reduce(1, *)).squareRoot()
        let stream = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(entries.count + 1) &* 0xD1B5_4A32_D192_ED03
        var data = [Float](repeating: 0, count: n)
        data.withUnsafeMutableBufferPointer { p in
            nonisolated(unsafe) let p = p
            // Fixed-size blocks, each from its own counter: the values do not depend on the thread count.
            let block = 1 << 16
            Parallel.for((n + block - 1) / block) { b in
                let lo = b * block, hi = min(n, lo + block)
                var i = lo
                while i < hi {
                    let (z0, z1) = GaussianPair.make(stream, UInt64(i))
                    p[i] = z0 * std
                    if i + 1 < hi { p[i + 1] = z1 * std }
                    i += 2
                }
            }
        }
        return Tensor(shape: shape, data: data)
    }
}

/// Two standard normal values from a counter (splitmix64 hash, Box-Muller): fast and reproducible.
enum GaussianPair {
    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    static func make(_ stream: UInt64, _ i: UInt64) -> (Float, Float) {
        let r = mix(stream ^ (i &* 0x2545_F491_4F6C_DD1D))
        let u1 = (Float(r >> 40) + 0.5) * (1 / Float(1 << 24))
        let u2 = Float((r >> 16) & 0xFF_FFFF) * (1 / Float(1 << 24))
        let rad = (-2 * logf(u1)).squareRoot()
        let a = 2 * Float.pi * u2
        return (rad * cosf(a), rad * sinf(a))
    }
}

/// The diffusers configs of the two architectures (values as in the published SD 1.5 / SD 2.1-base folders).
struct RandomModelConfigs {
    let modelIndex: String, unet: String, vae: String, textEncoder: String, scheduler: String

    init(_ arch: RandomModelArchitecture) {
        let sd15 = arch == .sd15
        modelIndex = """
        {"_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.27.0", "feature_extractor": [null, null], \
        "requires_safety_checker": false, "safety_checker": [null, null], "scheduler": ["diffusers", "PNDMScheduler"], \
        "text_encoder": ["transformers", "CLIPTextModel"], "tokenizer": ["transformers", "CLIPTokenizer"], \
        "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"]}
        """
        unet = """
        {"_class_name": "UNet2DConditionModel", "_diffusers_version": "0.27.0", "act_fn": "silu", \
        "attention_head_dim": \(sd15 ? "8" : "[5, 10, 20, 20]"), "block_out_channels": [320, 640, 1280, 1280], \
        "center_input_sample": false, "cross_attention_dim": \(sd15 ? 768 : 1024), \
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"], \
        "downsample_padding": 1, "dual_cross_attention": false, "flip_sin_to_cos": true, "freq_shift": 0, \
        "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, \
        "num_class_embeds": null, "only_cross_attention": false, "transformer_layers_per_block": 1, "out_channels": 4, "sample_size": 64, \
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"], \
        "upcast_attention": false, "use_linear_projection": \(sd15 ? "false" : "true")}
        """
        vae = """
        {"_class_name": "AutoencoderKL", "_diffusers_version": "0.27.0", "act_fn": "silu", \
        "block_out_channels": [128, 256, 512, 512], \
        "down_block_types": ["DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D", "DownEncoderBlock2D"], \
        "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, \
        "sample_size": \(sd15 ? 512 : 768), "scaling_factor": 0.18215, \
        "up_block_types": ["UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D", "UpDecoderBlock2D"]}
        """
        textEncoder = """
        {"architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0, "dropout": 0.0, \
        "eos_token_id": 2, "hidden_act": "\(sd15 ? "quick_gelu" : "gelu")", "hidden_size": \(sd15 ? 768 : 1024), \
        "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": \(sd15 ? 3072 : 4096), \
        "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model", \
        "num_attention_heads": \(sd15 ? 12 : 16), "num_hidden_layers": \(sd15 ? 12 : 23), "pad_token_id": 1, \
        "projection_dim": \(sd15 ? 768 : 512), "torch_dtype": "float16", "vocab_size": 49408}
        """
        scheduler = """
        {"_class_name": "PNDMScheduler", "_diffusers_version": "0.27.0", "beta_end": 0.012, \
        "beta_schedule": "scaled_linear", "beta_start": 0.00085, "clip_sample": false, "num_train_timesteps": 1000, \
        "prediction_type": "epsilon", "set_alpha_to_one": false, "skip_prk_steps": true, "steps_offset": 1, \
        "timestep_spacing": "leading", "trained_betas": null}
        """
    }
}
