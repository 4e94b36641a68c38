import CXRClassifiers
import CXRImaging
import CXRPipelines
import CXRRuns
import CXRSchedulers
import CXRTensor
import Foundation

/// How a probe run behaves (not what it computes: that is the plan).
public struct ProbeRunOptions {
    public var shard: Shard
    /// Progress lines on stderr.
    public var progress: Bool
    /// "cxr-edit 0.1.0", recorded in provenance and run.json.
    public var software: String
    /// The model as users know it (its folder), recorded next to its hash.
    public var modelName: String
    /// Stop after this many new rows (tests use it to simulate an interrupted run); nil = run to the end.
    public var stopAfter: Int?

    public init(
        shard: Shard = .all, progress: Bool = false, software: String = "cxr-edit", modelName: String = "",
        stopAfter: Int? = nil
    ) {
        self.shard = shard; self.progress = progress; self.software = software; self.modelName = modelName
        self.stopAfter = stopAfter
    }
}

/// What a run did, for `--json` and the closing note.
public struct ProbeRunSummary {
    public var runDirectory: URL
    public var shard: Shard
    /// Jobs in this shard.
    public var total: Int
    /// Jobs found finished at start.
    public var alreadyDone: Int
    /// Jobs finished by this process.
    public var done: Int
    public var seconds: Double
    /// Seconds inside the denoising loops (UNet evaluations and scheduler steps).
    public var denoisingSeconds: Double
    public var classifierSeconds: Double

    public var perMinute: Double { done == 0 ? 0 : Double(done) / max(seconds, 1e-9) * 60 }
    public var shareOutsideDenoising: Double { seconds > 0 ? max(0, 1 - denoisingSeconds / seconds) : 0 }

}

/// `--json`: the counts and times, and the rates made of them.
extension ProbeRunSummary: Encodable {
    enum CodingKeys: String, CodingKey {
        case runDirectory = "run_directory", shard, total, alreadyDone = "already_done", done, complete, seconds
        case perMinute = "counterfactuals_per_minute", denoisingSeconds = "denoising_seconds"
        case classifierSeconds = "classifier_seconds", shareOutsideDenoising = "share_outside_denoising"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(runDirectory.path, forKey: .runDirectory)
        try c.encode(shard.description, forKey: .shard)
        try c.encode(total, forKey: .total)
        try c.encode(alreadyDone, forKey: .alreadyDone)
        try c.encode(done, forKey: .done)
        try c.encode(alreadyDone + done >= total, forKey: .complete)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(perMinute, forKey: .perMinute)
        try c.encode(denoisingSeconds, forKey: .denoisingSeconds)
        try c.encode(classifierSeconds, forKey: .classifierSeconds)
        try c.encode(shareOutsideDenoising, forKey: .shareOutsideDenoising)
    }
}

/// Runs a probe study into a run directory, resumably:
///
///     RUN_DIR/run.json        the plan's settings and fingerprint (a rerun with other settings is refused)
///     RUN_DIR/results.jsonl   one row per counterfactual, appended and fsynced one at a time
///     RUN_DIR/images/<id>.png counterfactuals, provenance-marked, written atomically before their row
///     RUN_DIR/.lock           flock held while running
///
/// A row is appended only after its image is in place, so every row's image exists; an image without a row (a
/// crash in between) is simply rewritten on the rerun.
public final class ProbeRunner {
    /// Row layout (ProbeRow.schema), part of every id and fingerprint.
    public static let schema = ProbeRow.schema

    public let plan: ProbePlan
    let model: StableDiffusionModel
    let editor: ImageEditor
    let classifiers: [Classifier]
    let resolver: EditResolving
    public let runDirectory: URL
    let options: ProbeRunOptions

    public init(
        plan: ProbePlan, model: StableDiffusionModel, classifiers: [Classifier], resolver: EditResolving,
        runDirectory: URL, options: ProbeRunOptions
    ) throws {
        guard !classifiers.isEmpty else {
            throw ProbeError("\(plan.spec.file.path): classifiers: no classifier to score with")
        }
        self.plan = plan; self.model = model; self.editor = ImageEditor(model: model)
        self.classifiers = classifiers; self.resolver = resolver; self.runDirectory = runDirectory;
        self.options = options
    }

