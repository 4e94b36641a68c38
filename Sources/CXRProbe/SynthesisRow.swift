import CXRRuns

/// One generated image of a synthetic dataset, a line of its results.jsonl: what was asked for (prompt, findings,
/// labels, demographics, seed, source image) and, when classifiers ran, what they said.
public struct SynthesisRow: ResultRow, Equatable {
    public static let schema = "cxr-edit.synthesize/1"
    public typealias RunDetails = DatasetRunDetails

    public var id: String
    public var schema: String
    public var position: Int
    /// The image, relative to the dataset folder (`output` names the same file, as probe rows name theirs).
    public var file: String
    public var output: String
    public var prompt: String
    public var negativePrompt: String
    /// Finding ids of the findings vocabulary, and the torchxrayvision labels of those findings.
    public var findings: [String]
    public var labels: [String]
    public var side: String?
    public var severity: String?
    public var sex: String?
    public var age: Int?
    public var view: String?
    public var seed: UInt64
    /// The source image of an edited (`from:`) dataset, by name and content hash.
    public var source: String?
    public var sourceSHA256: String?
    /// Per classifier name, per label: the probability; absent when no classifier ran.
    public var scores: [String: [String: Double]]?
    public var seconds: Double
    public var secondsDenoising: Double

    enum CodingKeys: String, CodingKey {
        case id, schema, position, file, output, prompt, findings, labels, side, severity, sex, age, view, seed
        case source, scores, seconds
        case negativePrompt = "negative_prompt", sourceSHA256 = "source_sha256", secondsDenoising = "seconds_denoising"
    }

    public var outputFiles: [String] { [output] }
}
