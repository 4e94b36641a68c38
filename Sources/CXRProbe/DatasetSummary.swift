import CXRRuns

/// summary.json of a synthetic dataset, computed from its rows alone: what was asked for against what was made, how
/// diverse the images are, and whether classifiers see the labels in them.
public struct DatasetSummary: Encodable {
    public var images: Int
    public var requestedImages: Int
    public var complete: Bool
    /// Images per label, as made and as the spec asked (the latter absent when run.json does not say).
    public var realisedLabels: [String: Int]
    public var requestedLabels: [String: Int]?
    /// Absent with the request, null while the dataset is incomplete.
    public var labelsMatchRequest: ExplicitNull<Bool>?
    public var diversity: DatasetDiversity
    /// Per classifier name.
    public var classifierAgreement: [String: ClassifierAgreement]

    enum CodingKeys: String, CodingKey {
        case images, complete, diversity
        case requestedImages = "requested_images", realisedLabels = "realised_labels"
        case requestedLabels = "requested_labels", labelsMatchRequest = "labels_match_request"
        case classifierAgreement = "classifier_agreement"
    }
}

/// MS-SSIM between images that share a prompt, a finding set or a label set (lower = more diverse), and the pairs
/// above the near-duplicate threshold.
public struct DatasetDiversity: Encodable {
    public var perPrompt: [Group]
    public var perFindings: [Group]
    public var perLabel: [Group]
    public var nearDuplicates: [Pair]
    public var nearDuplicatesPerFindings: [Pair]
    public var nearDuplicatesPerLabel: [Pair]
    public var nearDuplicateThreshold: Double
    /// Over all pairs of the grouping; null without pairs.
    @ExplicitNull public var msSSIMMean: Double?
    @ExplicitNull public var msSSIMMeanPerFindings: Double?
    @ExplicitNull public var msSSIMMeanPerLabel: Double?
    public var pairs: Int
    public var pairsPerFindings: Int
    public var pairsPerLabel: Int

    public struct Group: Encodable {
        public var group: String
        public var images: Int
        public var pairs: Int
        public var msSSIMMean: Double
        public var msSSIMMin: Double
        public var msSSIMMax: Double

        enum CodingKeys: String, CodingKey {
            case group, images, pairs, msSSIMMean = "ms_ssim_mean", msSSIMMin = "ms_ssim_min"
            case msSSIMMax = "ms_ssim_max"
        }
    }

    /// Two images of one group above the threshold.
    public struct Pair: Encodable {
        public var a: String
        public var b: String
        public var msSSIM: Double
        public var group: String

        enum CodingKeys: String, CodingKey { case a, b, group, msSSIM = "ms_ssim" }
    }

    enum CodingKeys: String, CodingKey {
        case pairs
        case perPrompt = "per_prompt", perFindings = "per_findings", perLabel = "per_label"
        case nearDuplicates = "near_duplicates", nearDuplicatesPerFindings = "near_duplicates_per_findings"
        case nearDuplicatesPerLabel = "near_duplicates_per_label", nearDuplicateThreshold = "near_duplicate_threshold"
        case msSSIMMean = "ms_ssim_mean", msSSIMMeanPerFindings = "ms_ssim_mean_per_findings"
        case msSSIMMeanPerLabel = "ms_ssim_mean_per_label", pairsPerFindings = "pairs_per_findings"
        case pairsPerLabel = "pairs_per_label"
    }
}

/// Does one classifier call each label more often on images labelled with it than on the others?
public struct ClassifierAgreement: Encodable {
    /// Per label the classifier reports and the rows can answer.
    public var labels: [String: LabelAgreement]
    /// Labels with both groups present, and those of them that agree.
    public var labelsChecked: Int
    public var labelsAgreeing: Int

    enum CodingKeys: String, CodingKey {
        case labels, labelsChecked = "labels_checked", labelsAgreeing = "labels_agreeing"
    }
}

/// One label's agreement: its two groups (images labelled with it or not), the rates at which the classifier calls
/// it in each, and whether the first is higher (null when a group is empty).
public struct LabelAgreement: Encodable {
    public var labelled: Int
    public var unlabelled: Int
    public var threshold: Double
    @ExplicitNull public var sensitivity: Double?
    @ExplicitNull public var specificity: Double?
    @ExplicitNull public var positiveRateLabelled: Double?
    @ExplicitNull public var positiveRateUnlabelled: Double?
    @ExplicitNull public var meanScoreLabelled: Double?
    @ExplicitNull public var meanScoreUnlabelled: Double?
    /// Where the label's ground truth comes from ("labels", "sex", "view", "labels (any finding)").
    public var truthFrom: String
    @ExplicitNull public var agrees: Bool?

    enum CodingKeys: String, CodingKey {
        case labelled, unlabelled, threshold, sensitivity, specificity, agrees
        case positiveRateLabelled = "positive_rate_labelled", positiveRateUnlabelled = "positive_rate_unlabelled"
        case meanScoreLabelled = "mean_score_labelled", meanScoreUnlabelled = "mean_score_unlabelled"
        case truthFrom = "truth_from"
    }
}
