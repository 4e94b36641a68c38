import CXRImaging
import Foundation

/// A synthetic dataset to generate (`cxr-edit synthesize`): either explicit prompts with counts, or a target label
/// distribution from which prompts are composed with the findings vocabulary (laterality, severity and an optional
/// demographic prefix sampled per image, as RoentGen-v2's "50 year old female." prompts).
public struct SynthesizeSpec: Sendable {
    /// One explicit prompt and how many images of it.
    public struct PromptEntry: Sendable, Equatable {
        public var prompt: String
        public var negativePrompt: String
        public var count: Int
        /// Findings (as typed) this prompt shows, for the labels; empty = none known.
        public var findings: [String]
    }

    /// A finding in the target distribution.
    public struct Share: Sendable, Equatable {
        /// As typed ("pneumothorax", "no finding").
        public var finding: String
        public var fraction: Double
    }

    /// A categorical choice with weights (sex, view, side, severity).
    public struct Weighted: Sendable, Equatable {
        public var values: [String]
        public var weights: [Double]
    }

    public var file: URL
    public var model: URL?
    public var count: Int
    public var prompts: [PromptEntry]
    public var distribution: [Share]
    public var sides: Weighted?
    public var severities: Weighted?
    public var sex: Weighted?
    public var view: Weighted?
    /// Inclusive age range, sampled uniformly (integers).
    public var age: ClosedRange<Int>?
    public var negativePrompt: String
    public var steps: Int?
    public var guidance: Double?
    public var scheduler: String?
    public var seed: UInt64
    /// Output size for generation from noise (nil = the model's native size).
    public var width: Int?
    public var height: Int?
    /// Edit real images instead of generating from noise (SDEdit at `strength`).
    public var from: URL?
    /// Which window or VOI LUT makes the picture of a DICOM `from:` image (`--window` of `edit`).
    public var window: DICOMWindow
    public var strength: Double
    public var classifiers: [String]
    /// MS-SSIM above this between two images of one prompt flags a near-duplicate.
    public var duplicateThreshold: Double
    /// At most this many image pairs per prompt are compared for diversity.
    public var maxPairsPerPrompt: Int

    static let keys = [
        "model", "count", "prompts", "distribution", "sides", "severities", "demographics", "negative_prompt",
        "steps", "guidance", "scheduler", "seed", "width", "height", "from", "window", "strength", "classifiers",
        "duplicate_threshold", "max_pairs_per_prompt",
    ]
    public static let maxImages = 10_000_000

    public static func load(_ url: URL) throws -> SynthesizeSpec {
        try SynthesizeSpec(value: SpecValue.read(url), file: url)
    }

