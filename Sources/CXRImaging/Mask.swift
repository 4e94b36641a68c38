import Foundation

/// An edit mask: 1 = edit (white in the mask file), 0 = keep. Values are floats in 0...1 so that
/// resized (soft) masks can be represented; `binarized()` makes them hard.
public struct Mask: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// `width * height` values, row-major.
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) throws {
        guard width > 0, height > 0, values.count == width * height else {
            throw ImageError(file: "", "mask values (\(values.count)) do not match \(width)x\(height)")
        }
        self.width = width
        self.height = height
        self.values = values
    }

    /// A grey image as a mask (`v / max`), any bit depth; RGB is converted to luma first.
    public init(image: RasterImage) {
        let g = image.toGray()
        let m = Float(g.maxValue)
        width = g.width
        height = g.height
        values = g.samples.map { Float($0) / m }
    }

    /// Reads a mask image (PNG/JPEG, any bit depth or colour type), where white = edit, and fits
    /// it to an image of `size`: the aspect ratio must agree within 1%; it is resized bilinearly
    /// and binarised at 0.5 (>= 0.5 -> 1, like diffusers' mask processing).
    public static func read(_ url: URL, size: (width: Int, height: Int), limits: ImageLimits = .default) throws -> Mask
    {
        let img = try ImageIO.read(url, limits: limits)
        return try Mask(image: img).fitted(width: size.width, height: size.height, name: url.lastPathComponent)
    }

    /// Aspect check, bilinear resize to `width`x`height`, binarisation.
    public func fitted(width w: Int, height h: Int, name: String = "mask") throws -> Mask {
        guard w > 0, h > 0 else { throw ImageError(file: name, "invalid target size \(w)x\(h)") }
        let ownAspect = Double(width) / Double(height), imageAspect = Double(w) / Double(h)
        if abs(ownAspect / imageAspect - 1) > 0.01 {
            throw ImageError(
                file: name,
                "aspect ratio \(String(format: "%.2f", ownAspect)) does not match the image's \(String(format: "%.2f", imageAspect))"
            )
        }
        return try resized(width: w, height: h, filter: .bilinear).binarized()
    }

    /// Where a soft mask counts as set: the one binarisation rule (diffusers binarises its masks the same way).
    public static let threshold: Float = 0.5

    /// An all-zero mask.
    public init(empty width: Int, height: Int) throws {
        try self.init(width: width, height: height, values: [Float](repeating: 0, count: width * height))
    }

    /// Whether pixel `i` (row-major) is set.
    @inline(__always) public func contains(_ i: Int) -> Bool { values[i] >= Mask.threshold }

    /// One flag per pixel: set or not.
    public var pixels: [Bool] { values.map { $0 >= Mask.threshold } }

    /// Values >= threshold become 1, the rest 0.
    public func binarized(threshold: Float = Mask.threshold) -> Mask {
        var m = self
        m.values = values.map { $0 >= threshold ? 1 : 0 }
        return m
    }

    /// Binary mask from per-pixel flags.
    public init(width: Int, height: Int, pixels: [Bool]) throws {
        try self.init(width: width, height: height, values: pixels.map { $0 ? 1 : 0 })
    }

    /// Pixels set in either mask (binary).
    public func union(_ other: Mask) throws -> Mask {
        try combined(other) { $0 || $1 }
    }

    /// Pixels set here and not in `other` (binary).
    public func subtracting(_ other: Mask) throws -> Mask {
        try combined(other) { $0 && !$1 }
    }

    /// Pixels not set here (binary).
    public func complement() -> Mask {
        var m = self
        m.values = values.map { $0 >= Mask.threshold ? 0 : 1 }
        return m
    }

    private func combined(_ other: Mask, _ rule: (Bool, Bool) -> Bool) throws -> Mask {
        guard other.width == width, other.height == height else {
            throw ImageError(
                file: "",
                "cannot combine a \(other.width)x\(other.height) mask with a \(width)x\(height) one")
        }
        var out = values
        for i in 0..<out.count { out[i] = rule(contains(i), other.contains(i)) ? 1 : 0 }
        return try Mask(width: width, height: height, values: out)
    }

    /// Every pixel within Euclidean distance `radius` of a set pixel (binary); `radius` 0 binarises.
    public func dilated(by radius: Int) -> Mask {
        guard radius > 0 else { return binarized() }
        return dilated(by: radius, squaredDistances: distanceToSet())
    }

    private func dilated(by radius: Int, squaredDistances d2: [Double]) -> Mask {
        let r2 = Double(radius * radius)
        var m = self
        m.values = d2.map { $0 <= r2 ? 1 : 0 }
        return m
    }

    /// Paste-back weights with a soft margin *outside* the mask: 1 on set pixels, falling linearly with the
    /// Euclidean distance `d` to the nearest set pixel as `1 - d / (margin + 1)` across a band of `margin` pixels,
    /// and exactly 0 beyond it, so every pixel farther than `margin` from the mask keeps the input bit for bit.
    /// The band is `dilated(by: margin)` minus the mask.
    public func softEdge(margin: Int) -> [Float] {
        guard margin > 0 else { return pixels.map { $0 ? 1 : 0 } }
        return softEdge(margin: margin, squaredDistances: distanceToSet())
    }

    private func softEdge(margin: Int, squaredDistances d2: [Double]) -> [Float] {
        let r = Double(margin + 1), r2 = Double(margin * margin)
        return d2.map { $0 > r2 ? 0 : Float(1 - $0.squareRoot() / r) }
    }

    /// `dilated(by: margin)` and `softEdge(margin:)` from one distance transform: a regional edit needs both, and
    /// the transform of a full-size mask was computed twice.
    public func dilatedAndSoftEdge(margin: Int) -> (dilated: Mask, softEdge: [Float]) {
        guard margin > 0 else { return (dilated(by: margin), softEdge(margin: margin)) }
        let d2 = distanceToSet()
        return (dilated(by: margin, squaredDistances: d2), softEdge(margin: margin, squaredDistances: d2))
    }

    /// Squared distance of every pixel to the nearest set pixel (0 on set pixels; 1e20 when none is set).
    private func distanceToSet() -> [Double] {
        Mask.squaredDistanceToOutside(values.map { $0 < Mask.threshold }, width: width, height: height)
    }

    /// Resampled copy (values stay in 0...1 for the non-negative filters; clamped anyway).
    public func resized(width w: Int, height h: Int, filter: ResampleFilter) throws -> Mask {
        let p = try FloatPlanes(width: width, height: height, channels: 1, data: values).resized(
            width: w, height: h, filter: filter)
        return try Mask(width: w, height: h, values: p.data.map { min(max($0, 0), 1) })
    }

    /// Nearest-neighbour resize with exactly the indexing of
    /// `torch.nn.functional.interpolate(mode="nearest")` (used by diffusers to bring the mask to
    /// latent size): `src = min(floor(dst * (in / out)), in - 1)` with the scale in float32.
    public func nearestResize(width w: Int, height h: Int) throws -> Mask {
        guard w > 0, h > 0 else { throw ImageError(file: "", "invalid mask size \(w)x\(h)") }
        let sx = Float(width) / Float(w), sy = Float(height) / Float(h)
        let xs = (0..<w).map { min(Int((Float($0) * sx).rounded(.down)), width - 1) }
        var out = [Float](repeating: 0, count: w * h)
        for y in 0..<h {
            let srcY = min(Int((Float(y) * sy).rounded(.down)), height - 1)
            for x in 0..<w { out[y * w + x] = values[srcY * width + xs[x]] }
        }
        return try Mask(width: w, height: h, values: out)
    }

    /// Fraction of pixels to edit (>= 0.5).
    public var coverage: Double {
        Double(values.lazy.filter { $0 >= 0.5 }.count) / Double(values.count)
    }

    /// The editor blends with `softEdge(margin:)` (a margin outside the region); this inside-feather is kept for the
    /// image fuzz target (Tools/fuzz) until it moves to `softEdge`.
    /// Soft blending weights for `pasteBack`, feathered only *inside* the mask: 0 for every pixel
    /// outside the (binarised) mask — so those stay exactly the input — rising linearly with the
    /// Euclidean distance `d` to the nearest outside pixel as `min(1, d / (radius + 1))`, and 1
    /// deep inside. `radius` 0 gives the hard mask. The image border does not count as outside.
    public func feathered(radius: Int) -> [Float] {
        let inside = values.map { $0 >= 0.5 }
        if radius <= 0 { return inside.map { $0 ? 1 : 0 } }
        let d2 = Mask.squaredDistanceToOutside(inside, width: width, height: height)
        let r = Double(radius + 1)
        var out = [Float](repeating: 0, count: values.count)
        for i in 0..<values.count where inside[i] {
            out[i] = Float(min(1, d2[i].squareRoot() / r))
        }
        return out
    }

    /// Exact squared Euclidean distance transform (Felzenszwalb & Huttenlocher): for each pixel the
    /// squared distance to the nearest pixel where `inside` is false. Shared by feathering and region dilation.
    public static func squaredDistanceToOutside(_ inside: [Bool], width: Int, height: Int) -> [Double] {
        let far = 1e20
        var g = inside.map { $0 ? far : 0 }
        var f = [Double](repeating: 0, count: max(width, height))
        var d = f
        var v = [Int](repeating: 0, count: max(width, height))
        var z = [Double](repeating: 0, count: max(width, height) + 1)
        func pass(_ n: Int) {
            var k = 0
            v[0] = 0; z[0] = -.infinity; z[1] = .infinity
            for q in 1..<max(n, 1) {
                // Intersection of the parabola from q with the rightmost one kept; z[0] = -inf
                // guarantees k never goes below 0 (s is finite because f <= 1e20).
                func meet(_ p: Int) -> Double {
                    ((f[q] + Double(q * q)) - (f[p] + Double(p * p))) / Double(2 * q - 2 * p)
                }
                var s = meet(v[k])
                while s <= z[k] { k -= 1; s = meet(v[k]) }
                k += 1
                v[k] = q; z[k] = s; z[k + 1] = .infinity
            }
            k = 0
            for q in 0..<n {
                while z[k + 1] < Double(q) { k += 1 }
                let p = v[k]
                d[q] = Double((q - p) * (q - p)) + f[p]
            }
        }
        for x in 0..<width {
            for y in 0..<height { f[y] = g[y * width + x] }
            pass(height)
            for y in 0..<height { g[y * width + x] = d[y] }
        }
        for y in 0..<height {
            for x in 0..<width { f[x] = g[y * width + x] }
            pass(width)
            for x in 0..<width { g[y * width + x] = d[x] }
        }
        return g
    }

    /// Composites `edited` over `original` with per-pixel `alpha` (one value per pixel, all
    /// channels): alpha 0 returns the original sample bit for bit, alpha 1 the edited sample, and
    /// in between `round(o + (e - o) * alpha)` (half away from zero). Works for 8 and 16 bit;
    /// both images must have the same size, channels and bit depth.
    public static func pasteBack(original: RasterImage, edited: RasterImage, alpha: [Float]) throws -> RasterImage {
        guard original.width == edited.width, original.height == edited.height,
            original.channels == edited.channels, original.bitDepth == edited.bitDepth
        else {
            throw ImageError(
                file: "",
                "cannot paste a \(edited.width)x\(edited.height)x\(edited.channels) \(edited.bitDepth)-bit image onto a \(original.width)x\(original.height)x\(original.channels) \(original.bitDepth)-bit one"
            )
        }
        guard alpha.count == original.pixelCount else {
            throw ImageError(file: "", "alpha has \(alpha.count) values for \(original.pixelCount) pixels")
        }
        let c = original.channels
        var out = original.samples
        let maxV = Double(original.maxValue)
        for i in 0..<original.pixelCount {
            let a = alpha[i]
            if !(a > 0) { continue }  // 0 and NaN keep the original
            for ch in 0..<c {
                let j = i * c + ch
                if a >= 1 { out[j] = edited.samples[j]; continue }
                let o = Double(original.samples[j]), e = Double(edited.samples[j])
                out[j] = UInt16(min(max((o + (e - o) * Double(a)).rounded(), 0), maxV))
            }
        }
        return RasterImage(unchecked: original.width, original.height, c, original.bitDepth, out)
    }
}
