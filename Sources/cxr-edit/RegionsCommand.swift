import ArgumentParser
import CXRFindings
import CXRImaging
import Foundation

/// `cxr-edit regions IN.png`: fits the anatomical atlas to a radiograph and writes an overlay PNG,
/// so a user can check where `--region NAME` would edit before running a model.
struct RegionsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regions",
        abstract: "Fit the anatomical region atlas to a radiograph and write an overlay PNG to check it.",
        discussion: """
        Without --region the lung zones, heart and mediastinum are drawn (each tinted, outlined); with --region only \
        the named regions. The fitted transform (scale and offset of the 256x256 atlas on the image) is printed. \
        Image left is the patient's right.
        """)

    @Argument(help: ArgumentHelp("The radiograph (PNG, JPEG or DICOM).", valueName: "IN.png"))
    var input: String

    @OptionGroup(title: "DICOM input") var window: WindowOptions

    @Option(name: .long, help: ArgumentHelp("Region to draw (repeatable).", valueName: "NAME"))
    var region: [String] = []

    @Option(name: .long, help: ArgumentHelp("Grow the drawn regions by this many pixels (as --dilate in edit).", valueName: "PX"))
    var dilate: Int = 0

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Overlay PNG (default: IN-regions.png beside the input).", valueName: "OUT.png"))
    var output: String?

    @Option(name: .customLong("export-mask"),
            help: ArgumentHelp("Also write the --region regions (their union, with --dilate) as a grey mask PNG at "
                                   + "the input's size: white = region, usable as `edit --mask`.",
                               valueName: "MASK.png"))
    var exportMask: String?

    @Flag(name: .long, help: "Replace the output file if it exists.")
    var overwrite = false

    @Flag(name: .long, help: "Print the fit as JSON.")
    var json = false

    /// Default drawing: a partition of the thorax that shows every boundary the regions use.
    static let defaultRegions = ["right-upper-zone", "right-middle-zone", "right-lower-zone",
                                 "left-upper-zone", "left-middle-zone", "left-lower-zone", "heart", "mediastinum"]
    static let palette: [(name: String, rgb: (Double, Double, Double))] = [
        ("red", (230, 70, 70)), ("orange", (240, 160, 50)), ("yellow", (230, 220, 60)), ("blue", (70, 110, 235)),
        ("cyan", (60, 200, 220)), ("green", (100, 220, 100)), ("magenta", (220, 70, 210)), ("brown", (170, 110, 60)),
        ("white", (245, 245, 245)), ("violet", (150, 90, 230)),
    ]

    func run() throws {
        guard dilate >= 0 && dilate <= 1024 else { throw CLIError("--dilate must be between 0 and 1024 pixels, got \(dilate)") }
        let inURL = URL(fileURLWithPath: input)
        let image = try window.read(inURL).image
        let names = region.isEmpty ? Self.defaultRegions
            : region.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        let outURL = output.map { URL(fileURLWithPath: $0) }
            ?? inURL.deletingLastPathComponent().appendingPathComponent(inURL.deletingPathExtension().lastPathComponent + "-regions.png")
        if outURL.standardizedFileURL.path == inURL.standardizedFileURL.path {
            throw CLIError("\(outURL.lastPathComponent): the overlay would replace the input; give another -o")
        }
        let maskURL = exportMask.map { URL(fileURLWithPath: $0) }
        if let maskURL {
            // The default drawing partitions the whole thorax: as a mask it would be no region in particular.
            guard !region.isEmpty else {
                throw CLIError("--export-mask writes the --region regions; name at least one")
            }
            let path = maskURL.standardizedFileURL.path
            if path == inURL.standardizedFileURL.path || path == outURL.standardizedFileURL.path {
                throw CLIError("\(maskURL.lastPathComponent): --export-mask must name another file than the input and "
                               + "the overlay")
            }
            try checkOutputPath(maskURL, overwrite: overwrite)
        }
        do {
            let fitter = try RegionFitter.standard()
            try fitter.atlas.validate(names)
            let fit = fitter.fit(image)
            var masks: [(String, Mask)] = []
            for n in names { masks.append((n, try fitter.place([n], fit: fit, dilate: dilate))) }
            let overlay = try Self.overlay(image, masks: masks.map(\.1))
            try ImageIO.writePNG(overlay, to: outURL, text: [("Software", "cxr-edit regions"), ("Comment", "region overlay: \(fit.summary)")],
                                 overwrite: overwrite)
            if let maskURL {
                // Binary, as `edit` reads a mask (white = edit), at the input's size: the region edit's own area.
                let union = try fitter.place(names, fit: fit, dilate: dilate)
                let image = try RasterImage(width: union.width, height: union.height, channels: 1, bitDepth: 8,
                                            samples: union.pixels.map { $0 ? 255 : 0 })
                let comment = "region mask: \(names.joined(separator: "+"))"
                    + (dilate > 0 ? " dilated \(dilate) px" : "") + "; \(fit.summary)"
                try ImageIO.writePNG(image, to: maskURL, text: [("Software", "cxr-edit regions"), ("Comment", comment)],
                                     overwrite: overwrite)
            }
            try report(fit: fit, names: names, masks: masks.map(\.1), outURL: outURL, maskURL: maskURL)
        } catch let e as FindingsError {
            throw CLIError(commandLineMessage(for: e))
        }
    }

    private func report(fit: AtlasFit, names: [String], masks: [Mask], outURL: URL, maskURL: URL?) throws {
        let colours = names.indices.map { Self.palette[$0 % Self.palette.count].name }
        if json {
            var regions: [[String: Any]] = []
            for (i, n) in names.enumerated() {
                regions.append(["name": n, "colour": colours[i], "coverage": masks[i].coverage])
            }
            let obj: [String: Any] = ["output": outURL.path, "scale_x": fit.scaleX, "scale_y": fit.scaleY,
                                      "offset_x": fit.offsetX, "offset_y": fit.offsetY, "match": fit.score,
                                      "score": fit.score, "threshold": FitPolicy.standard.minimumScore,
                                      "weak": FitPolicy.standard.isWeak(fit), "method": fit.method.rawValue,
                                      "parts": fit.partsJSON,
                                      "width": fit.imageWidth, "height": fit.imageHeight, "dilate": dilate,
                                      "regions": regions, "mask": maskURL.map { $0.path as Any } ?? NSNull()]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(outURL.path)
        if let maskURL { print(maskURL.path) }
        print("fit: \(fit.summary)")
        print(String(format: "fit score: %.3f (edits need at least %.2f)", fit.score, FitPolicy.standard.minimumScore))
        for (i, n) in names.enumerated() {
            let colour = colours[i].padding(toLength: 8, withPad: " ", startingAt: 0)
            print("  \(colour) \(n) (" + String(format: "%.1f", masks[i].coverage * 100) + "% of the image)")
        }
        if FitPolicy.standard.isWeak(fit) {
            print("warning: weak fit (score \(String(format: "%.2f", fit.score))): the regions are likely misplaced or the image is not a frontal chest radiograph; check the overlay. Region edits of this image need --force.")
        }
    }

    /// 8-bit RGB copy of `image` with each mask tinted (45% colour) and outlined.
    static func overlay(_ image: RasterImage, masks: [Mask]) throws -> RasterImage {
        let base = image.to8Bit().toGray()
        let w = base.width, h = base.height
        var rgb = [Double](repeating: 0, count: w * h * 3)
        for i in 0..<(w * h) { for c in 0..<3 { rgb[3 * i + c] = Double(base.samples[i]) } }
        let thickness = max(1, min(w, h) / 256)
        var edges: [(Int, (Double, Double, Double))] = []
        for (k, m) in masks.enumerated() {
            let col = palette[k % palette.count].rgb
            for i in 0..<(w * h) where m.values[i] >= 0.5 {
                let g = Double(base.samples[i])
                rgb[3 * i] = 0.55 * g + 0.45 * col.0
                rgb[3 * i + 1] = 0.55 * g + 0.45 * col.1
                rgb[3 * i + 2] = 0.55 * g + 0.45 * col.2
                let x = i % w, y = i / w
                var edge = false
                outer: for dy in -thickness...thickness {
                    for dx in -thickness...thickness {
                        let xx = x + dx, yy = y + dy
                        if xx < 0 || yy < 0 || xx >= w || yy >= h || m.values[yy * w + xx] < 0.5 { edge = true; break outer }
                    }
                }
                if edge { edges.append((i, col)) }
            }
        }
        for (i, col) in edges { rgb[3 * i] = col.0; rgb[3 * i + 1] = col.1; rgb[3 * i + 2] = col.2 }
        return try RasterImage(width: w, height: h, channels: 3, bitDepth: 8,
                               samples: rgb.map { UInt16(min(max($0.rounded(), 0), 255)) })
    }
}
