import Foundation

/// How much an edit touched: the figures every edit reports about the part of the image it should have left alone.
public enum ImageMetrics {
    /// Grey planes in [0, 1] (RGB images are reduced to luma first).
    static func grey(_ image: RasterImage) -> [Double] {
        let g = image.toGray()
        let m = Double(g.maxValue)
        return g.samples.map { Double($0) / m }
    }

    static func checkSameSize(_ a: RasterImage, _ b: RasterImage, _ region: [Bool]?) throws {
        guard a.width == b.width, a.height == b.height else {
            throw ImageError(file: "", "cannot compare a \(a.width)x\(a.height) image with a \(b.width)x\(b.height) one")
        }
        if let region, region.count != a.pixelCount {
            throw ImageError(file: "", "region has \(region.count) values for \(a.pixelCount) pixels")
        }
    }

    /// Fraction of pixels (inside `region`, or all) whose grey value changed by more than `threshold` of full scale.
    public static func changedFraction(_ a: RasterImage, _ b: RasterImage, threshold: Double = 0.02, region: [Bool]? = nil) throws -> Double {
        try checkSameSize(a, b, region)
        let ga = grey(a), gb = grey(b)
        var n = 0, changed = 0
        for i in 0..<ga.count where region?[i] ?? true {
            n += 1
            if abs(ga[i] - gb[i]) > threshold { changed += 1 }
        }
        return n == 0 ? 0 : Double(changed) / Double(n)
    }

    /// PSNR in dB over the pixels where `region` is true (all pixels when nil); +infinity when identical.
    public static func psnr(_ a: RasterImage, _ b: RasterImage, region: [Bool]? = nil) throws -> Double {
        try checkSameSize(a, b, region)
        let ga = grey(a), gb = grey(b)
        var se = 0.0, n = 0
        for i in 0..<ga.count where region?[i] ?? true {
            let d = ga[i] - gb[i]
            se += d * d
            n += 1
        }
        guard n > 0, se > 0 else { return .infinity }
        return 10 * log10(1 / (se / Double(n)))
    }

    /// Mean SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 0.01, K2 0.03, data range 1) over the
    /// pixels where `region` is true (all when nil).
    public static func ssim(_ a: RasterImage, _ b: RasterImage, region: [Bool]? = nil) throws -> Double {
        try checkSameSize(a, b, region)
        let w = a.width, h = a.height
        let x = grey(a), y = grey(b)
        let blur = { (p: [Double]) in gaussianBlur(p, width: w, height: h, sigma: 1.5, radius: 5) }
        let mx = blur(x), my = blur(y)
        let sxx = blur(zip(x, x).map { $0 * $1 }), syy = blur(zip(y, y).map { $0 * $1 }), sxy = blur(zip(x, y).map { $0 * $1 })
        let c1 = 0.0001, c2 = 0.0009
        var sum = 0.0, n = 0
        for i in 0..<(w * h) where region?[i] ?? true {
            let vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cov = sxy[i] - mx[i] * my[i]
            sum += ((2 * mx[i] * my[i] + c1) * (2 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
            n += 1
        }
        return n == 0 ? 1 : sum / Double(n)
    }

    /// Separable Gaussian blur with edge clamping.
    static func gaussianBlur(_ p: [Double], width w: Int, height h: Int, sigma: Double, radius r: Int) -> [Double] {
        var k = (-r...r).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
        let s = k.reduce(0, +)
        k = k.map { $0 / s }
        var tmp = [Double](repeating: 0, count: p.count), out = tmp
        for y in 0..<h {
            for x in 0..<w {
                var acc = 0.0
                for j in -r...r { acc += k[j + r] * p[y * w + min(max(x + j, 0), w - 1)] }
                tmp[y * w + x] = acc
            }
        }
        for y in 0..<h {
            for x in 0..<w {
                var acc = 0.0
                for j in -r...r { acc += k[j + r] * tmp[min(max(y + j, 0), h - 1) * w + x] }
                out[y * w + x] = acc
            }
        }
        return out
    }
}
