import CXRImaging
import Foundation

/// Where the atlas lies on an image: an axis-aligned scale and translation.
///
/// Continuous pixel coordinates (pixel i covers [i, i+1)): `imageX = offsetX + scaleX * atlasX`,
/// `imageY = offsetY + scaleY * atlasY`, in the image's own pixels.
public struct AtlasFit: Sendable, Equatable, Codable {
    public var scaleX: Double
    public var scaleY: Double
    public var offsetX: Double
    public var offsetY: Double
    /// Normalised cross-correlation of the equalised image with the atlas template at this fit
    /// (1 = identical; -1 = the image covers too little of the atlas). Below `FitPolicy.defaultMinimumScore` the
    /// regions are likely misplaced or the image is not a frontal chest radiograph.
    public var score: Double
    public var imageWidth: Int
    public var imageHeight: Int

    public init(scaleX: Double, scaleY: Double, offsetX: Double, offsetY: Double, score: Double, imageWidth: Int, imageHeight: Int) {
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.offsetX = offsetX
        self.offsetY = offsetY
        self.score = score
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
    }

    /// Image point of an atlas point.
    public func imagePoint(atlasX: Double, atlasY: Double) -> (x: Double, y: Double) {
        (offsetX + scaleX * atlasX, offsetY + scaleY * atlasY)
    }

    /// One-line description, e.g. for `cxr-edit regions`.
    public var summary: String {
        String(format: "atlas 256x256 -> image %dx%d: scale x %.3f y %.3f, offset x %.1f y %.1f px, match %.3f",
               imageWidth, imageHeight, scaleX, scaleY, offsetX, offsetY, score)
    }
}

/// Places the atlas regions on a user's radiograph.
///
/// The fit is a registration of the atlas template (the mean of 198 rank-equalised JSRT
/// radiographs, aligned on their lung boxes) to the image: both are rank-equalised, so contrast and
/// exposure do not matter, and the scale (x and y separately) and translation that maximise their
/// normalised cross-correlation are found by a coarse grid search on a 32x32 sampling followed by a
/// pattern search on 64x64. Dark lung fields against the bright mediastinum, diaphragm and chest
/// wall dominate the correlation, so it is in effect a fit of the lung fields.
public struct RegionFitter: Sendable {
    public let atlas: RegionAtlas
    private let template32: [Float]
    private let template64: [Float]

    public init(atlas: RegionAtlas) {
        self.atlas = atlas
        template32 = RegionFitter.boxDownsample(atlas.template, width: atlas.width, height: atlas.height, to: 32)
        template64 = RegionFitter.boxDownsample(atlas.template, width: atlas.width, height: atlas.height, to: 64)
    }

    /// The fitter on the standard atlas.
    public static func standard() throws -> RegionFitter { RegionFitter(atlas: try RegionAtlas.standard()) }

