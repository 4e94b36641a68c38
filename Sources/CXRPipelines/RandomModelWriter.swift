import CXRCheckpoint
import CXRFiles
import CXRModels
import CXRTokenizer
import Foundation

/// Writes a diffusers folder of a Stable Diffusion architecture with random fp16 weights, so speed and memory can
/// be measured (and compared with diffusers and stable-diffusion.cpp) without gated checkpoints; its images are
/// noise. Each network is built from its config with a provider that invents the weights the network asks for,
/// so the written names and shapes are exactly the ones the loaders (ours and diffusers') expect.
public struct RandomModelWriter {
    /// A stage of the writing that is done.
    public enum Progress: Sendable, Equatable {
        case configsAndTokenizerWritten
        /// The weights of `component` (`text_encoder`, `vae`, `unet`) are written.
        case weightsWritten(component: String, parameterCount: Int)
    }

    public let architecture: RandomModelArchitecture
    public let seed: UInt64
    /// Written into the metadata of every weights file, so that nobody mistakes the folder for a trained model.
    public var note: String

    public init(architecture: RandomModelArchitecture, seed: UInt64) {
        self.architecture = architecture
        self.seed = seed
        note = "random weights (\(architecture.rawValue), seed \(seed)); not a trained model"
    }

    /// Writes the folder at `url` (its files are replaced); `bpe` is CLIP's gzipped BPE merges.
    public func write(to url: URL, bpe: URL, progress: (Progress) -> Void) throws {
        let fm = FileManager.default
        for c in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            try fm.createDirectory(at: url.appendingPathComponent(c), withIntermediateDirectories: true)
        }
        for (path, json) in architecture.configFiles {
            try Data(json.utf8).write(to: url.appendingPathComponent(path), options: .atomic)
        }
        try CLIPTokenizer.writeFolder(bpeGzip: bpe, to: url.appendingPathComponent("tokenizer"),
                                      padToken: architecture.padToken)
        progress(.configsAndTokenizerWritten)

        let meta = ["format": "pt", "cxr-edit": note]
        func config(_ component: String) throws -> JSONConfig {
            try JSONConfig(contentsOf: url.appendingPathComponent("\(component)/config.json"))
        }
        do {
            let te = RandomWeights(seed: seed &+ 1)
            _ = try CLIPTextModel(config: CLIPTextConfig(config("text_encoder")), weights: te)
            try SafeTensorsWriter.write(te.entries.map { ("text_model." + $0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("text_encoder/model.safetensors"))
            progress(.weightsWritten(component: "text_encoder", parameterCount: te.parameterCount))
        }
        do {
            let vae = RandomWeights(seed: seed &+ 2)
            _ = try AutoencoderKL(config: VAEConfig(config("vae")), weights: vae)
            try SafeTensorsWriter.write(vae.entries.map { ($0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("vae/diffusion_pytorch_model.safetensors"))
            progress(.weightsWritten(component: "vae", parameterCount: vae.parameterCount))
        }
        do {
            let unet = RandomWeights(seed: seed &+ 3)
            _ = try UNet2DConditionModel(config: UNetConfig(config("unet")), weights: unet)
            try SafeTensorsWriter.write(unet.entries.map { ($0.name, $0.tensor, .f16) }, metadata: meta,
                                        to: url.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"))
            progress(.weightsWritten(component: "unet", parameterCount: unet.parameterCount))
        }
    }
}
