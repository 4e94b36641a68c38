import CXRImaging
import Foundation

/// How far pleural fluid reaches on one side of a radiograph, estimated from the image itself.
///
/// The NIH expert boxes of one-sided effusions range from a strip over the costophrenic angle to most of the
/// hemithorax (docs/regions.md), so no fixed extent both covers the fluid and stays on it; what was missing is how
/// far the fluid reaches in each image. Fluid is opaque, so the more of the hemithorax it fills, the brighter the
/// lung field is on the rank-equalised image: `measure(in:masks:side:)` takes the mean equalised brightness over the
/// segmented lung (its `opacity`; the segmenter marks the lung field through basal opacities, as it was trained to)
/// and moves the estimated top of the fluid up the lung as the opacity rises above a typical effusion's. Normal lungs
/// overlap effusions in opacity, so this estimates how far fluid reaches, not whether there is any: the removal
/// assumes there is, as `--remove` states.
///
/// The region to repaint is the effusion extent, grown as its `large` level, clipped to `box` in the lung's frame:
/// from that top down to `baseMargin` lung heights below the lung, and from `wallMargin` lung widths outside the
/// chest wall to `lateralShare` of the lung width. The constants are the same on both sides: a top and a share per
/// side fitted the tuning boxes more closely than they generalise (cross-validated within the tuning boxes they lost 3
/// points of coverage, shared constants 1). Every constant was tuned on the NIH expert boxes of even patient ids and
/// is reported on the odd ones (Tools/measure_fluid_extent.py, which mirrors this measurement; docs/regions.md).
public struct PleuralFluid: Sendable, Equatable, Codable {
    /// The side measured (right or left; image left is the patient's right).
    public var side: Side
    /// Mean rank-equalised brightness (0...1) over the segmented lung: the higher, the more of it is opaque.
    public var opacity: Double
    /// The estimated top of the fluid, where the region starts, as a share of the lung box height from its top (0 =
    /// apex, 1 = base).
    public var level: Double
    /// The segmented lung box of that side, in the image's pixels.
    public var lung: BoundingBox
    /// Where the effusion region is kept, in the image's pixels (continuous: pixel i covers [i, i+1)).
    public var box: BoundingBox

    public init(side: Side, opacity: Double, level: Double, lung: BoundingBox, box: BoundingBox) {
        self.side = side
        self.opacity = opacity
        self.level = level
        self.lung = lung
        self.box = box
    }

    /// The vocabulary id of the finding whose removal follows the fluid (`Finding.removalExtent`).
    public static let findingID = "pleural-effusion"

    /// Growth in atlas pixels of the extent before the clip: the `large` level's, as the clip, not the growth, bounds
    /// the region (a region grown less stops short of the chest wall and the costophrenic angle).
    public static let grow = 18
    /// The opacity of a typical effusion's lung (the median over the tuning boxes), where the top is `typicalLevel`.
    public static let typicalOpacity = 0.37
    /// The top of a typical effusion's region, as a share of the lung height from its top.
    public static let typicalLevel = 0.35
    /// Lung heights the top moves up per unit of opacity above `typicalOpacity` (down below it).
    public static let levelPerOpacity = 2.0
    /// Lung widths outside the lung box, at the chest wall, that the region keeps: the boxes include the wall.
    public static let wallMargin = 0.15
    /// Lung heights below the lung box that the region keeps: the boxes reach into the costophrenic recess.
    public static let baseMargin = 0.15
    /// Share of the lung width, from the chest wall, that the region keeps: the boxes are lateral (the medial base
    /// is heart and diaphragm).
    public static let lateralShare = 0.7

    /// The fluid on `side` of `image`, with the segmenter's `masks` of that image; nil when the side is not a single
    /// side or its lung is missing.
    public static func measure(in image: RasterImage, masks: LungMasks, side: Side) -> PleuralFluid? {
        guard side != .bilateral else { return nil }
        let parts = masks.largestParts()
        let lungMask = side == .right ? parts.rightLung : parts.leftLung
        guard let lung = BoundingBox(pixels: lungMask, width: masks.width, height: masks.height) else { return nil }
        let plane = equalisedPlane(image, width: masks.width, height: masks.height)
        var sum = 0.0, count = 0
        for (i, inLung) in lungMask.enumerated() where inLung {
            sum += Double(plane[i])
            count += 1
        }
        let opacity = sum / Double(count)
        let level = typicalLevel - levelPerOpacity * (opacity - typicalOpacity)

        // The box in the lung's frame at the masks' size, then in the image's pixels.
        let kx = Double(masks.imageWidth) / Double(masks.width)
        let ky = Double(masks.imageHeight) / Double(masks.height)
        let y0 = lung.y0 + lung.height * level, y1 = lung.y0 + lung.height * (1 + baseMargin)
        let wall = wallMargin * lung.width, inner = lateralShare * lung.width
        let box =
            side == .right
            ? BoundingBox(x0: lung.x0 - wall, y0: y0, x1: lung.x0 + inner, y1: y1)
            : BoundingBox(x0: lung.x1 - inner, y0: y0, x1: lung.x1 + wall, y1: y1)
        return PleuralFluid(
            side: side, opacity: opacity, level: level, lung: lung.scaled(x: kx, y: ky), box: box.scaled(x: kx, y: ky))
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

    /// One line for provenance and reports, e.g. `right: lung opacity 0.41, fluid from 16% of the lung height (0 =
    /// lung top); region x 12.3-97.3 y 50.4-230.0 px`.
    public var summary: String {
        String(
            format: "%@: lung opacity %.2f, fluid from %.0f%% of the lung height (0 = lung top); region x %.1f-%.1f "
                + "y %.1f-%.1f px", side.rawValue, opacity, level * 100, box.x0, box.x1, box.y0, box.y1)
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
}
