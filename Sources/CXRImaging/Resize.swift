import Foundation

/// Resampling filters for `FloatPlanes.resized`.
public enum ResampleFilter: String, Sendable, CaseIterable {
    /// Pillow's NEAREST: source index `Int((i + 0.5) * in / out)`, no antialiasing.
    case nearest
    /// Triangle filter, support 1.
    case bilinear
    /// Keys cubic with a = -0.5, support 2.
    case bicubic
    /// Lanczos-3 (windowed sinc), support 3. diffusers' default for PIL resizing.
    case lanczos

    var support: Double {
        switch self {
        case .nearest: return 0
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    func weight(_ x: Double) -> Double {
        switch self {
        case .nearest:
            return 1
        case .bilinear:
            let a = abs(x)
            return a < 1 ? 1 - a : 0
        case .bicubic:
            let a = -0.5, t = abs(x)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return (((t - 5) * t + 8) * t - 4) * a }
            return 0
        case .lanczos:
            guard x > -3 && x < 3 else { return 0 }
            return sinc(x) * sinc(x / 3)
        }
    }

    private func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let p = Double.pi * x
        return sin(p) / p
    }
}

/// Planar float image (CHW) in any value range: the working format for geometry.
public struct FloatPlanes: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let channels: Int
    /// `channels * height * width` values, plane after plane.
    public var data: [Float]

    public init(width: Int, height: Int, channels: Int, data: [Float]) throws {
        guard width > 0, height > 0, channels > 0, data.count == width * height * channels else {
            throw ImageError(
                file: "", "float planes (\(data.count) values) do not match \(width)x\(height)x\(channels)")
        }
        self.width = width
        self.height = height
        self.channels = channels
        self.data = data
    }

    init(unchecked width: Int, _ height: Int, _ channels: Int, _ data: [Float]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.data = data
    }

    /// Per-output-pixel contribution lists, computed like Pillow's `precompute_coeffs`: the filter
    /// support is widened by the downscale factor (antialiasing), taps are centred at
    /// `(i + 0.5) * scale`, and weights are normalised to sum to 1. Weights are computed in
    /// double precision (Pillow's float-image path).
    static func coefficients(inSize: Int, outSize: Int, filter: ResampleFilter) -> [(start: Int, weights: [Float])] {
        let scale = Double(inSize) / Double(outSize)
        if filter == .nearest {
            return (0..<outSize).map { i in (min(inSize - 1, Int((Double(i) + 0.5) * scale)), [Float(1)]) }
        }
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        return (0..<outSize).map { i -> (start: Int, weights: [Float]) in
            let center = (Double(i) + 0.5) * scale
            let lo = max(0, Int(center - support + 0.5))
            let hi = min(inSize, Int(center + support + 0.5))
            var w: [Double] = []
            var total = 0.0
            for x in lo..<max(lo, hi) {
                let v = filter.weight((Double(x) - center + 0.5) / filterScale)
                w.append(v)
                total += v
            }
            if w.isEmpty { return (min(lo, inSize - 1), [1]) }
            return (lo, w.map { Float(total != 0 ? $0 / total : $0) })
        }
    }

    /// Separable resampling, horizontal pass first then vertical (Pillow's order). Intermediate
    /// values are kept in float (no 8-bit rounding between passes, unlike Pillow's 8-bit path,
    /// so 8-bit results can differ from Pillow by about one level).
    public func resized(width outW: Int, height outH: Int, filter: ResampleFilter) throws -> FloatPlanes {
        guard outW > 0, outH > 0, outW <= 1 << 16, outH <= 1 << 16 else {
            throw ImageError(file: "", "invalid resize target \(outW)x\(outH)")
        }
        if outW == width && outH == height { return self }
        var cur = self
        if outW != width {
            let coeffs = FloatPlanes.coefficients(inSize: width, outSize: outW, filter: filter)
            var out = [Float](repeating: 0, count: channels * height * outW)
            cur.data.withUnsafeBufferPointer { src in
                for row in 0..<(channels * height) {
                    let s = row * width, d = row * outW
                    for x in 0..<outW {
                        let (start, w) = coeffs[x]
                        var acc: Float = 0
                        for k in 0..<w.count { acc += src[s + start + k] * w[k] }
                        out[d + x] = acc
                    }
                }
            }
            cur = FloatPlanes(unchecked: outW, height, channels, out)
        }
        if outH != height {
            let coeffs = FloatPlanes.coefficients(inSize: height, outSize: outH, filter: filter)
            let w = cur.width
            var out = [Float](repeating: 0, count: channels * outH * w)
            cur.data.withUnsafeBufferPointer { src in
                for c in 0..<channels {
                    let base = c * height * w, obase = c * outH * w
                    for y in 0..<outH {
                        let (start, wt) = coeffs[y]
                        for x in 0..<w {
                            var acc: Float = 0
                            for k in 0..<wt.count { acc += src[base + (start + k) * w + x] * wt[k] }
                            out[obase + y * w + x] = acc
                        }
                    }
                }
            }
            cur = FloatPlanes(unchecked: w, outH, channels, out)
        }
        return cur
    }
}

extension RasterImage {
    /// Raw sample values as float planes (no normalisation).
    public func floatPlanes() -> FloatPlanes {
        let n = pixelCount
        var out = [Float](repeating: 0, count: n * channels)
        for c in 0..<channels { for i in 0..<n { out[c * n + i] = Float(samples[i * channels + c]) } }
        return FloatPlanes(unchecked: width, height, channels, out)
    }

    /// Rounds float planes of raw sample values back to an image, clamping to the valid range.
    public init(planes p: FloatPlanes, bitDepth: Int) throws {
        guard p.channels == 1 || p.channels == 3, bitDepth == 8 || bitDepth == 16 else {
            throw ImageError(file: "", "cannot make a \(p.channels)-channel \(bitDepth)-bit image")
        }
        let maxV = Float(bitDepth == 16 ? 65535 : 255)
        let n = p.width * p.height
        var out = [UInt16](repeating: 0, count: n * p.channels)
        for c in 0..<p.channels {
            for i in 0..<n {
                let v = p.data[c * n + i]
                out[i * p.channels + c] = v > 0 ? UInt16(min(v, maxV).rounded()) : 0
            }
        }
        self.init(unchecked: p.width, p.height, p.channels, bitDepth, out)
    }

    /// Resized copy (see `FloatPlanes.resized` for the filter semantics).
    public func resized(width w: Int, height h: Int, filter: ResampleFilter) throws -> RasterImage {
        try RasterImage(planes: floatPlanes().resized(width: w, height: h, filter: filter), bitDepth: bitDepth)
    }
}
