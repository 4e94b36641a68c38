import CXRImaging
import Foundation

/// What an edit repaints and what it holds to the input, in the atlas's terms, before it is placed on an image.
///
/// The CLI (`--add/--remove/--severity`, `--region`, `--dilate`, `--keep-region`), the probe and synthesize all
/// describe their regions this way and place them with `RegionFitter.place(_:fit:)`, so a region means the same
/// pixels whoever asks.
public struct RegionRequest: Sendable, Equatable {
    /// Areas to repaint (their union): a finding's extent, or named regions with grow 0. Empty = no atlas region.
    public var edit: [ExtentArea]
    /// Extra growth of every edit area in the image's own pixels (`--dilate`), on top of its extent's grow.
    public var dilate: Int
    /// Regions held to the input (their union), ungrown.
    public var keep: [String]

    public init(edit: [ExtentArea] = [], dilate: Int = 0, keep: [String] = []) {
        self.edit = edit
        self.dilate = dilate
        self.keep = keep
    }

    /// Named regions repainted as they are (`--region NAME`).
    public init(regions: [String], dilate: Int = 0, keep: [String] = []) {
        self.init(edit: regions.isEmpty ? [] : [ExtentArea(regions: regions, grow: 0)], dilate: dilate, keep: keep)
    }

    /// Whether anything has to be placed (so the atlas has to be fitted).
    public var isEmpty: Bool { edit.isEmpty && keep.isEmpty }

    /// The sides whose pleural fluid an edit area follows (`ExtentArea.followsFluid`), right before left: the
    /// sides to measure on the image.
    public var fluidSides: [Side] {
        let names = edit.filter(\.followsFluid).flatMap(\.regions)
        return [Side.right, .left].filter { side in names.contains { $0.hasPrefix(side.rawValue + "-") } }
    }

    /// Every region name repainted, in order, without repeats.
    public var editRegionNames: [String] {
        var out: [String] = []
        for area in edit { for name in area.regions where !out.contains(name) { out.append(name) } }
        return out
    }

    /// Every region name used (to validate before any image is read).
    public var allRegionNames: [String] { editRegionNames + keep.filter { !editRegionNames.contains($0) } }

    /// `right-cp-angle+right-lower-zone(grow 18)`-style description of the edit areas, for provenance and reports.
    public var editDescription: String {
        edit.map { a in a.regions.joined(separator: "+") + (a.grow > 0 ? "(grow \(a.grow))" : "") }
            .joined(separator: " | ")
    }
}

/// A `RegionRequest` placed on one image, at the image's own size.
public struct PlacedRegions: Sendable {
    public var fit: AtlasFit?
    /// Pixels to repaint (1 = edit); nil = the request named no edit area.
    public var edit: Mask?
    /// Pixels held to the input (1 = keep); nil = nothing kept.
    public var keep: Mask?
    /// Growth of each edit area in image pixels: its extent's grow scaled by the fit, plus `dilate`; for an area
    /// clipped to the fluid, `PleuralFluid.grow` scaled the same way (a side without fluid keeps its extent's).
    public var growth: [Int]
    /// The pleural fluid that clipped the areas following it (`ExtentArea.followsFluid`), one per side where
    /// fluid was found and its clip left part of the side; empty = every area placed as its extent says.
    public var fluid: [PleuralFluid]

    public init(
        fit: AtlasFit? = nil, edit: Mask? = nil, keep: Mask? = nil, growth: [Int] = [], fluid: [PleuralFluid] = []
    ) {
        self.fit = fit
        self.edit = edit
        self.keep = keep
        self.growth = growth
        self.fluid = fluid
    }
}

extension RegionFitter {
    /// Places `request` on an image with a known fit (the fit's image size is the mask size). An area that follows
    /// the fluid is grown by `PleuralFluid.grow` and clipped, side by side, to the `fluid` measured on that side
    /// (`PleuralFluid.clip`); a side without fluid, or whose clip would leave nothing, keeps its extent.
    public func place(_ request: RegionRequest, fit: AtlasFit, fluid: [PleuralFluid] = []) throws -> PlacedRegions {
        guard (0...Self.maxDilation).contains(request.dilate) else {
            throw FindingsError(.dilationOutOfRange(pixels: request.dilate))
        }
        var edit: Mask?
        var growth: [Int] = []
        var clipping: [PleuralFluid] = []
        // Atlas pixels to image pixels: the mean of the fit's two scales (they differ by the aspect only).
        func pixels(_ grow: Int) -> Int {
            Int((Double(grow) * (fit.scaleX + fit.scaleY) / 2).rounded()) + request.dilate
        }
        for area in request.edit {
            let grow = pixels(area.grow), fluidGrow = pixels(PleuralFluid.grow)
            // Each side that follows its fluid is placed and grown on its own (growth distributes over the union), by
            // the fluid's growth, then clipped by its own fluid, so that one side's box never cuts the other side's
            // region. A clip that leaves nothing (a lung box far from where the fit put the zones) keeps the extent.
            var clipped: [(fluid: PleuralFluid, mask: Mask)] = []
            for f in area.followsFluid ? fluid : [] {
                let names = area.regions.filter { f.claims($0) }
                guard !names.isEmpty else { continue }
                let mask = try f.clip(place(names, fit: fit, dilate: min(fluidGrow, Self.maxDilation)))
                if mask.coverage > 0 { clipped.append((f, mask)) }
            }
            let rest = area.regions.filter { r in !clipped.contains { $0.fluid.claims(r) } }
            growth.append(clipped.isEmpty ? grow : fluidGrow)
            var placed =
                rest.isEmpty
                ? try Mask(empty: fit.imageWidth, height: fit.imageHeight)
                : try place(rest, fit: fit, dilate: min(grow, Self.maxDilation))
            for c in clipped {
                placed = try placed.union(c.mask)
                if !clipping.contains(c.fluid) { clipping.append(c.fluid) }
            }
            edit = try edit.map { try $0.union(placed) } ?? placed
        }
        if let e = edit, e.coverage == 0 {
            throw FindingsError(.regionOutsideImage(regions: request.editRegionNames))
        }
        let keep = request.keep.isEmpty ? nil : try place(request.keep, fit: fit, dilate: 0)
        return PlacedRegions(fit: fit, edit: edit, keep: keep, growth: growth, fluid: clipping)
    }

    /// Fits the atlas to `image` and places `request` on it; a fit below `policy` is an error (see `FitPolicy`).
    public func place(
        _ request: RegionRequest, on image: RasterImage,
        policy: FitPolicy = .standard
    ) throws -> PlacedRegions {
        let f = fit(image)
        try policy.check(f)
        return try place(request, fit: f)
    }
}
