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

/// The standard resolver: findings vocabulary (CXRFindings) for add/remove edits, their extents or named regions
/// placed with the atlas fitted to each image (`RegionRequest`, as `cxr-edit edit` places them), mask files read at
/// the image's size.
public final class FindingsEditResolver: EditResolving {
    let vocabulary: Vocabulary
    let fitPolicy: FitPolicy
    private var fitter: RegionFitter?
    private var fitKey: String?
    private var fit: AtlasFit?
    private var maskFiles: [String: Mask] = [:]

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
                if e.action != .prompt { _ = try request(e) }
                let names = e.region.filter { $0 != "auto" } + e.keepRegion
                if !names.isEmpty { try atlasFitter().atlas.validate(names) }
                for file in [e.mask, e.keepMask].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: file)
                {
                    throw ProbeError("mask file \(file) does not exist")
                }
            } catch {
                throw ProbeError("\(specFile): edit '\(e.name)': \(error)")
            }
        }
    }

    func request(_ e: ProbeEdit) throws -> FindingRequest {
        var r = try vocabulary.lookup(e.finding ?? "")
        try vocabulary.apply(side: e.side.flatMap { Side(rawValue: $0) }, severity: e.severity, to: &r)
        return r
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

    func maskFile(_ path: String, image: RasterImage) throws -> Mask {
        let key = "\(path)|\(image.width)x\(image.height)"
        if let m = maskFiles[key] { return m }
        let m = try Mask.read(URL(fileURLWithPath: path), size: (image.width, image.height))
        if maskFiles.count > 64 { maskFiles.removeAll() }
        maskFiles[key] = m
        return m
    }

    public func resolve(_ e: ProbeEdit, image: RasterImage, imageKey: String) throws -> ResolvedEdit {
        var out: ResolvedEdit
        var extents: [ExtentArea] = []
        switch e.action {
        case .prompt:
            out = ResolvedEdit(
                prompt: e.prompt ?? "", negativePrompt: e.negativePrompt ?? "",
                nullNegativePrompt: e.negativePrompt ?? "", target: e.target)
        case .add, .remove:
            let r = try request(e)
            let spec = EditSpec(
                basePrompt: e.prompt, baseNegativePrompt: e.negativePrompt,
                adds: e.action == .add ? [r] : [], removes: e.action == .remove ? [r] : [])
            let composed = try compose(spec, vocabulary: vocabulary)
            out = ResolvedEdit(
                prompt: composed.prompt, negativePrompt: composed.negativePrompt,
                nullPrompt: composed.basePrompt, nullNegativePrompt: composed.baseNegativePrompt,
                target: e.target ?? r.finding.torchxrayvisionLabel, notes: composed.notes)
            extents = composed.areas
        }
        // The same rules as `cxr-edit edit`: named regions, `auto` = the extents, a mask file, or (add/remove in
        // inpaint mode without either) the extents; sdedit = the whole image.
        var areas: [ExtentArea] = []
        if e.mode == .inpaint && e.mask == nil {
            let named = e.region.filter { $0 != "auto" }
            if e.region.isEmpty || e.region.contains("auto") {
                areas = extents
                out.area = "extents"
            } else {
                out.area = "named"
            }
            if !named.isEmpty { areas.append(ExtentArea(regions: named, grow: 0)) }
        }
        let request = RegionRequest(edit: areas, dilate: e.dilate, keep: e.keepMask == nil ? e.keepRegion : [])
        if !request.isEmpty {
            let fit = try atlasFit(image, imageKey: imageKey)
            let placed = try atlasFitter().place(request, fit: fit)
            out.editMask = placed.edit
            out.keepMask = placed.keep
            out.fit = fit
            out.fitWarning = fitPolicy.warning(for: fit)
            if !areas.isEmpty { out.regions = request.editDescription }
        }
        if e.mode == .inpaint, let file = e.mask {
            out.editMask = try maskFile(file, image: image)
            out.area = "mask"
        }
        if let m = out.editMask, m.coverage == 0 {
            throw ProbeError("edit '\(e.name)': the edit region is empty on this image")
        }
        if let file = e.keepMask { out.keepMask = try maskFile(file, image: image) }
        return out
    }
}
