import CXRImaging
import Foundation

/// Carries the input's own fine detail into an edit's output, where the edit left the content alone.
///
/// The model sees a radiograph through a downscale to its size and a VAE that drops fine structure, so even an edit
/// that asks for nothing (a null edit) comes back blurred: ribs, vessels, wires and text markers fade, and a
/// classifier that reacts to blur looks "sensitive to the finding". The detail the model cannot represent is
/// D = input - roundTrip, where roundTrip is the input encoded (posterior mean), decoded and mapped back to the
/// input's size exactly as the edit's output is. Output = raw + w * D, with
/// w = clamp(1 - blur(|raw - roundTrip|) / tolerance, 0, 1): where the edit kept the model's own rendering of the
/// input, the input's detail returns; where it redrew the content (a new effusion), the model's content stays.
public enum DetailTransfer {
    /// Radius of the box blur (applied twice, close to a Gaussian of sigma ~3.3 px) that turns the per-pixel change
    /// into a neighbourhood change, in pixels of the 256 px frame (scaled to the input). Large enough that noise in
    /// a single pixel of the difference does not switch the detail on and off (which would itself draw texture),
    /// small enough to follow the outline of a redrawn structure.
    public static let blurRadius = 4
    /// Neighbourhood change (fraction of full scale) at which none of the input's detail is added back: about
    /// twice the mean change a null edit of the bundled model makes against its round trip, and well under the
    /// contrast of the structures an edit draws (an effusion or a heart border differs by 0.15-0.4).
    public static let tolerance: Float = 0.08

    /// raw + w * (original - roundTrip), rounded and clamped to the bit depth. All three images must share size,
    /// channels and bit depth; `radius` is the blur radius in the images' own pixels. 16-bit images stay 16-bit.
    public static func apply(
        original: RasterImage, raw: RasterImage, roundTrip: RasterImage,
        radius: Int
    ) throws -> RasterImage {
        for other in [raw, roundTrip] {
            guard other.width == original.width, other.height == original.height, other.channels == original.channels,
                other.bitDepth == original.bitDepth
            else {
                throw PipelineError.invalid("detail transfer needs images of one size, colour type and bit depth")
            }
        }
        let w = original.width, h = original.height, c = original.channels, n = w * h
        let full = Float(original.maxValue)
        // Change of the edit against the model's rendering of the input, per pixel (channels averaged).
        var change = [Float](repeating: 0, count: n)
        for i in 0..<n {
            var s: Float = 0
            for ch in 0..<c { s += abs(Float(raw.samples[i * c + ch]) - Float(roundTrip.samples[i * c + ch])) }
            change[i] = s / (Float(c) * full)
        }
        boxBlur(&change, width: w, height: h, radius: radius)
        boxBlur(&change, width: w, height: h, radius: radius)
        var out = raw.samples
        for i in 0..<n {
            let weight = min(max(1 - change[i] / tolerance, 0), 1)
            guard weight > 0 else { continue }
            for ch in 0..<c {
                let j = i * c + ch
                let detail = Float(original.samples[j]) - Float(roundTrip.samples[j])
                out[j] = UInt16(min(max((Float(raw.samples[j]) + weight * detail).rounded(), 0), full))
            }
        }
        return try RasterImage(width: w, height: h, channels: c, bitDepth: original.bitDepth, samples: out)
    }

    /// In-place mean over a (2r+1)^2 window clipped to the image (border pixels average fewer neighbours, so the
    /// image edge does not read as change). Separable running sums: O(pixels) whatever the radius.
    static func boxBlur(_ v: inout [Float], width w: Int, height h: Int, radius r: Int) {
        guard r > 0 else { return }
        var line = [Float](repeating: 0, count: max(w, h))
        func pass(count: Int, stride: Int, start: Int) {
            var sum: Float = 0
            for k in 0..<min(r, count) { sum += v[start + k * stride] }
            for k in 0..<count {
                if k + r < count { sum += v[start + (k + r) * stride] }
                if k - r - 1 >= 0 { sum -= v[start + (k - r - 1) * stride] }
                let lo = max(0, k - r), hi = min(count - 1, k + r)
                line[k] = sum / Float(hi - lo + 1)
            }
            for k in 0..<count { v[start + k * stride] = line[k] }
        }
        for y in 0..<h { pass(count: w, stride: 1, start: y * w) }
        for x in 0..<w { pass(count: h, stride: w, start: x) }
    }
}
