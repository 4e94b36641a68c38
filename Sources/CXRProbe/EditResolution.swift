import CXRFindings
import CXRImaging
import Foundation

/// An edit made concrete for one image: the text the model sees and the masks, at the image's own size.
public struct ResolvedEdit {
    public var prompt: String
    public var negativePrompt: String
    /// Where to repaint (inpainting), 1 = edit; nil = SDEdit of the whole image.
    public var editMask: Mask?
    /// Held to the original at every step, 1 = keep.
    public var keepMask: Mask?
    /// The region the edit is about, for metrics "outside the edit region" (the edit mask, else the finding's
    /// default anatomical region); nil = the whole image counts as outside.
    public var analysisRegion: Mask?
    /// Classifier label the edit should move, if known.
    public var target: String?
    public var notes: [String]

    public init(prompt: String, negativePrompt: String = "", editMask: Mask? = nil, keepMask: Mask? = nil,
                analysisRegion: Mask? = nil, target: String? = nil, notes: [String] = []) {
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.editMask = editMask; self.keepMask = keepMask
        self.analysisRegion = analysisRegion; self.target = target; self.notes = notes
    }
}

/// Turns a spec edit into prompts and masks for one image. The probe runner depends only on this, so tests
/// can use a fixed resolver and other vocabularies can be plugged in.
public protocol EditResolving: AnyObject {
    func resolve(_ edit: ProbeEdit, image: RasterImage, imageKey: String) throws -> ResolvedEdit
}

/// The standard resolver: findings vocabulary (CXRFindings) for add/remove edits, the region atlas fitted to
/// each image for named regions, mask files read at the image's size.
public final class FindingsEditResolver: EditResolving {
    let vocabulary: Vocabulary
    private var fitter: RegionFitter?
    private var fitKey: String?
    private var fit: AtlasFit?
    private var maskFiles: [String: Mask] = [:]

    public init(vocabulary: Vocabulary? = nil) throws {
        self.vocabulary = try vocabulary ?? Vocabulary.standard()
    }

    /// Checks every finding, side, severity and region name once, before any image is processed.
    public func validate(_ edits: [ProbeEdit], specFile: String) throws {
        for e in edits {
            do {
                if e.action != .prompt { _ = try request(e) }
                let names = (e.region == ["auto"] ? [] : e.region) + e.keepRegion
                if !names.isEmpty { try atlasFitter().atlas.validate(names) }
                for file in [e.mask, e.keepMask].compactMap({ $0 }) where !FileManager.default.fileExists(atPath: file) {
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

    func regionMask(_ names: [String], image: RasterImage, imageKey: String, dilate: Int) throws -> Mask {
        let f = try atlasFitter()
        if fitKey != imageKey { fit = f.fit(image); fitKey = imageKey }
        guard let fit else { throw ProbeError("internal error: no atlas fit") }
        return try f.place(names, fit: fit, dilate: dilate)
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
        var defaultRegions: [String] = []
        switch e.action {
        case .prompt:
            out = ResolvedEdit(prompt: e.prompt ?? "", negativePrompt: e.negativePrompt ?? "", target: e.target)
        case .add, .remove:
            let r = try request(e)
            let spec = EditSpec(basePrompt: e.prompt, baseNegativePrompt: e.negativePrompt,
                                adds: e.action == .add ? [r] : [], removes: e.action == .remove ? [r] : [])
            let composed = try compose(spec, vocabulary: vocabulary)
            out = ResolvedEdit(prompt: composed.prompt, negativePrompt: composed.negativePrompt,
                               target: e.target ?? r.finding.torchxrayvisionLabel, notes: composed.notes)
            defaultRegions = composed.regions
        }
        let regionNames = e.region == ["auto"] ? defaultRegions : e.region
        if e.mode == .inpaint {
            if let file = e.mask {
                out.editMask = try maskFile(file, image: image)
            } else if !regionNames.isEmpty {
                out.editMask = try regionMask(regionNames, image: image, imageKey: imageKey, dilate: e.dilate)
            }
            if let m = out.editMask, m.coverage == 0 { throw ProbeError("edit '\(e.name)': the edit region is empty on this image") }
            out.analysisRegion = out.editMask
        } else if !regionNames.isEmpty || !defaultRegions.isEmpty {
            // SDEdit changes the whole image; the finding's region still says where the change belongs.
            out.analysisRegion = try? regionMask(regionNames.isEmpty ? defaultRegions : regionNames, image: image,
                                                 imageKey: imageKey, dilate: e.dilate)
        }
        if let file = e.keepMask {
            out.keepMask = try maskFile(file, image: image)
        } else if !e.keepRegion.isEmpty {
            out.keepMask = try regionMask(e.keepRegion, image: image, imageKey: imageKey, dilate: e.dilate)
        }
        return out
    }
}
