import CXRRuns

/// One counterfactual of a probe run, a line of its results.jsonl: the edit and its settings, image metrics, the
/// matched null edit, and per classifier what it said before, after and for the null edit.
public struct ProbeRow: ResultRow, Equatable {
    /// 2 added the matched null edit and the effect against it.
    public static let schema = "cxr-edit.probe/2"
    public typealias RunDetails = ProbeRunDetails

    public var id: String
    public var schema: String
    public var position: Int
    /// The input as results show it, where it was read from, its content hash and size.
    public var image: String
    public var imagePath: String
    public var imageSHA256: String
    public var width: Int
    public var height: Int
    /// Label columns of the input's CSV row; absent for folder inputs.
    public var labels: [String: String]?
    public var edit: String
    public var editSpec: ProbeEdit.Record
    public var editIndex: Int
    public var action: String
    /// "sdedit" or "inpaint".
    public var mode: String
    public var area: String
    @ExplicitNull public var regions: String?
    @ExplicitNull public var fitScore: Double?
    @ExplicitNull public var fitWarning: String?
    /// Notes of the prompt composition; absent when there were none.
    public var notes: [String]?
    public var prompt: String
    public var negativePrompt: String
    /// The classifier label the edit is meant to move.
    @ExplicitNull public var target: String?
    public var strength: Double
    public var seed: UInt64
    public var steps: Int
    public var guidance: Double
    public var scheduler: String
    public var eta: Double
    public var invert: Bool
    public var margin: Int
    public var detail: RecordedDetail
    public var unet: String
    public var model: String
    public var modelSHA256: String
    /// Hashes of the repainted and kept masks (ProbeRunner.maskHash); null for a whole-image edit.
    @ExplicitNull public var maskSHA256: String?
    @ExplicitNull public var keepMaskSHA256: String?
    /// Image metrics of the edit; null where not finite (PSNR of identical pixels).
    public var outsideFraction: Double
    @ExplicitNull public var mseOutside: Double?
    @ExplicitNull public var psnrOutside: Double?
    public var identicalOutside: Bool
    @ExplicitNull public var ssimOutside: Double?
    @ExplicitNull public var psnrDB: Double?
    @ExplicitNull public var sharpnessRatio: Double?
    public var changedFraction: Double
    public var changedFractionInside: Double
    @ExplicitNull public var changedFractionOutside: Double?
    public var repaintedFraction: Double
    public var null: NullEdit
    /// Per classifier name.
    public var classifiers: [String: ClassifierComparison]
    public var threshold: Double
    /// The counterfactual's PNG, relative to the run directory; null when the spec saves no images.
    @ExplicitNull public var output: String?
    public var denoisingSteps: Int
    public var seconds: Double
    public var secondsDenoising: Double
    public var secondsClassifiers: Double
    public var secondsMetrics: Double
    /// The DICOM window the input was read with, as `window:` and `--window` take it ("2", "minmax"); absent for the
    /// default, so the report shows the input the edit saw.
    public var window: String? = nil

    /// The matched null edit: the same edit with the prompt stripped of the finding, shared by every row that
    /// matches it.
    public struct NullEdit: Codable, Sendable, Equatable {
        public var id: String
        public var prompt: String
        public var negativePrompt: String
        @ExplicitNull public var output: String?
        @ExplicitNull public var psnrDB: Double?
        @ExplicitNull public var sharpnessRatio: Double?
        public var changedFraction: Double

        enum CodingKeys: String, CodingKey {
            case id, prompt, output
            case negativePrompt = "negative_prompt", psnrDB = "psnr_db", sharpnessRatio = "sharpness_ratio"
            case changedFraction = "changed_fraction"
        }
    }

    enum CodingKeys: String, CodingKey {
        case id, schema, position, image, width, height, labels, edit, action, mode, area, regions, notes, prompt
        case target, strength, seed, steps, guidance, scheduler, eta, invert, margin, detail, unet, model, null
        case classifiers, threshold, output, seconds, window
        case imagePath = "image_path", imageSHA256 = "image_sha256", editSpec = "edit_spec", editIndex = "edit_index"
        case fitScore = "fit_score", fitWarning = "fit_warning", negativePrompt = "negative_prompt"
        case modelSHA256 = "model_sha256", maskSHA256 = "mask_sha256", keepMaskSHA256 = "keep_mask_sha256"
        case outsideFraction = "outside_fraction", mseOutside = "mse_outside", psnrOutside = "psnr_outside"
        case identicalOutside = "identical_outside", ssimOutside = "ssim_outside", psnrDB = "psnr_db"
        case sharpnessRatio = "sharpness_ratio", changedFraction = "changed_fraction"
        case changedFractionInside = "changed_fraction_inside", changedFractionOutside = "changed_fraction_outside"
        case repaintedFraction = "repainted_fraction", denoisingSteps = "denoising_steps"
        case secondsDenoising = "seconds_denoising", secondsClassifiers = "seconds_classifiers"
        case secondsMetrics = "seconds_metrics"
    }

    public var outputFiles: [String] { [output, null.output].compactMap { $0 } }

    /// The independent unit of the statistics: the image, by content.
    public var cluster: String { imageSHA256 }
}
