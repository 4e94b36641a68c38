import Foundation

/// Masks drawn over an image for people checking where regions fall (`cxr-edit regions`): an 8-bit RGB copy of the
/// image, each mask tinted with its palette colour (45%) and outlined in it.
public enum MaskOverlay {
    /// The colours of the masks in order, repeating after the last; the names are what a report calls them.
    public static let palette: [(name: String, rgb: (Double, Double, Double))] = [
        ("red", (230, 70, 70)), ("orange", (240, 160, 50)), ("yellow", (230, 220, 60)), ("blue", (70, 110, 235)),
        ("cyan", (60, 200, 220)), ("green", (100, 220, 100)), ("magenta", (220, 70, 210)), ("brown", (170, 110, 60)),
        ("white", (245, 245, 245)), ("violet", (150, 90, 230)),
    ]

    /// The name of the colour the mask at `index` is drawn in.
    public static func colourName(ofMaskAt index: Int) -> String { palette[index % palette.count].name }

    /// `masks` (each at the image's size) drawn over `image`. The outline is one pixel per 256 of the image's
    /// shorter side, so it stays visible on a full-size radiograph.
    public static func draw(_ masks: [Mask], over image: RasterImage) throws -> RasterImage {
        let base = image.to8Bit().toGray()
        let w = base.width, h = base.height
        var rgb = [Double](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) { for c in 0..<3 { rgb[3 * i + c] = Double(base.samples[i]) } }
        let thickness = max(1, min(w, h) / 256)
        var edges: [(Int, (Double, Double, Double))] = []
        for (k, m) in masks.enumerated() {
            let col = palette[k % palette.count].rgb
            for i in 0..<(w * h) where m.contains(i) {
                let g = Double(base.samples[i])
                rgb[3 * i] = 0.55 * g + 0.45 * col.0
                rgb[3 * i + 1] = 0.55 * g + 0.45 * col.1
                rgb[3 * i + 2] = 0.55 * g + 0.45 * col.2
                if isOnEdge(i, of: m, thickness: thickness) { edges.append((i, col)) }
            }
        }
        for (i, col) in edges { rgb[3 * i] = col.0; rgb[3 * i + 1] = col.1; rgb[3 * i + 2] = col.2 }
        return try RasterImage(
            width: w, height: h, channels: 3, bitDepth: 8,
            samples: rgb.map { UInt16(min(max($0.rounded(), 0), 255)) })
    }

    /// Whether a pixel outside the mask (or the image's border) lies within `thickness` pixels of pixel `i`.
    private static func isOnEdge(_ i: Int, of m: Mask, thickness: Int) -> Bool {
        let w = m.width, h = m.height, x = i % w, y = i / w
        for dy in -thickness...thickness {
            for dx in -thickness...thickness {
                let xx = x + dx, yy = y + dy
                if xx < 0 || yy < 0 || xx >= w || yy >= h || !m.contains(yy * w + xx) { return true }
            }
        }
        return false
    }
}
