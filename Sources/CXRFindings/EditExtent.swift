import Foundation

/// How far an edit of a finding reaches, per severity (`extent` in findings.json).
///
/// Severity has to change something even where the model never saw severity words, so each severity maps to the
/// area the edit may repaint: a trace effusion fills the costophrenic angle, a large one the lower and middle zones;
/// severe cardiomegaly grows the heart region further than mild. The bundled model's inpainting UNet was trained
/// with masks drawn from this same table (Tools/cxr_mini/findings.py `extent()`), so both sides must agree.
public struct EditExtent: Sendable, Equatable, Codable {
    /// One severity's area: atlas regions (`{side}` expands) grown by `grow` pixels of the 256x256 atlas frame.
    public struct Level: Sendable, Equatable, Codable {
        public let regions: [String]
        public let grow: Int

        public init(regions: [String], grow: Int) {
            self.regions = regions
            self.grow = grow
        }
    }

    /// The level used when no severity is given, or one that has no level of its own.
    public let `default`: String
    public let levels: [String: Level]

    public init(default: String, levels: [String: Level]) {
        self.default = `default`
        self.levels = levels
    }

    /// The level named by `severity` if it has one, else the default level.
    public func level(for severity: String?) -> Level? {
        if let severity, let level = levels[severity] { return level }
        return levels[self.default]
    }
}

/// The area an edit of one finding repaints: region names (sides expanded) and their growth in atlas pixels.
public struct ExtentArea: Sendable, Equatable {
    public var regions: [String]
    /// Pixels of the 256x256 atlas frame; scaled by the fit to the image's pixels when placed.
    public var grow: Int
    /// Whether the area is clipped to the pleural fluid measured on the image (`PleuralFluid`), side by side
    /// where fluid is found: the default extent of a removed pleural effusion.
    public var followsFluid: Bool

    public init(regions: [String], grow: Int, followsFluid: Bool = false) {
        self.regions = regions
        self.grow = grow
        self.followsFluid = followsFluid
    }
}

extension Finding {
    /// The regions and growth of an edit of this finding with `side` and `severity`: the extent level named by
    /// the severity, else the extent's default level; a finding without an extent uses its default regions,
    /// ungrown. `{side}` expands to right and left when `side` is nil or bilateral.
    /// Must equal Tools/cxr_mini/findings.py `extent()` (the inpainting UNet's masks come from it).
    public func editExtent(side: Side?, severity: String?) -> ExtentArea {
        guard let level = extent?.level(for: severity) else {
            return ExtentArea(regions: defaultRegions(side: side), grow: 0)
        }
        return ExtentArea(regions: Finding.expand(level.regions, side: side), grow: level.grow)
    }

    /// The area removing this finding repaints: `editExtent(side:severity:)`, and for a pleural effusion removed
    /// without a severity word, clipped to the fluid measured on the image where there is any (`followsFluid`).
    ///
    /// Only the removal follows the fluid: an added effusion needs room beyond the fluid already there, and an
    /// explicit severity is the user's own statement of the extent, so both keep the extent levels (which stay
    /// monotone in severity).
    public func removalExtent(side: Side?, severity: String?) -> ExtentArea {
        var area = editExtent(side: side, severity: severity)
        area.followsFluid = id == PleuralFluid.findingID && severity == nil
        return area
    }

    /// Region templates with `{side}` replaced by the single sides of `side` (both for nil or bilateral),
    /// deduplicated, in order.
    static func expand(_ templates: [String], side: Side?) -> [String] {
        var out: [String] = []
        for r in templates {
            let expanded =
                r.contains("{side}")
                ? (side ?? .bilateral).expanded.map { r.replacingOccurrences(of: "{side}", with: $0.rawValue) }
                : [r]
            for e in expanded where !out.contains(e) { out.append(e) }
        }
        return out
    }
}
