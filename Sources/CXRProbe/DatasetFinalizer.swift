import CXRImaging
import CXRRuns
import Foundation

/// labels.csv, manifest.json and summary.json of a synthetic dataset, computed from its rows only (no timings, no
/// paths of the machine), so a merged sharded run gives the same files as one run.
public enum DatasetFinalizer {
    public static func finalize(
        directory dir: URL, software: String,
        threshold: Double = 0.5
    ) throws -> DatasetSummary {
        let rows = try ResultsLog<SynthesisRow>.readRows(dir.appendingPathComponent("results.jsonl"))
            .sorted(by: SynthesisRow.planOrder)
        let info = try RunInfo<DatasetRunDetails>.read(dir)
        let settings = info?.settings ?? .object([:])
        let expected = settings["count"]?.int ?? rows.count
        let dataset = info?.details.dataset
        // labels.csv
        let cols = SynthesizePlan.labelColumns
        var csv = CSV.line(
            ["file", "prompt", "negative_prompt"] + cols
                + ["findings", "side", "severity", "sex", "age", "view", "seed", "source"])
        for r in rows {
            let labels = Set(r.labels)
            var f = [r.file, r.prompt, r.negativePrompt]
            f += cols.map { labels.contains($0) ? "1" : "0" }
            f.append(r.findings.joined(separator: "|"))
            f += [r.side, r.severity, r.sex, r.age.map(String.init), r.view, String(r.seed), r.source].map { $0 ?? "" }
            csv += CSV.line(f)
        }
        try AtomicFile.write(Array(csv.utf8), to: dir.appendingPathComponent("labels.csv"), overwrite: true)

        // manifest.json. The model is named by its folder; an empty path (the bundled default) stays empty, since
        // URL(fileURLWithPath: "") is the current directory and would name whatever folder the run started in.
        let manifest = DatasetManifest(
            software: software, settings: settings, fingerprint: info?.fingerprint ?? "",
            images: rows.count, requestedImages: expected, labelColumns: cols,
            model: info?.model.map { $0.isEmpty ? "" : URL(fileURLWithPath: $0).lastPathComponent })
        try AtomicFile.write(
            StableJSON.pretty(manifest), to: dir.appendingPathComponent("manifest.json"), overwrite: true)

        // summary.json: realised vs requested, diversity, classifier agreement.
        var realised = [String: Int]()
        for r in rows { for l in r.labels { realised[l, default: 0] += 1 } }
        let requested = dataset?.requestedLabels
        let complete = rows.count == expected
        let summary = DatasetSummary(
            images: rows.count, requestedImages: expected, complete: complete, realisedLabels: realised,
            requestedLabels: requested,
            labelsMatchRequest: requested.map { ExplicitNull(wrappedValue: complete ? realised == $0 : nil) },
            diversity: try diversity(
                rows, directory: dir, threshold: dataset?.duplicateThreshold ?? 0.95,
                maxPairs: dataset?.maxPairsPerPrompt ?? 200),
            classifierAgreement: agreement(rows, threshold: threshold))
        let summaryURL = dir.appendingPathComponent("summary.json")
        try AtomicFile.write(StableJSON.pretty(summary), to: summaryURL, overwrite: true)
        return summary
    }

