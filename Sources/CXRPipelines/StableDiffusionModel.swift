import CXRCheckpoint
import CXRModels
import CXRSchedulers
import CXRTokenizer
import Foundation

/// A loaded SD 1.x / 2.x diffusers folder (RoentGen v1/v2 or the bundled default model): tokenizer, text
/// encoder, UNet, VAE and the scheduler settings, each built from its own config.json.
public struct StableDiffusionModel {
    public let url: URL
    public let folder: DiffusersFolder
    public let tokenizer: CLIPTokenizer
    public let textEncoder: CLIPTextModel
    public let unet: UNet2DConditionModel
    public let vae: AutoencoderKL
    public let schedulerConfig: SchedulerConfig

    /// Loads every component. Errors name the file and the problem in one line.
    public static func load(from url: URL) throws -> StableDiffusionModel {
        let folder = try DiffusersFolder(url: url)
        for name in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDir),
                  isDir.boolValue else {
                throw ModelError.badConfig(file: url.path, message: "the model folder has no '\(name)' component")
            }
        }
        let tokenizer = try CLIPTokenizer(directory: url.appendingPathComponent("tokenizer"))
        let textEncoder = try CLIPTextModel(config: CLIPTextConfig(folder.config("text_encoder")),
                                            weights: CheckpointWeights(folder.weights("text_encoder")))
        let unet = try UNet2DConditionModel(config: UNetConfig(folder.config("unet")),
                                            weights: CheckpointWeights(folder.weights("unet")))
        let vae = try AutoencoderKL(config: VAEConfig(folder.config("vae")),
                                    weights: CheckpointWeights(folder.weights("vae")))
        let schedulerConfig = try SchedulerConfig(contentsOf: url.appendingPathComponent("scheduler/scheduler_config.json"))

        let unetFile = url.appendingPathComponent("unet/config.json").path
        guard textEncoder.config.hiddenSize == unet.config.crossAttentionDim else {
            throw ModelError.badConfig(file: unetFile, message: "cross_attention_dim \(unet.config.crossAttentionDim) does not match the text encoder's hidden_size \(textEncoder.config.hiddenSize)")
        }
        let l = vae.config.latentChannels
        guard unet.config.outChannels == l, unet.config.inChannels == l || unet.config.inChannels == 2 * l + 1 else {
            throw ModelError.badConfig(file: unetFile, message: "UNet channels in \(unet.config.inChannels)/out \(unet.config.outChannels) do not fit a VAE with \(l) latent channels")
        }
        guard tokenizer.vocabSize <= textEncoder.config.vocabSize else {
            throw ModelError.badConfig(file: url.appendingPathComponent("tokenizer").path, message: "tokenizer has \(tokenizer.vocabSize) tokens, the text encoder only \(textEncoder.config.vocabSize)")
        }
        return StableDiffusionModel(url: url, folder: folder, tokenizer: tokenizer, textEncoder: textEncoder,
                                    unet: unet, vae: vae, schedulerConfig: schedulerConfig)
    }

    /// The image size the model was trained at (UNet sample size x VAE downscale: 512 for SD 1.x / RoentGen).
    public var nativeImageSize: Int { unet.config.sampleSize * vae.config.downscale }

    /// Whether the UNet is an inpainting UNet (9 input channels: latents, mask, masked-image latents).
    public var isInpaintingUNet: Bool { unet.config.inChannels == 2 * vae.config.latentChannels + 1 }
}
