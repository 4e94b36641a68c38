import CVectorKernels
import Foundation

/// Elementwise activations, as PyTorch defines them.
public enum Activation: String, Sendable {
    case silu
    /// GELU with the exact erf (torch's default, `gelu`); the erf is `cxr_erf` (see `geglu`).
    case gelu
    /// GELU with the tanh approximation (`gelu_pytorch_tanh`, `gelu_new`).
    case geluTanh
    /// x * sigmoid(1.702 x), used by OpenAI CLIP (`quick_gelu`).
    case quickGelu
    /// max(x, 0), for the classifiers (no config name maps to it: no text encoder or UNet read here uses it).
    case relu
    /// 1 / (1 + e^-x): classifier outputs.
    case sigmoid

    /// Parses the `hidden_act` / `act_fn` names used in transformers and diffusers configs.
    public init?(configName: String) {
        switch configName {
        case "silu", "swish": self = .silu
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "quick_gelu": self = .quickGelu
        default: return nil
        }
    }

    @inline(__always)
    public func apply(_ v: Float) -> Float {
        switch self {
        case .silu: return v / (1 + expf(-v))
        case .gelu: return 0.5 * v * (1 + cxr_erf(v * 0.70710678118654752))
        case .geluTanh:
            return 0.5 * v * (1 + tanhf(0.79788456080286536 * (v + 0.044715 * v * v * v)))
        case .quickGelu: return v / (1 + expf(-1.702 * v))
        case .relu: return max(v, 0)
        case .sigmoid: return 1 / (1 + expf(-v))
        }
    }
}

/// Applies `act` elementwise in place.
public func applyActivation(_ x: inout Tensor, _ act: Activation) {
    x.data.withUnsafeMutableBufferPointer { p in
        nonisolated(unsafe) let p = p
        Parallel.ranges(p.count, minChunk: 1 << 14) { lo, hi in
            if act == .silu {
                FastMath.siluInPlace(p.baseAddress! + lo, count: hi - lo)
            } else {
                for i in lo..<hi { p[i] = act.apply(p[i]) }
            }
        }
    }
}

/// Returns act(x).
public func activated(_ x: Tensor, _ act: Activation) -> Tensor {
    var y = x
    applyActivation(&y, act)
    return y
}

/// GEGLU: x [..., 2D] -> value * gelu(gate) [..., D], where value is the first half and gate the second.
///
/// The GELU's erf is `cxr_erf` (CVectorKernels), not libm's `erff`: vectorised, within about an ulp of the exact
/// value, and the same bits on every CPU and in `Activation.gelu`. libm's scalar erff took a fifth of the bundled
/// model's UNet step.
public func geglu(_ x: Tensor) -> Tensor {
    Profiler.measure("geglu") {
        let d2 = x.shape.last!, d = d2 / 2
        let rows = x.count / d2
        var out = Tensor(unfilled: Array(x.shape.dropLast()) + [d])
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                nonisolated(unsafe) let op = op, xp = xp
                Parallel.for(rows, minChunk: 8) { r in
                    let s = xp.baseAddress! + r * d2
                    let o = op.baseAddress! + r * d
                    cxr_geglu(s, s + d, o, d)
                }
            }
        }
        return out
    }
}
