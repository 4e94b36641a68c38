import CXRRuns

/// What a probe run's run.json adds to the common keys: the size of the study, so that a report can tell a partial
/// run from a finished one. Optional because a run.json is read as it was written, by whichever version.
public struct ProbeRunDetails: Codable, Sendable {
    public var images: Int?
    /// Counterfactuals of the whole plan (all shards).
    public var jobs: Int?

    public init(images: Int?, jobs: Int?) {
        self.images = images; self.jobs = jobs
    }
}

extension ProbePlan {
    /// The run.json of a run of this plan.
    public func runInfo(software: String, modelName: String) throws -> RunInfo<ProbeRunDetails> {
        try RunInfo(
            fingerprint: fingerprint, settings: fingerprintSettings, spec: spec.file.path, model: modelName,
            software: software, details: ProbeRunDetails(images: images.count, jobs: count))
    }
}
