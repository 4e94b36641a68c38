import CXRFindings
import CXRImaging
import CXRPipelines
import CXRRuns
import Foundation

/// One edit of a probe study, as written in the spec (before it is resolved against an image).
///
/// `add`/`remove` name a finding of the findings vocabulary (side and severity optional); `prompt` gives the
/// text directly. `add`/`remove` repaint the finding's extent (its severity's regions, fitted to each image) unless
/// `mode: sdedit` asks for the whole image or `region`/`mask` name the area; a `prompt` edit without them re-draws
/// the whole image (SDEdit, as RoentMod). Outside a region and its soft margin every pixel is the input's.
public struct ProbeEdit: Sendable, Equatable {
    public enum Action: String, Sendable { case add, remove, prompt }
    public enum Mode: String, Sendable { case sdedit, inpaint }

    /// Unique within the spec; used in results, file names and the report.
    public var name: String
    public var action: Action
    /// The finding as typed (add/remove), e.g. "effusion".
    public var finding: String?
    public var side: String?
    public var severity: String?
    /// The prompt (action prompt), or the base prompt that add/remove sentences are appended to.
    public var prompt: String?
    public var negativePrompt: String?
    /// Region names to repaint (`auto` = the finding's extent).
    public var region: [String]
    /// A mask file to repaint (white = edit), absolute path.
    public var mask: String?
    /// Region names held to the original at every step (e.g. where a chest tube lies).
    public var keepRegion: [String]
    /// A keep mask file (white = keep), absolute path.
    public var keepMask: String?
    /// Classifier label the edit is meant to move (default: the finding's torchxrayvision label).
    public var target: String?
    public var mode: Mode
    /// Pixels by which named regions are grown.
    public var dilate: Int

    public init(
        name: String, action: Action, finding: String? = nil, side: String? = nil, severity: String? = nil,
        prompt: String? = nil, negativePrompt: String? = nil, region: [String] = [], mask: String? = nil,
        keepRegion: [String] = [], keepMask: String? = nil, target: String? = nil, mode: Mode? = nil, dilate: Int = 0
    ) {
        self.name = name; self.action = action; self.finding = finding; self.side = side; self.severity = severity
        self.prompt = prompt; self.negativePrompt = negativePrompt; self.region = region; self.mask = mask
        self.keepRegion = keepRegion; self.keepMask = keepMask; self.target = target
        self.mode = mode ?? ((region.isEmpty && mask == nil && action == .prompt) ? .sdedit : .inpaint)
        self.dilate = dilate
    }
}

/// A probe study: images x edits x strengths x seeds, scored by every classifier.
///
/// Read from YAML or JSON (see docs/examples/probe.yaml). Relative paths are relative to the spec file's folder,
/// so a spec works the same from any working directory (and on every node of a job array).
public struct ProbeSpec: Sendable {
    public var file: URL
    /// Model folder (nil = the CLI's --model / $CXR_EDIT_MODEL / bundled default).
    public var model: URL?
    public var inputs: ProbeInputs
    /// Which window or VOI LUT makes the picture of a DICOM input (`--window` of `edit`); `.automatic` reads every
    /// input as `edit` does without `--window`.
    public var window: DICOMWindow
    public var edits: [ProbeEdit]
    public var strengths: [Double]
    public var seeds: [UInt64]
    /// nil = the model's recommendation (cxr-edit.json), else 50.
    public var steps: Int?
    public var guidance: Double?
    /// Scheduler name (ddim, pndm, euler, ...), nil = the checkpoint's.
    public var scheduler: String?
    public var eta: Double
    /// Edit-friendly DDPM inversion before regenerating (keeps more of the input).
    public var invert: Bool
    /// Soft margin around edit regions, in pixels of the 256 px frame (`EditRequest.margin`).
    public var margin: Int
    /// How outputs treat what the model cannot reproduce (`EditRequest.detail`): `difference` (default), `on`
    /// (detail transfer) or `off`; `true` / `false` mean on / off.
    public var detail: DetailMode
    /// nil = automatic (the inpainting UNet for regions when the model has one).
    public var unet: String?
    /// Edit regions of images the atlas fits poorly (recorded in each row) instead of stopping.
    public var force: Bool
    /// Classifier factory strings ("demo", "densenet121:weights.safetensors", "cmd:python3 my_model.py").
    public var classifiers: [String]
    /// Probability threshold for a flip.
    public var threshold: Double
    /// Write counterfactual PNGs under RUN_DIR/images/.
    public var saveImages: Bool

    static let topKeys = [
        "model", "inputs", "window", "edits", "strengths", "strength", "seeds", "seed", "steps", "guidance",
        "scheduler", "eta", "invert", "margin", "detail", "unet", "force", "classifiers", "threshold",
        "save_images",
    ]
    static let editKeys = [
        "name", "add", "remove", "prompt", "side", "sides", "severity", "severities", "negative_prompt",
        "region", "mask", "keep_region", "keep_mask", "target", "mode", "dilate",
    ]

