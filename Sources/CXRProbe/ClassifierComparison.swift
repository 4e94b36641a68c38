import CXRRuns

/// What one classifier said about one counterfactual: its probabilities before (the input), after (the edit) and
/// for the matched null edit, and what follows from them. The effect of the finding is effect = p(edit) - p(null);
/// the null edit's own shift, p(null) - p(input), is the classifier's sensitivity to re-synthesis.
public struct ClassifierComparison: Codable, Sendable, Equatable {
    public var before: [String: Double]
    public var after: [String: Double]
    /// after - before, per label both answered.
    public var delta: [String: Double]
    /// Labels whose call (p >= threshold) changed, sorted.
    public var flipped: [String]
    /// Mean |delta| over every label but the target; null when there is none.
    @ExplicitNull public var offTargetMeanAbsDelta: Double?
    /// The largest |delta| off the target and its label (ties: the first label by name); absent with no other label.
    public var offTargetMaxAbsDelta: Double?
    public var offTargetMaxLabel: String?
    /// The target's probabilities; absent when the edit has no target this classifier answers.
    public var targetBefore: Double?
    public var targetAfter: Double?
    @ExplicitNull public var targetDelta: Double?
    @ExplicitNull public var targetFlip: Bool?
    /// The matched null edit's probabilities and shift, and the effect on every label.
    public var nullAfter: [String: Double]
    public var nullDelta: [String: Double]
    public var effect: [String: Double]
    @ExplicitNull public var targetEffect: Double?
    @ExplicitNull public var targetNullDelta: Double?

    enum CodingKeys: String, CodingKey {
        case before, after, delta, flipped, effect
        case offTargetMeanAbsDelta = "off_target_mean_abs_delta", offTargetMaxAbsDelta = "off_target_max_abs_delta"
        case offTargetMaxLabel = "off_target_max_label", targetBefore = "target_before", targetAfter = "target_after"
        case targetDelta = "target_delta", targetFlip = "target_flip", nullAfter = "null_after"
        case nullDelta = "null_delta", targetEffect = "target_effect", targetNullDelta = "target_null_delta"
    }

    public init(
        before: [String: Double], after: [String: Double], null: [String: Double], target: String?,
        threshold: Double
    ) {
        self.before = before; self.after = after; nullAfter = null
        delta = [:]; nullDelta = [:]; effect = [:]
        var flipped = [String]()
        for (label, p) in before {
            guard let q = after[label] else { continue }
            delta[label] = q - p
            if (p >= threshold) != (q >= threshold) { flipped.append(label) }
        }
        self.flipped = flipped.sorted()
        let off = delta.filter { $0.key != target }
        let offAbs = off.values.map(abs)
        offTargetMeanAbsDelta = offAbs.isEmpty ? nil : offAbs.reduce(0, +) / Double(offAbs.count)
        let largest = off.max { abs($0.value) < abs($1.value) || (abs($0.value) == abs($1.value) && $0.key > $1.key) }
        if let largest {
            offTargetMaxAbsDelta = abs(largest.value)
            offTargetMaxLabel = largest.key
        }
        if let target, let p = before[target], let q = after[target] {
            targetBefore = p; targetAfter = q; targetDelta = q - p
            targetFlip = (p >= threshold) != (q >= threshold)
        }
        for (label, p) in before {
            guard let z = null[label] else { continue }
            nullDelta[label] = z - p
            if let q = after[label] { effect[label] = q - z }
        }
        if let target, let e = effect[target], let z = nullDelta[target] {
            targetEffect = e; targetNullDelta = z
        }
    }
}
