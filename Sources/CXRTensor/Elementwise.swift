/// Elementwise arithmetic and layout helpers used between layers.

/// a + b (same shape).
public func add(_ a: Tensor, _ b: Tensor) -> Tensor {
    var y = a
    addInPlace(&y, b)
    return y
}

/// a += b (same shape).
public func addInPlace(_ a: inout Tensor, _ b: Tensor) {
    Profiler.measure("add") {
        precondition(a.shape == b.shape, "add: \(a.shape) vs \(b.shape)")
        a.data.withUnsafeMutableBufferPointer { ap in
            b.data.withUnsafeBufferPointer { bp in
                nonisolated(unsafe) let ap = ap, bp = bp
                Parallel.ranges(ap.count, minChunk: 1 << 15) { lo, hi in
                    for i in lo..<hi { ap[i] += bp[i] }
                }
            }
        }
    }
}

/// x * s.
public func scaled(_ x: Tensor, _ s: Float) -> Tensor {
    var y = x
    y.data.withUnsafeMutableBufferPointer { p in
        for i in 0..<p.count { p[i] *= s }
    }
    return y
}

/// x [N, C, ...] + v [N, C] broadcast over the trailing (spatial) dimensions.
public func addPerChannel(_ x: Tensor, _ v: Tensor) -> Tensor {
    Profiler.measure("addPerChannel") {
        let n = x.shape[0], c = x.shape[1]
        precondition(v.count == n * c, "addPerChannel: \(x.shape) vs \(v.shape)")
        let spatial = x.count / (n * c)
        var y = x
        y.data.withUnsafeMutableBufferPointer { p in
            for i in 0..<(n * c) {
                let val = v.data[i]
                let base = p.baseAddress! + i * spatial
                for j in 0..<spatial { base[j] += val }
            }
        }
        return y
    }
}

/// Concatenation along dimension 1 (channels) of NCHW tensors (or [N, C, ...] generally).
public func concatChannels(_ a: Tensor, _ b: Tensor) -> Tensor {
    Profiler.measure("concat") {
        let n = a.shape[0]
        precondition(
            b.shape[0] == n && Array(a.shape.dropFirst(2)) == Array(b.shape.dropFirst(2)),
            "concatChannels: \(a.shape) vs \(b.shape)")
        let pa = a.count / n, pb = b.count / n
        var data = [Float]()
        data.reserveCapacity(a.count + b.count)
        for i in 0..<n {
            data.append(contentsOf: a.data[(i * pa)..<((i + 1) * pa)])
            data.append(contentsOf: b.data[(i * pb)..<((i + 1) * pb)])
        }
        var s = a.shape
        s[1] = a.shape[1] + b.shape[1]
        return Tensor(shape: s, data: data)
    }
}

/// Slices channels [from, to) of an [N, C, ...] tensor.
public func sliceChannels(_ x: Tensor, from: Int, to: Int) -> Tensor {
    let n = x.shape[0], c = x.shape[1]
    let per = x.count / (n * c)
    var data = [Float]()
    data.reserveCapacity(n * (to - from) * per)
    for i in 0..<n { data.append(contentsOf: x.data[((i * c + from) * per)..<((i * c + to) * per)]) }
    var s = x.shape
    s[1] = to - from
    return Tensor(shape: s, data: data)
}

/// NCHW -> N(HW)C: the token layout of the UNet's transformer blocks.
public func nchwToTokens(_ x: Tensor) -> Tensor {
    let n = x.shape[0], c = x.shape[1], hw = x.shape[2] * x.shape[3]
    return transposed(x, count: n, channels: c, positions: hw, toTokens: true, shape: [n, hw, c])
}

/// N(HW)C -> NCHW.
public func tokensToNCHW(_ x: Tensor, height: Int, width: Int) -> Tensor {
    let n = x.shape[0], hw = x.shape[1], c = x.shape[2]
    return transposed(x, count: n, channels: c, positions: hw, toTokens: false, shape: [n, c, height, width])
}

/// Planes [channels, positions] <-> tokens [positions, channels], `count` of each, in tiles of 64 channels x 32
/// positions. The planes are walked along their rows and the tokens across them, with a stride of `channels`:
/// a stride of `positions` (a power of two at the usual image sizes) would crowd a tile's cache lines into a few
/// cache sets. A tile's lines stay in cache until it is done; on 2 cores the untiled, single-threaded loops took
/// 1.2 to 9 times as long on the UNet's and the VAE's shapes.
private func transposed(
    _ x: Tensor, count n: Int, channels c: Int, positions hw: Int, toTokens: Bool, shape: [Int]
) -> Tensor {
    Profiler.measure("transpose") {
        let channelTile = 64, positionTile = 32
        let channelTiles = (c + channelTile - 1) / channelTile
        var out = Tensor(unfilled: shape)
        out.data.withUnsafeMutableBufferPointer { o in
            x.data.withUnsafeBufferPointer { s in
                nonisolated(unsafe) let o = o, s = s
                Parallel.for(n * channelTiles) { job in
                    let src = s.baseAddress! + job / channelTiles * c * hw
                    let dst = o.baseAddress! + job / channelTiles * c * hw
                    let ch0 = job % channelTiles * channelTile, ch1 = min(c, ch0 + channelTile)
                    for p0 in stride(from: 0, to: hw, by: positionTile) {
                        let p1 = min(hw, p0 + positionTile)
                        for ch in ch0..<ch1 {
                            if toTokens {
                                for p in p0..<p1 { dst[p * c + ch] = src[ch * hw + p] }
                            } else {
                                for p in p0..<p1 { dst[ch * hw + p] = src[p * c + ch] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}

/// Nearest-neighbour 2x upsampling of NCHW (torch.nn.functional.interpolate(scale_factor=2, mode="nearest")).
public func upsampleNearest2x(_ x: Tensor) -> Tensor {
    Profiler.measure("upsample") {
        let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
        var out = Tensor(unfilled: [n, c, 2 * h, 2 * w])
        out.data.withUnsafeMutableBufferPointer { o in
            x.data.withUnsafeBufferPointer { s in
                nonisolated(unsafe) let o = o, s = s
                Parallel.for(n * c, minChunk: 4) { plane in
                    let src = s.baseAddress! + plane * h * w
                    let dst = o.baseAddress! + plane * 4 * h * w
                    for y in 0..<h {
                        let row = dst + 2 * y * 2 * w
                        for xx in 0..<w {
                            let v = src[y * w + xx]
                            row[2 * xx] = v
                            row[2 * xx + 1] = v
                        }
                        (row + 2 * w).update(from: row, count: 2 * w)
                    }
                }
            }
        }
        return out
    }
}

/// Nearest-neighbour resize of NCHW to (height, width), as torch's interpolate(mode="nearest"):
/// source index = floor(dst * in / out).
public func upsampleNearest(_ x: Tensor, height oh: Int, width ow: Int) -> Tensor {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    if oh == 2 * h && ow == 2 * w { return upsampleNearest2x(x) }
    var out = Tensor(zeros: [n, c, oh, ow])
    let sy = Float(h) / Float(oh), sx = Float(w) / Float(ow)
    for plane in 0..<(n * c) {
        for y in 0..<oh {
            let iy = min(h - 1, Int(Float(y) * sy))
            for xx in 0..<ow {
                let ix = min(w - 1, Int(Float(xx) * sx))
                out.data[(plane * oh + y) * ow + xx] = x.data[(plane * h + iy) * w + ix]
            }
        }
    }
    return out
}
