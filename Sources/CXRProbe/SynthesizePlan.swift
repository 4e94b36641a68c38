import CXRFindings
import CXRImaging
import CXRRuns
import Foundation

/// One image of a synthetic dataset, fully determined by the spec and its position.
public struct SynthItem: Sendable, Equatable {
    public var position: Int
    public var prompt: String
    public var negativePrompt: String
    /// Finding ids (findings vocabulary) the image is labelled with.
    public var findings: [String]
    /// torchxrayvision label names of those findings ("No Finding" for the no-finding entry).
    public var labels: [String]
    public var side: String?
    public var severity: String?
    public var sex: String?
    public var age: Int?
    public var view: String?
    public var seed: UInt64
    /// Source image for `from:` datasets.
    public var source: URL?

    /// Output file, relative to the dataset folder.
    public var file: String { String(format: "images/%06d.png", position) }
}

/// The ordered item list of a synthesize spec.
public struct SynthesizePlan: Sendable {
    public let spec: SynthesizeSpec
    public let items: [SynthItem]
    /// Requested images per label (distribution mode: exact counts after apportioning).
    public let requested: [String: Int]
    public let steps: Int
    public let guidance: Double
    public let schedulerName: String
    public let modelHash: String
    public let width: Int
    public let height: Int
    public let sources: [URL]

    /// torchxrayvision's 18 output labels, the multi-hot columns of labels.csv (plus "No Finding").
    public static let labelColumns = [
        "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema",
        "Fibrosis", "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule",
        "Mass", "Hernia", "Lung Lesion", "Fracture", "Lung Opacity", "Enlarged Cardiomediastinum",
        "No Finding",
    ]

