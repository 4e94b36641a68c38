import CXRFindings

/// An atlas fit as the `--json` outputs of `edit`, `explain` and `regions` report it: enough to rebuild a region
/// from the report alone.
struct AtlasFitJSON: Encodable {
    /// One part's own transform of the atlas onto the image.
    struct Transform: Encodable {
        var scaleX: Double
        var scaleY: Double
        var offsetX: Double
        var offsetY: Double

        init(_ t: AtlasTransform) {
            scaleX = t.scaleX; scaleY = t.scaleY; offsetX = t.offsetX; offsetY = t.offsetY
        }

        enum CodingKeys: String, CodingKey {
            case scaleX = "scale_x", scaleY = "scale_y", offsetX = "offset_x", offsetY = "offset_y"
        }
    }

    var score: Double
    var scaleX: Double
    var scaleY: Double
    var offsetX: Double
    var offsetY: Double
    var weak: Bool
    var method: String
    /// The part transforms of a segmented fit (`right_lung`, `left_lung`, `heart`); a part without one is placed
    /// by the top-level transform and left out.
    var parts: [String: Transform]
    /// The score under its first name, which `explain` and `regions` still print beside `score`.
    var match: Double?

    init(_ fit: AtlasFit, weak: Bool, withMatch: Bool = false) {
        score = fit.score; scaleX = fit.scaleX; scaleY = fit.scaleY; offsetX = fit.offsetX; offsetY = fit.offsetY
        self.weak = weak
        method = fit.method.rawValue
        parts = [:]
        for (key, t) in [("right_lung", fit.rightLung), ("left_lung", fit.leftLung), ("heart", fit.heart)] {
            if let t { parts[key] = Transform(t) }
        }
        match = withMatch ? fit.score : nil
    }

    enum CodingKeys: String, CodingKey {
        case score, scaleX = "scale_x", scaleY = "scale_y", offsetX = "offset_x", offsetY = "offset_y", weak, method
        case parts, match
    }
}
