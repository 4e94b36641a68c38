import CXRImaging

/// An edit built from the null-edit rule: output = input + (edit - null edit), per sample, at the input's size.
///
/// Both renderings come from the same seed, region, strength and sampler and differ only in the prompt's finding,
/// so their difference is what the finding changes and nothing the model does to any image (VAE blur, the
/// repainted region's own brightness, vanished ribs, wires and text markers). Adding it to the input keeps the
/// patient. Measured on held-out NIH images with the bundled model, this keeps every null edit bit-exact and the
/// edit's sharpness at the input's, and moves the demo classifier as much as or more than the raw renderings do for
/// cardiomegaly (docs/model.md).
public enum NullDifference {
    /// input + (edit - null), rounded and clamped to the bit depth. All three images must share size, channels and
    /// bit depth.
    public static func apply(original: RasterImage, edit: RasterImage, null: RasterImage) throws -> RasterImage {
        for other in [edit, null] {
            guard other.width == original.width, other.height == original.height, other.channels == original.channels,
                other.bitDepth == original.bitDepth
            else {
                throw PipelineError.invalid("the null difference needs images of one size, colour type and bit depth")
            }
        }
        let full = Int(original.maxValue)
        var out = original.samples
        for j in 0..<out.count {
            let v = Int(original.samples[j]) + Int(edit.samples[j]) - Int(null.samples[j])
            out[j] = UInt16(min(max(v, 0), full))
        }
        return try RasterImage(
            width: original.width, height: original.height, channels: original.channels, bitDepth: original.bitDepth,
            samples: out)
    }
}
