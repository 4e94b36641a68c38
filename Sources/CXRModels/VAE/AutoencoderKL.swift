import CXRCheckpoint
import CXRFiles
import CXRTensor
import Foundation

/// diffusers' AutoencoderKL config (the parts SD 1.x / 2.x VAEs use).
public struct VAEConfig: Sendable, Equatable {
    public var inChannels: Int
    public var outChannels: Int
    public var latentChannels: Int
    public var blockOutChannels: [Int]
    public var layersPerBlock: Int
    public var normGroups: Int
    public var scalingFactor: Float
    public var sampleSize: Int
    public var useQuantConv: Bool
    public var usePostQuantConv: Bool
    public var midBlockAttention: Bool

    /// Spatial downsampling factor (2^(blocks-1)), 8 for SD.
    public var downscale: Int { 1 << (blockOutChannels.count - 1) }

    public init(_ c: JSONConfig) throws {
        inChannels = try c.positive("in_channels", c.optInt("in_channels", default: 3), max: 16)
        outChannels = try c.positive("out_channels", c.optInt("out_channels", default: 3), max: 16)
        latentChannels = try c.positive("latent_channels", c.optInt("latent_channels", default: 4), max: 64)
        blockOutChannels = try c.isNull("block_out_channels") ? [64] : c.intArray("block_out_channels")
        guard !blockOutChannels.isEmpty && blockOutChannels.count <= 8 else {
            throw ModelError.badConfig(file: c.file, message: "block_out_channels must have 1 to 8 entries")
        }
        layersPerBlock = try c.positive("layers_per_block", c.optInt("layers_per_block", default: 1), max: 64)
        normGroups = try c.positive("norm_num_groups", c.optInt("norm_num_groups", default: 32), max: 4096)
        for ch in blockOutChannels where ch <= 0 || ch % normGroups != 0 {
            throw ModelError.badConfig(
                file: c.file, message: "block_out_channels \(ch) not divisible by norm_num_groups \(normGroups)")
        }
        scalingFactor = Float(try c.number("scaling_factor", default: 0.18215, above: 0, upTo: 100))
        sampleSize = try c.optInt("sample_size", default: 512)
        useQuantConv = try c.optBool("use_quant_conv", default: true)
        usePostQuantConv = try c.optBool("use_post_quant_conv", default: true)
        midBlockAttention = try c.optBool("mid_block_add_attention", default: true)
        for t in try c.isNull("down_block_types") ? [] : c.stringArray("down_block_types")
        where t != "DownEncoderBlock2D" {
            throw ModelError.unsupported(file: c.file, message: "VAE down block type '\(t)'")
        }
        for t in try c.isNull("up_block_types") ? [] : c.stringArray("up_block_types") where t != "UpDecoderBlock2D" {
            throw ModelError.unsupported(file: c.file, message: "VAE up block type '\(t)'")
        }
        if !c.isNull("shift_factor") {
            throw ModelError.unsupported(file: c.file, message: "shift_factor (not an SD 1.x/2.x VAE)")
        }
    }
}

/// The posterior q(z | x) of the VAE encoder: a diagonal Gaussian.
public struct LatentDistribution {
    public let mean: Tensor
    /// log-variance, clamped to [-30, 20] as diffusers does.
    public let logvar: Tensor

    /// mean + std * noise (noise ~ N(0, 1) of the same shape), as DiagonalGaussianDistribution.sample.
    public func sample(noise: Tensor) -> Tensor {
        var z = mean
        for i in 0..<z.count { z.data[i] += expf(0.5 * logvar.data[i]) * noise.data[i] }
        return z
    }
}

/// diffusers' AutoencoderKL: encoder to a latent Gaussian, decoder back to pixels in [-1, 1] (unclamped).
public struct AutoencoderKL {
    public let config: VAEConfig
    /// When encode and decode work in tiles (diffusers' `enable_tiling()`); see `VAETiling`.
    public let tiling: VAETiling
    let encoder: VAEEncoder
    let decoder: VAEDecoder
    let quantConv: Conv2d?
    let postQuantConv: Conv2d?

    /// `precision` is that of every convolution and linear layer (bf16 only where `BFloat16GEMM.isSupported`); the
    /// attention products (bf16 in the UNet; this single-head d = 512 call was not measured in bf16), the norms and
    /// the posterior stay fp32. Unlike the UNet's, the weights make their bf16 packed copies on every use: an edit
    /// encodes once and decodes once or twice, so kept copies would save no time and hold 16/9 x 2 bytes per 3x3
    /// weight (0.3 GB for an SD VAE) through the whole edit.
    public init(
        config c: VAEConfig, weights: any WeightProvider, precision: GEMMPrecision = .fp32, tiling: VAETiling = .auto
    ) throws {
        config = c
        self.tiling = tiling
        let p = ParameterScope(weights, precision: precision, keepsDerivedValues: false)
        let names = Set(weights.parameterNames)
        encoder = try VAEEncoder(p("encoder"), config: c, names: names)
        decoder = try VAEDecoder(p("decoder"), config: c, names: names)
        let l = c.latentChannels
        quantConv = c.useQuantConv ? try Conv2d(p("quant_conv"), in: 2 * l, out: 2 * l, kernel: 1) : nil
        postQuantConv = c.usePostQuantConv ? try Conv2d(p("post_quant_conv"), in: l, out: l, kernel: 1) : nil
    }

