import CXRImaging
import Foundation

/// Mask files read at an image's size, remembered for the next image of that size: a probe edits hundreds of
/// images with one spec's masks, and reading and resizing a mask for each would cost as much as fitting the atlas.
public final class MaskFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var masks: [String: Mask] = [:]
    /// Enough for every mask of a spec at a few image sizes; beyond it the memory is handed back.
    private static let capacity = 64

    public init() {}

    /// The mask file at `path` (white = 1) fitted to `image`'s size.
    public func mask(_ path: String, for image: RasterImage) throws -> Mask {
        let key = "\(path)|\(image.width)x\(image.height)"
        if let mask = lock.withLock({ masks[key] }) { return mask }
        let mask = try Mask.read(URL(fileURLWithPath: path), size: (image.width, image.height))
        lock.withLock {
            if masks.count > Self.capacity { masks.removeAll() }
            masks[key] = mask
        }
        return mask
    }
}
