import CXRRuns

/// What a dataset's run.json adds to the common keys: what was asked of the dataset beyond its rows, so that its
/// summary can be made again from the rows and this alone (after a merge, by `DatasetFinalizer`).
public struct DatasetRunDetails: Codable, Sendable {
    public struct Request: Codable, Sendable {
        /// Images per label the spec asked for.
        public var requestedLabels: [String: Int]?
        /// MS-SSIM above which two images of a prompt count as near-duplicates.
        public var duplicateThreshold: Double?
        public var maxPairsPerPrompt: Int?

        enum CodingKeys: String, CodingKey {
            case requestedLabels = "requested_labels", duplicateThreshold = "duplicate_threshold"
            case maxPairsPerPrompt = "max_pairs_per_prompt"
        }
    }

    /// Optional because a run.json is read as it was written, by whichever version.
    public var dataset: Request?
}

extension SynthesizePlan {
    /// The run.json of a dataset made by this plan.
    public func runInfo(software: String, modelName: String) throws -> RunInfo<DatasetRunDetails> {
        let request = DatasetRunDetails.Request(
            requestedLabels: requested,
            duplicateThreshold: spec.duplicateThreshold,
            maxPairsPerPrompt: spec.maxPairsPerPrompt)
        return try RunInfo(
            fingerprint: fingerprint, settings: fingerprintSettings, spec: spec.file.path,
            model: modelName, software: software, details: DatasetRunDetails(dataset: request))
    }
}
