import CXRTensor

/// diffusers' `Attention` as used in BasicTransformerBlock: to_q/to_k/to_v without bias, to_out.0 with bias.
struct CrossAttention {
    let q: Linear, k: Linear, v: Linear, out: Linear
    let heads: Int

    init(_ p: ParameterScope, queryDim: Int, contextDim: Int, heads: Int, headDim: Int, qkvBias: Bool = false) throws {
        let inner = heads * headDim
        q = try Linear(p("to_q"), in: queryDim, out: inner, bias: qkvBias)
        k = try Linear(p("to_k"), in: contextDim, out: inner, bias: qkvBias)
        v = try Linear(p("to_v"), in: contextDim, out: inner, bias: qkvBias)
        out = try Linear(p("to_out.0"), in: inner, out: queryDim)
        self.heads = heads
    }

    /// x [B, L, C]; context [B, Lk, Cc] or nil for self-attention. In the projections' precision: float32 (so
    /// `upcast_attention` needs no separate path), or under bf16 with bf16 products and a float32 softmax, as
    /// PyTorch's bf16 autocast.
    func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
        let ctx = context ?? x
        return out(attention(q: q(x), k: k(ctx), v: v(ctx), heads: heads, precision: q.precision))
    }
}

/// diffusers' BasicTransformerBlock (layer_norm, GEGLU feed-forward): self-attention, cross-attention, MLP.
struct BasicTransformerBlock {
    let norm1: LayerNorm, attn1: CrossAttention
    let norm2: LayerNorm, attn2: CrossAttention
    let norm3: LayerNorm, ffIn: Linear, ffOut: Linear

    init(_ p: ParameterScope, dim: Int, contextDim: Int, heads: Int) throws {
        let headDim = dim / heads
        norm1 = try LayerNorm(p("norm1"), dim: dim, eps: 1e-5)
        attn1 = try CrossAttention(p("attn1"), queryDim: dim, contextDim: dim, heads: heads, headDim: headDim)
        norm2 = try LayerNorm(p("norm2"), dim: dim, eps: 1e-5)
        attn2 = try CrossAttention(p("attn2"), queryDim: dim, contextDim: contextDim, heads: heads, headDim: headDim)
        norm3 = try LayerNorm(p("norm3"), dim: dim, eps: 1e-5)
        ffIn = try Linear(p("ff.net.0.proj"), in: dim, out: dim * 8)
        ffOut = try Linear(p("ff.net.2"), in: dim * 4, out: dim)
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        var h = add(x, attn1(norm1(x)))
        addInPlace(&h, attn2(norm2(h), context: context))
        addInPlace(&h, ffOut(geglu(ffIn(norm3(h)))))
        return h
    }
}

/// diffusers' Transformer2DModel for continuous (latent) inputs: GroupNorm, proj_in (1x1 conv in SD 1.x,
/// linear in SD 2.x), transformer blocks over the H*W tokens, proj_out, residual.
struct Transformer2D {
    let norm: GroupNorm
    let projInConv: Conv2d?, projInLinear: Linear?
    let projOutConv: Conv2d?, projOutLinear: Linear?
    let blocks: [BasicTransformerBlock]

    init(
        _ p: ParameterScope, channels: Int, heads: Int, layers: Int, contextDim: Int, groups: Int,
        linearProjection: Bool
    ) throws {
        norm = try GroupNorm(p("norm"), groups: groups, channels: channels, eps: 1e-6)
        if linearProjection {
            projInLinear = try Linear(p("proj_in"), in: channels, out: channels)
            projOutLinear = try Linear(p("proj_out"), in: channels, out: channels)
            projInConv = nil; projOutConv = nil
        } else {
            projInConv = try Conv2d(p("proj_in"), in: channels, out: channels, kernel: 1)
            projOutConv = try Conv2d(p("proj_out"), in: channels, out: channels, kernel: 1)
            projInLinear = nil; projOutLinear = nil
        }
        blocks = try (0..<layers).map {
            try BasicTransformerBlock(
                p("transformer_blocks.\($0)"), dim: channels, contextDim: contextDim, heads: heads)
        }
    }

    func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
        let h = x.shape[2], w = x.shape[3]
        var t: Tensor
        let n = norm(x)
        if let projInConv { t = nchwToTokens(projInConv(n)) } else { t = projInLinear!(nchwToTokens(n)) }
        for block in blocks { t = block(t, context: context) }
        var out: Tensor
        if let projOutLinear {
            out = tokensToNCHW(projOutLinear(t), height: h, width: w)
        } else {
            out = projOutConv!(tokensToNCHW(t, height: h, width: w))
        }
        addInPlace(&out, x)
        return out
    }
}