    public init(value: SpecValue, file: URL) throws {
        let r = SpecReader(file: file.path, value: value)
        try r.only(Self.keys)
        self.file = file
        let base = file.deletingLastPathComponent()
        func resolve(_ p: String) -> URL {
            let e = (p as NSString).expandingTildeInPath
            return e.hasPrefix("/") ? URL(fileURLWithPath: e) : base.appendingPathComponent(e).standardizedFileURL
        }
        model = try r.string("model").map(resolve)
        negativePrompt = try r.string("negative_prompt") ?? ""
        prompts = []
        distribution = []
        guard r.has("prompts") != r.has("distribution") else {
            throw r.failHere("give exactly one of prompts: (with counts) or distribution: (with count:)")
        }
        if let list = try r.list("prompts", maxCount: 10_000) {
            for p in list {
                try p.only(["prompt", "count", "findings", "negative_prompt"])
                guard let text = try p.string("prompt"), !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
                else { throw p.fail("prompt", "is required") }
                guard let n = try p.int("count", range: 1...Self.maxImages) else {
                    throw p.fail("count", "is required")
                }
                prompts.append(
                    PromptEntry(
                        prompt: text, negativePrompt: try p.string("negative_prompt") ?? negativePrompt, count: n,
                        findings: try p.strings("findings", maxCount: 32) ?? []))
            }
            guard !prompts.isEmpty else { throw r.fail("prompts", "must not be empty") }
            count = prompts.reduce(0) { $0 + $1.count }
            if let c = try r.int("count", range: 1...Self.maxImages), c != count {
                throw r.fail("count", "is \(c) but the prompts' counts add up to \(count)")
            }
        } else {
            guard let c = try r.int("count", range: 1...Self.maxImages) else {
                throw r.fail("count", "is required with distribution:")
            }
            count = c
            guard let d = r.child("distribution"), case .map(let pairs) = d.value, !pairs.isEmpty else {
                throw r.fail(
                    "distribution", "must map findings to fractions, e.g. {pneumothorax: 0.3, no finding: 0.7}")
            }
            for (k, v) in pairs {
                let f = try SpecReader.number(v, range: 0...1, openLower: true) { d.fail(k, $0) }
                distribution.append(Share(finding: k, fraction: f))
            }
            let total = distribution.reduce(0) { $0 + $1.fraction }
            guard abs(total - 1) < 1e-6 else { throw r.fail("distribution", "fractions add up to \(total), not 1") }
        }
        guard count <= Self.maxImages else { throw r.fail("count", "exceeds \(Self.maxImages)") }
        sides = try Self.weighted(r.child("sides"), allowed: ["left", "right", "bilateral"])
        severities = try Self.weighted(r.child("severities"), allowed: nil)
        if let demo = r.child("demographics") {
            try demo.only(["sex", "age", "view"])
            sex = try Self.weighted(demo.child("sex"), allowed: ["female", "male"])
            view = try Self.weighted(demo.child("view"), allowed: ["PA", "AP", "pa", "ap"])
            if let a = try demo.ints("age", range: 0...120, maxCount: 2) {
                guard a.count == 2, a[0] <= a[1] else { throw demo.fail("age", "must be a range [min, max]") }
                age = a[0]...a[1]
            }
        }
        steps = try r.int("steps", range: 1...1000)
        guidance = try r.double("guidance", range: 0...100)
        scheduler = try r.schedulerName("scheduler")
        seed = UInt64(try r.int("seed", range: 0...Int(Int32.max)) ?? 0)
        width = try r.int("width", range: 8...4096)
        height = try r.int("height", range: 8...4096)
        from = try r.string("from").map(resolve)
        window = try r.window("window")
        if from == nil && window != .automatic {
            throw r.fail("window", "chooses how DICOM from: images are read; there is no from: folder")
        }
        strength = try r.double("strength", range: 0...1, openLower: true) ?? 0.6
        classifiers = try r.strings("classifiers", maxCount: 16) ?? []
        duplicateThreshold = try r.double("duplicate_threshold", range: 0...1) ?? 0.95
        maxPairsPerPrompt = try r.int("max_pairs_per_prompt", range: 0...100_000) ?? 200
    }

    /// A list (uniform weights) or a mapping value: weight.
    static func weighted(_ r: SpecReader?, allowed: [String]?) throws -> Weighted? {
        guard let r else { return nil }
        var w = Weighted(values: [], weights: [])
        switch r.value {
        case .list(let items):
            for (i, item) in items.enumerated() {
                guard case .string(let s) = item else { throw r.failHere("entry \(i) must be text") }
                w.values.append(s); w.weights.append(1)
            }
        case .map(let pairs):
            for (k, v) in pairs {
                w.values.append(k)
                w.weights.append(try SpecReader.number(v, range: 0...1_000_000, openLower: false) { r.fail(k, $0) })
            }
        case .string(let s): w.values = [s]; w.weights = [1]
        default: throw r.failHere("must be a list or a mapping of value: weight")
        }
        guard !w.values.isEmpty, w.weights.reduce(0, +) > 0 else {
            throw r.failHere("must name at least one value with a positive weight")
        }
        if let allowed {
            for v in w.values where !allowed.contains(v) {
                throw r.failHere("'\(v)' is not one of \(allowed.joined(separator: ", "))")
            }
        }
        return w
    }
}

/// Exact integer counts from fractions (largest remainder: floor, then +1 for the largest fractional parts, ties
/// to the earlier entry), so the realised distribution of a dataset is exactly the spec's, rounded one way.
public func apportion(_ total: Int, fractions: [Double]) -> [Int] {
    let sum = fractions.reduce(0, +)
    guard sum > 0 else { return fractions.map { _ in 0 } }
    let quotas = fractions.map { Double(total) * $0 / sum }
    var counts = quotas.map { Int($0.rounded(.down)) }
    let order = quotas.indices.sorted { a, b in
        let fa = quotas[a] - Double(counts[a]), fb = quotas[b] - Double(counts[b])
        return fa != fb ? fa > fb : a < b
    }
    var left = total - counts.reduce(0, +)
    for i in order where left > 0 { counts[i] += 1; left -= 1 }
    return counts
}