    /// A null edit made for this image, shared by every counterfactual that matches it.
    struct NullResult {
        let id: String
        let prompt: String
        let negativePrompt: String
        let scores: [[String: Double]]
        let report: EditReport
        let output: String?
    }

    /// Per-image state, built when the first unfinished job of an image comes up.
    private struct ImageState {
        let index: Int
        let raster: RasterImage
        let sha: String
        /// The window or VOI LUT that made a DICOM input's picture (as `edit` records it); nil for PNG and JPEG.
        let window: String?
        var originalScores: [[String: Double]]
        var resolved: [Int: ResolvedEdit] = [:]
        var nulls: [String: NullResult] = [:]
    }

    public func run() throws -> ProbeRunSummary {
        let fm = FileManager.default
        let dir = runDirectory
        do {
            try fm.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        } catch {
            throw ProbeError("\(dir.path): cannot create the run directory")
        }
        let lock = try RunLock(directory: dir)
        defer { withExtendedLifetime(lock) {} }
        try plan.runInfo(software: options.software, modelName: options.modelName).writeOrCheck(directory: dir)
        let log = try ResultsLog<ProbeRow>(url: dir.appendingPathComponent("results.jsonl"))
        let positions = stride(from: options.shard.index, to: plan.count, by: options.shard.count)
        let total = positions.underestimatedCount
        let already = min(log.finishedIDs.count, total)
        let progress = RunProgress(
            label: "probe", unit: "counterfactuals", total: total, alreadyDone: already, enabled: options.progress)
        var summary = ProbeRunSummary(
            runDirectory: dir, shard: options.shard, total: total, alreadyDone: already, done: 0,
            seconds: 0, denoisingSeconds: 0, classifierSeconds: 0)
        let clock = Date()
        var state: ImageState?
        var shaCache: (index: Int, sha: String)?
        let recorded = RecordedInputs(rows: log.rows)
        for position in positions {
            if let stop = options.stopAfter, summary.done >= stop { break }
            let job = plan.job(at: position)
            let input = plan.images[job.imageIndex]
            if shaCache?.index != job.imageIndex {
                shaCache = (job.imageIndex, try recorded.currentSHA256(of: input))
            }
            guard let sha = shaCache?.sha else { continue }
            let id = plan.id(for: job, imageSHA256: sha)
            if log.finishedIDs.contains(id) { continue }
            if state?.index != job.imageIndex {
                state = nil  // release the previous image (and its cached posterior, round trip and nulls) first
                editor.forgetImages()
                state = try loadImage(job.imageIndex, sha: sha, summary: &summary)
            }
            guard var s = state else { continue }
            let row = try counterfactual(job, id: id, state: &s, summary: &summary)
            state = s
            try log.append(row)
            summary.done += 1
            progress.tick(note: "\(plan.spec.edits[job.editIndex].name) @ \(job.strength)")
        }
        summary.seconds = Date().timeIntervalSince(clock)
        return summary
    }

    private func loadImage(_ index: Int, sha: String, summary: inout ProbeRunSummary) throws -> ImageState {
        let input = plan.images[index]
        let windowed = try ImageIO.read(input.url, window: plan.spec.window)
        let raster = windowed.image
        // Classifiers see what the editor's output is compared with: the input as grey (the editor writes grey).
        let original = raster.toGray()
        let t = Date()
        let scores = try score([original], input: input.name)[0]
        summary.classifierSeconds += Date().timeIntervalSince(t)
        return ImageState(index: index, raster: raster, sha: sha, window: windowed.window, originalScores: scores)
    }

    /// Scores images with every classifier: per image, one probability map per classifier (in classifier order).
    private func score(_ images: [RasterImage], input: String) throws -> [[[String: Double]]] {
        var perImage = Array(repeating: [[String: Double]](), count: images.count)
        for c in classifiers {
            let out: [[String: Double]]
            do { out = try c.predict(images) } catch {
                throw ProbeError("classifier '\(c.name)' failed on \(input): \(error)")
            }
            guard out.count == images.count else {
                throw ProbeError(
                    "classifier '\(c.name)' returned \(out.count) answers for \(images.count) images (\(input))")
            }
            for (i, probs) in out.enumerated() {
                for (label, p) in probs where !(p.isFinite && p >= 0 && p <= 1) {
                    throw ProbeError(
                        "classifier '\(c.name)' returned \(p) for '\(label)' on \(input); probabilities must be in [0, 1]"
                    )
                }
                perImage[i].append(probs)
            }
        }
        return perImage
    }

