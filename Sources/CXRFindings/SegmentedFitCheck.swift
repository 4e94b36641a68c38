/// Whether segmented lungs and heart can place the atlas, and the transforms they give (`RegionFitter.segmentedFit`).
///
/// The segmenter was trained on 198 PA radiographs without effusion, devices or AP positioning, so its masks are
/// checked before they are trusted; any failed check gives today's template fit instead (documented in
/// docs/regions.md). Thresholds are loose: they catch a failed segmentation (a non-chest image, a lung missing),
/// not an unusual chest.
enum SegmentedFitCheck {
    /// Boxes of both lungs, the right lung, the left lung and the heart.
    typealias PartBoxes = (lungs: BoundingBox, right: BoundingBox, left: BoundingBox, heart: BoundingBox)

    /// Each lung covers at least this share of the image (the smallest held-out JSRT lung covers 10%).
    static let minimumLungCoverage = 0.02
    /// The heart covers at least this share (held-out JSRT: 6% and more).
    static let minimumHeartCoverage = 0.01
    /// Width over height of the whole-atlas scale, allowed range (JSRT and NIH fits lie within 0.8...1.3).
    static let aspectRange = 0.5...2.0
    /// A lung less tall or wide than this share of the other is taken as cut short (an opacity hiding its base):
    /// its regions are then placed by the whole-atlas transform instead of its own box.
    static let minimumLungRatio = 0.7
    /// The template's correlation with the image at the segmented whole-atlas placement must reach this: the
    /// network also marks plausible "lungs" on noise and textures, where the correlation is about 0. Of the 259
    /// NIH images with expert boxes, 258 reach 0.29 or more (median above 0.7); the other places the atlas partly
    /// off the image (-1) and keeps the template fit.
    static let minimumMatch = 0.2

    /// Transforms from the atlas frame to the image, or nil when the masks are implausible. `atlasBoxes` are the
    /// atlas's own boxes of both lungs, the right lung, the left lung and the heart.
    static func transforms(_ masks: LungMasks, atlasBoxes a: PartBoxes)
        -> (lungs: AtlasTransform, right: AtlasTransform?, left: AtlasTransform?, heart: AtlasTransform?)?
    {
        let m = masks.largestParts()
        guard m.coverage(m.rightLung) >= minimumLungCoverage, m.coverage(m.leftLung) >= minimumLungCoverage,
            m.coverage(m.heart) >= minimumHeartCoverage,
            let r = m.box(m.rightLung), let l = m.box(m.leftLung), let h = m.box(m.heart),
            let rx = m.centreX(m.rightLung), let lx = m.centreX(m.leftLung), let hx = m.centreX(m.heart),
            rx < hx, hx < lx
        else { return nil }
        let both = BoundingBox(x0: min(r.x0, l.x0), y0: min(r.y0, l.y0), x1: max(r.x1, l.x1), y1: max(r.y1, l.y1))
        let lungs = AtlasTransform(mapping: a.lungs, onto: both)
        guard lungs.isValid, aspectRange.contains(lungs.scaleX / lungs.scaleY) else { return nil }
        func whole(_ box: BoundingBox, other: BoundingBox) -> Bool {
            box.height >= minimumLungRatio * other.height && box.width >= minimumLungRatio * other.width
        }
        let right = whole(r, other: l) ? AtlasTransform(mapping: a.right, onto: r) : nil
        let left = whole(l, other: r) ? AtlasTransform(mapping: a.left, onto: l) : nil
        // A heart box wider than both lungs together is no heart.
        let heart = h.width < both.width ? AtlasTransform(mapping: a.heart, onto: h) : nil
        return (lungs, right, left, heart)
    }
}