    /// Limits that keep a typo from planning a billion-image study.
    public static let maxEdits = 1000, maxStrengths = 100, maxSeeds = 100_000, maxClassifiers = 16

    /// Reads and validates a spec file; errors name the file and the key.
    public static func load(_ url: URL) throws -> ProbeSpec {
        try ProbeSpec(value: SpecValue.read(url), file: url)
    }

    /// Validates a parsed spec; relative paths resolve against `file`'s folder.
    public init(value: SpecValue, file: URL) throws {
        let name = file.path
        let r = SpecReader(file: name, value: value)
        try r.only(Self.topKeys)
        self.file = file
        let base = file.deletingLastPathComponent()
        func resolve(_ p: String) -> URL {
            let expanded = (p as NSString).expandingTildeInPath
            return expanded.hasPrefix("/")
                ? URL(fileURLWithPath: expanded) : base.appendingPathComponent(expanded).standardizedFileURL
        }
        model = try r.string("model").map(resolve)

        guard let inputs = r.child("inputs") else {
            throw r.fail("inputs", "is required (a folder: or csv: of images)")
        }
        var ins = ProbeInputs()
        if case .string(let s) = inputs.value {
            ins.folder = resolve(s)
        } else {
            try inputs.only(["folder", "csv", "limit"])
            ins.folder = try inputs.string("folder").map(resolve)
            ins.csv = try inputs.string("csv").map(resolve)
            ins.limit = try inputs.int("limit", range: 1...10_000_000)
            guard (ins.folder == nil) != (ins.csv == nil) else {
                throw inputs.failHere("give exactly one of folder: or csv:")
            }
        }
        self.inputs = ins
        window = try r.window("window")

        guard let editList = try r.list("edits", maxCount: Self.maxEdits), !editList.isEmpty else {
            throw r.fail("edits", "is required: a list of edits (add:, remove: or prompt:)")
        }
        var edits = [ProbeEdit]()
        for (i, e) in editList.enumerated() {
            edits += try Self.parseEdit(e, index: i, resolve: { resolve($0).path })
        }
        var names = Set<String>()
        for e in edits where !names.insert(e.name).inserted {
            throw r.fail("edits", "two edits are named '\(e.name)'; give them distinct name: values")
        }
        guard edits.count <= Self.maxEdits else {
            throw r.fail("edits", "expand to \(edits.count) edits; the limit is \(Self.maxEdits)")
        }
        self.edits = edits

        guard !(r.has("strengths") && r.has("strength")) else {
            throw r.fail("strength", "give strengths: or strength:, not both")
        }
        strengths =
            try r.doubles(
                r.has("strength") ? "strength" : "strengths", range: 0...1, openLower: true, maxCount: Self.maxStrengths
            ) ?? [0.5]
        guard !(r.has("seeds") && r.has("seed")) else { throw r.fail("seed", "give seeds: or seed:, not both") }
        seeds =
            (try r.ints(r.has("seed") ? "seed" : "seeds", range: 0...Int(Int32.max), maxCount: Self.maxSeeds) ?? [0])
            .map { UInt64($0) }
        steps = try r.int("steps", range: 1...1000)
        guidance = try r.double("guidance", range: 0...100)
        scheduler = try r.schedulerName("scheduler")
        eta = try r.double("eta", range: 0...1) ?? 0
        invert = try r.bool("invert") ?? false
        if r.has("feather") {
            throw r.fail("feather", "was replaced by margin: (a soft margin outside the region, default 8)")
        }
        margin = try r.int("margin", range: 0...256) ?? 8
        detail = try r.detailMode("detail") ?? .difference
        unet = try r.string("unet")?.lowercased()
        if let u = unet, !["standard", "inpaint"].contains(u) {
            throw r.fail("unet", "must be standard or inpaint, got '\(u)'")
        }
        force = try r.bool("force") ?? false
        classifiers = try r.strings("classifiers", maxCount: Self.maxClassifiers) ?? ["demo"]
        guard !classifiers.isEmpty else { throw r.fail("classifiers", "must name at least one classifier") }
        for (i, c) in classifiers.enumerated() where c.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw r.fail("classifiers[\(i)]", "is empty")
        }
        guard Set(classifiers).count == classifiers.count else {
            throw r.fail("classifiers", "lists a classifier twice")
        }
        threshold = try r.double("threshold", range: 0...1, openLower: true) ?? 0.5
        saveImages = try r.bool("save_images") ?? true
    }

    /// One spec entry may expand to several edits (`severities: [mild, moderate, severe]`, `sides: [left, right]`).
    static func parseEdit(_ e: SpecReader, index: Int, resolve: (String) -> String) throws -> [ProbeEdit] {
        try e.only(Self.editKeys)
        let actions = ["add", "remove", "prompt"].filter {
            e.has($0) && !(($0 == "prompt") && (e.has("add") || e.has("remove")))
        }
        guard actions.count == 1, let action = ProbeEdit.Action(rawValue: actions[0]) else {
            throw e.failHere(
                "give exactly one of add:, remove: or prompt: (prompt: may accompany add:/remove: as the base prompt)")
        }
        let finding = action == .prompt ? nil : try e.string(action.rawValue)
        if let f = finding, f.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw e.fail(action.rawValue, "is empty")
        }
        let prompt = try e.string("prompt")
        if action == .prompt, (prompt ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw e.fail("prompt", "is empty")
        }
        guard !(e.has("side") && e.has("sides")) else { throw e.fail("sides", "give side: or sides:, not both") }
        guard !(e.has("severity") && e.has("severities")) else {
            throw e.fail("severities", "give severity: or severities:, not both")
        }
        let sides: [String?] =
            try e.strings(e.has("sides") ? "sides" : "side", maxCount: 3).map { $0.map { $0.lowercased() } } ?? [nil]
        let severities: [String?] =
            try e.strings(e.has("severities") ? "severities" : "severity", maxCount: 10).map {
                $0.map { $0.lowercased() }
            } ?? [nil]
        if action == .prompt && (sides != [nil] || severities != [nil]) {
            throw e.failHere("side/severity apply to add:/remove: edits, not to a raw prompt:")
        }
        for s in sides.compactMap({ $0 }) where !["left", "right", "bilateral"].contains(s) {
            throw e.fail("side", "must be left, right or bilateral, got '\(s)'")
        }
        let region = try e.strings("region", maxCount: 32) ?? []
        let keepRegion = try e.strings("keep_region", maxCount: 32) ?? []
        let mask = try e.string("mask").map(resolve)
        let keepMask = try e.string("keep_mask").map(resolve)
        guard region.isEmpty || mask == nil else { throw e.fail("mask", "give region: or mask:, not both") }
        guard keepRegion.isEmpty || keepMask == nil else {
            throw e.fail("keep_mask", "give keep_region: or keep_mask:, not both")
        }
        // `auto` is the findings' extents (FindingEdit.automaticRegion, in any case): a prompt has none to add.
        if action == .prompt && region.contains(where: { $0.lowercased() == FindingEdit.automaticRegion }) {
            throw e.fail("region", "'auto' needs an add:/remove: finding; name the regions")
        }
        var mode: ProbeEdit.Mode? = nil
        if let m = try e.string("mode") {
            guard let parsed = ProbeEdit.Mode(rawValue: m.lowercased()) else {
                throw e.fail("mode", "must be sdedit or inpaint, got '\(m)'")
            }
            if parsed == .inpaint && region.isEmpty && mask == nil && action == .prompt {
                throw e.fail("mode", "inpaint of a prompt: edit needs region: or mask:")
            }
            if parsed == .sdedit && (!region.isEmpty || mask != nil) {
                throw e.fail("mode", "sdedit re-draws the whole image; drop region:/mask:")
            }
            mode = parsed
        }
        let dilate = try e.int("dilate", range: 0...256) ?? 0
        let baseName = try e.string("name")
        if let n = baseName,
            n.isEmpty || n.count > 80 || n.contains(where: { !($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        {
            throw e.fail("name", "use 1-80 letters, digits, '-', '_' or '.', got '\(n)'")
        }
        var out = [ProbeEdit]()
        for side in sides {
            for severity in severities {
                var name: String
                if let baseName {
                    name = baseName
                    if sides.count > 1, let side { name += "-\(side)" }
                    if severities.count > 1, let severity { name += "-\(severity)" }
                } else if action == .prompt {
                    name = "prompt-\(index + 1)"
                } else {
                    name = ([action.rawValue, slug(finding ?? "")] + [side, severity].compactMap { $0 }.map(slug))
                        .joined(separator: "-")
                }
                out.append(
                    ProbeEdit(
                        name: name, action: action, finding: finding, side: side, severity: severity,
                        prompt: prompt, negativePrompt: try e.string("negative_prompt"), region: region,
                        mask: mask, keepRegion: keepRegion, keepMask: keepMask, target: try e.string("target"),
                        mode: mode, dilate: dilate))
            }
        }
        return out
    }

    static func slug(_ s: String) -> String {
        let lowered = s.lowercased().map { ($0.isLetter || $0.isNumber) ? $0 : "-" }
        return String(lowered).split(separator: "-").joined(separator: "-")
    }
}
