import Foundation

/// A grey image as floats in [0, 1], for image-quality metrics.
public struct GrayPlane: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) throws {
        guard width > 0, height > 0, values.count == width * height else {
            throw ImageError(file: "", "image plane of \(values.count) values does not match \(width)x\(height)")
        }
        self.width = width; self.height = height; self.values = values
    }

    /// Luma of any raster image (8/16-bit, grey/RGB), scaled by its maximum value.
    public init(_ image: RasterImage) {
        let g = image.toGray()
        width = g.width; height = g.height
        let m = Float(g.maxValue)
        values = g.samples.map { Float($0) / m }
    }

    /// 2x2 box average (odd last row/column dropped), as MS-SSIM downsamples between scales.
    func halved() -> GrayPlane? {
        let w = width / 2, h = height / 2
        guard w > 0, h > 0 else { return nil }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            for x in 0..<w {
                let i = 2 * y * width + 2 * x
                out[y * w + x] = (values[i] + values[i + 1] + values[i + width] + values[i + width + 1]) / 4
            }
        }
        return try? GrayPlane(width: w, height: h, values: out)
    }
}

/// Full-reference image quality measures (PSNR, SSIM, MS-SSIM) used to check that a counterfactual changed only what it should.
///
/// "Outside the edit region" metrics compare the counterfactual to the original where the edit was not meant to
/// act: a faithful regional edit leaves them untouched (PSNR infinite, SSIM 1).
public enum ImageQuality {
    /// Fraction of pixels (where `region` is >= 0.5, or all) whose value changed by more than `threshold` of full
    /// scale: how much of the image an edit touched.
    public static func changedFraction(
        _ a: GrayPlane, _ b: GrayPlane, threshold: Float = 0.02, inside region: Mask? = nil
    ) throws -> Double {
        try checkSizes(a, b, region)
        var n = 0, changed = 0
        for i in 0..<a.values.count where region.map({ $0.values[i] >= 0.5 }) ?? true {
            n += 1
            if abs(a.values[i] - b.values[i]) > threshold { changed += 1 }
        }
        return n == 0 ? 0 : Double(changed) / Double(n)
    }

    /// Mean squared error over pixels where `region` is < 0.5 (all pixels without a region); nil if none.
    public static func mse(_ a: GrayPlane, _ b: GrayPlane, outside region: Mask? = nil) throws -> Double? {
        try checkSizes(a, b, region)
        var sum = 0.0, n = 0
        for i in 0..<a.values.count where region.map({ $0.values[i] < 0.5 }) ?? true {
            let d = Double(a.values[i]) - Double(b.values[i])
            sum += d * d; n += 1
        }
        return n == 0 ? nil : sum / Double(n)
    }

    /// PSNR in dB for signals in [0, 1]: 10 log10(1 / MSE); +infinity for identical pixels, nil with no pixels.
    public static func psnr(_ a: GrayPlane, _ b: GrayPlane, outside region: Mask? = nil) throws -> Double? {
        guard let m = try mse(a, b, outside: region) else { return nil }
        return m == 0 ? .infinity : 10 * log10(1 / m)
    }

    /// Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, data range 1) over
    /// the windows that lie wholly outside `region` (so an untouched outside scores exactly 1); when no window fits
    /// outside, over windows whose centre is outside. The window shrinks for images under 11 px.
    public static func ssim(_ a: GrayPlane, _ b: GrayPlane, outside region: Mask? = nil) throws -> Double? {
        try checkSizes(a, b, region)
        let maps = ssimMaps(a, b)
        func average(_ excluded: [Bool]?) -> Double? {
            var sum = 0.0, n = 0
            for y in 0..<maps.h {
                for x in 0..<maps.w {
                    if let excluded, excluded[(y + maps.radius) * a.width + x + maps.radius] { continue }
                    sum += maps.ssim[y * maps.w + x]; n += 1
                }
            }
            return n == 0 ? nil : sum / Double(n)
        }
        guard let region else { return average(nil) }
        let inside = region.values.map { $0 >= 0.5 }
        return average(dilate(inside, width: a.width, height: a.height, radius: maps.radius)) ?? average(inside)
    }

    /// Square dilation by `radius` (separable running maximum).
    static func dilate(_ m: [Bool], width w: Int, height h: Int, radius r: Int) -> [Bool] {
        guard r > 0 else { return m }
        var rows = [Bool](repeating: false, count: m.count)
        for y in 0..<h {
            for x in 0..<w where m[y * w + x] {
                for k in max(0, x - r)...min(w - 1, x + r) { rows[y * w + k] = true }
            }
        }
        var out = [Bool](repeating: false, count: m.count)
        for y in 0..<h {
            for x in 0..<w where rows[y * w + x] {
                for k in max(0, y - r)...min(h - 1, y + r) { out[k * w + x] = true }
            }
        }
        return out
    }

