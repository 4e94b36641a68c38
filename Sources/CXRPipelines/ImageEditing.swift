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

    /// The decoded model output [1, 3, S, S] mapped back to the original's size, channels and bit depth.
    /// With a mask and `pasteBack`, pixels outside the mask are the original's, bit for bit; the edit is
    /// feathered over `feather` pixels inside the mask border.
    public func finish(_ output: Tensor, mask: Mask? = nil, pasteBack: Bool = true, feather: Int = 4) throws -> RasterImage {
        let s = output.dim(2)
        // Quantise like diffusers' PIL output first (8-bit RGB), or straight to 16 bits for 16-bit inputs.
        let rgb = try RasterImage(floatsCHW: output.data, width: output.dim(3), height: s, channels: 3,
                                  bitDepth: original.bitDepth)
        let converted = original.channels == 1 ? rgb.toGray() : rgb
        let back = try plan.invert(converted)
        guard let mask, pasteBack else { return back }
        let alpha = try mask.fitted(width: original.width, height: original.height).feathered(radius: feather)
        return try Mask.pasteBack(original: original, edited: back, alpha: alpha)
    }
}
