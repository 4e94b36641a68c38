import CXRRuns

/// `info --json`: a model folder's networks (sizes and parameter counts), tokenizer, scheduler, native image size,
/// the sampler settings runs use without --steps/--guidance, and the machine.
struct InfoJSON: Encodable {
    struct TextEncoder: Encodable {
        var hiddenSize: Int
        var layers: Int
        var heads: Int
        var parameters: Int

        enum CodingKeys: String, CodingKey { case hiddenSize = "hidden_size", layers, heads, parameters }
    }

    struct UNet: Encodable {
        var inChannels: Int
        var blockOutChannels: [Int]
        var heads: [Int]
        var crossAttentionDim: Int
        var parameters: Int

        enum CodingKeys: String, CodingKey {
            case inChannels = "in_channels", blockOutChannels = "block_out_channels", heads
            case crossAttentionDim = "cross_attention_dim", parameters
        }
    }

    struct VAE: Encodable {
        var latentChannels: Int
        var blockOutChannels: [Int]
        var scalingFactor: Double
        var parameters: Int

        enum CodingKeys: String, CodingKey {
            case latentChannels = "latent_channels", blockOutChannels = "block_out_channels"
            case scalingFactor = "scaling_factor", parameters
        }
    }

    struct Tokenizer: Encodable {
        var vocabSize: Int
        var padTokenID: Int

        enum CodingKeys: String, CodingKey { case vocabSize = "vocab_size", padTokenID = "pad_token_id" }
    }

    /// What generate and edit run with when --steps/--guidance are not given, and where it comes from
    /// (`cxr-edit.json` or `fallback`).
    struct Defaults: Encodable {
        var steps: Int
        var guidance: Double
        var from: String
        @ExplicitNull var inpaintUNet: String?

        enum CodingKeys: String, CodingKey { case steps, guidance, from, inpaintUNet = "inpaint_unet" }
    }

    var model: String
    var className: String
    var textEncoder: TextEncoder
    var unet: UNet
    var vae: VAE
    var tokenizer: Tokenizer
    var scheduler: String
    var imageSize: Int
    var defaults: Defaults
    var machine: MachineJSON

    enum CodingKeys: String, CodingKey {
        case model, className = "class", textEncoder = "text_encoder", unet, vae, tokenizer, scheduler
        case imageSize = "image_size", defaults, machine
    }
}