    /// Runs one request through the editor, adding its denoising time to the summary.
    private func edit(_ request: EditRequest, what: String, summary: inout ProbeRunSummary) throws -> EditOutcome {
        var denoise = 0.0
        do {
            let outcome = try editor.edit(request) { denoise = $0.elapsed }
            summary.denoisingSeconds += denoise
            return outcome
        } catch {
            throw ProbeError("\(what): \(error)")
        }
    }

    /// Writes a provenance-marked PNG under images/ (when the spec saves images); its name relative to the run.
    private func save(
        _ outcome: EditOutcome, request: EditRequest, name: String, mode: String,
        extra: [String: String]
    ) throws -> String? {
        guard plan.spec.saveImages else { return nil }
        var prov = outcome.provenance(
            of: request, software: options.software, model: options.modelName,
            modelHash: plan.modelHash)
        prov.mode = mode
        prov.extra.merge(extra) { _, new in new }
        try ImageIO.writePNG(
            outcome.image, to: runDirectory.appendingPathComponent(name), text: prov.textChunks(),
            overwrite: true)
        return name
    }

    /// The matched null edit of `request` (same everything, the prompt without the finding), made once per image
    /// and shared by every edit that matches it; identified by a hash of the request's pixel-changing settings.
    private func null(
        of request: EditRequest, input: InputImage, state s: inout ImageState,
        summary: inout ProbeRunSummary
    ) throws -> NullResult {
        let nullRequest = try request.nullEdit()
        let key = Self.nullKey(nullRequest)
        if let hit = s.nulls[key] { return hit }
        let outcome = try edit(nullRequest, what: "\(input.url.path): null edit", summary: &summary)
        let id = String(key.prefix(32))
        let output = try save(
            outcome, request: nullRequest, name: "images/null-\(id).png", mode: "probe-null-edit",
            extra: ["input": input.name, "probe-null-id": id].merging(s.window.map { ["window": $0] } ?? [:]) {
                _, new in new
            })
        let t = Date()
        let scores = try score([outcome.image], input: input.name)[0]
        summary.classifierSeconds += Date().timeIntervalSince(t)
        let result = NullResult(
            id: id, prompt: nullRequest.prompt, negativePrompt: nullRequest.negativePrompt,
            scores: scores, report: try outcome.report, output: output)
        s.nulls[key] = result
        return result
    }

    /// SHA-256 of everything in a request that changes its pixels (the image by its key).
    static func nullKey(_ r: EditRequest) -> String {
        SHA256.hex(of: (try? StableJSON.encode(NullEditKey(r))) ?? [])
    }

