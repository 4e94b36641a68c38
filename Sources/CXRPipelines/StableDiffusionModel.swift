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
    public let vae: AutoencoderKL
    public let schedulerConfig: SchedulerConfig
    /// `unet/` and the inpainting UNet, each built on first use (`LazyUNet`): an edit builds only the one it runs.
    let standardUNet: LazyUNet
    let inpaintingUNet: LazyUNet?
    /// What `cxr-edit.json` recommends (steps, guidance, the inpainting UNet's folder).
    public let recommendations: ModelRecommendations

    /// `unet/`, built on first use. Throws what building it throws (a missing or non-finite weight).
    public var unet: UNet2DConditionModel { get throws { try standardUNet.load() } }
    /// The 9-channel inpainting UNet named by `cxr-edit.json`'s `inpaint_unet`, used by masked edits; nil if none.
    /// Built on first use, as `unet`.
    public var inpaintUNet: UNet2DConditionModel? { get throws { try inpaintingUNet?.load() } }
    /// `unet/`'s config, read when the model loads.
    public var unetConfig: UNetConfig { standardUNet.config }

    /// Loads every component; the UNets' layers are built on first use (their configs and weights files are checked
    /// now). Errors name the file and the problem in one line. `precision` is the GEMM precision
    /// of the UNets and the VAE (the text encoder stays fp32: it runs once per prompt, on 77 tokens); `vaeTiling`
    /// says when the VAE works in tiles. `tokenizer`, when given, is the tokenizer already being built.
    public static func load(
        from url: URL, precision: GEMMPrecision = .fp32, vaeTiling: VAETiling = .auto,
        tokenizer preload: TokenizerPreload? = nil
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
        let textEncoder = try CLIPTextModel(
            config: CLIPTextConfig(folder.config("text_encoder")),
            weights: CheckpointWeights(folder.weights("text_encoder")))
        let unet = LazyUNet(
            config: try UNetConfig(folder.config("unet")),
            weights: CheckpointWeights(try folder.weights("unet")),
            precision: precision)
        let vae = try AutoencoderKL(
            config: VAEConfig(folder.config("vae")),
            weights: CheckpointWeights(folder.weights("vae")), precision: precision, tiling: vaeTiling)
        let schedulerConfig = try SchedulerConfig(
            contentsOf: url.appendingPathComponent("scheduler/scheduler_config.json"))

        // After the networks, so that a tokenizer being built meanwhile (`preload`) is ready.
        let tokenizerFolder = url.appendingPathComponent("tokenizer")
        let tokenizer = try preload?.tokenizer(of: tokenizerFolder) ?? CLIPTokenizer(directory: tokenizerFolder)
        let l = vae.config.latentChannels
        try check(
            unet.config, folder: url.appendingPathComponent("unet"), textEncoder: textEncoder,
            inChannels: [l, 2 * l + 1], latentChannels: l)
        guard tokenizer.vocabSize <= textEncoder.config.vocabSize else {
            throw ModelError.badConfig(
                file: url.appendingPathComponent("tokenizer").path,
                message:
                    "tokenizer has \(tokenizer.vocabSize) tokens, the text encoder only \(textEncoder.config.vocabSize)"
            )
        }
        let recommendations = try ModelRecommendations(modelFolder: url)
        var inpaintUNet: LazyUNet?
        if let name = recommendations.inpaintUNet {
            let dir = url.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
                throw ModelError.badConfig(
                    file: url.appendingPathComponent(ModelRecommendations.fileName).path,
                    message: "inpaint_unet names '\(name)', which is not a folder of the model")
            }
            let net = LazyUNet(
                config: try UNetConfig(folder.config(name)),
                weights: CheckpointWeights(try folder.weights(name)),
                precision: precision)
            try check(net.config, folder: dir, textEncoder: textEncoder, inChannels: [2 * l + 1], latentChannels: l)
            inpaintUNet = net
        }
        return StableDiffusionModel(
            url: url, folder: folder, tokenizer: tokenizer, textEncoder: textEncoder, vae: vae,
            schedulerConfig: schedulerConfig, standardUNet: unet, inpaintingUNet: inpaintUNet,
            recommendations: recommendations)
    }

    /// A UNet must read the text encoder's states and the VAE's latents (plus mask and masked latents when it has
    /// 2 x latent + 1 input channels).
    private static func check(
        _ config: UNetConfig, folder: URL, textEncoder: CLIPTextModel, inChannels: [Int],
        latentChannels l: Int
    ) throws {
        let file = folder.appendingPathComponent("config.json").path
        guard textEncoder.config.hiddenSize == config.crossAttentionDim else {
            throw ModelError.badConfig(
                file: file,
                message: "cross_attention_dim \(config.crossAttentionDim) does "
                    + "not match the text encoder's hidden_size \(textEncoder.config.hiddenSize)")
        }
        guard config.outChannels == l, inChannels.contains(config.inChannels) else {
            let allowed = inChannels.map(String.init).joined(separator: " or ")
            throw ModelError.badConfig(
                file: file,
                message: "UNet channels in \(config.inChannels)/out "
                    + "\(config.outChannels) do not fit a VAE with \(l) latent channels "
                    + "(in must be \(allowed))")
        }
    }

    /// The image size the model was trained at (UNet sample size x VAE downscale: 512 for SD 1.x / RoentGen).
    public var nativeImageSize: Int { unetConfig.sampleSize * vae.config.downscale }

    /// Whether the UNet is an inpainting UNet (9 input channels: latents, mask, masked-image latents).
    public var isInpaintingUNet: Bool { isInpainting(unetConfig) }

    /// Whether `net` takes the mask and masked-image latents as input.
    public func isInpainting(_ net: UNet2DConditionModel) -> Bool { isInpainting(net.config) }

    /// Whether a UNet with `config` takes the mask and masked-image latents as input.
    public func isInpainting(_ config: UNetConfig) -> Bool {
        config.inChannels == 2 * vae.config.latentChannels + 1
    }

    /// Whether masked edits can run the 9-channel path (an `inpaint_unet`, or a `unet/` that is one).
    public var hasInpaintingUNet: Bool { inpaintingUNet != nil || isInpaintingUNet }

    /// The UNet for `choice`: `unet/` for standard; for inpaint the `inpaint_unet`, else `unet/` when it is one.
    /// Builds it if it was not used before (and only it).
    public func unet(for choice: UNetChoice) throws -> UNet2DConditionModel {
        switch choice {
        case .standard: return try unet
        case .inpaint:
            if let inpaintingUNet { return try inpaintingUNet.load() }
            if isInpaintingUNet { return try unet }
            throw PipelineError.invalid(
                "this model has no inpainting UNet (a 9-channel UNet folder named by "
                    + "inpaint_unet in \(ModelRecommendations.fileName))")
        }
    }
}
