import CXRClassifiers
import CXRImaging
import CXRPipelines
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

    public init(shard: Shard = .all, progress: Bool = false, software: String = "cxr-edit", modelName: String = "",
                stopAfter: Int? = nil) {
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

    public var json: [String: Any] {
        ["run_directory": runDirectory.path, "shard": shard.description, "total": total, "already_done": alreadyDone,
         "done": done, "complete": alreadyDone + done >= total, "seconds": seconds,
         "counterfactuals_per_minute": perMinute, "denoising_seconds": denoisingSeconds,
         "classifier_seconds": classifierSeconds, "share_outside_denoising": shareOutsideDenoising]
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
    public static let schema = "cxr-edit.probe/1"

    public let plan: ProbePlan
    let model: StableDiffusionModel
    let pipeline: StableDiffusionPipeline
    let classifiers: [Classifier]
    let resolver: EditResolving
    public let runDirectory: URL
    let options: ProbeRunOptions

    public init(plan: ProbePlan, model: StableDiffusionModel, classifiers: [Classifier], resolver: EditResolving,
                runDirectory: URL, options: ProbeRunOptions) throws {
        guard !classifiers.isEmpty else { throw ProbeError("\(plan.spec.file.path): classifiers: no classifier to score with") }
        self.plan = plan; self.model = model; self.pipeline = StableDiffusionPipeline(model: model)
        self.classifiers = classifiers; self.resolver = resolver; self.runDirectory = runDirectory; self.options = options
    }

    /// Per-image state, built when the first unfinished job of an image comes up.
    private struct ImageState {
        let index: Int
        let raster: RasterImage
        let prepared: PreparedImage
        let sha: String
        let cache: EncodingCache
        var originalScores: [[String: Double]]
        var resolved: [Int: ResolvedEdit] = [:]
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
        try RunInfo.writeOrCheck(directory: dir, fingerprint: plan.fingerprint, settings: plan.fingerprintObject,
                                 extra: ["spec": plan.spec.file.path, "model": options.modelName, "software": options.software,
                                         "images": plan.images.count, "jobs": plan.count])
        let log = try ResultsLog(url: dir.appendingPathComponent("results.jsonl"))
        let positions = stride(from: options.shard.index, to: plan.count, by: options.shard.count)
        let total = positions.underestimatedCount
        let already = min(log.finishedIDs.count, total)
        let progress = RunProgress(label: "probe", unit: "counterfactuals", total: total, alreadyDone: already, enabled: options.progress)
        var summary = ProbeRunSummary(runDirectory: dir, shard: options.shard, total: total, alreadyDone: already, done: 0,
                                      seconds: 0, denoisingSeconds: 0, classifierSeconds: 0)
        let clock = Date()
        var state: ImageState?
        var shaCache: (index: Int, sha: String)?
        for position in positions {
            if let stop = options.stopAfter, summary.done >= stop { break }
            let job = plan.job(at: position)
            let input = plan.images[job.imageIndex]
            if shaCache?.index != job.imageIndex {
                do { shaCache = (job.imageIndex, try SHA256.hex(ofFileAt: input.url)) } catch {
                    throw ProbeError("\(input.url.path): cannot read the input image")
                }
            }
            guard let sha = shaCache?.sha else { continue }
            let id = plan.id(for: job, imageSHA256: sha)
            if log.finishedIDs.contains(id) { continue }
            if state?.index != job.imageIndex {
                state = nil // release the previous image (and its cached posterior) first
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
        let raster = try ImageIO.read(input.url)
        let prepared = try PreparedImage(raster, size: model.nativeImageSize)
        let t = Date()
        let scores = try score([prepared.original], input: input.name)[0]
        summary.classifierSeconds += Date().timeIntervalSince(t)
        // One cache per image: its posterior is encoded once and dropped with the image; prompts are re-encoded
        // once per image (a text-encoder pass, negligible next to the UNet steps).
        return ImageState(index: index, raster: raster, prepared: prepared, sha: sha, cache: EncodingCache(),
                          originalScores: scores)
    }

    /// Scores images with every classifier; one dictionary per image with keys "classifier\tlabel"... no: returns
    /// per image an array (one entry per classifier) flattened into [[classifierIndex: scores]].
    private func score(_ images: [RasterImage], input: String) throws -> [[[String: Double]]] {
        var perImage = Array(repeating: [[String: Double]](), count: images.count)
        for c in classifiers {
            let out: [[String: Double]]
            do { out = try c.predict(images) } catch {
                throw ProbeError("classifier '\(c.name)' failed on \(input): \(error)")
            }
            guard out.count == images.count else {
                throw ProbeError("classifier '\(c.name)' returned \(out.count) answers for \(images.count) images (\(input))")
            }
            for (i, probs) in out.enumerated() {
                for (label, p) in probs where !(p.isFinite && p >= 0 && p <= 1) {
                    throw ProbeError("classifier '\(c.name)' returned \(p) for '\(label)' on \(input); probabilities must be in [0, 1]")
                }
                perImage[i].append(probs)
            }
        }
        return perImage
    }

    private func counterfactual(_ job: ProbeJob, id: String, state s: inout ImageState,
                                summary: inout ProbeRunSummary) throws -> [String: Any] {
        let start = Date()
        let spec = plan.spec
        let edit = spec.edits[job.editIndex]
        let input = plan.images[job.imageIndex]
        let resolved: ResolvedEdit
        if let r = s.resolved[job.editIndex] { resolved = r } else {
            do { resolved = try resolver.resolve(edit, image: s.prepared.original, imageKey: s.sha) } catch {
                throw ProbeError("\(input.url.path): edit '\(edit.name)': \(error)")
            }
            s.resolved[job.editIndex] = resolved
        }
        var settings = DiffusionSettings(prompt: resolved.prompt, negativePrompt: resolved.negativePrompt, steps: plan.steps,
                                         guidance: plan.guidance, seed: job.seed,
                                         scheduler: spec.scheduler.flatMap(Self.schedulerKind), eta: spec.eta,
                                         strength: job.strength, invert: spec.invert && resolved.editMask == nil)
        if let keep = resolved.keepMask { settings.keepMask = try s.prepared.modelMask(keep) }
        let task: DiffusionTask = try resolved.editMask.map { .inpaint(image: s.prepared.tensor, mask: try s.prepared.modelMask($0)) }
            ?? .edit(image: s.prepared.tensor)
        var denoise = 0.0
        let result: DiffusionResult
        do {
            result = try pipeline.run(task, settings: settings, cache: s.cache, imageKey: s.sha) { denoise = $0.elapsed }
        } catch {
            throw ProbeError("\(input.url.path): edit '\(edit.name)': \(error)")
        }
        summary.denoisingSeconds += denoise
        // Inpainting: paste the original back outside the mask. SDEdit with a keep mask: paste the kept part back.
        let pasteMask = resolved.editMask ?? resolved.keepMask.map(Self.complement)
        var cf = try s.prepared.unfit(result.image)
        if let pasteMask {
            cf = try Mask.pasteBack(original: s.prepared.original, edited: cf, alpha: pasteMask.feathered(radius: spec.feather))
        }

        var outputName: Any = NSNull()
        if spec.saveImages {
            let name = "images/\(id).png"
            var prov = Provenance(software: options.software, mode: resolved.editMask == nil ? "probe-edit" : "probe-inpaint",
                                  model: options.modelName, modelHash: plan.modelHash, prompt: resolved.prompt,
                                  negativePrompt: resolved.negativePrompt, seed: job.seed, steps: plan.steps,
                                  strength: job.strength, guidance: plan.guidance, scheduler: plan.schedulerName,
                                  maskHash: resolved.editMask.map(Self.maskHash))
            prov.extra = ["input": input.name, "probe-edit": edit.name, "probe-id": id]
            try ImageIO.writePNG(cf, to: runDirectory.appendingPathComponent(name), text: prov.textChunks(), overwrite: true)
            outputName = name
        }

        let t = Date()
        let after = try score([cf], input: input.name)[0]
        let classifierSeconds = Date().timeIntervalSince(t)
        summary.classifierSeconds += classifierSeconds
        let tm = Date()
        let a = GrayPlane(s.prepared.original), b = GrayPlane(cf)
        let region = resolved.analysisRegion
        let mse = try ImageQuality.mse(a, b, outside: region)
        let psnr = try ImageQuality.psnr(a, b, outside: region)
        let ssim = try ImageQuality.ssim(a, b, outside: region)

        let metricSeconds = Date().timeIntervalSince(tm)
        var perClassifier = [String: Any]()
        for (k, c) in classifiers.enumerated() {
            perClassifier[c.name] = Self.compare(before: s.originalScores[k], after: after[k], target: resolved.target,
                                                 threshold: spec.threshold)
        }
        var row: [String: Any] = [
            "id": id, "schema": Self.schema, "position": job.position,
            "image": input.name, "image_path": input.url.path, "image_sha256": s.sha,
            "width": s.raster.width, "height": s.raster.height,
            "edit": edit.name, "edit_spec": edit.canonical, "edit_index": job.editIndex,
            "action": edit.action.rawValue, "mode": resolved.editMask == nil ? "sdedit" : "inpaint",
            "prompt": resolved.prompt, "negative_prompt": resolved.negativePrompt,
            "target": resolved.target.map { $0 as Any } ?? NSNull(),
            "strength": job.strength, "seed": Int(job.seed), "steps": plan.steps, "guidance": plan.guidance,
            "scheduler": plan.schedulerName, "eta": spec.eta, "invert": settings.invert, "feather": spec.feather,
            "model": options.modelName, "model_sha256": plan.modelHash,
            "mask_sha256": resolved.editMask.map { Self.maskHash($0) as Any } ?? NSNull(),
            "keep_mask_sha256": resolved.keepMask.map { Self.maskHash($0) as Any } ?? NSNull(),
            "region_sha256": region.map { Self.maskHash($0) as Any } ?? NSNull(),
            "outside_fraction": region.map { 1 - $0.coverage } ?? 1,
            "mse_outside": finite(mse), "psnr_outside": finite(psnr), "identical_outside": mse == 0,
            "ssim_outside": finite(ssim),
            "classifiers": perClassifier, "threshold": spec.threshold,
            "output": outputName, "denoising_steps": result.timesteps.count,
            "seconds": Date().timeIntervalSince(start), "seconds_denoising": denoise,
            "seconds_classifiers": classifierSeconds, "seconds_metrics": metricSeconds,
        ]
        if !input.labels.isEmpty { row["labels"] = input.labels }
        if !resolved.notes.isEmpty { row["notes"] = resolved.notes }
        return row
    }

    /// Before/after probabilities of one classifier, their differences, the target's delta and flip, and the
    /// off-target movement (every other label).
    static func compare(before: [String: Double], after: [String: Double], target: String?, threshold: Double) -> [String: Any] {
        var delta = [String: Double]()
        var flipped = [String]()
        for (label, p) in before {
            guard let q = after[label] else { continue }
            delta[label] = q - p
            if (p >= threshold) != (q >= threshold) { flipped.append(label) }
        }
        var out: [String: Any] = ["before": before, "after": after, "delta": delta, "flipped": flipped.sorted()]
        let off = delta.filter { $0.key != target }
        let offAbs = off.values.map(abs)
        out["off_target_mean_abs_delta"] = offAbs.isEmpty ? NSNull() : offAbs.reduce(0, +) / Double(offAbs.count)
        if let maxOff = off.max(by: { abs($0.value) < abs($1.value) || (abs($0.value) == abs($1.value) && $0.key > $1.key) }) {
            out["off_target_max_abs_delta"] = abs(maxOff.value)
            out["off_target_max_label"] = maxOff.key
        }
        if let target, let p = before[target], let q = after[target] {
            out["target_before"] = p; out["target_after"] = q; out["target_delta"] = q - p
            out["target_flip"] = (p >= threshold) != (q >= threshold)
        } else {
            out["target_delta"] = NSNull(); out["target_flip"] = NSNull()
        }
        return out
    }

    static func schedulerKind(_ name: String) -> SchedulerKind? {
        switch name {
        case "euler_a": return .eulerAncestral
        case "dpmpp-2m": return .dpmpp2m
        default: return SchedulerKind(rawValue: name)
        }
    }

    static func complement(_ m: Mask) -> Mask {
        var c = m
        c.values = m.values.map { $0 >= 0.5 ? 0 : 1 }
        return c
    }

    /// SHA-256 of a binarised mask (width, height, then one byte per pixel).
    public static func maskHash(_ m: Mask) -> String {
        var bytes = Array("\(m.width)x\(m.height)\n".utf8)
        bytes.reserveCapacity(bytes.count + m.values.count)
        for v in m.values { bytes.append(v >= 0.5 ? 1 : 0) }
        return SHA256.hex(of: bytes)
    }
}

/// RUN_DIR/run.json: the settings a run directory was started with. Resuming or merging with different settings
/// would mix incomparable rows, so it is refused.
public enum RunInfo {
    public static func writeOrCheck(directory: URL, fingerprint: String, settings: [String: Any], extra: [String: Any]) throws {
        let url = directory.appendingPathComponent("run.json")
        if let existing = try read(directory) {
            guard existing["fingerprint"] as? String == fingerprint else {
                throw ProbeError("\(directory.path): this run directory was started with different settings (spec, model or classifiers); use a new --out")
            }
            return
        }
        var obj = extra
        obj["fingerprint"] = fingerprint
        obj["settings"] = settings
        try AtomicFile.write(StableJSON.pretty(obj), to: url, overwrite: true)
    }

    public static func read(_ directory: URL) throws -> [String: Any]? {
        let url = directory.appendingPathComponent("run.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url),
              let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ProbeError("\(url.path): unreadable run information (not JSON)")
        }
        return obj
    }
}
