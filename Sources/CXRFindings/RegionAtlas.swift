import CXRImaging
import Foundation

/// Named anatomical regions in the 256x256 atlas frame (PA; image left = patient's right), plus the
/// mean radiograph the fitter registers to a user's image.
///
/// The region PNGs (white = region) are the average atlas built by `Tools/make_region_atlas.py`
/// from the JSRT SCR lung/heart masks (see Masks/README.md). They are looked up, in order, in
/// `$CXR_EDIT_MASKS`, in `Masks/` (or `share/cxr-edit/Masks/`) beside the executable and up to six
/// folders above it (a checkout runs `.build/release/cxr-edit`), in `./Masks`, and finally in
/// the copy bundled in CXRFindings' resources. A folder found this way may add its own
/// `<name>.png` regions, drawn in the same frame.
public struct RegionAtlas: Sendable {
    /// The standard region names (external checks use exactly these).
    public static let standardNames = [
        "right-lung", "left-lung", "lungs", "heart", "mediastinum", "right-cp-angle", "left-cp-angle",
        "right-upper-zone", "right-middle-zone", "right-lower-zone", "left-upper-zone", "left-middle-zone",
        "left-lower-zone", "right-apex", "left-apex",
    ]

    /// Atlas frame size.
    public let width: Int
    public let height: Int
    /// Folder the region PNGs come from.
    public let directory: URL
    /// Mean rank-equalised radiograph in the atlas frame, values 0...1 (`width * height`).
    public let template: [Float]
    /// Region names available in `directory`, sorted (the standard ones plus any extras).
    public let availableNames: [String]

    /// Loads the atlas from `directory` (nil: the search order above).
    public init(directory: URL? = nil) throws {
        guard let dir = directory ?? RegionAtlas.locateDirectory() else {
            throw FindingsError(
                "Masks: the region atlas was not found (set CXR_EDIT_MASKS to the repository's Masks folder)")
        }
        guard let templateURL = FindingsResources.url("template.png", subdirectory: "atlas") else {
            throw FindingsError("template.png: the atlas template is missing from the CXRFindings resources")
        }
        let t = try ImageIO.read(templateURL).toGray()
        width = t.width
        height = t.height
        let maxV = Float(t.maxValue)
        template = t.samples.map { Float($0) / maxV }
        self.directory = dir
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        availableNames = files.filter { $0.hasSuffix(".png") && $0 != "template.png" }
            .map { String($0.dropLast(4)) }.sorted()
    }

    /// The atlas found by the search order (cached).
    public static func standard() throws -> RegionAtlas { try AtlasCache.shared.get() }

    /// First folder holding `lungs.png` in the search order, or nil.
    public static func locateDirectory() -> URL? {
        let fm = FileManager.default
        func ok(_ url: URL) -> Bool { fm.fileExists(atPath: url.appendingPathComponent("lungs.png").path) }
        if let env = ProcessInfo.processInfo.environment["CXR_EDIT_MASKS"], !env.isEmpty {
            let url = URL(fileURLWithPath: env)
            if ok(url) { return url }
        }
        let exe = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0...6 {
            for candidate in ["Masks", "share/cxr-edit/Masks"] where ok(dir.appendingPathComponent(candidate)) {
                return dir.appendingPathComponent(candidate)
            }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("Masks")
        if ok(cwd) { return cwd }
        return FindingsResources.url("lungs.png", subdirectory: "atlas")?.deletingLastPathComponent()
    }

    /// Throws for a name that is not a region, listing close names.
    public func validate(_ names: [String]) throws {
        for name in names where !availableNames.contains(name) {
            let query = name.lowercased()
            var scored: [(name: String, distance: Int)] = []
            for candidate in availableNames {
                let d = Text.editDistance(candidate, query)
                if d <= max(3, query.count / 3) || candidate.contains(query) { scored.append((candidate, d)) }
            }
            scored.sort { a, b in a.distance != b.distance ? a.distance < b.distance : a.name < b.name }
            let close = scored.prefix(3).map { $0.name }
            let hint =
                close.isEmpty
                ? "regions are: \(availableNames.joined(separator: ", "))"
                : "did you mean \(close.joined(separator: ", "))?"
            throw FindingsError("unknown region '\(name)'; \(hint)")
        }
    }

    /// One region in the atlas frame (binary).
    public func mask(named name: String) throws -> Mask {
        try validate([name])
        let url = directory.appendingPathComponent("\(name).png")
        let m = try Mask(image: ImageIO.read(url)).binarized()
        guard m.width == width, m.height == height else {
            throw FindingsError("\(url.path): region is \(m.width)x\(m.height), the atlas frame is \(width)x\(height)")
        }
        return m
    }

    /// Union of regions in the atlas frame (binary); an empty list is an error.
    public func union(_ names: [String]) throws -> Mask {
        guard !names.isEmpty else { throw FindingsError(.noRegionNamed) }
        var values = [Float](repeating: 0, count: width * height)
        for name in names {
            let m = try mask(named: name)
            for i in 0..<values.count where m.values[i] >= 0.5 { values[i] = 1 }
        }
        return try Mask(width: width, height: height, values: values)
    }
}

private final class AtlasCache: @unchecked Sendable {
    static let shared = AtlasCache()
    private let lock = NSLock()
    private var cached: RegionAtlas?

    func get() throws -> RegionAtlas {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        let a = try RegionAtlas()
        cached = a
        return a
    }
}