    private func counterfactual(
        _ job: ProbeJob, id: String, state s: inout ImageState,
        summary: inout ProbeRunSummary
    ) throws -> ProbeRow {
        let start = Date()
        let spec = plan.spec
        let edit = spec.edits[job.editIndex]
        let input = plan.images[job.imageIndex]
        let resolved: ResolvedEdit
        if let r = s.resolved[job.editIndex] {
            resolved = r
        } else {
            do { resolved = try resolver.resolve(edit, image: s.raster, imageKey: s.sha) } catch {
                throw ProbeError("\(input.url.path): edit '\(edit.name)': \(error)")
            }
            s.resolved[job.editIndex] = resolved
        }
        let denoiseBefore = summary.denoisingSeconds
        var request = plan.request(for: job, resolved: resolved, raster: s.raster, sha: s.sha)
        var extras = ["input": input.name, "input-sha256": s.sha, "area": resolved.area]
        if let r = resolved.regions { extras["regions"] = r }
        if let w = s.window { extras["window"] = w }
        if let fit = resolved.fit {
            extras["atlas-fit"] = fit.summary
            extras["atlas-fit-score"] = String(format: "%.4f", fit.score)
        }
        if let w = resolved.fitWarning { extras["warning"] = w }
        request.provenanceExtras = extras
        let outcome = try self.edit(request, what: "\(input.url.path): edit '\(edit.name)'", summary: &summary)
        let nullResult = try null(of: request, input: input, state: &s, summary: &summary)
        let denoise = summary.denoisingSeconds - denoiseBefore
        let outputName = try save(
            outcome, request: request, name: "images/\(id).png",
            mode: outcome.mode == "inpaint" ? "probe-inpaint" : "probe-edit",
            extra: ["probe-edit": edit.name, "probe-id": id, "probe-null-id": nullResult.id])

        let t = Date()
        let after = try score([outcome.image], input: input.name)[0]
        let classifierSeconds = Date().timeIntervalSince(t)
        summary.classifierSeconds += classifierSeconds
        let tm = Date()
        let a = GrayPlane(s.raster.toGray()), b = GrayPlane(outcome.image)
        let repainted = outcome.repainted
        let mse = try ImageQuality.mse(a, b, outside: repainted)
        let report = try outcome.report
        let metricSeconds = Date().timeIntervalSince(tm)
        var perClassifier = [String: ClassifierComparison]()
        for (k, c) in classifiers.enumerated() {
            perClassifier[c.name] = ClassifierComparison(
                before: s.originalScores[k], after: after[k],
                null: nullResult.scores[k], target: resolved.target,
                threshold: spec.threshold)
        }
        let n = nullResult.report
        let nullEdit = ProbeRow.NullEdit(
            id: nullResult.id, prompt: nullResult.prompt,
            negativePrompt: nullResult.negativePrompt, output: nullResult.output,
            psnrDB: finite(n.psnr), sharpnessRatio: finite(n.sharpnessRatio),
            changedFraction: n.changedFraction)
        return ProbeRow(
            id: id, schema: ProbeRow.schema, position: job.position,
            image: input.name, imagePath: input.url.path, imageSHA256: s.sha, width: s.raster.width,
            height: s.raster.height, labels: input.labels.isEmpty ? nil : input.labels,
            edit: edit.name, editSpec: edit.record, editIndex: job.editIndex, action: edit.action.rawValue,
            mode: outcome.mode == "inpaint" ? "inpaint" : "sdedit", area: resolved.area, regions: resolved.regions,
            fitScore: finite(resolved.fit?.score), fitWarning: resolved.fitWarning,
            notes: resolved.notes.isEmpty ? nil : resolved.notes,
            prompt: resolved.prompt, negativePrompt: resolved.negativePrompt, target: resolved.target,
            strength: job.strength, seed: job.seed, steps: plan.steps, guidance: plan.guidance,
            scheduler: plan.schedulerName, eta: spec.eta, invert: spec.invert, margin: spec.margin,
            detail: RecordedDetail(spec.detail),
            unet: outcome.unet.rawValue, model: options.modelName, modelSHA256: plan.modelHash,
            maskSHA256: repainted.map(Self.maskHash), keepMaskSHA256: resolved.keepMask.map(Self.maskHash),
            outsideFraction: 1 - report.repaintedFraction, mseOutside: finite(mse),
            psnrOutside: finite(report.psnrOutside), identicalOutside: mse == 0,
            ssimOutside: finite(report.ssimOutside), psnrDB: finite(report.psnr),
            sharpnessRatio: finite(report.sharpnessRatio), changedFraction: report.changedFraction,
            changedFractionInside: report.changedFractionInside,
            changedFractionOutside: finite(report.changedFractionOutside), repaintedFraction: report.repaintedFraction,
            null: nullEdit, classifiers: perClassifier, threshold: spec.threshold, output: outputName,
            denoisingSteps: outcome.denoisingSteps, seconds: Date().timeIntervalSince(start),
            secondsDenoising: denoise, secondsClassifiers: classifierSeconds, secondsMetrics: metricSeconds,
            window: spec.window.recorded)
    }

    /// NaN and infinity are no value in a row (JSON has no such numbers; PSNR of identical pixels is infinite).
    private func finite(_ x: Double?) -> Double? { x.flatMap { $0.isFinite ? $0 : nil } }

    /// SHA-256 of a binarised mask (width, height, then one byte per pixel).
    public static func maskHash(_ m: Mask) -> String {
        var bytes = Array("\(m.width)x\(m.height)\n".utf8)
        bytes.reserveCapacity(bytes.count + m.values.count)
        for flag in m.pixels { bytes.append(flag ? 1 : 0) }
        return SHA256.hex(of: bytes)
    }
}
