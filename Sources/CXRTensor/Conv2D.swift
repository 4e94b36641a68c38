/// Zero padding of a 2-D convolution: top, bottom, left, right (asymmetric padding is what the VAE's
/// downsamplers use: (0, 1, 0, 1) then a stride-2 3x3 convolution without padding).
public struct Padding2D: Sendable, Equatable {
    public var top: Int, bottom: Int, left: Int, right: Int
    public init(top: Int, bottom: Int, left: Int, right: Int) {
        self.top = top; self.bottom = bottom; self.left = left; self.right = right
    }
    public static func same(_ p: Int) -> Padding2D { Padding2D(top: p, bottom: p, left: p, right: p) }
}

/// 2-D convolution, NCHW input, weight [O, C, kh, kw], as torch.nn.functional.conv2d (groups 1, dilation 1).
///
/// 1x1 stride-1 convolutions are a single GEMM. Others use im2col in bands of output rows so that the
/// column buffer stays near `maxColumnBytes` however large the image is.
public func conv2d(
    _ x: Tensor, weight: Tensor, bias: Tensor?, stride: Int = 1, padding: Padding2D = .same(0),
    maxColumnBytes: Int = 24 << 20
) -> Tensor {
    conv2d(x, weight: Weight(weight), bias: bias, stride: stride, padding: padding, maxColumnBytes: maxColumnBytes)
}

/// `conv2d` with a weight that may be stored as fp16/bf16 (widened into scratch once per call for fp32 GEMMs,
/// packed once as bf16 for `precision` bf16).
public func conv2d(
    _ x: Tensor, weight: Weight, bias: Tensor?, stride: Int = 1, padding: Padding2D = .same(0),
    maxColumnBytes: Int = 24 << 20, precision: GEMMPrecision = .fp32
) -> Tensor {
    Profiler.measure("conv2d") {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        let o = weight.shape[0], kh = weight.shape[2], kw = weight.shape[3]
        precondition(weight.shape[1] == c, "conv2d: input channels \(c) vs weight \(weight.shape)")
        let ho = (h + padding.top + padding.bottom - kh) / stride + 1
        let wo = (w + padding.left + padding.right - kw) / stride + 1
        let k = c * kh * kw
        let plane = ho * wo
        var out = Tensor(unfilled: [n, o, ho, wo])
        if kh == 3 && kw == 3 && stride == 1 && ConvolutionSettings.winograd
            && ho * wo >= ConvolutionSettings.winogradMinPixels
        {
            out.data.withUnsafeMutableBufferPointer { op in
                x.data.withUnsafeBufferPointer { xp in
                    if ConvolutionSettings.usesLargeTiles(channels: c, pixels: plane, precision: precision) {
                        winogradF4Conv3x3(
                            xp.baseAddress!, n: n, c: c, h: h, w: w, weight: weight, bias: bias,
                            padTop: padding.top, padLeft: padding.left, ho: ho, wo: wo, out: op.baseAddress!)
                    } else {
                        winogradConv3x3(
                            xp.baseAddress!, n: n, c: c, h: h, w: w, weight: weight, bias: bias,
                            padTop: padding.top, padLeft: padding.left, ho: ho, wo: wo, out: op.baseAddress!,
                            precision: precision)
                    }
                }
            }
            return out
        }
        let direct = kh == 1 && kw == 1 && stride == 1 && padding == .same(0)
        let bandRows = max(1, min(ho, maxColumnBytes / max(1, k * wo * 4)))
        var cols = direct ? [] : [Float](repeating: 0, count: k * bandRows * wo)
        out.data.withUnsafeMutableBufferPointer { op in
            x.data.withUnsafeBufferPointer { xp in
                weight.withOperand(precision, side: .a, transposed: false) { wp in
                    cols.withUnsafeMutableBufferPointer { cp in
                        for b in 0..<n {
                            let xb = xp.baseAddress! + b * c * h * w
                            let ob = op.baseAddress! + b * o * plane
                            if let bias {
                                for oc in 0..<o {
                                    let v = bias.data[oc]
                                    (ob + oc * plane).update(repeating: v, count: plane)
                                }
                            }
                            let beta: Float = bias == nil ? 0 : 1
                            if direct {
                                gemm(
                                    precision, m: o, n: plane, k: c, a: wp,
                                    b: .floats(xb, ld: plane, transposed: false), beta: beta, c: ob, ldc: plane)
                                continue
                            }
                            var oy0 = 0
                            while oy0 < ho {
                                let rows = min(bandRows, ho - oy0)
                                let p = rows * wo
                                im2colBand(
                                    xb, c: c, h: h, w: w, kh: kh, kw: kw, stride: stride, padding: padding,
                                    oy0: oy0, rows: rows, wo: wo, cols: cp.baseAddress!)
                                gemm(
                                    precision, m: o, n: p, k: k, a: wp,
                                    b: .floats(cp.baseAddress!, ld: p, transposed: false), beta: beta,
                                    c: ob + oy0 * wo, ldc: plane)
                                oy0 += rows
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Fills cols[(ci*kh+ky)*kw+kx][r*wo+ox] = x[ci][oy*stride - top + ky][ox*stride - left + kx] for oy in the band.
private func im2colBand(
    _ x: UnsafePointer<Float>, c: Int, h: Int, w: Int, kh: Int, kw: Int, stride: Int,
    padding: Padding2D, oy0: Int, rows: Int, wo: Int, cols: UnsafeMutablePointer<Float>
) {
    let p = rows * wo
    nonisolated(unsafe) let cols = cols
    Parallel.for(c * kh * kw, minChunk: 4) { row in
        let kx = row % kw, ky = (row / kw) % kh, ci = row / (kw * kh)
        let dst = cols + row * p
        let src = x + ci * h * w
        for r in 0..<rows {
            let iy = (oy0 + r) * stride - padding.top + ky
            let d = dst + r * wo
            if iy < 0 || iy >= h {
                d.update(repeating: 0, count: wo)
                continue
            }
            let srow = src + iy * w
            if stride == 1 {
                // Valid ox range: 0 <= ox - left + kx < w.
                let lo = max(0, padding.left - kx), hi = min(wo, w + padding.left - kx)
                if hi <= lo {
                    d.update(repeating: 0, count: wo)
                    continue
                }
                if lo > 0 { d.update(repeating: 0, count: lo) }
                if hi > lo { (d + lo).update(from: srow + (lo - padding.left + kx), count: hi - lo) }
                if hi < wo { (d + hi).update(repeating: 0, count: wo - hi) }
            } else {
                for ox in 0..<wo {
                    let ix = ox * stride - padding.left + kx
                    d[ox] = (ix >= 0 && ix < w) ? srow[ix] : 0
                }
            }
        }
    }
}