    /// Finds the atlas transform for `image` (any size, grey or RGB, 8/16-bit).
    public func fit(_ image: RasterImage) -> AtlasFit {
        let gray = image.toGray()
        let eq = RegionFitter.equalise(gray)
        // Work at most 256 px on the long side (antialiased resize): the fit needs shape, not detail.
        let k = max(1.0, Double(max(gray.width, gray.height)) / 256)
        var work = eq
        var ww = gray.width, wh = gray.height
        if k > 1 {
            ww = max(8, Int((Double(gray.width) / k).rounded()))
            wh = max(8, Int((Double(gray.height) / k).rounded()))
            if let p = try? FloatPlanes(width: gray.width, height: gray.height, channels: 1, data: eq).resized(width: ww, height: wh, filter: .bilinear) {
                work = p.data
            } else { ww = gray.width; wh = gray.height }
        }
        let kx = Double(gray.width) / Double(ww), ky = Double(gray.height) / Double(wh)
        let img = Plane(width: ww, height: wh, values: work)
        let aw = Double(atlas.width), ah = Double(atlas.height)
        let W = Double(ww), H = Double(wh)
        let base = min(W / aw, H / ah)

        // Coarse grid: overall scale, aspect, and translation around the centred placement.
        var best = (score: -2.0, p: [base, base, 0, 0])
        for s in stride(from: 0.7, through: 1.3001, by: 0.1) {
            for ar in [0.85, 0.95, 1.05, 1.15] {
                let sx = base * s * ar.squareRoot(), sy = base * s / ar.squareRoot()
                let cx = (W - sx * aw) / 2, cy = (H - sy * ah) / 2
                for i in -4...4 {
                    for j in -4...4 {
                        let p = [sx, sy, cx + Double(i) * 0.05 * W, cy + Double(j) * 0.05 * H]
                        let c = score(img, p, grid: 32, template: template32)
                        if c > best.score { best = (c, p) }
                    }
                }
            }
        }
        // Pattern search on the finer sampling.
        var p = best.p
        var c = score(img, p, grid: 64, template: template64)
        var steps = [0.05 * base, 0.05 * base, 0.05 * W, 0.05 * H]
        for _ in 0..<60 {
            var improved = false
            for i in 0..<4 {
                for d in [-1.0, 1.0] {
                    var q = p
                    q[i] += d * steps[i]
                    if i < 2 && q[i] <= 0.2 * base { continue }
                    let cq = score(img, q, grid: 64, template: template64)
                    if cq > c { c = cq; p = q; improved = true }
                }
            }
            if !improved {
                steps = steps.map { $0 / 2 }
                if steps[2] < 0.1 && steps[3] < 0.1 { break }
            }
        }
        return AtlasFit(scaleX: p[0] * kx, scaleY: p[1] * ky, offsetX: p[2] * kx, offsetY: p[3] * ky,
                        score: c, imageWidth: gray.width, imageHeight: gray.height)
    }

    /// Union of `names` placed on `image` (at its own size), grown by `dilate` pixels.
    public func fitRegions(_ names: [String], to image: RasterImage, dilate: Int = 0) throws -> Mask {
        try place(names, fit: fit(image), dilate: dilate)
    }

