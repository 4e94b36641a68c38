/// An axis-aligned scale and translation from the atlas frame to an image.
///
/// Continuous pixel coordinates (pixel i covers [i, i+1)): `imageX = offsetX + scaleX * atlasX`,
/// `imageY = offsetY + scaleY * atlasY`, in the image's own pixels.
public struct AtlasTransform: Sendable, Equatable, Codable {
    public var scaleX: Double
    public var scaleY: Double
    public var offsetX: Double
    public var offsetY: Double

    public init(scaleX: Double, scaleY: Double, offsetX: Double, offsetY: Double) {
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.offsetX = offsetX
        self.offsetY = offsetY
    }

    /// The transform that maps the atlas box `from` onto the image box `to` (both x0, y0, x1, y1).
    public init(mapping from: BoundingBox, onto to: BoundingBox) {
        scaleX = to.width / from.width
        scaleY = to.height / from.height
        offsetX = to.x0 - scaleX * from.x0
        offsetY = to.y0 - scaleY * from.y0
    }

    /// Whether it can place anything: positive, finite scales and finite offsets.
    public var isValid: Bool {
        scaleX > 0 && scaleY > 0 && scaleX.isFinite && scaleY.isFinite && offsetX.isFinite && offsetY.isFinite
    }
}
