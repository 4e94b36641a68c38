import Foundation

/// A decoded image: interleaved, row-major integer samples.
///
/// Only grey (1 channel) and RGB (3 channels) exist: alpha is dropped on decode (as Pillow's
/// `convert("RGB")` does) because radiographs carry no meaningful transparency. Samples are stored
/// as `UInt16` for both 8- and 16-bit images so one type serves both; `bitDepth` says which range
/// (0...255 or 0...65535) they use.
public struct RasterImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    /// 1 = grey, 3 = RGB.
    public let channels: Int
    /// 8 or 16.
    public let bitDepth: Int
    /// `width * height * channels` samples, interleaved (RGBRGB...), rows top to bottom.
    public var samples: [UInt16]

    /// Creates an image after checking that the shape is consistent (an error, not a crash, since
    /// shapes may come from untrusted files or user options).
    public init(width: Int, height: Int, channels: Int, bitDepth: Int, samples: [UInt16]) throws {
        guard width > 0, height > 0 else { throw ImageError(file: "", "image has zero size (\(width)x\(height))") }
        guard channels == 1 || channels == 3 else {
            throw ImageError(file: "", "unsupported channel count \(channels)")
        }
        guard bitDepth == 8 || bitDepth == 16 else { throw ImageError(file: "", "unsupported bit depth \(bitDepth)") }
        guard samples.count == width * height * channels else {
            throw ImageError(file: "", "sample count \(samples.count) does not match \(width)x\(height)x\(channels)")
        }
        self.init(unchecked: width, height, channels, bitDepth, samples)
    }

    init(unchecked width: Int, _ height: Int, _ channels: Int, _ bitDepth: Int, _ samples: [UInt16]) {
        self.width = width
        self.height = height
        self.channels = channels
        self.bitDepth = bitDepth
        self.samples = samples
    }

    /// 255 or 65535.
    public var maxValue: Int { bitDepth == 16 ? 65535 : 255 }

    public var pixelCount: Int { width * height }

    /// Sample of channel `c` at (`x`, `y`).
    @inlinable public func sample(x: Int, y: Int, c: Int = 0) -> UInt16 { samples[(y * width + x) * channels + c] }

    /// Luma, computed exactly like Pillow's `convert("L")`:
    /// `L = (R*19595 + G*38470 + B*7471 + 0x8000) >> 16` (ITU-R BT.601 weights in 16-bit fixed point).
    /// The same integer formula is used for 16-bit images; the weights sum to 65536, so it is the
    /// correctly rounded weighted mean and can never exceed 65535.
    public func toGray() -> RasterImage {
        if channels == 1 { return self }
        var out = [UInt16](repeating: 0, count: pixelCount)
        samples.withUnsafeBufferPointer { s in
            for i in 0..<pixelCount {
                let r = Int(s[3 * i]), g = Int(s[3 * i + 1]), b = Int(s[3 * i + 2])
                out[i] = UInt16((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16)
            }
        }
        return RasterImage(unchecked: width, height, 1, bitDepth, out)
    }

    /// Grey replicated into R, G and B (Pillow's `convert("RGB")` of an "L" image); RGB is returned as is.
    public func toRGB() -> RasterImage {
        if channels == 3 { return self }
        var out = [UInt16](repeating: 0, count: pixelCount * 3)
        for i in 0..<pixelCount {
            let v = samples[i]
            out[3 * i] = v; out[3 * i + 1] = v; out[3 * i + 2] = v
        }
        return RasterImage(unchecked: width, height, 3, bitDepth, out)
    }

    /// Converts to `channels` (1 or 3) with `toGray`/`toRGB`.
    public func converted(toChannels c: Int) -> RasterImage { c == 1 ? toGray() : toRGB() }

    /// 8-bit version: 16-bit samples are scaled with rounding (`(v*255 + 32767) / 65535`).
    public func to8Bit() -> RasterImage {
        if bitDepth == 8 { return self }
        return RasterImage(
            unchecked: width, height, channels, 8, samples.map { UInt16((UInt32($0) * 255 + 32767) / 65535) })
    }

    /// 16-bit version: 8-bit samples are scaled exactly (`v * 257`).
    public func to16Bit() -> RasterImage {
        if bitDepth == 16 { return self }
        return RasterImage(unchecked: width, height, channels, 16, samples.map { $0 &* 257 })
    }

    /// Planar (CHW) floats in [-1, 1], the model's input convention, as diffusers'
    /// `VaeImageProcessor` computes them in float32: `x = v / max; x = 2 * x - 1`.
    /// The image is first converted to `channels` (1 or 3).
    public func floatPixelsCHW(channels c: Int) -> [Float] {
        let img = converted(toChannels: c)
        let n = pixelCount
        let maxV = Float(maxValue)
        var out = [Float](repeating: 0, count: n * c)
        img.samples.withUnsafeBufferPointer { s in
            for ch in 0..<c {
                for i in 0..<n {
                    let x = Float(s[i * c + ch]) / maxV
                    out[ch * n + i] = 2 * x - 1
                }
            }
        }
        return out
    }

    /// Builds an image from planar floats in [-1, 1] exactly as diffusers converts its output to
    /// PIL: `x = clamp(x / 2 + 0.5, 0, 1)`, then `round(x * 255)` with round-half-to-even (numpy's
    /// `round`), all in float32. For 16-bit, 65535 replaces 255.
    ///
    /// A NaN or infinity is an error, not a black or white pixel: it means the model broke down during
    /// denoising or decoding (bad weights, overflow), and an image drawn from it must not be written as a result.
    public init(floatsCHW: [Float], width: Int, height: Int, channels: Int, bitDepth: Int) throws {
        guard width > 0, height > 0, channels == 1 || channels == 3, bitDepth == 8 || bitDepth == 16,
            floatsCHW.count == width * height * channels
        else {
            throw ImageError(
                file: "",
                "float planes (\(floatsCHW.count) values) do not match \(width)x\(height)x\(channels) at \(bitDepth) bit"
            )
        }
        let nonFinite = floatsCHW.reduce(0) { $0 + ($1.isFinite ? 0 : 1) }
        guard nonFinite == 0 else {
            throw ImageError(
                file: "",
                "the model produced NaN or infinite values in \(nonFinite) of "
                    + "\(floatsCHW.count) output samples (denoising or decoding diverged); no image written")
        }
        let n = width * height
        let scale: Float = bitDepth == 16 ? 65535 : 255
        var out = [UInt16](repeating: 0, count: n * channels)
        floatsCHW.withUnsafeBufferPointer { f in
            for ch in 0..<channels {
                for i in 0..<n {
                    var x = f[ch * n + i] / 2 + 0.5
                    if !(x > 0) { x = 0 } else if x > 1 { x = 1 }  // also maps NaN to 0
                    out[i * channels + ch] = UInt16((x * scale).rounded(.toNearestOrEven))
                }
            }
        }
        self.init(unchecked: width, height, channels, bitDepth, out)
    }
}
