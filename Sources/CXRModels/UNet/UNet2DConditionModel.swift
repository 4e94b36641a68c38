import CXRTensor
import Foundation

/// diffusers' UNet2DConditionModel for the SD 1.x / 2.x family, built from its config.json.
public struct UNet2DConditionModel {
    public let config: UNetConfig
    let timeLinear1: Linear, timeLinear2: Linear
    let convIn: Conv2d
    let down: [DownBlock]
    let mid: MidBlock
    let up: [UpBlock]
    let normOut: GroupNorm
    let convOut: Conv2d

    /// `precision` is that of every linear and convolution layer (bf16 only where `BFloat16GEMM.isSupported`).
    public init(config c: UNetConfig, weights: any WeightProvider, precision: GEMMPrecision = .fp32) throws {
        config = c
        let p = ParameterScope(weights, precision: precision)
        let ch0 = c.blockOutChannels[0], temb = c.timeEmbedDim
        timeLinear1 = try Linear(p("time_embedding.linear_1"), in: ch0, out: temb)
        timeLinear2 = try Linear(p("time_embedding.linear_2"), in: temb, out: temb)
        convIn = try Conv2d(p("conv_in"), in: c.inChannels, out: ch0, kernel: 3)
        let n = c.blockOutChannels.count
        var downBlocks = [DownBlock]()
        var inC = ch0
        for i in 0..<n {
            let outC = c.blockOutChannels[i]
            downBlocks.append(
                try DownBlock(
                    p("down_blocks.\(i)"), config: c, index: i, in: inC, out: outC,
                    downsample: i < n - 1))
            inC = outC
        }
        down = downBlocks
        mid = try MidBlock(p("mid_block"), config: c, channels: c.blockOutChannels[n - 1])
        let rev = Array(c.blockOutChannels.reversed())
        let revHeads = Array(c.heads.reversed()), revLayers = Array(c.layersPerBlock.reversed())
        let revTransformer = Array(c.transformerLayers.reversed())
        var upBlocks = [UpBlock]()
        var prevOut = rev[0]
        for i in 0..<n {
            let outC = rev[i], skipIn = rev[min(i + 1, n - 1)]
            upBlocks.append(
                try UpBlock(
                    p("up_blocks.\(i)"), config: c, kind: c.upBlocks[i], heads: revHeads[i],
                    transformerLayers: revTransformer[i], layers: revLayers[i] + 1,
                    in: skipIn, prevOut: prevOut, out: outC, upsample: i < n - 1))
            prevOut = outC
        }
        up = upBlocks
        normOut = try GroupNorm(p("conv_norm_out"), groups: c.normGroups, channels: ch0, eps: c.normEps)
        convOut = try Conv2d(p("conv_out"), in: ch0, out: c.outChannels, kernel: 3)
    }

    /// Sinusoidal timestep features as diffusers' `get_timestep_embedding`, in float32 like torch.
    public static func timestepFeatures(_ timesteps: [Float], dim: Int, flipSinToCos: Bool, freqShift: Int) -> Tensor {
        let half = dim / 2
        let logMax = Float(-log(10000.0))
        var freqs = [Float](repeating: 0, count: half)
        for i in 0..<half { freqs[i] = expf(logMax * Float(i) / Float(half - freqShift)) }
        var out = Tensor(zeros: [timesteps.count, dim])
        for (b, t) in timesteps.enumerated() {
            for i in 0..<half {
                let a = t * freqs[i]
                let (first, second) = flipSinToCos ? (cosf(a), sinf(a)) : (sinf(a), cosf(a))
                out.data[b * dim + i] = first
                out.data[b * dim + half + i] = second
            }
        }
        return out
    }

    /// One denoiser evaluation: sample [B, in, h, w], one timestep per batch item (or one for all),
    /// context [B, tokens, cross_attention_dim] -> [B, out, h, w].
    public func callAsFunction(_ sample: Tensor, timesteps: [Float], context: Tensor) -> Tensor {
        let b = sample.shape[0]
        let ts = timesteps.count == 1 ? Array(repeating: timesteps[0], count: b) : timesteps
        precondition(ts.count == b && context.shape[0] == b, "UNet: batch of sample, timesteps and context differ")
        let feats = Self.timestepFeatures(
            ts, dim: config.blockOutChannels[0], flipSinToCos: config.flipSinToCos,
            freqShift: config.freqShift)
        var temb = timeLinear1(feats)
        applyActivation(&temb, .silu)
        temb = timeLinear2(temb)
        // Every ResnetBlock applies SiLU to the embedding before its projection: do it once here.
        let tembSiLU = activated(temb, .silu)

        var x = config.centerInputSample ? scaled(add(sample, Tensor(repeating: -0.5, shape: sample.shape)), 2) : sample
        x = convIn(x)
        var skips: [Tensor] = [x]
        for block in down { x = block(x, tembSiLU: tembSiLU, context: context, skips: &skips) }
        x = mid(x, tembSiLU: tembSiLU, context: context)
        for block in up { x = block(x, tembSiLU: tembSiLU, context: context, skips: &skips) }
        return convOut(normOut(x, silu: true))
    }
}

