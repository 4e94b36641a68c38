import CXRFindings

extension AtlasFit {
    /// The fit as `edit --json`, `edit --dry-run --json` and `explain --json` report it.
    func json(weak: Bool) -> [String: Any] {
        [
            "score": score, "scale_x": scaleX, "scale_y": scaleY, "offset_x": offsetX, "offset_y": offsetY,
            "weak": weak,
            "method": method.rawValue, "parts": partsJSON,
        ]
    }

    /// The part transforms of a segmented fit (`right_lung`, `left_lung`, `heart`; a part without one is placed
    /// by the top-level transform and left out), so that a region can be rebuilt from the report alone.
    var partsJSON: [String: Any] {
        var out: [String: Any] = [:]
        for (key, t) in [("right_lung", rightLung), ("left_lung", leftLung), ("heart", heart)] {
            guard let t else { continue }
            out[key] = ["scale_x": t.scaleX, "scale_y": t.scaleY, "offset_x": t.offsetX, "offset_y": t.offsetY]
        }
        return out
    }
}
