import CXRImaging
import CXRRuns

/// A dataset's manifest.json: what made it (software, settings, fingerprint, model folder), its size and label
/// columns, and the notice that its images are synthetic. Made from run.json and the rows only, so a merged
/// sharded dataset has the same manifest as one made in one run.
struct DatasetManifest: Encodable {
    var software: String
    var schema = SynthesisRow.schema
    /// run.json's settings, as written.
    var settings: ExactJSON
    var fingerprint: String
    var images: Int
    var requestedImages: Int
    var labelColumns: [String]
    var notice = Provenance.syntheticNotice
    /// The model's folder name (not its path: the manifest travels with the dataset).
    var model: String?

    init(
        software: String, settings: ExactJSON, fingerprint: String, images: Int, requestedImages: Int,
        labelColumns: [String], model: String?
    ) {
        self.software = software; self.settings = settings; self.fingerprint = fingerprint; self.images = images
        self.requestedImages = requestedImages; self.labelColumns = labelColumns; self.model = model
    }

    enum CodingKeys: String, CodingKey {
        case software, schema, settings, fingerprint, images, notice, model
        case requestedImages = "requested_images", labelColumns = "label_columns"
    }
}
