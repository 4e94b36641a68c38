import CXRImaging
import Foundation

/// Places the atlas regions on a user's radiograph.
///
/// Two fits, the first that works is used (`fit(_:)`):
/// 1. **Segmented** (`segmentedFit`, when a `segmenter` is given, as in `standard()`): the learned lung/heart
///    segmenter marks both lungs and the heart; the atlas is mapped box to box onto them, as a whole (both lungs),
///    each lung's regions onto that lung and the heart onto the heart. Masks that do not look like two lungs with
///    a heart between them fall back to 2.
/// 2. **Template** (`templateFit`, today's fitter): a registration of the atlas template (the mean of 198
///    rank-equalised JSRT radiographs, aligned on their lung boxes) to the image: both are rank-equalised, so
///    contrast and exposure do not matter, and the scale (x and y separately) and translation that maximise
///    their normalised cross-correlation are found by a coarse grid search on a 32x32 sampling followed by a
///    pattern search on 64x64. Dark lung fields against the bright mediastinum, diaphragm and chest wall
///    dominate the correlation, so it is in effect a fit of the lung fields.
///
/// Either way the score is the template fit's correlation with the image, so the threshold (`FitPolicy`) and the
/// images it refuses are those of the template fit.
public struct RegionFitter: Sendable {
    public let atlas: RegionAtlas
    /// Segments lungs and heart for the segmented fit; nil = template fit only.
    public let segmenter: LungSegmenter?
    private let template32: [Float]
    private let template64: [Float]
    /// Atlas boxes of lungs, right lung, left lung and heart (nil when the atlas lacks one: template fit only).
    private let partBoxes: SegmentedFitCheck.PartBoxes?

    public init(atlas: RegionAtlas, segmenter: LungSegmenter? = nil) {
        self.atlas = atlas
        self.segmenter = segmenter
        template32 = RegionFitter.boxDownsample(atlas.template, width: atlas.width, height: atlas.height, to: 32)
        template64 = RegionFitter.boxDownsample(atlas.template, width: atlas.width, height: atlas.height, to: 64)
        func box(_ name: String) -> BoundingBox? {
            guard let m = try? atlas.mask(named: name) else { return nil }
            return BoundingBox(pixels: m.pixels, width: m.width, height: m.height)
        }
        if let l = box("lungs"), let r = box("right-lung"), let le = box("left-lung"), let h = box("heart") {
            partBoxes = (l, r, le, h)
        } else {
            partBoxes = nil
        }
    }

    /// The fitter on the standard atlas with the standard segmenter.
    public static func standard() throws -> RegionFitter {
        RegionFitter(atlas: try RegionAtlas.standard(), segmenter: try LungSegmenter.standard())
    }

    /// Finds where the atlas lies on `image` (any size, grey or RGB, 8/16-bit): the segmented fit when there is
    /// a segmenter and its masks are plausible, else the template fit. The score is the template fit's in both
    /// cases: it judges the image (a frontal chest radiograph that the atlas matches), with the threshold measured
    /// for it, while the segmenter decides where the regions go. `masks` are the segmenter's masks of `image` when
    /// the caller already has them (it needs them too), so that the network runs once.
    public func fit(_ image: RasterImage, masks: LungMasks? = nil) -> AtlasFit {
        let template = templateFit(image)
        if let segmenter, let f = segmentedFit(masks ?? segmenter.segment(image), on: image, score: template.score) {
            return f
        }
        return template
    }

    /// The atlas fitted to the segmented lungs and heart of `image`, with the given score; nil when the masks are
    /// implausible (`SegmentedFitCheck`), the template does not correlate with the image at the placement
    /// (`SegmentedFitCheck.minimumMatch`: the network marks "lungs" even on noise), or the atlas lacks the lung
    /// and heart regions.
    public func segmentedFit(_ masks: LungMasks, on image: RasterImage, score: Double) -> AtlasFit? {
        guard let boxes = partBoxes, let placed = SegmentedFitCheck.transforms(masks, atlasBoxes: boxes) else {
            return nil
        }
        let g = placed.lungs
        let work = workPlane(image.toGray())
        let match = self.score(
            work.plane,
            [
                g.scaleX / work.kx, g.scaleY / work.ky, g.offsetX / work.kx,
                g.offsetY / work.ky,
            ], grid: 64, template: template64)
        guard match >= SegmentedFitCheck.minimumMatch else { return nil }
        return AtlasFit(
            scaleX: g.scaleX, scaleY: g.scaleY, offsetX: g.offsetX, offsetY: g.offsetY, score: score,
            imageWidth: image.width, imageHeight: image.height, method: .segmenter,
            rightLung: placed.right, leftLung: placed.left, heart: placed.heart)
    }

