/// The mean effect (against the null edit) of every edit on every label one classifier reports: off-target cells far
/// from zero are shortcuts, labels that moved although only the edit's finding was changed.
struct ShortcutMatrix: Encodable {
    var edits: [String]
    var labels: [String]
    /// Per edit, per label; nil where no row of the edit has the label.
    var meanEffect: [[Double?]]

    enum CodingKeys: String, CodingKey {
        case edits, labels, meanEffect = "mean_effect"
    }

    init(_ rows: [ProbeRow], edits: [String], classifier c: String) {
        var labels = Set<String>()
        var sums = [String: [String: (Double, Int)]]()
        for r in rows {
            guard let e = r.classifiers[c] else { continue }
            for (label, d) in e.effect {
                labels.insert(label)
                let old = sums[r.edit]?[label] ?? (0, 0)
                sums[r.edit, default: [:]][label] = (old.0 + d, old.1 + 1)
            }
        }
        let sorted = labels.sorted()
        self.edits = edits
        self.labels = sorted
        meanEffect = edits.map { e in
            sorted.map { l in sums[e]?[l].map { $0.0 / Double($0.1) }.flatMap { $0.isFinite ? $0 : nil } }
        }
    }
}
