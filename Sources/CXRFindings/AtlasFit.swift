/// Where the atlas lies on an image: an axis-aligned scale and translation, and with the segmenter one per part.
///
/// Continuous pixel coordinates (pixel i covers [i, i+1)): `imageX = offsetX + scaleX * atlasX`,
/// `imageY = offsetY + scaleY * atlasY`, in the image's own pixels. The top-level transform places the atlas as a
/// whole (both lungs); when the lung/heart segmenter placed it (`method == .segmenter`), each lung's regions and
/// the heart have their own transform (`rightLung`, `leftLung`, `heart`), so that a region follows the patient's
/// own lung or heart rather than the average proportions between them (an enlarged heart, a raised hemidiaphragm).
public struct AtlasFit: Sendable, Equatable, Codable {
    /// How the fit was found.
    public enum Method: String, Sendable, Codable {
        /// Template registration alone (`RegionFitter.templateFit`): no part transforms.
        case template
        /// Boxes of the segmented lungs and heart (`RegionFitter.segmentedFit`).
        case segmenter
    }

    public var scaleX: Double
    public var scaleY: Double
    public var offsetX: Double
    public var offsetY: Double
    /// Normalised cross-correlation of the equalised image with the atlas template at the template fit
    /// (1 = identical; -1 = the image covers too little of the atlas), whichever method placed the regions. Below
    /// `FitPolicy.defaultMinimumScore` the regions are likely misplaced or the image is not a frontal chest
    /// radiograph.
    public var score: Double
    public var imageWidth: Int
    public var imageHeight: Int
    public var method: Method
    /// Transforms of the `right-*` regions, the `left-*` regions and `heart`; nil = the top-level transform.
    public var rightLung: AtlasTransform?
    public var leftLung: AtlasTransform?
    public var heart: AtlasTransform?

    public init(
        scaleX: Double, scaleY: Double, offsetX: Double, offsetY: Double, score: Double, imageWidth: Int,
        imageHeight: Int, method: Method = .template, rightLung: AtlasTransform? = nil,
        leftLung: AtlasTransform? = nil, heart: AtlasTransform? = nil
    ) {
        self.scaleX = scaleX
        self.scaleY = scaleY
        self.offsetX = offsetX
        self.offsetY = offsetY
        self.score = score
        self.imageWidth = imageWidth
        self.imageHeight = imageHeight
        self.method = method
        self.rightLung = rightLung
        self.leftLung = leftLung
        self.heart = heart
    }

    /// The top-level transform.
    public var transform: AtlasTransform {
        AtlasTransform(scaleX: scaleX, scaleY: scaleY, offsetX: offsetX, offsetY: offsetY)
    }

    /// The transform that places the region `name`: its lung's for `right-*`/`left-*`, the heart's for `heart`,
    /// else (lungs, mediastinum, extra regions) the top-level one. Tools/measure_region_coverage.py mirrors this.
    public func transform(forRegion name: String) -> AtlasTransform {
        let part: AtlasTransform?
        if name.hasPrefix("right-") {
            part = rightLung
        } else if name.hasPrefix("left-") {
            part = leftLung
        } else if name == "heart" {
            part = heart
        } else {
            part = nil
        }
        return part ?? transform
    }

    /// Image point of an atlas point (top-level transform).
    public func imagePoint(atlasX: Double, atlasY: Double) -> (x: Double, y: Double) {
        (offsetX + scaleX * atlasX, offsetY + scaleY * atlasY)
    }

    /// One-line description, e.g. for `cxr-edit regions`.
    public var summary: String {
        String(
            format: "atlas 256x256 -> image %dx%d: scale x %.3f y %.3f, offset x %.1f y %.1f px, match %.3f",
            imageWidth, imageHeight, scaleX, scaleY, offsetX, offsetY, score)
            + (method == .segmenter ? " (segmented lungs and heart)" : " (template)")
    }
}