    public init(
        spec: SynthesizeSpec, vocabulary: Vocabulary, steps: Int, guidance: Double, schedulerName: String,
        modelHash: String, nativeSize: Int
    ) throws {
        self.spec = spec; self.steps = steps; self.guidance = guidance; self.schedulerName = schedulerName
        self.modelHash = modelHash
        width = spec.width ?? nativeSize; height = spec.height ?? nativeSize
        let file = spec.file.path
        if let from = spec.from {
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: from.path)) ?? [])
                .filter {
                    ProbeInputs.imageExtensions.contains(($0 as NSString).pathExtension.lowercased())
                        && !$0.hasPrefix(".")
                }.sorted()
            guard !names.isEmpty else { throw ProbeError("\(file): from: \(from.path) has no PNG or JPEG files") }
            sources = names.map { from.appendingPathComponent($0) }
        } else {
            sources = []
        }
        func label(_ f: Finding) -> String? { f.category == .none ? "No Finding" : f.torchxrayvisionLabel }
        var items = [SynthItem]()
        var requested = [String: Int]()
        if !spec.prompts.isEmpty {
            for (pi, p) in spec.prompts.enumerated() {
                var ids = [String](), labels = [String]()
                for (fi, f) in p.findings.enumerated() {
                    let r: FindingRequest
                    do { r = try vocabulary.lookup(f) } catch {
                        throw ProbeError("\(file): prompts[\(pi)].findings[\(fi)]: \(error)")
                    }
                    ids.append(r.finding.id)
                    if let l = label(r.finding), !labels.contains(l) { labels.append(l) }
                }
                for l in labels { requested[l, default: 0] += p.count }
                for _ in 0..<p.count {
                    items.append(
                        SynthItem(
                            position: items.count, prompt: p.prompt, negativePrompt: p.negativePrompt, findings: ids,
                            labels: labels, seed: 0))
                }
            }
        } else {
            var findings = [Finding]()
            for (i, s) in spec.distribution.enumerated() {
                do { findings.append(try vocabulary.lookup(s.finding).finding) } catch {
                    throw ProbeError("\(file): distribution.\(s.finding): \(error) (entry \(i))")
                }
            }
            let counts = apportion(spec.count, fractions: spec.distribution.map(\.fraction))
            var assignment = [Int]()
            for (i, n) in counts.enumerated() {
                assignment += Array(repeating: i, count: n)
                if let l = label(findings[i]) { requested[l, default: 0] += n }
            }
            // Interleave the classes (a deterministic shuffle), so a partial run is already balanced.
            var rng = SplitMix64(seed: spec.seed ^ 0x5EED_5EED_5EED_5EED)
            if assignment.count > 1 {
                for i in stride(from: assignment.count - 1, to: 0, by: -1) {
                    let j = Int(rng.next() % UInt64(i + 1))
                    assignment.swapAt(i, j)
                }
            }
            for (k, fi) in assignment.enumerated() {
                let f = findings[fi]
                var g = SplitMix64(seed: spec.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(k) &+ 1)
                var request = FindingRequest(finding: f)
                var side: String? = nil, severity: String? = nil
                if f.sided, let s = spec.sides { side = Self.pick(s, &g) }
                if let sv = spec.severities {
                    let allowed = Weighted(zip(sv.values, sv.weights).filter { f.severities.contains($0.0) })
                    if !allowed.values.isEmpty { severity = Self.pick(allowed, &g) }
                }
                try vocabulary.apply(side: side.flatMap { Side(rawValue: $0) }, severity: severity, to: &request)
                let sex = spec.sex.map { Self.pick($0, &g) }
                let age = spec.age.map { $0.lowerBound + Int(g.next() % UInt64($0.count)) }
                let view = spec.view.map { Self.pick($0, &g).uppercased() }
                var prefix = ""
                if let age { prefix += "\(age) year old" }
                if let sex { prefix += prefix.isEmpty ? sex.prefix(1).uppercased() + sex.dropFirst() : " \(sex)" }
                if !prefix.isEmpty { prefix += ". " }
                let base = prefix + (view.map { "\($0) chest radiograph." } ?? EditSpec.defaultBasePrompt)
                let composed = try compose(
                    EditSpec(basePrompt: base, baseNegativePrompt: spec.negativePrompt, adds: [request]),
                    vocabulary: vocabulary)
                items.append(
                    SynthItem(
                        position: k, prompt: composed.prompt, negativePrompt: composed.negativePrompt,
                        findings: [f.id], labels: label(f).map { [$0] } ?? [], side: side, severity: severity,
                        sex: sex, age: age, view: view, seed: 0))
            }
        }
        for k in items.indices {
            items[k].seed = spec.seed + UInt64(k)
            if !sources.isEmpty { items[k].source = sources[k % sources.count] }
        }
        self.items = items
        self.requested = requested
    }

    typealias Weighted = SynthesizeSpec.Weighted

    static func pick(_ w: Weighted, _ g: inout SplitMix64) -> String {
        let total = w.weights.reduce(0, +)
        var x = Double(g.next() >> 11) / Double(1 << 53) * total
        for (v, wt) in zip(w.values, w.weights) {
            if x < wt { return v }
            x -= wt
        }
        return w.values.last ?? ""
    }

    var settings: SynthesisSettings {
        SynthesisSettings(
            schema: SynthesizeRunner.schema, steps: steps, guidance: guidance, scheduler: schedulerName,
            modelSHA256: modelHash, width: width, height: height, window: spec.window.recorded)
    }

    /// run.json's `settings`: the shared settings, the spec's seed, strength and classifiers, and a hash of every
    /// item's prompts, seed and source.
    var fingerprintSettings: MergedObject<SynthesisSettings, SynthesisSettings.Dataset> {
        let items = self.items.map {
            "\($0.prompt)\u{1}\($0.negativePrompt)\u{1}\($0.seed)\u{1}\($0.source?.lastPathComponent ?? "")"
        }
        return MergedObject(
            settings,
            .init(
                count: self.items.count, seed: spec.seed,
                strength: spec.from == nil ? nil : spec.strength,
                classifiers: spec.classifiers,
                itemsSHA256: SHA256.hex(of: Array(items.joined(separator: "\n").utf8))))
    }

    public var fingerprint: String { SHA256.hex(of: (try? StableJSON.encode(fingerprintSettings)) ?? []) }

    public func id(for item: SynthItem, sourceSHA256: String?) -> String {
        let key = MergedObject(
            settings,
            SynthesisSettings.Item(
                position: item.position, prompt: item.prompt,
                negativePrompt: item.negativePrompt, seed: item.seed,
                sourceSHA256: sourceSHA256 ?? "",
                strength: spec.from == nil ? 0 : spec.strength))
        return String(SHA256.hex(of: (try? StableJSON.encode(key)) ?? []).prefix(32))
    }
}

extension SynthesizeSpec.Weighted {
    init<S: Sequence>(_ pairs: S) where S.Element == (String, Double) {
        values = []; weights = []
        for (v, w) in pairs { values.append(v); weights.append(w) }
    }
}
