import CXRRuns

/// What every image of a synthesize plan shares: the row schema, sampler, size and model. Part of the plan's
/// fingerprint and of each image's id.
struct SynthesisSettings: Encodable {
    var schema: String
    var steps: Int
    var guidance: Double
    var scheduler: String
    var modelSHA256: String
    var width: Int
    var height: Int
    /// The DICOM window chosen for `from:` images (`DICOMWindow.description`); nil, and so absent from the JSON,
    /// for the default, so that datasets made before the spec had `window:` keep their fingerprints and ids.
    var window: String?

    enum CodingKeys: String, CodingKey {
        case schema, steps, guidance, scheduler, width, height, window, modelSHA256 = "model_sha256"
    }

    /// What the plan's fingerprint (run.json's `settings`) adds to the settings: the spec's seed, strength and
    /// classifiers, and a hash of the item list.
    struct Dataset: Encodable {
        var count: Int
        var seed: UInt64
        /// The edit strength of a `from:` dataset; null for generated images.
        @ExplicitNull var strength: Double?
        var classifiers: [String]
        var itemsSHA256: String

        enum CodingKeys: String, CodingKey { case count, seed, strength, classifiers, itemsSHA256 = "items_sha256" }
    }

    /// What an image's id adds to the settings: the item and its source image's content.
    struct Item: Encodable {
        var position: Int
        var prompt: String
        var negativePrompt: String
        var seed: UInt64
        /// "" for generated images.
        var sourceSHA256: String
        /// 0 for generated images.
        var strength: Double

        enum CodingKeys: String, CodingKey {
            case position, prompt, seed, strength
            case negativePrompt = "negative_prompt", sourceSHA256 = "source_sha256"
        }
    }
}
