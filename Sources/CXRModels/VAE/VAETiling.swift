/// When `AutoencoderKL` encodes and decodes in overlapping tiles instead of the whole image at once.
///
/// Why: the VAE's activations at full resolution (128 channels at the image's own size for an SD-size VAE) are what
/// a large image costs in memory; tiles of the model's `sample_size` keep that cost fixed whatever the image size.
/// Tiling changes the result slightly (each tile is encoded or decoded on its own and the overlaps are blended), so
/// it is used only where it pays: `auto` leaves images of `automaticLimit` px and less exactly as they were.
public enum VAETiling: String, Sendable, CaseIterable {
    /// Tiles for images larger than `automaticLimit` px on a side (as diffusers users enable tiling for large
    /// images); smaller ones go through whole.
    case auto
    /// diffusers' `enable_tiling()`: tiles whenever the image is larger than one tile (the VAE's `sample_size`).
    case on
    /// Never tiles (diffusers' default).
    case off

    /// The largest side, in pixels, that `auto` sends through the VAE whole: SD 1.x's native size, so that every
    /// native-size edit and generation stays as it was before tiling existed.
    public static let automaticLimit = 512

    /// Whether an image of `height` x `width` pixels goes through in tiles of `tileSize` pixels. As in diffusers,
    /// an image that fits in one tile never does.
    public func tiles(height: Int, width: Int, tileSize: Int) -> Bool {
        let side = max(height, width)
        switch self {
        case .off: return false
        case .on: return side > tileSize
        case .auto: return side > tileSize && side > Self.automaticLimit
        }
    }
}
