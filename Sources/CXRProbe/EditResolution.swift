import CXRFindings
import CXRImaging
import CXRRuns
import Foundation

/// An edit made concrete for one image: the text the model sees (and its null edit sees), and the masks, at the
/// image's own size.
public struct ResolvedEdit {
    public var prompt: String
    public var negativePrompt: String
    /// The matched null edit's prompts: the edit's without its findings' sentences (docs/EVALUATION.md).
    public var nullPrompt: String
    public var nullNegativePrompt: String
    /// Where to repaint, 1 = edit; nil = SDEdit of the whole image.
    public var editMask: Mask?
    /// Held to the original at every step, 1 = keep.
    public var keepMask: Mask?
    /// Where the edit area came from: extents, named, mask or whole-image.
    public var area: String
    /// The atlas regions repainted and their growth, for rows and provenance; nil when no atlas region is used.
    public var regions: String?
    /// The atlas fit behind the regions, if any.
    public var fit: AtlasFit?
    /// A forced weak fit's warning.
    public var fitWarning: String?
    /// Classifier label the edit should move, if known.
    public var target: String?
    public var notes: [String]

    public init(
        prompt: String, negativePrompt: String = "", nullPrompt: String = EditSpec.defaultBasePrompt,
        nullNegativePrompt: String = "", editMask: Mask? = nil, keepMask: Mask? = nil, area: String = "whole-image",
        regions: String? = nil, fit: AtlasFit? = nil, fitWarning: String? = nil, target: String? = nil,
        notes: [String] = []
    ) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.nullPrompt = nullPrompt
        self.nullNegativePrompt = nullNegativePrompt; self.editMask = editMask; self.keepMask = keepMask
        self.area = area; self.regions = regions; self.fit = fit; self.fitWarning = fitWarning
        self.target = target; self.notes = notes
    }
}

/// Turns a spec edit into prompts and masks for one image. The probe runner depends only on this, so tests
/// can use a fixed resolver and other vocabularies can be plugged in.
public protocol EditResolving: AnyObject {
    func resolve(_ edit: ProbeEdit, image: RasterImage, imageKey: String) throws -> ResolvedEdit
}

/// The standard resolver: a spec's edit as the library's `FindingEdit`, resolved and placed on each image exactly
/// as `cxr-edit edit` resolves and places its flags (findings' extents or named regions fitted to the image, mask
/// files read at its size). What it adds is what a run over many images needs: the fitter loaded once, one atlas
/// fit per image key, mask files read once per size, and errors in the spec's words.
public final class FindingsEditResolver: EditResolving {
    let vocabulary: Vocabulary
    let fitPolicy: FitPolicy
    private var fitter: RegionFitter?
    private var fitKey: String?
    private var fit: AtlasFit?
    private let maskFiles = MaskFiles()

    public init(vocabulary: Vocabulary? = nil, fitPolicy: FitPolicy = .standard) throws {
        self.vocabulary = try vocabulary ?? Vocabulary.standard()
        self.fitPolicy = fitPolicy
    }

    /// The resolver a spec asks for (its `force:` accepts weak atlas fits).
    public convenience init(for spec: ProbeSpec) throws {
        try self.init(fitPolicy: FitPolicy(force: spec.force))
    }

    /// Checks every finding, side, severity and region name once, before any image is processed.
    public func validate(_ edits: [ProbeEdit], specFile: String) throws {
        for e in edits {
            do {
                _ = try resolve(e)
                for file in [e.mask, e.keepMask].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: file)
                {
                    throw ProbeError("mask file \(file) does not exist")
                }
            } catch {
                throw ProbeError("\(specFile): edit '\(e.name)': \(error)")
            }
        }
    }

    /// The spec's edit in the library's terms. The spec reader has already refused what the command line refuses
    /// (region with mask, sdedit with either); `dilate:` beside sdedit or a mask has always been ignored, so it
    /// reaches the library only where there are regions to grow.
    static func findingEdit(_ e: ProbeEdit) -> FindingEdit {
        let regional = e.mode == .inpaint && e.mask == nil
        var edit = FindingEdit(
            prompt: e.prompt, negativePrompt: e.negativePrompt, sides: e.side.map { [$0] } ?? [],
            severities: e.severity.map { [$0] } ?? [], regions: regional ? e.region : [],
            wholeImage: e.mode == .sdedit, editMaskFile: e.mode == .inpaint ? e.mask : nil,
            dilate: regional ? e.dilate : 0, keepRegions: e.keepRegion, keepMaskFiles: e.keepMask.map { [$0] } ?? [])
        switch e.action {
        case .add: edit.adds = [e.finding ?? ""]
        case .remove: edit.removes = [e.finding ?? ""]
        case .prompt: break
        }
        return edit
    }

    func resolve(_ e: ProbeEdit) throws -> ResolvedFindings {
        var resolved = try Self.findingEdit(e).resolve(vocabulary: vocabulary)
        resolved.fitPolicy = fitPolicy
        return resolved
    }

    func atlasFitter() throws -> RegionFitter {
        if let fitter { return fitter }
        let f = try RegionFitter.standard()
        fitter = f
        return f
    }

    /// The atlas fit of an image (one per image key), checked against the fit policy.
    func atlasFit(_ image: RasterImage, imageKey: String) throws -> AtlasFit {
        let f = try atlasFitter()
        if fitKey != imageKey { fit = f.fit(image); fitKey = imageKey }
        guard let fit else { throw ProbeError("internal error: no atlas fit") }
        do { try fitPolicy.check(fit) } catch let e as WeakFitError {
            throw ProbeError("\(e); set force: true in the spec to edit it anyway (the rows record the warning)")
        }
        return fit
    }

    public func resolve(_ e: ProbeEdit, image: RasterImage, imageKey: String) throws -> ResolvedEdit {
        let resolved = try resolve(e)
        // The fitter (and its segmenter) is loaded only for an edit that places regions, as the fit is made.
        let fit = resolved.needsAtlasFit ? try atlasFit(image, imageKey: imageKey) : nil
        let placed: PlacedRegions
        do {
            placed = try resolved.place(on: image, fitter: fitter, fit: fit, maskFiles: maskFiles)
        } catch let error as FindingsError {
            guard case .some(.emptyMask) = error.problem else { throw error }
            throw ProbeError("edit '\(e.name)': the edit region is empty on this image")
        }
        let finding = (resolved.adds + resolved.removes).first
        return ResolvedEdit(
            prompt: resolved.prompt ?? "", negativePrompt: resolved.negativePrompt, nullPrompt: resolved.nullPrompt,
            nullNegativePrompt: resolved.nullNegativePrompt, editMask: placed.edit, keepMask: placed.keep,
            area: resolved.areaSource.rawValue,
            regions: resolved.regions.edit.isEmpty ? nil : resolved.regions.editDescription, fit: placed.fit,
            fitWarning: placed.fit.flatMap { fitPolicy.warning(for: $0) },
            target: e.target ?? finding?.finding.torchxrayvisionLabel, notes: resolved.notes)
    }
}
