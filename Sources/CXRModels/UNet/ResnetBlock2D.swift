import CXRTensor

/// diffusers' ResnetBlock2D ("default" time-embedding norm, output scale 1): used by the UNet (with a time
/// embedding) and by the VAE (without one).
struct ResnetBlock2D {
    let norm1: GroupNorm, conv1: Conv2d
    let timeProj: Linear?
    let norm2: GroupNorm, conv2: Conv2d
    let shortcut: Conv2d?

    init(_ p: ParameterScope, in inC: Int, out outC: Int, tembChannels: Int?, groups: Int, eps: Float) throws {
        norm1 = try GroupNorm(p("norm1"), groups: groups, channels: inC, eps: eps)
        conv1 = try Conv2d(p("conv1"), in: inC, out: outC, kernel: 3)
        timeProj = try tembChannels.map { try Linear(p("time_emb_proj"), in: $0, out: outC) }
        norm2 = try GroupNorm(p("norm2"), groups: groups, channels: outC, eps: eps)
        conv2 = try Conv2d(p("conv2"), in: outC, out: outC, kernel: 3)
        shortcut = inC != outC ? try Conv2d(p("conv_shortcut"), in: inC, out: outC, kernel: 1) : nil
    }

    /// `tembSiLU` is SiLU(time embedding), [batch, temb]: computed once per UNet call, shared by all blocks.
    /// Each intermediate goes to `TensorBufferPool.recycle` as soon as it is used, where the next one of its size can
    /// take its memory (within a VAE decode's pool scope; elsewhere it is freed as before).
    func callAsFunction(_ x: Tensor, tembSiLU: Tensor?) -> Tensor {
        var normed = norm1(x, silu: true)
        var h = conv1(normed)
        TensorBufferPool.recycle(&normed)
        if let timeProj, let tembSiLU { h = addPerChannel(h, timeProj(tembSiLU)) }
        normed = norm2(h, silu: true)
        TensorBufferPool.recycle(&h)
        h = conv2(normed)
        TensorBufferPool.recycle(&normed)
        if let shortcut {
            var projected = shortcut(x)
            addInPlace(&h, projected)
            TensorBufferPool.recycle(&projected)
        } else {
            addInPlace(&h, x)
        }
        return h
    }
}