    /// diffusers' tile sides: `sample_size` pixels, int(sample_size / downscale) latents.
    var pixelTileSize: Int { config.sampleSize }
    var latentTileSize: Int { Int(Double(config.sampleSize) / Double(config.downscale)) }

    /// image [B, 3, H, W] in [-1, 1] -> posterior (unscaled latents; multiply samples by `scalingFactor`).
    public func encode(_ image: Tensor) -> LatentDistribution {
        let moments: Tensor
        if tiling.tiles(height: image.dim(2), width: image.dim(3), tileSize: pixelTileSize),
            let tiles = OverlappingTiles(inputSize: pixelTileSize, outputSize: latentTileSize)
        {
            moments = tiles.apply(image, encodeMoments)
        } else {
            moments = encodeMoments(image)
        }
        let l = config.latentChannels
        var logvar = sliceChannels(moments, from: l, to: 2 * l)
        for i in 0..<logvar.count { logvar.data[i] = min(max(logvar.data[i], -30), 20) }
        return LatentDistribution(mean: sliceChannels(moments, from: 0, to: l), logvar: logvar)
    }

    /// Unscaled latents [B, 4, h, w] (divide model latents by `scalingFactor` first) -> image [B, 3, 8h, 8w].
    public func decode(_ latents: Tensor) -> Tensor {
        // diffusers compares the latent size with the latent tile; in pixels the comparison is the same.
        let f = config.downscale
        if tiling.tiles(height: latents.dim(2) * f, width: latents.dim(3) * f, tileSize: latentTileSize * f),
            let tiles = OverlappingTiles(inputSize: latentTileSize, outputSize: pixelTileSize)
        {
            return tiles.apply(latents, decodeLatents)
        }
        return decodeLatents(latents)
    }

    /// Mean and log-variance side by side on the channels, before clamping.
    private func encodeMoments(_ image: Tensor) -> Tensor {
        let moments = encoder(image)
        return quantConv.map { $0(moments) } ?? moments
    }

    private func decodeLatents(_ latents: Tensor) -> Tensor {
        decoder(postQuantConv.map { $0(latents) } ?? latents)
    }
}

/// The VAE's mid-block self-attention: one head over all pixels, with its own GroupNorm and a residual.
/// Accepts both diffusers' current key names (to_q, to_k, to_v, to_out.0) and the pre-0.14 names
/// (query, key, value, proj_attn) that older checkpoints such as early SD/RoentGen folders carry.
struct VAEAttention {
    let norm: GroupNorm
    let q: Linear, k: Linear, v: Linear, out: Linear

    init(_ p: ParameterScope, channels c: Int, groups: Int, names: Set<String>) throws {
        norm = try GroupNorm(p("group_norm"), groups: groups, channels: c, eps: 1e-6)
        let legacy = !p.has("to_q.weight", in: names) && p.has("query.weight", in: names)
        q = try Linear(p(legacy ? "query" : "to_q"), in: c, out: c)
        k = try Linear(p(legacy ? "key" : "to_k"), in: c, out: c)
        v = try Linear(p(legacy ? "value" : "to_v"), in: c, out: c)
        out = try Linear(p(legacy ? "proj_attn" : "to_out.0"), in: c, out: c)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        let t = nchwToTokens(norm(x))
        var y = tokensToNCHW(out(attention(q: q(t), k: k(t), v: v(t), heads: 1)), height: h, width: w)
        addInPlace(&y, x)
        return y
    }
}

/// UNetMidBlock2D of the VAE: resnet, attention, resnet (no time embedding, eps 1e-6).
struct VAEMidBlock {
    let resnet0: ResnetBlock2D, attention: VAEAttention?, resnet1: ResnetBlock2D

    init(_ p: ParameterScope, channels c: Int, config: VAEConfig, names: Set<String>) throws {
        resnet0 = try ResnetBlock2D(
            p("resnets.0"), in: c, out: c, tembChannels: nil, groups: config.normGroups, eps: 1e-6)
        attention =
            config.midBlockAttention
            ? try VAEAttention(p("attentions.0"), channels: c, groups: config.normGroups, names: names) : nil
        resnet1 = try ResnetBlock2D(
            p("resnets.1"), in: c, out: c, tembChannels: nil, groups: config.normGroups, eps: 1e-6)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnet0(x, tembSiLU: nil)
        if let attention { h = attention(h) }
        return resnet1(h, tembSiLU: nil)
    }
}

