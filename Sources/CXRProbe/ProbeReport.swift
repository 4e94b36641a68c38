import CXRImaging
import CXRRuns
import Foundation

/// `probe report RUN_DIR`: summary.json (per classifier and edit: the effect of the finding against its matched null
/// edit with image-level bootstrap 95% intervals, the null edit's own shift as sensitivity to re-synthesis, the raw
/// target delta, flip rate, off-target movement, the shortcut matrix), results.csv (one line per result and
/// classifier), and report.html: one self-contained file (inline CSS, inline SVG charts, base64 PNG thumbnails)
/// that opens without a network. A run with fewer rows than its plan is reported as partial.
public enum ProbeReport {
    public struct Files: Encodable {
        public var summary: URL
        public var csv: URL
        public var html: URL

        enum CodingKeys: String, CodingKey { case summary, csv, html }

        /// `probe report --json`: the paths.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(summary.path, forKey: .summary)
            try c.encode(csv.path, forKey: .csv)
            try c.encode(html.path, forKey: .html)
        }
    }

    public static let resamples = 1000
    public static let seed: UInt64 = 20_240_917

    public static func write(runDirectory dir: URL, galleryCount: Int = 4) throws -> Files {
        let rows = try ResultsLog<ProbeRow>.readRows(dir.appendingPathComponent("results.jsonl"))
            .sorted(by: ProbeRow.planOrder)
        guard !rows.isEmpty else { throw ProbeError("\(dir.path): results.jsonl has no rows yet; run the probe first") }
        let info = try RunInfo<ProbeRunDetails>.read(dir)
        let classifiers = Set(rows.flatMap(\.classifiers.keys)).sorted()
        var editOrder = [String]()
        for r in rows where !editOrder.contains(r.edit) { editOrder.append(r.edit) }
        let expected = info?.details.jobs
        let complete = expected.map { rows.count >= $0 } ?? true
        var perClassifier = [String: ProbeSummary.ClassifierSummary]()
        for c in classifiers {
            let stats = editOrder.map { editStats(rows, edit: $0, classifier: c) }
            perClassifier[c] = ProbeSummary.ClassifierSummary(
                edits: Dictionary(uniqueKeysWithValues: stats.map { ($0.edit, $0) }),
                shortcutMatrix: ShortcutMatrix(rows, edits: editOrder, classifier: c))
        }
        let summary = ProbeSummary(
            rows: rows.count, runDirectory: dir.path, edits: editOrder, images: Set(rows.map(\.cluster)).count,
            complete: complete, partial: !complete, expectedRows: expected,
            bootstrap: .init(resamples: resamples, seed: seed, level: 0.95, unit: "image"),
            fingerprint: info?.fingerprint, model: rows.first?.model,
            modelSHA256: rows.first?.modelSHA256, classifiers: perClassifier, imageMetrics: .init(rows))

        let files = Files(
            summary: dir.appendingPathComponent("summary.json"), csv: dir.appendingPathComponent("results.csv"),
            html: dir.appendingPathComponent("report.html"))
        try AtomicFile.write(StableJSON.pretty(summary), to: files.summary, overwrite: true)
        try AtomicFile.write(Array(csv(rows, classifiers: classifiers).utf8), to: files.csv, overwrite: true)
        let html = ReportHTML.render(rows: rows, runDirectory: dir, summary: summary, galleryCount: galleryCount)
        try AtomicFile.write(Array(html.utf8), to: files.html, overwrite: true)
        return files
    }

    static func editStats(_ rows: [ProbeRow], edit: String, classifier c: String) -> EditStats {
        let mine = rows.filter { $0.edit == edit }
        var flips = [(cluster: String, value: Double)](), deltas = flips, off = flips, effects = flips, nulls = flips
        var byStrength = [Double: [Double]]()
        let action = mine.first?.action ?? ""
        let wanted: Double = action == "remove" ? -1 : 1
        var right = 0
        for r in mine {
            guard let e = r.classifiers[c] else { continue }
            let k = r.cluster
            if let f = e.targetFlip { flips.append((k, f ? 1 : 0)) }
            if let d = e.targetDelta { deltas.append((k, d)) }
            if let o = e.offTargetMeanAbsDelta { off.append((k, o)) }
            if let z = e.targetNullDelta { nulls.append((k, z)) }
            if let x = e.targetEffect {
                effects.append((k, x))
                if x * wanted > 0 { right += 1 }
                byStrength[r.strength, default: []].append(x)
            }
        }
        func estimate(_ v: [(cluster: String, value: Double)]) -> Estimate? {
            Bootstrap.clusterMean(v, resamples: resamples, seed: seed)
        }
        let first = mine.first
        return EditStats(
            edit: edit, target: first?.target, action: action,
            mode: [first?.mode, first?.area].compactMap { $0 }.joined(separator: ", "),
            prompt: first?.prompt ?? "", nullPrompt: first?.null.prompt, regions: first?.regions,
            n: mine.count, images: Set(mine.map(\.cluster)).count,
            effect: estimate(effects), sensitivity: estimate(nulls),
            rightDirection: effects.isEmpty ? nil : Double(right) / Double(effects.count),
            flipRate: estimate(flips), targetDelta: estimate(deltas), offTarget: estimate(off),
            byStrength: byStrength.keys.sorted().map { s in
                let v = byStrength[s] ?? []
                return EditStats.StrengthMean(
                    strength: s, mean: v.reduce(0, +) / Double(max(v.count, 1)),
                    n: v.count)
            })
    }

    /// One line per result and classifier; probabilities as before_<label>, after_<label>, delta_<label>, and the
    /// effect against the null edit as effect_<label>. Numbers as results.jsonl writes them (integral values without
    /// a decimal point), flags as true/false, no value as an empty field.
    static func csv(_ rows: [ProbeRow], classifiers: [String]) -> String {
        var labels = Set<String>()
        for r in rows {
            for c in classifiers { if let before = r.classifiers[c]?.before { labels.formUnion(before.keys) } }
        }
        let ls = labels.sorted()
        var out = CSV.line(
            ResultsCSVColumn.allCases.map(\.rawValue)
                + ["before", "after", "delta", "effect"].flatMap { p in ls.map { "\(p)_\($0)" } })
        for r in rows {
            for c in classifiers {
                guard let e = r.classifiers[c] else { continue }
                var fields = ResultsCSVColumn.allCases.map { $0.field(of: r, classifier: c, comparison: e) }
                for part in [e.before, e.after, e.delta, e.effect] {
                    fields += ls.map { part[$0].map(StableJSON.text) ?? "" }
                }
                out += CSV.line(fields)
            }
        }
        return out
    }
}
