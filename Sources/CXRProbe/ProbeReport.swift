import CXRImaging
import Foundation

/// `probe report RUN_DIR`: summary.json (per classifier and edit: the effect of the finding against its matched null
/// edit with image-level bootstrap 95% intervals, the null edit's own shift as sensitivity to re-synthesis, the raw
/// target delta, flip rate, off-target movement, the shortcut matrix), results.csv (one line per result and
/// classifier), and report.html: one self-contained file (inline CSS, inline SVG charts, base64 PNG thumbnails)
/// that opens without a network. A run with fewer rows than its plan is reported as partial.
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
        var action: String
        var mode: String
        var prompt: String
        var nullPrompt: String?
        var regions: String?
        var n: Int
        var images: Int
        /// p(edit) - p(null edit) on the target: what the finding itself did.
        var effect: Estimate?
        /// p(null edit) - p(input) on the target: what re-synthesis alone did.
        var sensitivity: Estimate?
        /// Share of rows whose effect has the sign the edit asks for (up for add/prompt, down for remove).
        var rightDirection: Double?
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
        let expected = info["jobs"] as? Int
        let complete = expected.map { rows.count >= $0 } ?? true
        let images = Set(rows.map { cluster($0) }).count

        var summary: [String: Any] = ["rows": rows.count, "run_directory": dir.path, "edits": editOrder,
                                      "images": images, "complete": complete, "partial": !complete,
                                      "expected_rows": expected.map { $0 as Any } ?? NSNull(),
                                      "bootstrap": ["resamples": resamples, "seed": Int(seed), "level": 0.95,
                                                    "unit": "image"],
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
                edits[s.edit] = ["n": s.n, "images": s.images, "target": s.target.map { $0 as Any } ?? NSNull(),
                                 "action": s.action, "mode": s.mode, "prompt": s.prompt,
                                 "null_prompt": s.nullPrompt.map { $0 as Any } ?? NSNull(),
                                 "effect": s.effect?.json ?? NSNull(),
                                 "sensitivity_to_resynthesis": s.sensitivity?.json ?? NSNull(),
                                 "right_direction": s.rightDirection.map { $0 as Any } ?? NSNull(),
                                 "flip_rate": s.flipRate?.json ?? NSNull(), "target_delta": s.targetDelta?.json ?? NSNull(),
                                 "off_target_mean_abs_delta": s.offTarget?.json ?? NSNull(),
                                 "effect_by_strength": s.byStrength.map { ["strength": $0.strength, "mean": $0.mean, "n": $0.n] }]
            }
            perClassifier[c] = ["edits": edits,
                                "shortcut_matrix": ["edits": editOrder, "labels": matrix.labels,
                                                    "mean_effect": matrix.values.map { $0.map { jsonFinite($0) } }]]
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

    /// The independent unit of a row: its image (by content, else by name).
    static func cluster(_ row: [String: Any]) -> String {
        row["image_sha256"] as? String ?? row["image"] as? String ?? ""
    }

    static func classifierEntry(_ row: [String: Any], _ c: String) -> [String: Any]? {
        (row["classifiers"] as? [String: Any])?[c] as? [String: Any]
    }

    static func editStats(_ rows: [[String: Any]], edit: String, classifier c: String) -> EditStats {
        let mine = rows.filter { $0["edit"] as? String == edit }
        var flips = [(cluster: String, value: Double)](), deltas = flips, off = flips, effects = flips, nulls = flips
        var byStrength = [Double: [Double]]()
        let action = mine.first?["action"] as? String ?? ""
        let wanted: Double = action == "remove" ? -1 : 1
        var right = 0
        for r in mine {
            guard let e = classifierEntry(r, c) else { continue }
            let k = cluster(r)
            if let f = e["target_flip"] as? Bool { flips.append((k, f ? 1 : 0)) }
            if let d = e["target_delta"] as? Double { deltas.append((k, d)) }
            if let o = e["off_target_mean_abs_delta"] as? Double { off.append((k, o)) }
            if let z = e["target_null_delta"] as? Double { nulls.append((k, z)) }
            if let x = e["target_effect"] as? Double {
                effects.append((k, x))
                if x * wanted > 0 { right += 1 }
                if let s = r["strength"] as? Double { byStrength[s, default: []].append(x) }
            }
        }
        func estimate(_ v: [(cluster: String, value: Double)]) -> Estimate? {
            Bootstrap.clusterMean(v, resamples: resamples, seed: seed)
        }
        let first = mine.first ?? [:]
        return EditStats(edit: edit, target: first["target"] as? String, action: action,
                         mode: [first["mode"] as? String, first["area"] as? String].compactMap { $0 }.joined(separator: ", "),
                         prompt: first["prompt"] as? String ?? "",
                         nullPrompt: (first["null"] as? [String: Any])?["prompt"] as? String,
                         regions: first["regions"] as? String,
                         n: mine.count, images: Set(mine.map(cluster)).count,
                         effect: estimate(effects), sensitivity: estimate(nulls),
                         rightDirection: effects.isEmpty ? nil : Double(right) / Double(effects.count),
                         flipRate: estimate(flips), targetDelta: estimate(deltas), offTarget: estimate(off),
                         byStrength: byStrength.keys.sorted().map { s in
                             let v = byStrength[s] ?? []
                             return (s, v.reduce(0, +) / Double(max(v.count, 1)), v.count)
                         })
    }

    /// Mean effect (against the null edit; the raw delta for rows without one) of every label under every edit: the
    /// off-target "shortcut matrix".
    static func shortcutMatrix(_ rows: [[String: Any]], edits: [String], classifier c: String) -> (labels: [String], values: [[Double?]]) {
        var labels = Set<String>()
        var sums = [String: [String: (Double, Int)]]()
        for r in rows {
            guard let e = classifierEntry(r, c), let delta = (e["effect"] ?? e["delta"]) as? [String: Any],
                  let edit = r["edit"] as? String else { continue }
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
        return ["ssim_outside_mean": jsonFinite(ssim.isEmpty ? nil : ssim.reduce(0, +) / Double(ssim.count)),
                "psnr_outside_mean_finite": jsonFinite(psnr.isEmpty ? nil : psnr.reduce(0, +) / Double(psnr.count)),
                "identical_outside": identical, "rows": rows.count]
    }

    /// One line per result and classifier; probabilities as before_<label>, after_<label>, delta_<label>, and the
    /// effect against the null edit as effect_<label>. Integers are written as integers, flags as true/false.
    static func csv(_ rows: [[String: Any]], classifiers: [String]) -> String {
        var labels = Set<String>()
        for r in rows { for c in classifiers { if let b = classifierEntry(r, c)?["before"] as? [String: Any] { labels.formUnion(b.keys) } } }
        let ls = labels.sorted()
        let perClassifier = ["target_before", "target_after", "target_delta", "target_flip", "target_effect",
                             "target_null_delta", "off_target_mean_abs_delta"]
        let fixed = ["id", "image", "edit", "action", "mode", "area", "target", "strength", "seed", "steps", "guidance",
                     "scheduler", "classifier"] + perClassifier
            + ["prompt", "null_prompt", "null_output", "fit_score", "psnr_outside", "ssim_outside", "identical_outside",
               "psnr_db", "sharpness_ratio", "seconds", "output", "model_sha256", "mask_sha256"]
        var out = CSV.line(fixed + ["before", "after", "delta", "effect"].flatMap { p in ls.map { "\(p)_\($0)" } })
        for r in rows {
            let null = r["null"] as? [String: Any] ?? [:]
            for c in classifiers {
                guard let e = classifierEntry(r, c) else { continue }
                var fields = [String]()
                for k in fixed {
                    switch k {
                    case "classifier": fields.append(c)
                    case "null_prompt": fields.append(csvText(null["prompt"]))
                    case "null_output": fields.append(csvText(null["output"]))
                    case _ where perClassifier.contains(k): fields.append(csvText(e[k]))
                    default: fields.append(csvText(r[k]))
                    }
                }
                for part in ["before", "after", "delta", "effect"] {
                    let d = e[part] as? [String: Any] ?? [:]
                    fields += ls.map { csvText(d[$0]) }
                }
                out += CSV.line(fields)
            }
        }
        return out
    }

    /// A JSON value as a CSV field. JSONSerialization gives NSNumber for numbers and booleans alike (and `as? Bool`
    /// accepts 0 and 1), so the number's own type decides: booleans true/false, integers without a decimal point.
    static func csvText(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return ""
        case let s as String: return s
        case let n as NSNumber:
            switch String(cString: n.objCType) {
            case "c", "B": return n.boolValue ? "true" : "false"
            case "f", "d": return "\(n.doubleValue)"
            default: return "\(n.int64Value)"
            }
        default: return "\(v!)"
        }
    }
}
