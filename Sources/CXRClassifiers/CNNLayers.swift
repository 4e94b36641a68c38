import CXRCheckpoint
import CXRTensor
import Foundation

/// Inference-time BatchNorm2d folded into one scale and shift per channel:
/// y = x * (weight / sqrt(running_var + eps)) + (bias - running_mean * scale), as PyTorch's eval mode computes.
struct FoldedBatchNorm {
    let scale: [Float]
    let shift: [Float]

    var channels: Int { scale.count }

    init(weight: Tensor, bias: Tensor, mean: Tensor, variance: Tensor, eps: Float = 1e-5) {
        var scale = [Float](repeating: 0, count: weight.count)
        var shift = [Float](repeating: 0, count: weight.count)
        for c in 0..<weight.count {
            let s = weight.data[c] / (variance.data[c] + eps).squareRoot()
            scale[c] = s
            shift[c] = bias.data[c] - mean.data[c] * s
        }
        self.scale = scale
        self.shift = shift
    }

    /// Loads `<prefix>.weight/.bias/.running_mean/.running_var` (shape-checked).
    init(_ w: WeightReader, _ prefix: String, channels: Int, eps: Float = 1e-5) throws {
        self.init(
            weight: try w.tensor("\(prefix).weight", shape: [channels]),
            bias: try w.tensor("\(prefix).bias", shape: [channels]),
            mean: try w.tensor("\(prefix).running_mean", shape: [channels]),
            variance: try w.tensor("\(prefix).running_var", shape: [channels]), eps: eps)
    }

    /// BatchNorm followed (optionally) by ReLU, NCHW.
    func apply(_ x: Tensor, relu: Bool) -> Tensor {
        var out = x
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        out.data.withUnsafeMutableBufferPointer { o in
            for b in 0..<n {
                for ch in 0..<c {
                    let s = scale[ch], t = shift[ch]
                    let base = (b * c + ch) * plane
                    if relu {
                        for i in base..<(base + plane) { o[i] = max(o[i] * s + t, 0) }
                    } else {
                        for i in base..<(base + plane) { o[i] = o[i] * s + t }
                    }
                }
            }
        }
        return out
    }
}

enum CNN {
    /// Elementwise max(x, 0).
    static func relu(_ x: Tensor) -> Tensor {
        var out = x
        out.data.withUnsafeMutableBufferPointer { o in
            for i in 0..<o.count { o[i] = max(o[i], 0) }
        }
        return out
    }

    /// torch.nn.MaxPool2d(kernel, stride, padding) with implicit -infinity padding (floor output size).
    static func maxPool(_ x: Tensor, kernel: Int, stride: Int, padding: Int) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let ho = (h + 2 * padding - kernel) / stride + 1
        let wo = (w + 2 * padding - kernel) / stride + 1
        var out = Tensor(zeros: [n, c, ho, wo])
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                for p in 0..<(n * c) {
                    let src = p * h * w, dst = p * ho * wo
                    for oy in 0..<ho {
                        let y0 = max(0, oy * stride - padding), y1 = min(h, oy * stride - padding + kernel)
                        for ox in 0..<wo {
                            let x0 = max(0, ox * stride - padding), x1 = min(w, ox * stride - padding + kernel)
                            var m = -Float.infinity
                            for yy in y0..<y1 {
                                for xx in x0..<x1 { m = max(m, xp[src + yy * w + xx]) }
                            }
                            op[dst + oy * wo + ox] = m
                        }
                    }
                }
            }
        }
        return out
    }

    /// torch.nn.AvgPool2d(kernel_size=2, stride=2) (no padding, floor output size).
    static func avgPool2x2(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let ho = h / 2, wo = w / 2
        var out = Tensor(zeros: [n, c, ho, wo])
        x.data.withUnsafeBufferPointer { xp in
            out.data.withUnsafeMutableBufferPointer { op in
                for p in 0..<(n * c) {
                    let src = p * h * w, dst = p * ho * wo
                    for oy in 0..<ho {
                        for ox in 0..<wo {
                            let i = src + 2 * oy * w + 2 * ox
                            op[dst + oy * wo + ox] = (xp[i] + xp[i + 1] + xp[i + w] + xp[i + w + 1]) / 4
                        }
                    }
                }
            }
        }
        return out
    }

    /// Mean over H and W: [N, C, H, W] -> [N, C] (adaptive_avg_pool2d to 1x1, then flatten).
    static func globalAveragePool(_ x: Tensor) -> Tensor {
        let n = x.shape[0], c = x.shape[1], plane = x.shape[2] * x.shape[3]
        var out = Tensor(zeros: [n, c])
        x.data.withUnsafeBufferPointer { xp in
            for p in 0..<(n * c) {
                var acc: Double = 0
                for i in (p * plane)..<((p + 1) * plane) { acc += Double(xp[i]) }
                out.data[p] = Float(acc / Double(plane))
            }
        }
        return out
    }

    /// Concatenates NCHW tensors along channels.
    static func concatChannels(_ parts: [Tensor]) -> Tensor {
        let n = parts[0].shape[0], h = parts[0].shape[2], w = parts[0].shape[3], plane = h * w
        let total = parts.reduce(0) { $0 + $1.shape[1] }
        var out = Tensor(zeros: [n, total, h, w])
        out.data.withUnsafeMutableBufferPointer { op in
            for b in 0..<n {
                var offset = b * total * plane
                for t in parts {
                    let len = t.shape[1] * plane
                    t.data.withUnsafeBufferPointer { tp in
                        (op.baseAddress! + offset).update(from: tp.baseAddress! + b * len, count: len)
                    }
                    offset += len
                }
            }
        }
        return out
    }

    static func sigmoid(_ v: Float) -> Float { 1 / (1 + Foundation.exp(-v)) }
}
