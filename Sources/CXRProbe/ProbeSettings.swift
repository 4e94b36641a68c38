/// What every job of a probe plan shares: the row schema, sampler, editor and scoring settings, and the model. Part
/// of the plan's fingerprint and of each job's id, so two run directories agree on both exactly when they agree
/// here.
struct ProbeSettings: Encodable {
    var schema: String
    var steps: Int
    var guidance: Double
    var scheduler: String
    var eta: Double
    var invert: Bool
    var margin: Int
    var detail: RecordedDetail
    var unet: String
    var force: Bool
    var classifiers: [String]
    var threshold: Double
    var modelSHA256: String
    /// The DICOM window chosen for the inputs (`DICOMWindow.description`); nil, and so absent from the JSON, for the
    /// default, so that runs made before the spec had `window:` keep their fingerprints and ids.
    var window: String?

    enum CodingKeys: String, CodingKey {
        case schema, steps, guidance, scheduler, eta, invert, margin, detail, unet, force, classifiers, threshold
        case window, modelSHA256 = "model_sha256"
    }

    /// What the plan's fingerprint (run.json's `settings`) adds to the settings: the study's lists.
    struct Lists: Encodable {
        var edits: [ProbeEdit.Record]
        var strengths: [Double]
        var seeds: [UInt64]
    }

    /// What a job's id adds to the settings: the image (content and name), edit, strength and seed.
    struct Job: Encodable {
        var imageSHA256: String
        var image: String
        var edit: ProbeEdit.Record
        var strength: Double
        var seed: UInt64

        enum CodingKeys: String, CodingKey { case image, edit, strength, seed, imageSHA256 = "image_sha256" }
    }
}
