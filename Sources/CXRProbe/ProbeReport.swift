import CXRImaging
import Foundation

/// `probe report RUN_DIR`: summary.json (per classifier and edit: flip rate and mean target delta with bootstrap
/// 95% intervals, off-target movement, the shortcut matrix), results.csv (one line per result and classifier),
/// and report.html: one self-contained file (inline CSS, inline SVG charts, base64 PNG thumbnails) that opens
/// without a network.
public enum ProbeReport {
    public struct Files {
        public var summary: URL
        public var csv: URL
        public var html: URL
    }

    /// Per edit statistics for one classifier.
    struct EditStats {
        var edit: String
        var target: String?
        var n: Int
        var flipRate: Estimate?
        var targetDelta: Estimate?
        var offTarget: Estimate?
        var byStrength: [(strength: Double, mean: Double, n: Int)]
    }

    public static let resamples = 1000
    public static let seed: UInt64 = 20_240_917

    public static func write(runDirectory dir: URL, galleryCount: Int = 4) throws -> Files {
        let rows = try ResultsLog.readRows(dir.appendingPathComponent("results.jsonl")).sorted(by: RunMerge.rowOrder)
        guard !rows.isEmpty else { throw ProbeError("\(dir.path): results.jsonl has no rows yet; run the probe first") }
        let info = try RunInfo.read(dir) ?? [:]
        let classifiers = Array(Set(rows.flatMap { ($0["classifiers"] as? [String: Any])?.keys.map { $0 } ?? [] })).sorted()
        var editOrder = [String]()
        for r in rows { if let e = r["edit"] as? String, !editOrder.contains(e) { editOrder.append(e) } }

        var summary: [String: Any] = ["rows": rows.count, "run_directory": dir.path, "edits": editOrder,
                                      "bootstrap": ["resamples": resamples, "seed": Int(seed), "level": 0.95],
                                      "fingerprint": (info["fingerprint"] as? String).map { $0 as Any } ?? NSNull(),
                                      "model": (rows.first?["model"] as? String).map { $0 as Any } ?? NSNull(),
                                      "model_sha256": (rows.first?["model_sha256"] as? String).map { $0 as Any } ?? NSNull()]
        var perClassifier = [String: Any]()
        var statsByClassifier = [String: [EditStats]]()
        var matrices = [String: (labels: [String], values: [[Double?]])]()
        for c in classifiers {
            let stats = editOrder.map { editStats(rows, edit: $0, classifier: c) }
            statsByClassifier[c] = stats
            let matrix = shortcutMatrix(rows, edits: editOrder, classifier: c)
            matrices[c] = matrix
            var edits = [String: Any]()
            for s in stats {
                var target: Any = NSNull()
                if let t = s.target { target = t }
                edits[s.edit] = ["n": s.n, "target": target,
                                 "flip_rate": s.flipRate?.json ?? NSNull(), "target_delta": s.targetDelta?.json ?? NSNull(),
                                 "off_target_mean_abs_delta": s.offTarget?.json ?? NSNull(),
                                 "target_delta_by_strength": s.byStrength.map { ["strength": $0.strength, "mean": $0.mean, "n": $0.n] }]
            }
            perClassifier[c] = ["edits": edits,
                                "shortcut_matrix": ["edits": editOrder, "labels": matrix.labels,
                                                    "mean_delta": matrix.values.map { $0.map { finite($0) } }]]
        }
        summary["classifiers"] = perClassifier
        summary["image_metrics"] = imageMetricSummary(rows)

        let files = Files(summary: dir.appendingPathComponent("summary.json"), csv: dir.appendingPathComponent("results.csv"),
                          html: dir.appendingPathComponent("report.html"))
        try AtomicFile.write(StableJSON.pretty(summary), to: files.summary, overwrite: true)
        try AtomicFile.write(Array(csv(rows, classifiers: classifiers).utf8), to: files.csv, overwrite: true)
        let html = ReportHTML.render(rows: rows, runDirectory: dir, classifiers: classifiers, edits: editOrder,
                                     stats: statsByClassifier, matrices: matrices, summary: summary, galleryCount: galleryCount)
        try AtomicFile.write(Array(html.utf8), to: files.html, overwrite: true)
        return files
    }

    static func classifierEntry(_ row: [String: Any], _ c: String) -> [String: Any]? {
        (row["classifiers"] as? [String: Any])?[c] as? [String: Any]
    }

