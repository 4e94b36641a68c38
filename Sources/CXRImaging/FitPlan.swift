import Foundation

/// How an arbitrary image is fitted to the model's fixed input size, and mapped back.
///
/// `.pad` (letterbox): scale so that the image fits inside the target with its aspect ratio
/// kept (the long side fills the target), centre it, and pad the remainder with black (sample 0,
/// i.e. -1 in the model's [-1, 1] range). Black is chosen because it is the natural background of
/// a radiograph and adds no structure the model might "edit". The inverse crops the padded
/// region away and resizes back to the original size.
/// `.stretch`: resize to the target ignoring aspect (inverse: resize back).
public struct FitPlan: Sendable, Equatable {
    public enum Mode: String, Sendable { case pad, stretch }

    public let mode: Mode
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let targetWidth: Int
    public let targetHeight: Int
    /// Size of the resized image inside the target.
    public let scaledWidth: Int
    public let scaledHeight: Int
    /// Top-left corner of the resized image inside the target.
    public let offsetX: Int
    public let offsetY: Int

    public init(sourceWidth: Int, sourceHeight: Int, targetWidth: Int, targetHeight: Int, mode: Mode = .pad) throws {
        guard sourceWidth > 0, sourceHeight > 0, targetWidth > 0, targetHeight > 0 else {
            throw ImageError(file: "", "invalid fit \(sourceWidth)x\(sourceHeight) -> \(targetWidth)x\(targetHeight)")
        }
        self.mode = mode
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        self.targetWidth = targetWidth
        self.targetHeight = targetHeight
        switch mode {
        case .stretch:
            scaledWidth = targetWidth
            scaledHeight = targetHeight
        case .pad:
            let s = min(Double(targetWidth) / Double(sourceWidth), Double(targetHeight) / Double(sourceHeight))
            scaledWidth = max(1, min(targetWidth, Int((Double(sourceWidth) * s).rounded())))
            scaledHeight = max(1, min(targetHeight, Int((Double(sourceHeight) * s).rounded())))
        }
        offsetX = (targetWidth - scaledWidth) / 2
        offsetY = (targetHeight - scaledHeight) / 2
    }

    /// Places resized planes into the target canvas filled with `fill`.
    func place(_ p: FloatPlanes, fill: Float) -> FloatPlanes {
        if scaledWidth == targetWidth && scaledHeight == targetHeight { return p }
        let tw = targetWidth, th = targetHeight
        var out = [Float](repeating: fill, count: p.channels * tw * th)
        for c in 0..<p.channels {
            for y in 0..<scaledHeight {
                for x in 0..<scaledWidth {
                    out[c * tw * th + (y + offsetY) * tw + x + offsetX] =
                        p.data[c * scaledWidth * scaledHeight + y * scaledWidth + x]
                }
            }
        }
        return FloatPlanes(unchecked: tw, th, p.channels, out)
    }

    /// Cuts the resized region out of a target-sized canvas.
    func crop(_ p: FloatPlanes) -> FloatPlanes {
        if scaledWidth == targetWidth && scaledHeight == targetHeight { return p }
        var out = [Float](repeating: 0, count: p.channels * scaledWidth * scaledHeight)
        for c in 0..<p.channels {
            for y in 0..<scaledHeight {
                for x in 0..<scaledWidth {
                    out[c * scaledWidth * scaledHeight + y * scaledWidth + x] =
                        p.data[c * p.width * p.height + (y + offsetY) * p.width + x + offsetX]
                }
            }
        }
        return FloatPlanes(unchecked: scaledWidth, scaledHeight, p.channels, out)
    }

    private func checkSource(_ w: Int, _ h: Int) throws {
        guard w == sourceWidth, h == sourceHeight else {
            throw ImageError(file: "", "image \(w)x\(h) does not match the fit plan's \(sourceWidth)x\(sourceHeight)")
        }
    }

    /// Source-sized image -> target-sized image (black padding).
    public func apply(_ image: RasterImage, filter: ResampleFilter = .lanczos) throws -> RasterImage {
        try checkSource(image.width, image.height)
        let scaled = try image.floatPlanes().resized(width: scaledWidth, height: scaledHeight, filter: filter)
        return try RasterImage(planes: place(scaled, fill: 0), bitDepth: image.bitDepth)
    }

    /// Target-sized image (e.g. the model's output) -> source-sized image.
    public func invert(_ image: RasterImage, filter: ResampleFilter = .lanczos) throws -> RasterImage {
        guard image.width == targetWidth, image.height == targetHeight else {
            throw ImageError(
                file: "",
                "image \(image.width)x\(image.height) does not match the fit plan's target \(targetWidth)x\(targetHeight)"
            )
        }
        let cropped = crop(image.floatPlanes())
        return try RasterImage(
            planes: cropped.resized(width: sourceWidth, height: sourceHeight, filter: filter), bitDepth: image.bitDepth)
    }

    /// Source-sized mask -> target-sized binary mask: bilinear resize, binarised at 0.5, padding
    /// = 0 (never edit the letterbox bars).
    public func apply(_ mask: Mask) throws -> Mask {
        try checkSource(mask.width, mask.height)
        let p = try FloatPlanes(width: mask.width, height: mask.height, channels: 1, data: mask.values)
        let scaled = try p.resized(width: scaledWidth, height: scaledHeight, filter: .bilinear)
        return try Mask(width: targetWidth, height: targetHeight, values: place(scaled, fill: 0).data).binarized()
    }
}