struct DownBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2D]
    let downsampler: Conv2d?

    init(_ p: ParameterScope, config c: UNetConfig, index i: Int, in inC: Int, out outC: Int, downsample: Bool) throws {
        let layers = c.layersPerBlock[i]
        resnets = try (0..<layers).map {
            try ResnetBlock2D(
                p("resnets.\($0)"), in: $0 == 0 ? inC : outC, out: outC, tembChannels: c.timeEmbedDim,
                groups: c.normGroups, eps: c.normEps)
        }
        if c.downBlocks[i] == .crossAttn {
            attentions = try (0..<layers).map {
                try Transformer2D(
                    p("attentions.\($0)"), channels: outC, heads: c.heads[i], layers: c.transformerLayers[i],
                    contextDim: c.crossAttentionDim, groups: c.normGroups, linearProjection: c.useLinearProjection)
            }
        } else {
            attentions = []
        }
        downsampler =
            downsample
            ? try Conv2d(
                p("downsamplers.0.conv"), in: outC, out: outC, kernel: 3, stride: 2, padding: .same(c.downsamplePadding)
            )
            : nil
    }

    func callAsFunction(_ input: Tensor, tembSiLU: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var x = input
        for (j, resnet) in resnets.enumerated() {
            x = resnet(x, tembSiLU: tembSiLU)
            if !attentions.isEmpty { x = attentions[j](x, context: context) }
            skips.append(x)
        }
        if let downsampler {
            x = downsampler(x)
            skips.append(x)
        }
        return x
    }
}

struct MidBlock {
    let resnet0: ResnetBlock2D, attention: Transformer2D, resnet1: ResnetBlock2D

    init(_ p: ParameterScope, config c: UNetConfig, channels: Int) throws {
        let last = c.blockOutChannels.count - 1
        resnet0 = try ResnetBlock2D(
            p("resnets.0"), in: channels, out: channels, tembChannels: c.timeEmbedDim,
            groups: c.normGroups, eps: c.normEps)
        attention = try Transformer2D(
            p("attentions.0"), channels: channels, heads: c.heads[last],
            layers: c.transformerLayers[last], contextDim: c.crossAttentionDim,
            groups: c.normGroups, linearProjection: c.useLinearProjection)
        resnet1 = try ResnetBlock2D(
            p("resnets.1"), in: channels, out: channels, tembChannels: c.timeEmbedDim,
            groups: c.normGroups, eps: c.normEps)
    }

    func callAsFunction(_ x: Tensor, tembSiLU: Tensor, context: Tensor) -> Tensor {
        resnet1(attention(resnet0(x, tembSiLU: tembSiLU), context: context), tembSiLU: tembSiLU)
    }
}

struct UpBlock {
    let resnets: [ResnetBlock2D]
    let attentions: [Transformer2D]
    let upsampler: Conv2d?

    init(
        _ p: ParameterScope, config c: UNetConfig, kind: UNetConfig.UpBlock, heads: Int, transformerLayers: Int,
        layers: Int, in inC: Int, prevOut: Int, out outC: Int, upsample: Bool
    ) throws {
        resnets = try (0..<layers).map { j in
            let skip = j == layers - 1 ? inC : outC
            let resIn = j == 0 ? prevOut : outC
            return try ResnetBlock2D(
                p("resnets.\(j)"), in: resIn + skip, out: outC, tembChannels: c.timeEmbedDim,
                groups: c.normGroups, eps: c.normEps)
        }
        if kind == .crossAttn {
            attentions = try (0..<layers).map {
                try Transformer2D(
                    p("attentions.\($0)"), channels: outC, heads: heads, layers: transformerLayers,
                    contextDim: c.crossAttentionDim, groups: c.normGroups, linearProjection: c.useLinearProjection)
            }
        } else {
            attentions = []
        }
        upsampler = upsample ? try Conv2d(p("upsamplers.0.conv"), in: outC, out: outC, kernel: 3) : nil
    }

    func callAsFunction(_ input: Tensor, tembSiLU: Tensor, context: Tensor, skips: inout [Tensor]) -> Tensor {
        var x = input
        for (j, resnet) in resnets.enumerated() {
            let skip = skips.removeLast()
            x = resnet(concatChannels(x, skip), tembSiLU: tembSiLU)
            if !attentions.isEmpty { x = attentions[j](x, context: context) }
        }
        if let upsampler {
            // diffusers upsamples to the size of the next skip when the latent size is not a multiple of 2^n.
            let target = skips.last.map { ($0.shape[2], $0.shape[3]) } ?? (2 * x.shape[2], 2 * x.shape[3])
            x = upsampler(upsampleNearest(x, height: target.0, width: target.1))
        }
        return x
    }
}
