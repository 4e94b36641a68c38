import CXRImaging
import Foundation

/// What a `FindingEdit` resolved to: the prompts of the edit and of its matched null edit, and where it acts, in
/// the atlas's terms until `place(on:fitter:fit:enforcingFit:maskFiles:)` puts it on an image.
public struct ResolvedFindings: Sendable {
    /// The prompt to use; nil only when neither a prompt nor a finding was given.
    public var prompt: String?
    public var negativePrompt: String
    /// The matched null edit's prompts: without the findings' sentences (docs/EVALUATION.md).
    public var nullPrompt: String
    public var nullNegativePrompt: String
    /// Atlas regions to repaint and keep (no edit area = the whole image or the mask file).
    public var regions: RegionRequest
    public var areaSource: EditAreaSource
    /// The mask file to repaint, if the edit names one.
    public var editMaskFile: String?
    /// Mask files whose white pixels are held to the input.
    public var keepMaskFiles: [String]
    public var adds: [FindingRequest]
    public var removes: [FindingRequest]
    /// The findings' extents for their side and severity (what `auto` and the default use).
    public var extents: [ExtentArea]
    public var notes: [String]
    public var fitPolicy: FitPolicy

    public init(
        prompt: String?, negativePrompt: String, nullPrompt: String, nullNegativePrompt: String,
        regions: RegionRequest, areaSource: EditAreaSource, editMaskFile: String? = nil,
        keepMaskFiles: [String] = [], adds: [FindingRequest] = [], removes: [FindingRequest] = [],
        extents: [ExtentArea] = [], notes: [String] = [], fitPolicy: FitPolicy = .standard
    ) {
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.nullPrompt = nullPrompt
        self.nullNegativePrompt = nullNegativePrompt
        self.regions = regions
        self.areaSource = areaSource
        self.editMaskFile = editMaskFile
        self.keepMaskFiles = keepMaskFiles
        self.adds = adds
        self.removes = removes
        self.extents = extents
        self.notes = notes
        self.fitPolicy = fitPolicy
    }

    /// Whether placing the edit fits the atlas to the image (some region is repainted or kept).
    public var needsAtlasFit: Bool { !regions.isEmpty }

    /// The edit's areas on `image`, at its size: the mask file read, the regions placed by the atlas fit (`fit` when
    /// the caller already has the image's, else `fitter`'s, else the standard fitter's), the keep mask files joined
    /// to the kept regions. A fit below `fitPolicy` throws `WeakFitError` unless `enforcingFit` is false (to show a
    /// weak fit instead of refusing it); an edit mask without a white pixel throws `FindingsError.Problem.emptyMask`.
    public func place(
        on image: RasterImage, fitter: RegionFitter? = nil, fit: AtlasFit? = nil, enforcingFit: Bool = true,
        maskFiles: MaskFiles = MaskFiles()
    ) throws -> PlacedRegions {
        let fileMask = try editMaskFile.map { try maskFiles.mask($0, for: image) }
        var placed = PlacedRegions()
        if needsAtlasFit {
            let fitter = try fitter ?? RegionFitter.standard()
            // The lungs an area following the fluid needs, segmented once for the fit and the fluid alike.
            let masks = regions.fluidSides.isEmpty ? nil : fitter.segmenter?.segment(image)
            let fit = fit ?? fitter.fit(image, masks: masks)
            if enforcingFit { try fitPolicy.check(fit) }
            placed = try fitter.place(regions, fit: fit, fluid: measureFluid(on: image, masks: masks))
        }
        if let fileMask { placed.edit = fileMask }
        for path in keepMaskFiles {
            let mask = try maskFiles.mask(path, for: image)
            placed.keep = try placed.keep.map { try $0.union(mask) } ?? mask
        }
        // Placed regions that miss the image are refused where they are placed; a mask file can still be black.
        if let file = editMaskFile, let edit = placed.edit, edit.coverage == 0 {
            throw FindingsError(.emptyMask(file: file))
        }
        return placed
    }

    /// The pleural fluid on each side an area follows (`RegionRequest.fluidSides`), where there is any. It needs the
    /// segmenter's lungs (`masks`); without a segmenter nothing is measured, so the areas keep their extents.
    func measureFluid(on image: RasterImage, masks: LungMasks?) -> [PleuralFluid] {
        guard let masks else { return [] }
        return regions.fluidSides.compactMap { PleuralFluid.measure(in: image, masks: masks, side: $0) }
    }
}
