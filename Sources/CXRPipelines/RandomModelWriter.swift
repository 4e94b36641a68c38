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
        try CLIPTokenizer.writeFolder(
            bpeGzip: bpe, to: url.appendingPathComponent("tokenizer"),
            padToken: architecture.padToken)
        progress(.configsAndTokenizerWritten)

        // One network at a time, so that only its weights are held.
        let meta = ["format": "pt", "cxr-edit": note]
        func writeWeights(
            _ component: String, seedOffset: UInt64, file: String, keyPrefix: String = "",
            build: (JSONConfig, RandomWeights) throws -> Void
        ) throws {
            let weights = RandomWeights(seed: seed &+ seedOffset)
            try build(JSONConfig(contentsOf: url.appendingPathComponent("\(component)/config.json")), weights)
            try SafeTensorsWriter.write(
                weights.entries.map { (keyPrefix + $0.name, $0.tensor, .f16) }, metadata: meta,
                to: url.appendingPathComponent("\(component)/\(file)"))
            progress(.weightsWritten(component: component, parameterCount: weights.parameterCount))
        }
        try writeWeights("text_encoder", seedOffset: 1, file: "model.safetensors", keyPrefix: "text_model.") {
            _ = try CLIPTextModel(config: CLIPTextConfig($0), weights: $1)
        }
        try writeWeights("vae", seedOffset: 2, file: "diffusion_pytorch_model.safetensors") {
            _ = try AutoencoderKL(config: VAEConfig($0), weights: $1)
        }
        try writeWeights("unet", seedOffset: 3, file: "diffusion_pytorch_model.safetensors") {
            _ = try UNet2DConditionModel(config: UNetConfig($0), weights: $1)
        }
    }
}