struct VAEEncoder {
    let convIn: Conv2d
    let blocks: [(resnets: [ResnetBlock2D], downsampler: Conv2d?)]
    let mid: VAEMidBlock
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ p: ParameterScope, config c: VAEConfig, names: Set<String>) throws {
        let ch = c.blockOutChannels, g = c.normGroups
        convIn = try Conv2d(p("conv_in"), in: c.inChannels, out: ch[0], kernel: 3)
        var blocks = [(resnets: [ResnetBlock2D], downsampler: Conv2d?)]()
        var inC = ch[0]
        for (i, outC) in ch.enumerated() {
            let b = p("down_blocks.\(i)")
            let resnets = try (0..<c.layersPerBlock).map {
                try ResnetBlock2D(
                    b("resnets.\($0)"), in: $0 == 0 ? inC : outC, out: outC, tembChannels: nil, groups: g, eps: 1e-6)
            }
            // Downsample2D with padding 0: pad right and bottom by one, then a 3x3 stride-2 convolution.
            let ds =
                i < ch.count - 1
                ? try Conv2d(
                    b("downsamplers.0.conv"), in: outC, out: outC, kernel: 3, stride: 2,
                    padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
                : nil
            blocks.append((resnets, ds))
            inC = outC
        }
        self.blocks = blocks
        mid = try VAEMidBlock(p("mid_block"), channels: ch[ch.count - 1], config: c, names: names)
        normOut = try GroupNorm(p("conv_norm_out"), groups: g, channels: ch[ch.count - 1], eps: 1e-6)
        convOut = try Conv2d(p("conv_out"), in: ch[ch.count - 1], out: 2 * c.latentChannels, kernel: 3)
    }

    func callAsFunction(_ image: Tensor) -> Tensor {
        var x = convIn(image)
        for block in blocks {
            for r in block.resnets { x = r(x, tembSiLU: nil) }
            if let ds = block.downsampler { x = ds(x) }
        }
        x = mid(x)
        return convOut(normOut(x, silu: true))
    }
}

struct VAEDecoder {
    let convIn: Conv2d
    let mid: VAEMidBlock
    let blocks: [(resnets: [ResnetBlock2D], upsampler: Conv2d?)]
    let normOut: GroupNorm
    let convOut: Conv2d

    init(_ p: ParameterScope, config c: VAEConfig, names: Set<String>) throws {
        let rev = Array(c.blockOutChannels.reversed()), g = c.normGroups
        convIn = try Conv2d(p("conv_in"), in: c.latentChannels, out: rev[0], kernel: 3)
        mid = try VAEMidBlock(p("mid_block"), channels: rev[0], config: c, names: names)
        var blocks = [(resnets: [ResnetBlock2D], upsampler: Conv2d?)]()
        var prev = rev[0]
        for (i, outC) in rev.enumerated() {
            let b = p("up_blocks.\(i)")
            let resnets = try (0..<(c.layersPerBlock + 1)).map {
                try ResnetBlock2D(
                    b("resnets.\($0)"), in: $0 == 0 ? prev : outC, out: outC, tembChannels: nil, groups: g, eps: 1e-6)
            }
            let us = i < rev.count - 1 ? try Conv2d(b("upsamplers.0.conv"), in: outC, out: outC, kernel: 3) : nil
            blocks.append((resnets, us))
            prev = outC
        }
        self.blocks = blocks
        normOut = try GroupNorm(p("conv_norm_out"), groups: g, channels: rev[rev.count - 1], eps: 1e-6)
        convOut = try Conv2d(p("conv_out"), in: rev[rev.count - 1], out: c.outChannels, kernel: 3)
    }

    /// Within a `TensorBufferPool` scope: each activation is recycled once the next is computed, so layers of the
    /// same size reuse each other's memory instead of fresh pages (see `TensorBufferPool`).
    func callAsFunction(_ z: Tensor) -> Tensor {
        TensorBufferPool.withScope { _ in
            var x = mid(convIn(z))
            func advance(_ next: Tensor) {
                var done = next
                swap(&done, &x)
                TensorBufferPool.recycle(&done)
            }
            for block in blocks {
                for r in block.resnets { advance(r(x, tembSiLU: nil)) }
                if let us = block.upsampler {
                    advance(upsampleNearest2x(x))
                    advance(us(x))
                }
            }
            advance(normOut(x, silu: true))
            return convOut(x)
        }
    }
}