    static func editStats(_ rows: [[String: Any]], edit: String, classifier c: String) -> EditStats {
        let mine = rows.filter { $0["edit"] as? String == edit }
        var flips = [Double](), deltas = [Double](), off = [Double]()
        var byStrength = [Double: [Double]]()
        for r in mine {
            guard let e = classifierEntry(r, c) else { continue }
            if let f = e["target_flip"] as? Bool { flips.append(f ? 1 : 0) }
            if let d = e["target_delta"] as? Double {
                deltas.append(d)
                if let s = r["strength"] as? Double { byStrength[s, default: []].append(d) }
            }
            if let o = e["off_target_mean_abs_delta"] as? Double { off.append(o) }
        }
        let target = mine.first?["target"] as? String
        return EditStats(edit: edit, target: target, n: mine.count,
                         flipRate: Bootstrap.mean(flips, resamples: resamples, seed: seed),
                         targetDelta: Bootstrap.mean(deltas, resamples: resamples, seed: seed),
                         offTarget: Bootstrap.mean(off, resamples: resamples, seed: seed),
                         byStrength: byStrength.keys.sorted().map { s in
                             let v = byStrength[s] ?? []
                             return (s, v.reduce(0, +) / Double(max(v.count, 1)), v.count)
                         })
    }

    /// Mean delta of every label under every edit: the off-target "shortcut matrix".
    static func shortcutMatrix(_ rows: [[String: Any]], edits: [String], classifier c: String) -> (labels: [String], values: [[Double?]]) {
        var labels = Set<String>()
        var sums = [String: [String: (Double, Int)]]()
        for r in rows {
            guard let e = classifierEntry(r, c), let delta = e["delta"] as? [String: Any], let edit = r["edit"] as? String else { continue }
            for (label, v) in delta {
                guard let d = v as? Double else { continue }
                labels.insert(label)
                let old = sums[edit]?[label] ?? (0, 0)
                sums[edit, default: [:]][label] = (old.0 + d, old.1 + 1)
            }
        }
        let sorted = labels.sorted()
        return (sorted, edits.map { e in sorted.map { l in sums[e]?[l].map { $0.0 / Double($0.1) } } })
    }

    static func imageMetricSummary(_ rows: [[String: Any]]) -> [String: Any] {
        let ssim = rows.compactMap { $0["ssim_outside"] as? Double }
        let psnr = rows.compactMap { $0["psnr_outside"] as? Double }
        let identical = rows.filter { $0["identical_outside"] as? Bool == true }.count
        return ["ssim_outside_mean": finite(ssim.isEmpty ? nil : ssim.reduce(0, +) / Double(ssim.count)),
                "psnr_outside_mean_finite": finite(psnr.isEmpty ? nil : psnr.reduce(0, +) / Double(psnr.count)),
                "identical_outside": identical, "rows": rows.count]
    }

    /// One line per result and classifier; probabilities as before_<label>, after_<label>, delta_<label>.
    static func csv(_ rows: [[String: Any]], classifiers: [String]) -> String {
        var labels = Set<String>()
        for r in rows { for c in classifiers { if let b = classifierEntry(r, c)?["before"] as? [String: Any] { labels.formUnion(b.keys) } } }
        let ls = labels.sorted()
        let fixed = ["id", "image", "edit", "action", "mode", "target", "strength", "seed", "steps", "guidance", "scheduler",
                     "classifier", "target_before", "target_after", "target_delta", "target_flip", "off_target_mean_abs_delta",
                     "psnr_outside", "ssim_outside", "identical_outside", "seconds", "output", "model_sha256", "mask_sha256"]
        var out = CSV.line(fixed + ls.map { "before_\($0)" } + ls.map { "after_\($0)" } + ls.map { "delta_\($0)" })
        func text(_ v: Any?) -> String {
            switch v {
            case nil, is NSNull: return ""
            case let b as Bool: return b ? "true" : "false"
            case let d as Double: return "\(d)"
            case let i as Int: return "\(i)"
            case let s as String: return s
            default: return "\(v!)"
            }
        }
        for r in rows {
            for c in classifiers {
                guard let e = classifierEntry(r, c) else { continue }
                var fields = [String]()
                for k in fixed {
                    switch k {
                    case "classifier": fields.append(c)
                    case "target_before", "target_after", "target_delta", "target_flip", "off_target_mean_abs_delta": fields.append(text(e[k]))
                    default:
                        // JSONSerialization gives NSNumber; keep Bool fields as true/false.
                        if let n = r[k] as? NSNumber, k == "identical_outside" { fields.append(n.boolValue ? "true" : "false") }
                        else { fields.append(text(r[k])) }
                    }
                }
                for part in ["before", "after", "delta"] {
                    let d = e[part] as? [String: Any] ?? [:]
                    fields += ls.map { text(d[$0]) }
                }
                out += CSV.line(fields)
            }
        }
        return out
    }
}
