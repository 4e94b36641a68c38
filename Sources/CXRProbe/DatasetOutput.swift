import CXRRuns

/// What `synthesize --json` and `synthesize merge --json` print: the keys of the run (`ProbeRunSummary`) or of the
/// merge (`RunMerge.Outcome`), beside the dataset's summary and, for a run, its speed in images.
public struct DatasetOutput<Work: Encodable>: Encodable {
    public var work: Work
    public var imagesPerMinute: Double?
    public var dataset: DatasetSummary

    public init(_ work: Work, imagesPerMinute: Double? = nil, dataset: DatasetSummary) {
        self.work = work; self.imagesPerMinute = imagesPerMinute; self.dataset = dataset
    }

    enum CodingKeys: String, CodingKey { case imagesPerMinute = "images_per_minute", dataset }

    /// One object: the work's keys beside the dataset's.
    public func encode(to encoder: Encoder) throws {
        try work.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(imagesPerMinute, forKey: .imagesPerMinute)
        try c.encode(dataset, forKey: .dataset)
    }
}
