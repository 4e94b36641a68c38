/// A box in continuous pixel coordinates: [x0, x1) x [y0, y1).
public struct BoundingBox: Sendable, Equatable, Codable {
    public var x0: Double
    public var y0: Double
    public var x1: Double
    public var y1: Double

    public init(x0: Double, y0: Double, x1: Double, y1: Double) {
        self.x0 = x0
        self.y0 = y0
        self.x1 = x1
        self.y1 = y1
    }

    public var width: Double { x1 - x0 }
    public var height: Double { y1 - y0 }

    /// The box of the set pixels of a `width` x `height` grid, nil when none is set.
    public init?(pixels: [Bool], width: Int, height: Int) {
        var minX = Int.max, minY = Int.max, maxX = -1, maxY = -1
        for y in 0..<height {
            for x in 0..<width where pixels[y * width + x] {
                minX = min(minX, x); maxX = max(maxX, x)
                minY = min(minY, y); maxY = max(maxY, y)
            }
        }
        guard maxX >= 0 else { return nil }
        self.init(x0: Double(minX), y0: Double(minY), x1: Double(maxX + 1), y1: Double(maxY + 1))
    }

    /// The box scaled by (kx, ky), e.g. from a working resolution to the image's pixels.
    public func scaled(x kx: Double, y ky: Double) -> BoundingBox {
        BoundingBox(x0: x0 * kx, y0: y0 * ky, x1: x1 * kx, y1: y1 * ky)
    }
}