    /// MS-SSIM between images of the same prompt (RoentGen's diversity measure; lower = more diverse): mean, min,
    /// max per prompt, pairs above `threshold` flagged as near-duplicates. Demographic prefixes make most prompts
    /// unique, so the same is reported per finding set with side and severity (`per_findings`) and per label set
    /// (`per_label`). Pairs are taken in a fixed order, at most `maxPairs` per group.
    static func diversity(
        _ rows: [SynthesisRow], directory: URL, threshold: Double,
        maxPairs: Int
    ) throws -> DatasetDiversity {
        var cache = [String: GrayPlane]()
        func plane(_ f: String) throws -> GrayPlane {
            if let x = cache[f] { return x }
            let x = GrayPlane(try ImageIO.read(directory.appendingPathComponent(f)))
            if cache.count > 256 { cache.removeAll() }
            cache[f] = x
            return x
        }
        typealias Group = DatasetDiversity.Group
        typealias Pair = DatasetDiversity.Pair
        func grouped(_ key: (SynthesisRow) -> String?) throws -> (groups: [Group], duplicates: [Pair], all: [Double]) {
            var groups = [String: [String]]()
            var order = [String]()
            for r in rows {
                guard let k = key(r) else { continue }
                if groups[k] == nil { order.append(k) }
                groups[k, default: []].append(r.file)
            }
            var out = [Group](), duplicates = [Pair](), all = [Double]()
            for k in order {
                let files = groups[k] ?? []
                guard files.count >= 2 else { continue }
                var values = [Double]()
                outer: for i in 0..<files.count {
                    for j in (i + 1)..<files.count {
                        if values.count >= maxPairs { break outer }
                        let v = try ImageQuality.msssim(plane(files[i]), plane(files[j]))
                        values.append(v)
                        if v > threshold { duplicates.append(Pair(a: files[i], b: files[j], msSSIM: v, group: k)) }
                    }
                }
                all += values
                out.append(
                    Group(
                        group: k, images: files.count, pairs: values.count,
                        msSSIMMean: values.reduce(0, +) / Double(values.count),
                        msSSIMMin: values.min() ?? 0, msSSIMMax: values.max() ?? 0))
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
        func mean(_ v: [Double]) -> Double? { v.isEmpty ? nil : v.reduce(0, +) / Double(v.count) }
        return DatasetDiversity(
            perPrompt: byPrompt.groups, perFindings: byFindings.groups, perLabel: byLabel.groups,
            nearDuplicates: byPrompt.duplicates, nearDuplicatesPerFindings: byFindings.duplicates,
            nearDuplicatesPerLabel: byLabel.duplicates, nearDuplicateThreshold: threshold,
            msSSIMMean: mean(byPrompt.all), msSSIMMeanPerFindings: mean(byFindings.all),
            msSSIMMeanPerLabel: mean(byLabel.all), pairs: byPrompt.all.count, pairsPerFindings: byFindings.all.count,
            pairsPerLabel: byLabel.all.count)
    }

    /// Per classifier and label: does the classifier call the finding (p >= threshold) more often on images labelled
    /// with it than on the others? A synthetic dataset is only useful for training if its labels are visible in the
    /// images, so this is the dataset's own label check. Per label: `positive_rate_labelled` (= sensitivity),
    /// `positive_rate_unlabelled` (= 1 - specificity), mean scores of both groups, and `agrees` (the first rate is
    /// higher; null when a group is empty). The ground truth of a classifier label comes from the row's labels, except
    /// `Abnormal` (any finding vs "No Finding"), `Male` (the demographic sex) and `AP view` (the demographic view);
    /// rows that do not know the answer (no labels, no sex, no view) are left out of that label.
    static func agreement(_ rows: [SynthesisRow], threshold: Double) -> [String: ClassifierAgreement] {
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
        func ratio(_ a: Int, _ b: Int) -> Double? { b > 0 ? Double(a) / Double(b) : nil }
        func mean(_ s: Double, _ n: Int) -> Double? { n > 0 ? s / Double(n) : nil }
        var out = [String: ClassifierAgreement]()
        for (c, byLabel) in tallies {
            var m = [String: LabelAgreement]()
            for (l, t) in byLabel {
                // Both groups present: the labelled group's positive rate beats the other's (cross-multiplied).
                let agrees = t.pos > 0 && t.neg > 0 ? t.posHit * t.neg > (t.neg - t.negHit) * t.pos : nil
                m[l] = LabelAgreement(
                    labelled: t.pos, unlabelled: t.neg, threshold: threshold,
                    sensitivity: ratio(t.posHit, t.pos), specificity: ratio(t.negHit, t.neg),
                    positiveRateLabelled: ratio(t.posHit, t.pos),
                    positiveRateUnlabelled: ratio(t.neg - t.negHit, t.neg),
                    meanScoreLabelled: mean(t.posSum, t.pos),
                    meanScoreUnlabelled: mean(t.negSum, t.neg),
                    truthFrom: truthSource(l), agrees: agrees)
            }
            let decided = m.values.filter { $0.agrees != nil }
            out[c] = ClassifierAgreement(
                labels: m, labelsChecked: decided.count,
                labelsAgreeing: decided.filter { $0.agrees == true }.count)
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
