import CXRClassifiers
import CXRImaging
import CXRPipelines
import CXRRuns
import CXRSchedulers
import CXRTensor
import Foundation

/// Generates a synthetic dataset into DIR, resumably and shardably, on the same machinery as the probe:
/// DIR/results.jsonl (one row per image, fsynced), DIR/images/NNNNNN.png (provenance-marked, atomic, written before
/// their row), DIR/run.json, DIR/.lock; then `finalize` writes labels.csv, manifest.json and summary.json from the rows.
public final class SynthesizeRunner {
    /// Row layout (SynthesisRow.schema), part of every id and fingerprint.
    public static let schema = SynthesisRow.schema

    public let plan: SynthesizePlan
    let model: StableDiffusionModel
    let classifiers: [Classifier]
    public let directory: URL
    let options: ProbeRunOptions

    public init(
        plan: SynthesizePlan, model: StableDiffusionModel, classifiers: [Classifier], directory: URL,
        options: ProbeRunOptions
    ) {
        self.plan = plan; self.model = model; self.classifiers = classifiers; self.directory = directory;
        self.options = options
    }

    public func run() throws -> ProbeRunSummary {
        let dir = directory
        do {
            try FileManager.default.createDirectory(
                at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        } catch {
            throw ProbeError("\(dir.path): cannot create the dataset directory")
        }
        let lock = try RunLock(directory: dir)
        defer { withExtendedLifetime(lock) {} }
        try plan.runInfo(software: options.software, modelName: options.modelName).writeOrCheck(directory: dir)
        let log = try ResultsLog<SynthesisRow>(url: dir.appendingPathComponent("results.jsonl"))
        let positions = stride(from: options.shard.index, to: plan.items.count, by: options.shard.count)
        let total = positions.underestimatedCount
        let already = min(log.finishedIDs.count, total)
        let progress = RunProgress(
            label: "synthesize", unit: "images", total: total, alreadyDone: already, enabled: options.progress)
        var summary = ProbeRunSummary(
            runDirectory: dir, shard: options.shard, total: total, alreadyDone: already, done: 0,
            seconds: 0, denoisingSeconds: 0, classifierSeconds: 0)
        let pipeline = StableDiffusionPipeline(model: model)
        // Edits of source images go through the library editor (detail transfer on, as for `cxr-edit edit`).
        let editor = ImageEditor(model: model)
        var cache = EncodingCache()
        var promptsSeen = Set<String>()
        let clock = Date()
        for position in positions {
            if let stop = options.stopAfter, summary.done >= stop { break }
            let item = plan.items[position]
            let sourceSHA = try item.source.map { u -> String in
                do { return try SHA256.hex(ofFileAt: u) } catch {
                    throw ProbeError("\(u.path): cannot read the source image")
                }
            }
            let id = plan.id(for: item, sourceSHA256: sourceSHA)
            if log.finishedIDs.contains(id) { continue }
            let start = Date()
            // Prompt embeddings are reused across images; the cache is bounded by starting afresh at 512 prompts.
            if !promptsSeen.contains(item.prompt) {
                if promptsSeen.count >= 512 { cache = EncodingCache(); promptsSeen.removeAll() }
                promptsSeen.insert(item.prompt)
            }
            let settings = DiffusionSettings(
                prompt: item.prompt, negativePrompt: item.negativePrompt, steps: plan.steps,
                guidance: plan.guidance, seed: item.seed,
                scheduler: plan.spec.scheduler.flatMap { SchedulerKind(name: $0) })
            var denoise = 0.0
            let image: RasterImage
            // The window or VOI LUT that made a DICOM source's picture, recorded as `edit` records it.
            var window: String? = nil
            do {
                if let src = item.source {
                    let source = try ImageIO.read(src, window: plan.spec.window)
                    window = source.window
                    let request = EditRequest(
                        image: source.image, prompt: item.prompt,
                        negativePrompt: item.negativePrompt, strength: plan.spec.strength,
                        seed: item.seed, steps: plan.steps, guidance: plan.guidance,
                        scheduler: settings.scheduler)
                    image = try editor.edit(request) { denoise = $0.elapsed }.image
                } else {
                    let result = try pipeline.run(
                        .generate(width: plan.width, height: plan.height), settings: settings,
                        cache: cache
                    ) { denoise = $0.elapsed }
                    image = try RasterImage(
                        floatsCHW: result.image.data, width: plan.width, height: plan.height, channels: 3, bitDepth: 8
                    ).toGray()
                }
            } catch {
                throw ProbeError("\(dir.path): image \(item.position) (\(item.prompt)): \(error)")
            }
            summary.denoisingSeconds += denoise
            var prov = Provenance(
                software: options.software, mode: item.source == nil ? "synthesize-generate" : "synthesize-edit",
                model: options.modelName, modelHash: plan.modelHash, prompt: item.prompt,
                negativePrompt: item.negativePrompt, seed: item.seed, steps: plan.steps,
                strength: item.source == nil ? nil : plan.spec.strength, guidance: plan.guidance,
                scheduler: plan.schedulerName)
            prov.extra = ["synthesize-id": id, "labels": item.labels.joined(separator: "|")]
            if let s = item.source { prov.extra["input"] = s.lastPathComponent; prov.extra["detail"] = "on" }
            if let window { prov.extra["window"] = window }
            try ImageIO.writePNG(
                image, to: dir.appendingPathComponent(item.file), text: prov.textChunks(), overwrite: true)

            var scores = [String: [String: Double]]()
            if !classifiers.isEmpty {
                let t = Date()
                for c in classifiers {
                    let out: [[String: Double]]
                    do { out = try c.predict([image]) } catch {
                        throw ProbeError("classifier '\(c.name)' failed on \(item.file): \(error)")
                    }
                    guard let p = out.first, out.count == 1, p.values.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 })
                    else {
                        throw ProbeError("classifier '\(c.name)' returned an unusable answer for \(item.file)")
                    }
                    scores[c.name] = p
                }
                summary.classifierSeconds += Date().timeIntervalSince(t)
            }
            let row = SynthesisRow(
                id: id, schema: SynthesisRow.schema, position: item.position, file: item.file,
                output: item.file, prompt: item.prompt, negativePrompt: item.negativePrompt,
                findings: item.findings, labels: item.labels, side: item.side,
                severity: item.severity, sex: item.sex, age: item.age, view: item.view,
                seed: item.seed, source: item.source?.lastPathComponent,
                sourceSHA256: item.source == nil ? nil : sourceSHA ?? "",
                scores: scores.isEmpty ? nil : scores, seconds: Date().timeIntervalSince(start),
                secondsDenoising: denoise)
            try log.append(row)
            summary.done += 1
            progress.tick()
        }
        summary.seconds = Date().timeIntervalSince(clock)
        return summary
    }
}