    /// Union of `names` placed with a known fit, grown by `dilate` pixels (0...1024).
    public func place(_ names: [String], fit: AtlasFit, dilate: Int = 0) throws -> Mask {
        guard dilate >= 0 && dilate <= 1024 else { throw FindingsError("--dilate must be between 0 and 1024 pixels, got \(dilate)") }
        guard fit.imageWidth > 0, fit.imageHeight > 0, fit.scaleX > 0, fit.scaleY > 0,
              fit.scaleX.isFinite, fit.scaleY.isFinite, fit.offsetX.isFinite, fit.offsetY.isFinite else {
            throw FindingsError("invalid atlas fit (\(fit.summary))")
        }
        let region = try atlas.union(names)
        let src = Plane(width: atlas.width, height: atlas.height, values: region.values)
        let w = fit.imageWidth, h = fit.imageHeight
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let v = ((Double(y) + 0.5) - fit.offsetY) / fit.scaleY - 0.5
            for x in 0..<w {
                let u = ((Double(x) + 0.5) - fit.offsetX) / fit.scaleX - 0.5
                if src.bilinear(u, v) >= 0.5 { out[y * w + x] = 1 }
            }
        }
        return try Mask(width: w, height: h, values: out).dilated(by: dilate)
    }

    // MARK: - internals

    /// NCC of the image sampled on the atlas grid under `p` (sx, sy, tx, ty) with the template;
    /// -1 when under 70% of the samples fall inside the image.
    private func score(_ img: Plane, _ p: [Double], grid n: Int, template t: [Float]) -> Double {
        let step = Double(atlas.width) / Double(n), stepY = Double(atlas.height) / Double(n)
        let w = img.width, h = img.height
        // Column positions are shared by every row: precompute index and weight once.
        var xi = [Int](repeating: -1, count: n), xf = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let x = p[2] + p[0] * (Double(i) + 0.5) * step - 0.5
            if x >= 0 && x <= Double(w - 1) {
                let x0 = min(Int(x), w - 2 < 0 ? 0 : w - 2)
                xi[i] = x0; xf[i] = x - Double(x0)
            }
        }
        var sa = 0.0, sb = 0.0, saa = 0.0, sbb = 0.0, sab = 0.0
        var count = 0
        img.values.withUnsafeBufferPointer { v in
            t.withUnsafeBufferPointer { tb in
                for j in 0..<n {
                    let y = p[3] + p[1] * (Double(j) + 0.5) * stepY - 0.5
                    if y < 0 || y > Double(h - 1) { continue }
                    let y0 = min(Int(y), h - 2 < 0 ? 0 : h - 2)
                    let fy = y - Double(y0)
                    let row0 = y0 * w, row1 = min(y0 + 1, h - 1) * w
                    for i in 0..<n where xi[i] >= 0 {
                        let x0 = xi[i], x1 = min(x0 + 1, w - 1), fx = xf[i]
                        let top = Double(v[row0 + x0]) * (1 - fx) + Double(v[row0 + x1]) * fx
                        let bottom = Double(v[row1 + x0]) * (1 - fx) + Double(v[row1 + x1]) * fx
                        let a = top * (1 - fy) + bottom * fy
                        let b = Double(tb[j * n + i])
                        sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b
                        count += 1
                    }
                }
            }
        }
        guard Double(count) >= 0.7 * Double(n * n) else { return -1 }
        let m = Double(count)
        let cov = sab - sa * sb / m, va = saa - sa * sa / m, vb = sbb - sb * sb / m
        guard va > 1e-12, vb > 1e-12 else { return -1 }
        return cov / (va * vb).squareRoot()
    }

    /// Rank transform to 0...1 (equal values share their mean rank), via a histogram of samples.
    static func equalise(_ gray: RasterImage) -> [Float] {
        let n = gray.pixelCount
        var hist = [Int](repeating: 0, count: gray.maxValue + 1)
        for s in gray.samples { hist[Int(s)] += 1 }
        var meanRank = [Float](repeating: 0, count: hist.count)
        var below = 0
        let denom = Double(max(n - 1, 1))
        for v in 0..<hist.count where hist[v] > 0 {
            meanRank[v] = Float((Double(below) + Double(hist[v] - 1) / 2) / denom)
            below += hist[v]
        }
        return gray.samples.map { meanRank[Int($0)] }
    }

    /// Box-average of a square-ish plane down to n x n.
    static func boxDownsample(_ v: [Float], width: Int, height: Int, to n: Int) -> [Float] {
        var out = [Float](repeating: 0, count: n * n)
        for j in 0..<n {
            let y0 = j * height / n, y1 = max(y0 + 1, (j + 1) * height / n)
            for i in 0..<n {
                let x0 = i * width / n, x1 = max(x0 + 1, (i + 1) * width / n)
                var s: Float = 0
                for y in y0..<y1 { for x in x0..<x1 { s += v[y * width + x] } }
                out[j * n + i] = s / Float((y1 - y0) * (x1 - x0))
            }
        }
        return out
    }
}

/// A float plane with clamped bilinear sampling (outside samples read 0).
struct Plane {
    let width: Int
    let height: Int
    let values: [Float]

    /// Value at continuous pixel-centre coordinates (x, y); 0 outside.
    func bilinear(_ x: Double, _ y: Double) -> Float {
        let x0 = Int(x.rounded(.down)), y0 = Int(y.rounded(.down))
        let fx = Float(x - Double(x0)), fy = Float(y - Double(y0))
        func at(_ xx: Int, _ yy: Int) -> Float {
            (xx >= 0 && xx < width && yy >= 0 && yy < height) ? values[yy * width + xx] : 0
        }
        guard x > -1, y > -1, x < Double(width), y < Double(height) else { return 0 }
        let top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx
        let bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx
        return top * (1 - fy) + bottom * fy
    }
}
