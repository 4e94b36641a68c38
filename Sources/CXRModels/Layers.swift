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

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv2d(x, weight: weight, bias: bias, stride: stride, padding: padding, precision: precision)
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