    /// The equalised grey image reduced to at most 256 px on the long side (antialiased resize: the fit needs
    /// shape, not detail), and the factors from its pixels to the image's.
    private func workPlane(_ gray: RasterImage) -> (plane: Plane, kx: Double, ky: Double) {
        let eq = RegionFitter.equalise(gray)
        let k = max(1.0, Double(max(gray.width, gray.height)) / 256)
        var work = eq
        var ww = gray.width, wh = gray.height
        if k > 1 {
            ww = max(8, Int((Double(gray.width) / k).rounded()))
            wh = max(8, Int((Double(gray.height) / k).rounded()))
            if let p = try? FloatPlanes(width: gray.width, height: gray.height, channels: 1, data: eq)
                .resized(width: ww, height: wh, filter: .bilinear)
            {
                work = p.data
            } else {
                ww = gray.width; wh = gray.height
            }
        }
        return (
            Plane(width: ww, height: wh, values: work), Double(gray.width) / Double(ww),
            Double(gray.height) / Double(wh)
        )
    }

    /// Today's fitter: the template registration alone (see the type's description).
    public func templateFit(_ image: RasterImage) -> AtlasFit {
        let gray = image.toGray()
        let work = workPlane(gray)
        let img = work.plane, kx = work.kx, ky = work.ky
        let ww = img.width, wh = img.height
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
        return AtlasFit(
            scaleX: p[0] * kx, scaleY: p[1] * ky, offsetX: p[2] * kx, offsetY: p[3] * ky,
            score: c, imageWidth: gray.width, imageHeight: gray.height)
    }

    /// Union of `names` placed on `image` (at its own size), grown by `dilate` pixels.
    public func fitRegions(_ names: [String], to image: RasterImage, dilate: Int = 0) throws -> Mask {
        try place(names, fit: fit(image), dilate: dilate)
    }

    /// The largest extra growth of an edit area, in the image's pixels: a quarter of the largest side an image
    /// may have, beyond which an area stops being a region.
    public static let maxDilation = 1024

    /// Union of `names` placed with a known fit, grown by `dilate` pixels (0...`maxDilation`).
    public func place(_ names: [String], fit: AtlasFit, dilate: Int = 0) throws -> Mask {
        guard (0...Self.maxDilation).contains(dilate) else { throw FindingsError(.dilationOutOfRange(pixels: dilate)) }
        guard fit.imageWidth > 0, fit.imageHeight > 0, fit.scaleX > 0, fit.scaleY > 0,
            fit.scaleX.isFinite, fit.scaleY.isFinite, fit.offsetX.isFinite, fit.offsetY.isFinite
        else {
            throw FindingsError("invalid atlas fit (\(fit.summary))")
        }
        guard !names.isEmpty else { throw FindingsError(.noRegionNamed) }
        try atlas.validate(names)
        let w = fit.imageWidth, h = fit.imageHeight
        var out = [Float](repeating: 0, count: w * h)
        // Regions sharing a transform are joined before sampling (as one region, no seam between neighbours),
        // each group through its own transform; with the template fit there is one group.
        var groups: [(transform: AtlasTransform, names: [String])] = []
        for name in names {
            let t = fit.transform(forRegion: name)
            guard t.isValid else { throw FindingsError("invalid atlas fit (\(fit.summary))") }
            if let i = groups.firstIndex(where: { $0.transform == t }) {
                groups[i].names.append(name)
            } else {
                groups.append((t, [name]))
            }
        }
        for group in groups {
            let region = try atlas.union(group.names)
            let src = Plane(width: atlas.width, height: atlas.height, values: region.values)
            let t = group.transform
            for y in 0..<h {
                let v = ((Double(y) + 0.5) - t.offsetY) / t.scaleY - 0.5
                for x in 0..<w {
                    let u = ((Double(x) + 0.5) - t.offsetX) / t.scaleX - 0.5
                    if src.bilinear(u, v) >= 0.5 { out[y * w + x] = 1 }
                }
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
