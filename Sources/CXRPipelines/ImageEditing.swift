import CXRImaging
import CXRTensor
import Foundation

/// Moves user images in and out of the model: any size, bit depth and colour type in; the model's square RGB
/// tensor in [-1, 1] inside; the input's own size and bit depth (grey unless asked for RGB) out.
public struct PreparedImage {
    /// The image as read (after conversion to the output colour type).
    public let original: RasterImage
    /// How it was fitted to the model's size (letterbox: scale the long side, pad with black).
    public let plan: FitPlan
    /// [1, 3, S, S] in [-1, 1].
    public let tensor: Tensor

    /// Fits `image` to a `size` x `size` model input. `rgb` keeps colour in the output; otherwise the original
    /// is converted to grey (ITU-R BT.601 luma, as Pillow's convert("L")) and replicated to RGB for the model.
    public init(_ image: RasterImage, size: Int, rgb: Bool = false) throws {
        original = rgb ? image.toRGB() : image.toGray()
        plan = try FitPlan(sourceWidth: image.width, sourceHeight: image.height, targetWidth: size, targetHeight: size)
        let fitted = try plan.apply(original)
        tensor = Tensor(shape: [1, 3, size, size], data: fitted.floatPixelsCHW(channels: 3))
    }

    /// The mask in model space, [1, 1, S, S] with 1 = repaint (letterbox bars are never repainted).
    public func modelMask(_ mask: Mask) throws -> Tensor {
        let m = try plan.apply(mask)
        return Tensor(shape: [1, 1, m.height, m.width], data: m.values)
    }

    /// The decoded model output [1, 3, S, S] mapped back to the original's size, channels and bit depth (no
    /// paste-back: `ImageEditor` composites). Quantised like diffusers' PIL output first (8-bit RGB), or straight to
    /// 16 bits for 16-bit inputs, then converted and resized back.
    public func unfit(_ output: Tensor) throws -> RasterImage {
        let rgb = try RasterImage(
            floatsCHW: output.data, width: output.dim(3), height: output.dim(2), channels: 3,
            bitDepth: original.bitDepth)
        let converted = original.channels == 1 ? rgb.toGray() : rgb
        return try plan.invert(converted)
    }
}
