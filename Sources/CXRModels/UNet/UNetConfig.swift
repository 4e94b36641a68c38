import CXRCheckpoint
import CXRFiles
/// The parts of diffusers' `UNet2DConditionModel` config.json that the SD 1.x / 2.x family uses.
/// Everything else is rejected with a clear message rather than silently computed wrong.
public struct UNetConfig: Sendable, Equatable {
    public enum DownBlock: String, Sendable { case crossAttn = "CrossAttnDownBlock2D", plain = "DownBlock2D" }
    public enum UpBlock: String, Sendable { case crossAttn = "CrossAttnUpBlock2D", plain = "UpBlock2D" }

    public var sampleSize: Int
    public var inChannels: Int
    public var outChannels: Int
    public var flipSinToCos: Bool
    public var freqShift: Int
    public var downBlocks: [DownBlock]
    public var upBlocks: [UpBlock]
    public var blockOutChannels: [Int]
    public var layersPerBlock: [Int]
    public var downsamplePadding: Int
    public var normGroups: Int
    public var normEps: Float
    public var crossAttentionDim: Int
    public var transformerLayers: [Int]
    /// Number of attention heads per down block (diffusers' `num_attention_heads or attention_head_dim`:
    /// SD 1.x's `attention_head_dim: 8` means 8 heads).
    public var heads: [Int]
    public var useLinearProjection: Bool
    public var upcastAttention: Bool
    public var centerInputSample: Bool

    public var timeEmbedDim: Int { blockOutChannels[0] * 4 }

    public init(_ c: JSONConfig) throws {
        sampleSize = try c.positive("sample_size", c.optInt("sample_size", default: 64), max: 1 << 12)
        inChannels = try c.positive("in_channels", c.optInt("in_channels", default: 4), max: 64)
        outChannels = try c.positive("out_channels", c.optInt("out_channels", default: 4), max: 64)
        flipSinToCos = try c.optBool("flip_sin_to_cos", default: true)
        freqShift = try c.optInt("freq_shift", default: 0)
        let downNames =
            try c.isNull("down_block_types")
            ? ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
            : c.stringArray("down_block_types")
        let upNames =
            try c.isNull("up_block_types")
            ? ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]
            : c.stringArray("up_block_types")
        downBlocks = try downNames.map {
            guard let b = DownBlock(rawValue: $0) else {
                throw ModelError.unsupported(file: c.file, message: "down block type '\($0)'")
            }
            return b
        }
        upBlocks = try upNames.map {
            guard let b = UpBlock(rawValue: $0) else {
                throw ModelError.unsupported(file: c.file, message: "up block type '\($0)'")
            }
            return b
        }
        let n = downBlocks.count
        guard n >= 1, upBlocks.count == n else {
            throw ModelError.badConfig(file: c.file, message: "\(n) down blocks but \(upBlocks.count) up blocks")
        }
        blockOutChannels =
            try c.isNull("block_out_channels") ? [320, 640, 1280, 1280] : c.intArray("block_out_channels")
        guard blockOutChannels.count == n else {
            throw ModelError.badConfig(
                file: c.file, message: "block_out_channels has \(blockOutChannels.count) entries for \(n) blocks")
        }
        for ch in blockOutChannels { _ = try c.positive("block_out_channels", ch, max: 1 << 14) }
        layersPerBlock = try c.intOrList("layers_per_block", count: n)
        downsamplePadding = try c.optInt("downsample_padding", default: 1)
        normGroups = try c.positive("norm_num_groups", c.optInt("norm_num_groups", default: 32), max: 1 << 12)
        normEps = Float(try c.number("norm_eps", default: 1e-5, above: 0, upTo: 1))
        crossAttentionDim = try c.positive(
            "cross_attention_dim", c.optInt("cross_attention_dim", default: 1280), max: 1 << 14)
        transformerLayers = try c.intOrList("transformer_layers_per_block", count: n)
        let headsKey = c.isNull("num_attention_heads") ? "attention_head_dim" : "num_attention_heads"
        heads = c.isNull(headsKey) ? Array(repeating: 8, count: n) : try c.intOrList(headsKey, count: n)
        useLinearProjection = try c.optBool("use_linear_projection", default: false)
        upcastAttention = try c.optBool("upcast_attention", default: false)
        centerInputSample = try c.optBool("center_input_sample", default: false)

        // Zero or negative counts would divide by zero or make empty ranges trap further on.
        for (key, values) in [
            ("layers_per_block", layersPerBlock), ("transformer_layers_per_block", transformerLayers),
            (headsKey, heads),
        ] {
            for v in values where v < 1 || v > 1 << 12 {
                throw ModelError.badConfig(file: c.file, message: "key '\(key)' = \(v) is out of range 1...\(1 << 12)")
            }
        }
        for ch in blockOutChannels where ch % normGroups != 0 {
            throw ModelError.badConfig(
                file: c.file, message: "block_out_channels \(ch) not divisible by norm_num_groups \(normGroups)")
        }
        for (i, b) in downBlocks.enumerated() where b == .crossAttn && blockOutChannels[i] % heads[i] != 0 {
            throw ModelError.badConfig(
                file: c.file, message: "block \(i): \(blockOutChannels[i]) channels not divisible by \(heads[i]) heads")
        }
        // Features of other UNet families that this engine does not implement.
        for key in [
            "class_embed_type", "addition_embed_type", "encoder_hid_dim", "time_cond_proj_dim", "timestep_post_act",
        ]
        where !c.isNull(key) {
            throw ModelError.unsupported(file: c.file, message: "'\(key)' is set (not an SD 1.x/2.x UNet)")
        }
        if try c.optString("resnet_time_scale_shift", default: "default") != "default" {
            throw ModelError.unsupported(file: c.file, message: "resnet_time_scale_shift other than 'default'")
        }
        if try c.optString("time_embedding_type", default: "positional") != "positional" {
            throw ModelError.unsupported(file: c.file, message: "time_embedding_type other than 'positional'")
        }
        let mid = try c.optString("mid_block_type", default: "UNetMidBlock2DCrossAttn")
        guard mid == "UNetMidBlock2DCrossAttn" else {
            throw ModelError.unsupported(file: c.file, message: "mid_block_type '\(mid)'")
        }
        if try c.boolOrList("only_cross_attention", count: n, default: false).contains(true) {
            throw ModelError.unsupported(file: c.file, message: "only_cross_attention")
        }
        if try c.optBool("dual_cross_attention", default: false) {
            throw ModelError.unsupported(file: c.file, message: "dual_cross_attention")
        }
        if try c.optInt("conv_in_kernel", default: 3) != 3 || c.optInt("conv_out_kernel", default: 3) != 3 {
            throw ModelError.unsupported(file: c.file, message: "conv_in_kernel/conv_out_kernel other than 3")
        }
        let act = try c.optString("act_fn", default: "silu")
        guard act == "silu" else { throw ModelError.unsupported(file: c.file, message: "act_fn '\(act)'") }
    }
}
