import CXRCheckpoint
import CXRModels
import CXRSchedulers
import CXRTensor
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
    /// The 9-channel inpainting UNet named by `cxr-edit.json`'s `inpaint_unet`, used by masked edits; nil if none.
    public let inpaintUNet: UNet2DConditionModel?
    /// What `cxr-edit.json` recommends (steps, guidance, the inpainting UNet's folder).
    public let recommendations: ModelRecommendations

    /// Loads every component. Errors name the file and the problem in one line. `precision` is the GEMM precision
    /// of the UNets and the VAE (the text encoder stays fp32: it runs once per prompt, on 77 tokens); `vaeTiling`
    /// says when the VAE works in tiles.
    public static func load(
        from url: URL, precision: GEMMPrecision = .fp32, vaeTiling: VAETiling = .auto
    ) throws -> StableDiffusionModel {
        let folder = try DiffusersFolder(url: url)
        for name in ["unet", "vae", "text_encoder", "tokenizer", "scheduler"] {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.appendingPathComponent(name).path, isDirectory: &isDir),
                isDir.boolValue
            else {
                throw ModelError.badConfig(file: url.path, message: "the model folder has no '\(name)' component")
            }
        }
        let tokenizer = try CLIPTokenizer(directory: url.appendingPathComponent("tokenizer"))
        let textEncoder = try CLIPTextModel(
            config: CLIPTextConfig(folder.config("text_encoder")),
            weights: CheckpointWeights(folder.weights("text_encoder")))
        let unet = try UNet2DConditionModel(
            config: UNetConfig(folder.config("unet")),
            weights: CheckpointWeights(folder.weights("unet")),
            precision: precision)
        let vae = try AutoencoderKL(
            config: VAEConfig(folder.config("vae")),
            weights: CheckpointWeights(folder.weights("vae")), precision: precision, tiling: vaeTiling)
        let schedulerConfig = try SchedulerConfig(
            contentsOf: url.appendingPathComponent("scheduler/scheduler_config.json"))

        let l = vae.config.latentChannels
        try check(
            unet, folder: url.appendingPathComponent("unet"), textEncoder: textEncoder,
            inChannels: [l, 2 * l + 1], latentChannels: l)
        guard tokenizer.vocabSize <= textEncoder.config.vocabSize else {
            throw ModelError.badConfig(
                file: url.appendingPathComponent("tokenizer").path,
                message:
                    "tokenizer has \(tokenizer.vocabSize) tokens, the text encoder only \(textEncoder.config.vocabSize)"
            )
        }
        let recommendations = try ModelRecommendations(modelFolder: url)
        var inpaintUNet: UNet2DConditionModel?
        if let name = recommendations.inpaintUNet {
            let dir = url.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw ModelError.badConfig(
                    file: url.appendingPathComponent(ModelRecommendations.fileName).path,
                    message: "inpaint_unet names '\(name)', which is not a folder of the model")
            }
            let net = try UNet2DConditionModel(
                config: UNetConfig(folder.config(name)),
                weights: CheckpointWeights(folder.weights(name)),
                precision: precision)
            try check(net, folder: dir, textEncoder: textEncoder, inChannels: [2 * l + 1], latentChannels: l)
            inpaintUNet = net
        }
        return StableDiffusionModel(
            url: url, folder: folder, tokenizer: tokenizer, textEncoder: textEncoder,
            unet: unet, vae: vae, schedulerConfig: schedulerConfig, inpaintUNet: inpaintUNet,
            recommendations: recommendations)
    }

    /// A UNet must read the text encoder's states and the VAE's latents (plus mask and masked latents when it has
    /// 2 x latent + 1 input channels).
    private static func check(
        _ unet: UNet2DConditionModel, folder: URL, textEncoder: CLIPTextModel, inChannels: [Int],
        latentChannels l: Int
    ) throws {
        let file = folder.appendingPathComponent("config.json").path
        guard textEncoder.config.hiddenSize == unet.config.crossAttentionDim else {
            throw ModelError.badConfig(
                file: file,
                message: "cross_attention_dim \(unet.config.crossAttentionDim) does "
                    + "not match the text encoder's hidden_size \(textEncoder.config.hiddenSize)")
        }
        guard unet.config.outChannels == l, inChannels.contains(unet.config.inChannels) else {
            let allowed = inChannels.map(String.init).joined(separator: " or ")
            throw ModelError.badConfig(
                file: file,
                message: "UNet channels in \(unet.config.inChannels)/out "
                    + "\(unet.config.outChannels) do not fit a VAE with \(l) latent channels "
                    + "(in must be \(allowed))")
        }
    }

    /// The image size the model was trained at (UNet sample size x VAE downscale: 512 for SD 1.x / RoentGen).
    public var nativeImageSize: Int { unet.config.sampleSize * vae.config.downscale }

    /// Whether the UNet is an inpainting UNet (9 input channels: latents, mask, masked-image latents).
    public var isInpaintingUNet: Bool { isInpainting(unet) }

    /// Whether `net` takes the mask and masked-image latents as input.
    public func isInpainting(_ net: UNet2DConditionModel) -> Bool {
        net.config.inChannels == 2 * vae.config.latentChannels + 1
    }

    /// Whether masked edits can run the 9-channel path (an `inpaint_unet`, or a `unet/` that is one).
    public var hasInpaintingUNet: Bool { inpaintUNet != nil || isInpaintingUNet }

    /// The UNet for `choice`: `unet/` for standard; for inpaint the `inpaint_unet`, else `unet/` when it is one.
    public func unet(for choice: UNetChoice) throws -> UNet2DConditionModel {
        switch choice {
        case .standard: return unet
        case .inpaint:
            if let inpaintUNet { return inpaintUNet }
            if isInpaintingUNet { return unet }
            throw PipelineError.invalid(
                "this model has no inpainting UNet (a 9-channel UNet folder named by "
                    + "inpaint_unet in \(ModelRecommendations.fileName))")
        }
    }
}
