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

    public init(plan: SynthesizePlan, model: StableDiffusionModel, classifiers: [Classifier], directory: URL, options: ProbeRunOptions) {
        self.plan = plan; self.model = model; self.classifiers = classifiers; self.directory = directory; self.options = options
    }

    public func run() throws -> ProbeRunSummary {
        let dir = directory
        do { try FileManager.default.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true) } catch {
            throw ProbeError("\(dir.path): cannot create the dataset directory")
        }
        let lock = try RunLock(directory: dir)
        defer { withExtendedLifetime(lock) {} }
        try RunInfo.writeOrCheck(directory: dir, fingerprint: plan.fingerprint, settings: plan.fingerprintObject,
                                 extra: ["spec": plan.spec.file.path, "model": options.modelName, "software": options.software,
                                         "dataset": ["requested_labels": plan.requested, "duplicate_threshold": plan.spec.duplicateThreshold,
                                                     "max_pairs_per_prompt": plan.spec.maxPairsPerPrompt]])
        let log = try ResultsLog<SynthesisRow>(url: dir.appendingPathComponent("results.jsonl"))
        let positions = stride(from: options.shard.index, to: plan.items.count, by: options.shard.count)
        let total = positions.underestimatedCount
        let already = min(log.finishedIDs.count, total)
        let progress = RunProgress(label: "synthesize", unit: "images", total: total, alreadyDone: already, enabled: options.progress)
        var summary = ProbeRunSummary(runDirectory: dir, shard: options.shard, total: total, alreadyDone: already, done: 0,
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
                do { return try SHA256.hex(ofFileAt: u) } catch { throw ProbeError("\(u.path): cannot read the source image") }
            }
            let id = plan.id(for: item, sourceSHA256: sourceSHA)
            if log.finishedIDs.contains(id) { continue }
            let start = Date()
            // Prompt embeddings are reused across images; the cache is bounded by starting afresh at 512 prompts.
            if !promptsSeen.contains(item.prompt) {
                if promptsSeen.count >= 512 { cache = EncodingCache(); promptsSeen.removeAll() }
                promptsSeen.insert(item.prompt)
            }
            let settings = DiffusionSettings(prompt: item.prompt, negativePrompt: item.negativePrompt, steps: plan.steps,
                                             guidance: plan.guidance, seed: item.seed,
                                             scheduler: plan.spec.scheduler.flatMap { SchedulerKind(name: $0) })
            var denoise = 0.0
            let image: RasterImage
            do {
                if let src = item.source {
                    let request = EditRequest(image: try ImageIO.read(src), prompt: item.prompt,
                                              negativePrompt: item.negativePrompt, strength: plan.spec.strength,
                                              seed: item.seed, steps: plan.steps, guidance: plan.guidance,
                                              scheduler: settings.scheduler)
                    image = try editor.edit(request) { denoise = $0.elapsed }.image
                } else {
                    let result = try pipeline.run(.generate(width: plan.width, height: plan.height), settings: settings,
                                                  cache: cache) { denoise = $0.elapsed }
                    image = try RasterImage(floatsCHW: result.image.data, width: plan.width, height: plan.height, channels: 3, bitDepth: 8).toGray()
                }
            } catch {
                throw ProbeError("\(dir.path): image \(item.position) (\(item.prompt)): \(error)")
            }
            summary.denoisingSeconds += denoise
            var prov = Provenance(software: options.software, mode: item.source == nil ? "synthesize-generate" : "synthesize-edit",
                                  model: options.modelName, modelHash: plan.modelHash, prompt: item.prompt,
                                  negativePrompt: item.negativePrompt, seed: item.seed, steps: plan.steps,
                                  strength: item.source == nil ? nil : plan.spec.strength, guidance: plan.guidance,
                                  scheduler: plan.schedulerName)
            prov.extra = ["synthesize-id": id, "labels": item.labels.joined(separator: "|")]
            if let s = item.source { prov.extra["input"] = s.lastPathComponent; prov.extra["detail"] = "on" }
            try ImageIO.writePNG(image, to: dir.appendingPathComponent(item.file), text: prov.textChunks(), overwrite: true)

            var scores = [String: [String: Double]]()
            if !classifiers.isEmpty {
                let t = Date()
                for c in classifiers {
                    let out: [[String: Double]]
                    do { out = try c.predict([image]) } catch { throw ProbeError("classifier '\(c.name)' failed on \(item.file): \(error)") }
                    guard let p = out.first, out.count == 1, p.values.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
                        throw ProbeError("classifier '\(c.name)' returned an unusable answer for \(item.file)")
                    }
                    scores[c.name] = p
                }
                summary.classifierSeconds += Date().timeIntervalSince(t)
            }
            let row = SynthesisRow(id: id, schema: SynthesisRow.schema, position: item.position, file: item.file,
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

/// labels.csv, manifest.json and summary.json of a synthetic dataset, computed from its rows only (no timings, no
/// paths of the machine), so a merged sharded run gives the same files as one run.
public enum DatasetFinalizer {
    public static func finalize(directory dir: URL, software: String, threshold: Double = 0.5) throws -> [String: Any] {
        let rows = try ResultsLog<SynthesisRow>.readRows(dir.appendingPathComponent("results.jsonl"))
            .sorted(by: SynthesisRow.planOrder)
        let info = try RunInfo.read(dir) ?? [:]
        let settings = info["settings"] as? [String: Any] ?? [:]
        let expected = settings["count"] as? Int ?? rows.count
        let dataset = info["dataset"] as? [String: Any] ?? [:]
        // labels.csv
        let cols = SynthesizePlan.labelColumns
        var csv = CSV.line(["file", "prompt", "negative_prompt"] + cols + ["findings", "side", "severity", "sex", "age", "view", "seed", "source"])
        for r in rows {
            let labels = Set(r.labels)
            var f = [r.file, r.prompt, r.negativePrompt]
            f += cols.map { labels.contains($0) ? "1" : "0" }
            f.append(r.findings.joined(separator: "|"))
            f += [r.side, r.severity, r.sex, r.age.map(String.init), r.view, String(r.seed), r.source].map { $0 ?? "" }
            csv += CSV.line(f)
        }
        try AtomicFile.write(Array(csv.utf8), to: dir.appendingPathComponent("labels.csv"), overwrite: true)

        // manifest.json
        var manifest: [String: Any] = ["software": software, "schema": SynthesizeRunner.schema, "settings": settings,
                                       "fingerprint": info["fingerprint"] ?? "", "images": rows.count, "requested_images": expected,
                                       "label_columns": cols, "notice": Provenance.syntheticNotice]
        if let model = info["model"] as? String { manifest["model"] = URL(fileURLWithPath: model).lastPathComponent }
        try AtomicFile.write(StableJSON.pretty(manifest), to: dir.appendingPathComponent("manifest.json"), overwrite: true)

        // summary.json: realised vs requested, diversity, classifier agreement.
        var realised = [String: Int]()
        for r in rows { for l in r.labels { realised[l, default: 0] += 1 } }
        var summary: [String: Any] = ["images": rows.count, "requested_images": expected, "complete": rows.count == expected,
                                      "realised_labels": realised]
        if let requested = dataset["requested_labels"] as? [String: Int] {
            summary["requested_labels"] = requested
            summary["labels_match_request"] = rows.count == expected ? (realised == requested) : NSNull() as Any
        }
        summary["diversity"] = try diversity(rows, directory: dir, threshold: dataset["duplicate_threshold"] as? Double ?? 0.95,
                                             maxPairs: dataset["max_pairs_per_prompt"] as? Int ?? 200)
        summary["classifier_agreement"] = agreement(rows, threshold: threshold)
        try AtomicFile.write(StableJSON.pretty(summary), to: dir.appendingPathComponent("summary.json"), overwrite: true)
        return summary
    }

    /// MS-SSIM between images of the same prompt (RoentGen's diversity measure; lower = more diverse): mean, min,
    /// max per prompt, pairs above `threshold` flagged as near-duplicates. Demographic prefixes make most prompts
    /// unique, so the same is reported per finding set with side and severity (`per_findings`) and per label set
    /// (`per_label`). Pairs are taken in a fixed order, at most `maxPairs` per group.
    static func diversity(_ rows: [SynthesisRow], directory: URL, threshold: Double,
                          maxPairs: Int) throws -> [String: Any] {
        var cache = [String: GrayPlane]()
        func plane(_ f: String) throws -> GrayPlane {
            if let x = cache[f] { return x }
            let x = GrayPlane(try ImageIO.read(directory.appendingPathComponent(f)))
            if cache.count > 256 { cache.removeAll() }
            cache[f] = x
            return x
        }
        func grouped(_ key: (SynthesisRow) -> String?) throws
            -> (groups: [[String: Any]], duplicates: [[String: Any]], all: [Double]) {
            var groups = [String: [String]]()
            var order = [String]()
            for r in rows {
                guard let k = key(r) else { continue }
                if groups[k] == nil { order.append(k) }
                groups[k, default: []].append(r.file)
            }
            var out = [[String: Any]](), duplicates = [[String: Any]](), all = [Double]()
            for k in order {
                let files = groups[k] ?? []
                guard files.count >= 2 else { continue }
                var values = [Double]()
                outer: for i in 0..<files.count {
                    for j in (i + 1)..<files.count {
                        if values.count >= maxPairs { break outer }
                        let v = try ImageQuality.msssim(plane(files[i]), plane(files[j]))
                        values.append(v)
                        if v > threshold { duplicates.append(["a": files[i], "b": files[j], "ms_ssim": v, "group": k]) }
                    }
                }
                all += values
                out.append(["group": k, "images": files.count, "pairs": values.count,
                            "ms_ssim_mean": values.reduce(0, +) / Double(values.count),
                            "ms_ssim_min": values.min() ?? 0, "ms_ssim_max": values.max() ?? 0])
            }
            return (out, duplicates, all)
        }
        let byPrompt = try grouped { $0.prompt }
        let byFindings = try grouped { r in
            let f = r.findings.joined(separator: "+")
            let extras = [r.side, r.severity].compactMap { $0 }
            return ([f.isEmpty ? "unlabelled" : f] + extras).joined(separator: " ")
        }
        // Per label set (side, severity and demographics pooled): the diversity of each class of a balanced dataset.
        let byLabel = try grouped { r in
            r.labels.isEmpty ? nil : r.labels.joined(separator: "+")
        }
        func mean(_ v: [Double]) -> Any { v.isEmpty ? NSNull() : v.reduce(0, +) / Double(v.count) }
        return ["per_prompt": byPrompt.groups, "per_findings": byFindings.groups, "per_label": byLabel.groups,
                "near_duplicates": byPrompt.duplicates, "near_duplicates_per_findings": byFindings.duplicates,
                "near_duplicates_per_label": byLabel.duplicates,
                "ms_ssim_mean_per_label": mean(byLabel.all), "pairs_per_label": byLabel.all.count,
                "near_duplicate_threshold": threshold, "ms_ssim_mean": mean(byPrompt.all), "pairs": byPrompt.all.count,
                "ms_ssim_mean_per_findings": mean(byFindings.all), "pairs_per_findings": byFindings.all.count]
    }

    /// Per classifier and label: does the classifier call the finding (p >= threshold) more often on images labelled
    /// with it than on the others? A synthetic dataset is only useful for training if its labels are visible in the
    /// images, so this is the dataset's own label check. Per label: `positive_rate_labelled` (= sensitivity),
    /// `positive_rate_unlabelled` (= 1 - specificity), mean scores of both groups, and `agrees` (the first rate is
    /// higher; null when a group is empty). The ground truth of a classifier label comes from the row's labels, except
    /// `Abnormal` (any finding vs "No Finding"), `Male` (the demographic sex) and `AP view` (the demographic view);
    /// rows that do not know the answer (no labels, no sex, no view) are left out of that label.
    static func agreement(_ rows: [SynthesisRow], threshold: Double) -> [String: Any] {
        struct Tally { var pos = 0, posHit = 0, neg = 0, negHit = 0, posSum = 0.0, negSum = 0.0 }
        var tallies = [String: [String: Tally]]()
        for r in rows {
            for (c, probs) in r.scores ?? [:] {
                for (label, p) in probs {
                    guard let truth = groundTruth(label, row: r) else { continue }
                    var t = tallies[c]?[label] ?? Tally()
                    if truth {
                        t.pos += 1; t.posSum += p
                        if p >= threshold { t.posHit += 1 }
                    } else {
                        t.neg += 1; t.negSum += p
                        if p < threshold { t.negHit += 1 }
                    }
                    tallies[c, default: [:]][label] = t
                }
            }
        }
        func ratio(_ a: Int, _ b: Int) -> Any { b > 0 ? Double(a) / Double(b) : NSNull() }
        func mean(_ s: Double, _ n: Int) -> Any { n > 0 ? s / Double(n) : NSNull() }
        var out = [String: Any]()
        for (c, byLabel) in tallies {
            var m = [String: Any]()
            var agreeing = 0, decided = 0
            for (l, t) in byLabel {
                var e: [String: Any] = ["labelled": t.pos, "unlabelled": t.neg, "threshold": threshold,
                                        "sensitivity": ratio(t.posHit, t.pos), "specificity": ratio(t.negHit, t.neg),
                                        "positive_rate_labelled": ratio(t.posHit, t.pos),
                                        "positive_rate_unlabelled": ratio(t.neg - t.negHit, t.neg),
                                        "mean_score_labelled": mean(t.posSum, t.pos), "mean_score_unlabelled": mean(t.negSum, t.neg),
                                        "truth_from": truthSource(l)]
                if t.pos > 0 && t.neg > 0 {
                    let agrees = t.posHit * t.neg > (t.neg - t.negHit) * t.pos
                    e["agrees"] = agrees
                    decided += 1
                    if agrees { agreeing += 1 }
                } else {
                    e["agrees"] = NSNull()
                }
                m[l] = e
            }
            out[c] = ["labels": m, "labels_checked": decided, "labels_agreeing": agreeing]
        }
        return out
    }

    /// Whether `label` applies to a row, or nil when the row cannot say.
    static func groundTruth(_ label: String, row r: SynthesisRow) -> Bool? {
        switch label {
        case "Male": return r.sex.map { $0.lowercased() == "male" }
        case "AP view": return r.view.map { $0.uppercased() == "AP" }
        default:
            let labels = r.labels
            guard !labels.isEmpty else { return nil }
            if label == "Abnormal" { return labels.contains { $0 != "No Finding" } }
            return labels.contains(label)
        }
    }

    static func truthSource(_ label: String) -> String {
        switch label {
        case "Male": return "sex"
        case "AP view": return "view"
        case "Abnormal": return "labels (any finding)"
        default: return "labels"
        }
    }
}
