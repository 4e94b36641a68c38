import ArgumentParser
import CXRFindings
import CXRImaging
import CXRRuns
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

    @Option(
        name: .long,
        help: ArgumentHelp("Grow the drawn regions by this many pixels (as --dilate in edit).", valueName: "PX"))
    var dilate: Int = 0

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("Overlay PNG (default: IN-regions.png beside the input).", valueName: "OUT.png"))
    var output: String?

    @Option(
        name: .customLong("export-mask"),
        help: ArgumentHelp(
            "Also write the --region regions (their union, with --dilate) as a grey mask PNG at "
                + "the input's size: white = region, usable as `edit --mask`.",
            valueName: "MASK.png"))
    var exportMask: String?

    @Flag(name: .long, help: "Replace the output file if it exists.")
    var overwrite = false

    @Flag(name: .long, help: "Print the fit as JSON.")
    var json = false

    /// Default drawing: a partition of the thorax that shows every boundary the regions use.
    static let defaultRegions = [
        "right-upper-zone", "right-middle-zone", "right-lower-zone",
        "left-upper-zone", "left-middle-zone", "left-lower-zone", "heart", "mediastinum",
    ]
    func run() throws {
        // The library's limit, phrased with --dilate by commandLineMessage as for edit.
        guard (0...RegionFitter.maxDilation).contains(dilate) else {
            throw FindingsError(.dilationOutOfRange(pixels: dilate))
        }
        let inURL = URL(fileURLWithPath: input)
        let image = try window.read(inURL).image
        // Split here, not resolved as a `FindingEdit`: there 'auto' means the findings' extents (`--region auto`
        // would be refused for want of a finding, not as an unknown region), repeated names are dropped (each is
        // drawn here, in its own colour), and resolving before the image is read would report a bad name ahead of a
        // missing input.
        let names =
            region.isEmpty
            ? Self.defaultRegions
            : region.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter {
                !$0.isEmpty
            }
        let outURL =
            output.map { URL(fileURLWithPath: $0) }
            ?? inURL.deletingLastPathComponent().appendingPathComponent(
                inURL.deletingPathExtension().lastPathComponent + "-regions.png")
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
                throw CLIError(
                    "\(maskURL.lastPathComponent): --export-mask must name another file than the input and "
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
            let overlay = try MaskOverlay.draw(masks.map(\.1), over: image)
            try ImageIO.writePNG(
                overlay, to: outURL,
                text: [("Software", "cxr-edit regions"), ("Comment", "region overlay: \(fit.summary)")],
                overwrite: overwrite)
            if let maskURL {
                // Binary, as `edit` reads a mask (white = edit), at the input's size: the region edit's own area.
                let union = try fitter.place(names, fit: fit, dilate: dilate)
                let image = try RasterImage(
                    width: union.width, height: union.height, channels: 1, bitDepth: 8,
                    samples: union.pixels.map { $0 ? 255 : 0 })
                let comment =
                    "region mask: \(names.joined(separator: "+"))"
                    + (dilate > 0 ? " dilated \(dilate) px" : "") + "; \(fit.summary)"
                try ImageIO.writePNG(
                    image, to: maskURL, text: [("Software", "cxr-edit regions"), ("Comment", comment)],
                    overwrite: overwrite)
            }
            try report(fit: fit, names: names, masks: masks.map(\.1), outURL: outURL, maskURL: maskURL)
        } catch let e as FindingsError {
            throw CLIError(commandLineMessage(for: e))
        }
    }

    private func report(fit: AtlasFit, names: [String], masks: [Mask], outURL: URL, maskURL: URL?) throws {
        let colours = names.indices.map { MaskOverlay.colourName(ofMaskAt: $0) }
        if json {
            let report = RegionsJSON(
                fit: AtlasFitJSON(fit, weak: FitPolicy.standard.isWeak(fit), withMatch: true), output: outURL.path,
                mask: maskURL?.path, threshold: FitPolicy.standard.minimumScore, width: fit.imageWidth,
                height: fit.imageHeight, dilate: dilate,
                regions: names.indices.map {
                    RegionsJSON.Region(name: names[$0], colour: colours[$0], coverage: masks[$0].coverage)
                })
            print(try StableJSON.string(report, escapingSlashes: true))
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
            print(
                "warning: weak fit (score \(String(format: "%.2f", fit.score))): the regions are likely misplaced or the image is not a frontal chest radiograph; check the overlay. Region edits of this image need --force."
            )
        }
    }
}
