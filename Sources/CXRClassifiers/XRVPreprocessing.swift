import CXRImaging
import CXRTensor
import Foundation

/// torchxrayvision's input pipeline, reproduced so that the native DenseNet sees exactly what the Python model
/// would: `xrv.datasets.normalize(img, maxval)` to [-1024, 1024], channel mean for colour images, `XRayCenterCrop`
/// (square of the short side) and `XRayResizer(224)` (skimage `resize`, bilinear, Gaussian anti-aliasing when
/// shrinking, `mode='constant'` — which skimage maps to scipy's 'grid-constant', so edge samples blend with 0 —
/// and clipping to the input range).
///
/// Why reproduce skimage instead of using CXRImaging's Pillow-style resize: the classifier's operating points
/// were tuned on this exact pipeline; a different filter changes probabilities by a few hundredths.
public enum XRVPreprocessing {
    /// [1, size, size] float32 in about [-1024, 1024].
    public static func tensor(from image: RasterImage, size: Int = 224) throws -> Tensor {
        guard size > 0, size <= 4096 else { throw ClassifierError("xrv preprocessing: invalid size \(size)") }
        let plane = normalizedGrey(image)
        let (cropped, side) = centerCrop(plane, width: image.width, height: image.height)
        let out = resize(cropped, side: side, to: size)
        return Tensor(shape: [1, size, size], data: out)
    }

    /// `(2 * (v / maxval) - 1) * 1024` in float32, then the mean of R, G, B for colour images.
    static func normalizedGrey(_ image: RasterImage) -> [Float] {
        let maxV = Float(image.maxValue)
        let n = image.pixelCount, c = image.channels
        var out = [Float](repeating: 0, count: n)
        image.samples.withUnsafeBufferPointer { s in
            @inline(__always) func norm(_ v: UInt16) -> Float { (2 * (Float(v) / maxV) - 1) * 1024 }
            if c == 1 {
                for i in 0..<n { out[i] = norm(s[i]) }
            } else {
                for i in 0..<n { out[i] = (norm(s[3 * i]) + norm(s[3 * i + 1]) + norm(s[3 * i + 2])) / 3 }
            }
        }
        return out
    }

    /// XRayCenterCrop: side = min(w, h), start = long // 2 - side // 2.
    static func centerCrop(_ p: [Float], width w: Int, height h: Int) -> ([Float], Int) {
        let side = min(w, h)
        let x0 = w / 2 - side / 2, y0 = h / 2 - side / 2
        if side == w && side == h { return (p, side) }
        var out = [Float](repeating: 0, count: side * side)
        for y in 0..<side {
            for x in 0..<side { out[y * side + x] = p[(y0 + y) * w + x0 + x] }
        }
        return (out, side)
    }

    /// skimage.transform.resize(img, (1, size, size), mode='constant', preserve_range=True), order 1.
    static func resize(_ img: [Float], side n: Int, to size: Int) -> [Float] {
        if n == size { return img }  // skimage still filters/zooms, but both are identities at factor 1
        var lo = Float.infinity, hi = -Float.infinity
        for v in img { lo = min(lo, v); hi = max(hi, v) }
        var filtered = img
        let factor = Double(n) / Double(size)
        if factor > 1 {
            let sigma = (factor - 1) / 2
            // scipy filters axis by axis in order: y first, then x, rounding to float32 after each.
            filtered = gaussianColumns(filtered, side: n, sigma: sigma)
            filtered = gaussianRows(filtered, side: n, sigma: sigma)
        }
        let taps = zoomTaps(input: n, output: size)
        var out = [Float](repeating: 0, count: size * size)
        filtered.withUnsafeBufferPointer { f in
            @inline(__always) func at(_ y: Int, _ x: Int) -> Double {
                (y < 0 || y >= n || x < 0 || x >= n) ? 0 : Double(f[y * n + x])  // grid-constant, cval 0
            }
            for oy in 0..<size {
                let (y0, ty) = taps[oy]
                for ox in 0..<size {
                    let (x0, tx) = taps[ox]
                    let v =
                        (1 - ty) * ((1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1))
                        + ty * ((1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1))
                    out[oy * size + ox] = Float(v)
                }
            }
        }
        // _clip_warp_output: clip to the input's range, widened to include cval (0) when the output reaches it.
        var outLo = Float.infinity, outHi = -Float.infinity
        for v in out { outLo = min(outLo, v); outHi = max(outHi, v) }
        if !(lo <= 0 && 0 <= hi) && outLo <= 0 && 0 <= outHi { lo = min(lo, 0); hi = max(hi, 0) }
        for i in 0..<out.count { out[i] = min(max(out[i], lo), hi) }
        return out
    }

    /// scipy.ndimage.zoom(grid_mode=True) source coordinates: c = (o + 0.5) * in / out - 0.5, split into
    /// floor(c) and the linear weight of the next sample.
    static func zoomTaps(input: Int, output: Int) -> [(Int, Double)] {
        let zoom = Double(input) / Double(output)
        return (0..<output).map { o in
            let c = (Double(o) + 0.5) * zoom - 0.5
            let f = c.rounded(.down)
            return (Int(f), c - f)
        }
    }

    /// scipy's Gaussian kernel: radius int(4 * sigma + 0.5), exp(-x^2 / (2 sigma^2)) normalised to sum 1.
    static func gaussianKernel(sigma: Double) -> [Double] {
        let radius = Int(4 * sigma + 0.5)
        let w = (-radius...radius).map { x in Foundation.exp(-0.5 / (sigma * sigma) * Double(x * x)) }
        let total = w.reduce(0, +)
        return w.map { $0 / total }
    }

    /// gaussian_filter1d along x with mode 'grid-constant' (zeros outside), float32 result.
    static func gaussianRows(_ img: [Float], side n: Int, sigma: Double) -> [Float] {
        let k = gaussianKernel(sigma: sigma), r = k.count / 2
        if r == 0 { return img }
        var out = [Float](repeating: 0, count: n * n)
        for y in 0..<n {
            let row = y * n
            for x in 0..<n {
                var acc = 0.0
                for j in -r...r where x + j >= 0 && x + j < n { acc += Double(img[row + x + j]) * k[j + r] }
                out[row + x] = Float(acc)
            }
        }
        return out
    }

    /// gaussian_filter1d along y, as `gaussianRows`.
    static func gaussianColumns(_ img: [Float], side n: Int, sigma: Double) -> [Float] {
        let k = gaussianKernel(sigma: sigma), r = k.count / 2
        if r == 0 { return img }
        var out = [Float](repeating: 0, count: n * n)
        for y in 0..<n {
            for x in 0..<n {
                var acc = 0.0
                for j in -r...r where y + j >= 0 && y + j < n { acc += Double(img[(y + j) * n + x]) * k[j + r] }
                out[y * n + x] = Float(acc)
            }
        }
        return out
    }
}
