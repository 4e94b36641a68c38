import CXRTensor

/// torch.nn.Linear: weight [out, in], optional bias.
public struct Linear {
    public let weight: Weight
    public let bias: Tensor?
    /// The precision of its GEMM, from the scope it was built in.
    public let precision: GEMMPrecision

    public init(_ p: ParameterScope, in inF: Int, out outF: Int, bias: Bool = true) throws {
        weight = try p.weight("weight", shape: [outF, inF])
        self.bias = bias ? try p.tensor("bias", shape: [outF]) : nil
        precision = p.precision
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { linear(x, weight: weight, bias: bias, precision: precision) }
}

/// torch.nn.Conv2d with a square kernel, stride and padding.
public struct Conv2d {
    public let weight: Weight
    public let bias: Tensor?
    public let stride: Int
    public let padding: Padding2D
    /// The precision of its GEMMs, from the scope it was built in.
    public let precision: GEMMPrecision

    public init(
        _ p: ParameterScope, in inC: Int, out outC: Int, kernel: Int, stride: Int = 1,
        padding: Padding2D? = nil, bias: Bool = true
    ) throws {
        weight = try p.weight("weight", shape: [outC, inC, kernel, kernel])
        self.bias = bias ? try p.tensor("bias", shape: [outC]) : nil
        self.stride = stride
        self.padding = padding ?? .same(kernel / 2)
        precision = p.precision
    }

    private init(weight: Weight, bias: Tensor?, stride: Int, padding: Padding2D, precision: GEMMPrecision) {
        self.weight = weight
        self.bias = bias
        self.stride = stride
        self.padding = padding
        self.precision = precision
    }

    /// This convolution followed by `norm`, as one convolution: each output channel's kernel times its scale,
    /// its bias times the scale plus the shift (a BatchNorm in inference is an affine map per channel, so the
    /// pair costs one pass over the activations instead of two).
    public func folding(_ norm: BatchNorm2d) -> Conv2d {
        var kernels = weight.tensor
        let outC = kernels.shape[0], per = kernels.count / outC
        precondition(norm.channels == outC, "Conv2d.folding: \(outC) output channels vs \(norm.channels)")
        for o in 0..<outC { for j in 0..<per { kernels.data[o * per + j] *= norm.scale[o] } }
        let shift = bias.map { b in (0..<outC).map { b.data[$0] * norm.scale[$0] + norm.shift[$0] } } ?? norm.shift
        return Conv2d(
            weight: Weight(kernels), bias: Tensor(shape: [outC], data: shift), stride: stride, padding: padding,
            precision: precision)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, precision: precision)
    }
}

/// torch.nn.BatchNorm2d in inference (eval mode): the running statistics and the affine parameters folded into
/// one scale and shift per channel, `scale = weight / sqrt(running_var + eps)`, `shift = bias - running_mean *
/// scale`, as PyTorch computes them. `relu` fuses a following ReLU.
public struct BatchNorm2d {
    public let scale: [Float]
    public let shift: [Float]

    public var channels: Int { scale.count }

    public init(_ p: ParameterScope, channels: Int, eps: Float = 1e-5) throws {
        let weight = try p.tensor("weight", shape: [channels]), bias = try p.tensor("bias", shape: [channels])
        let mean = try p.tensor("running_mean", shape: [channels])
        let variance = try p.tensor("running_var", shape: [channels])
        var scale = [Float](repeating: 0, count: channels)
        var shift = [Float](repeating: 0, count: channels)
        for c in 0..<channels {
            scale[c] = weight.data[c] / (variance.data[c] + eps).squareRoot()
            shift[c] = bias.data[c] - mean.data[c] * scale[c]
        }
        self.scale = scale
        self.shift = shift
    }

    public func callAsFunction(_ x: Tensor, relu: Bool = false) -> Tensor {
        batchNorm(x, scale: scale, shift: shift, relu: relu)
    }
}

/// torch.nn.GroupNorm with affine parameters; `silu` fuses a following SiLU.
public struct GroupNorm {
    public let weight: Tensor
    public let bias: Tensor
    public let groups: Int
    public let eps: Float

    public init(_ p: ParameterScope, groups: Int, channels: Int, eps: Float) throws {
        weight = try p.tensor("weight", shape: [channels])
        bias = try p.tensor("bias", shape: [channels])
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor, silu: Bool = false) -> Tensor {
        groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps, silu: silu)
    }
}

/// torch.nn.LayerNorm over the last dimension.
public struct LayerNorm {
    public let weight: Tensor
    public let bias: Tensor
    public let eps: Float

    public init(_ p: ParameterScope, dim: Int, eps: Float) throws {
        weight = try p.tensor("weight", shape: [dim])
        bias = try p.tensor("bias", shape: [dim])
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { layerNorm(x, weight: weight, bias: bias, eps: eps) }
}
