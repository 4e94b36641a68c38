import CXRImaging
import Foundation

/// How far pleural fluid reaches on one side of a radiograph, measured from the image itself.
///
/// The NIH expert boxes of one-sided effusions range from a strip over the costophrenic angle to most of the
/// hemithorax (docs/regions.md), so no fixed extent both covers the fluid and stays on it; what was missing is how
/// far the fluid reaches in each image. Fluid is opaque: it fills the lung base from the lateral chest wall up (the
/// meniscus climbs the wall), so on the rank-equalised image a bright run rises from the base of the lung box along
/// its lateral edge, as high as the fluid. The segmenter does not see it (it was trained to mark the lung field
/// through basal opacities), which is why its lung box is the frame, not the answer.
///
/// `measure(in:masks:side:)` walks up the smoothed mean of the lateral band of the lung box from its base while the
/// band stays bright; when the run reaches above `maximumTop` of the lung height there is fluid, and the region to
/// repaint is the effusion extent clipped to `box`: from `margin` lung heights above the run's top down, and from the
/// chest wall to `lateralShare` of the lung width (the expert boxes are lateral; the medial base is heart and
/// diaphragm). Every constant was tuned on the NIH expert boxes of even patient ids and is reported on the odd ones
/// (Tools/measure_fluid_extent.py, docs/regions.md); Tools/measure_fluid_extent.py mirrors this measurement.
public struct PleuralFluid: Sendable, Equatable, Codable {
    /// The side measured (right or left; image left is the patient's right).
    public var side: Side
    /// The top of the opaque run as a share of the lung box height from its top (0 = apex, 1 = base).
    public var level: Double
    /// The segmented lung box of that side, in the image's pixels.
    public var lung: BoundingBox
    /// Where the effusion region is kept, in the image's pixels (continuous: pixel i covers [i, i+1)); the
    /// far sides reach the image's edges.
    public var box: BoundingBox

    public init(side: Side, level: Double, lung: BoundingBox, box: BoundingBox) {
        self.side = side
        self.level = level
        self.lung = lung
        self.box = box
    }

    /// The vocabulary id of the finding whose removal follows the fluid (`Finding.removalExtent`).
    public static let findingID = "pleural-effusion"

    /// Rank-equalised brightness (0...1) from which a row of the lateral band counts as opaque.
    public static let threshold = 0.45
    /// Share of the lung box width, from the chest wall, whose rows are averaged: the meniscus is highest there.
    public static let bandShare = 0.3
    /// Rows averaged (centred) before the walk up, so that one dark rib gap does not stop it.
    public static let smoothingRows = 5
    /// The run must reach above this share of the lung height to count as fluid: every lung base is bright
    /// (diaphragm, soft tissue), so a run only that high is what a normal image shows.
    public static let maximumTop = 0.8
    /// The region starts this share of the lung height above the run's top (the fluid's upper edge is soft and
    /// the band sees only its lateral part).
    public static let margin = 0.2
    /// Share of the lung width, from the chest wall, that the region keeps.
    public static let lateralShare = 0.7

    /// The fluid on `side` of `image`, with the segmenter's `masks` of that image; nil when the run from the lung
    /// base is no higher than a normal base (`maximumTop`), the side is not a single side, or the lung is missing.
    public static func measure(in image: RasterImage, masks: LungMasks, side: Side) -> PleuralFluid? {
        guard side != .bilateral else { return nil }
        let parts = masks.largestParts()
        let lungMask = side == .right ? parts.rightLung : parts.leftLung
        guard let lung = BoundingBox(pixels: lungMask, width: masks.width, height: masks.height) else { return nil }
        let plane = equalisedPlane(image, width: masks.width, height: masks.height)
        let x0 = Int(lung.x0), x1 = Int(lung.x1), y0 = Int(lung.y0)
        let rows = Int(lung.height)
        let bandWidth = max(1, Int((lung.width * bandShare).rounded()))
        let columns = side == .right ? x0..<(x0 + bandWidth) : (x1 - bandWidth)..<x1
        var profile = [Double](repeating: 0, count: rows)
        for r in 0..<rows {
            var sum = 0.0
            for x in columns { sum += Double(plane[(y0 + r) * masks.width + x]) }
            profile[r] = sum / Double(columns.count)
        }
        let smoothed = smooth(profile, window: smoothingRows)
        var r = rows - 1
        while r >= 0 && smoothed[r] >= threshold { r -= 1 }
        let level = Double(r + 1) / Double(rows)
        guard level <= maximumTop else { return nil }

        let kx = Double(masks.imageWidth) / Double(masks.width)
        let ky = Double(masks.imageHeight) / Double(masks.height)
        let top = (lung.y0 + lung.height * (level - margin)) * ky
        let width = Double(masks.imageWidth), height = Double(masks.imageHeight)
        let box =
            side == .right
            ? BoundingBox(x0: 0, y0: top, x1: (lung.x0 + lateralShare * lung.width) * kx, y1: height)
            : BoundingBox(x0: (lung.x1 - lateralShare * lung.width) * kx, y0: top, x1: width, y1: height)
        return PleuralFluid(side: side, level: level, lung: lung.scaled(x: kx, y: ky), box: box)
    }

    /// Whether the region `name` lies on this side (its name starts with the side: `right-lower-zone`).
    public func claims(_ name: String) -> Bool { name.hasPrefix(side.rawValue + "-") }

    /// `mask` with the pixels outside `box` cleared (a pixel is inside when its top-left corner is).
    public func clip(_ mask: Mask) throws -> Mask {
        var values = mask.values
        for y in 0..<mask.height {
            let rowInside = Double(y) >= box.y0 && Double(y) < box.y1
            for x in 0..<mask.width where !(rowInside && Double(x) >= box.x0 && Double(x) < box.x1) {
                values[y * mask.width + x] = 0
            }
        }
        return try Mask(width: mask.width, height: mask.height, values: values)
    }

    /// One line for provenance and reports, e.g. `right: opaque from the base up to 52% of the lung height (0 =
    /// lung top); region x 0.0-97.3 y 110.4-256.0 px`.
    public var summary: String {
        String(
            format: "%@: opaque from the base up to %.0f%% of the lung height (0 = lung top); region x %.1f-%.1f y "
                + "%.1f-%.1f px", side.rawValue, level * 100, box.x0, box.x1, box.y0, box.y1)
    }

    /// The image grey, rank-equalised at its own size (as the segmenter sees it) and resized to the masks' size.
    static func equalisedPlane(_ image: RasterImage, width: Int, height: Int) -> [Float] {
        let gray = image.toGray()
        let equalised = RegionFitter.equalise(gray)
        guard width != gray.width || height != gray.height else { return equalised }
        // Both sizes are positive (a decoded image and the segmenter's working size), the only way this can fail.
        return try! FloatPlanes(width: gray.width, height: gray.height, channels: 1, data: equalised)
            .resized(width: width, height: height, filter: .bilinear).data
    }

    /// Centred moving average, the ends padded with the end values.
    static func smooth(_ values: [Double], window: Int) -> [Double] {
        let half = window / 2
        return values.indices.map { i in
            var sum = 0.0
            for j in (i - half)...(i + half) { sum += values[min(max(j, 0), values.count - 1)] }
            return sum / Double(2 * half + 1)
        }
    }
}