    /// Multi-scale SSIM (Wang, Simoncelli & Bovik 2003) with the standard five weights, as RoentGen uses it to
    /// measure the diversity of images generated from one prompt (lower = more diverse). Scales that would
    /// leave less than one window are dropped and the remaining weights renormalised. Negative contrast terms
    /// are clamped to 0 (as pytorch-msssim does) so the product stays defined.
    public static func msssim(_ a: GrayPlane, _ b: GrayPlane) throws -> Double {
        try checkSizes(a, b, nil)
        let weights = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333]
        var x = a, y = b
        var levels = 1
        while levels < weights.count, min(x.width, x.height) / (1 << levels) >= 11 { levels += 1 }
        let w = Array(weights.prefix(levels))
        let total = w.reduce(0, +)
        var result = 1.0
        for level in 0..<levels {
            let maps = ssimMaps(x, y)
            let exponent = w[level] / total
            if level == levels - 1 {
                result *= pow(max(mean(maps.ssim), 0), exponent)
            } else {
                result *= pow(max(mean(maps.cs), 0), exponent)
                guard let nx = x.halved(), let ny = y.halved() else { break }
                x = nx; y = ny
            }
        }
        return result
    }

    static func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }

    static func checkSizes(_ a: GrayPlane, _ b: GrayPlane, _ region: Mask?) throws {
        guard a.width == b.width, a.height == b.height else {
            throw ImageError(
                file: "",
                "images of different sizes (\(a.width)x\(a.height) and \(b.width)x\(b.height)) cannot be compared")
        }
        if let region, region.width != a.width || region.height != a.height {
            throw ImageError(
                file: "",
                "the region mask (\(region.width)x\(region.height)) does not match the image (\(a.width)x\(a.height))")
        }
    }

    /// SSIM and contrast-structure maps at every valid window position.
    static func ssimMaps(_ a: GrayPlane, _ b: GrayPlane) -> (ssim: [Double], cs: [Double], w: Int, h: Int, radius: Int)
    {
        let m = min(11, a.width, a.height)
        let win = max(m % 2 == 1 ? m : m - 1, 1), radius = win / 2
        let sigma = 1.5
        var kernel = (0..<win).map { i -> Double in
            let d = Double(i - radius); return exp(-d * d / (2 * sigma * sigma))
        }
        let ks = kernel.reduce(0, +); kernel = kernel.map { $0 / ks }
        let W = a.width, H = a.height, ow = W - win + 1, oh = H - win + 1
        // Separable 'valid' filtering (rows then columns) over plain buffers: this runs on full-size radiographs.
        func filter(_ src: [Double]) -> [Double] {
            var tmp = [Double](repeating: 0, count: ow * H)
            var out = [Double](repeating: 0, count: ow * oh)
            src.withUnsafeBufferPointer { f in
                kernel.withUnsafeBufferPointer { k in
                    // Tap by tap across the row, as the column pass: each sum takes its terms in the same order as
                    // a per-pixel loop over the taps would (same bits), but the pixels are independent, so the loop
                    // vectorises; the per-pixel loop was one serial chain of adds and most of an edit report's time.
                    tmp.withUnsafeMutableBufferPointer { t in
                        for y in 0..<H {
                            let row = y * W, base = y * ow
                            for i in 0..<win {
                                let w = k[i]
                                for x in 0..<ow { t[base + x] += w * f[row + x + i] }
                            }
                        }
                    }
                    tmp.withUnsafeBufferPointer { t in
                        out.withUnsafeMutableBufferPointer { o in
                            for y in 0..<oh {
                                for i in 0..<win {
                                    let w = k[i], base = (y + i) * ow
                                    for x in 0..<ow { o[y * ow + x] += w * t[base + x] }
                                }
                            }
                        }
                    }
                }
            }
            return out
        }
        let n = W * H
        var pa = [Double](repeating: 0, count: n), pb = pa, p11 = pa, p22 = pa, p12 = pa
        for i in 0..<n {
            let x = Double(a.values[i]), y = Double(b.values[i])
            pa[i] = x; pb[i] = y; p11[i] = x * x; p22[i] = y * y; p12[i] = x * y
        }
        let mu1 = filter(pa), mu2 = filter(pb), s11 = filter(p11), s22 = filter(p22), s12 = filter(p12)
        let c1 = 0.01 * 0.01, c2 = 0.03 * 0.03
        var ssim = [Double](repeating: 0, count: ow * oh), cs = ssim
        for i in 0..<(ow * oh) {
            let m1 = mu1[i], m2 = mu2[i]
            let v1 = s11[i] - m1 * m1, v2 = s22[i] - m2 * m2, cov = s12[i] - m1 * m2
            let c = (2 * cov + c2) / (v1 + v2 + c2)
            cs[i] = c
            ssim[i] = (2 * m1 * m2 + c1) / (m1 * m1 + m2 * m2 + c1) * c
        }
        return (ssim, cs, ow, oh, radius)
    }
}
