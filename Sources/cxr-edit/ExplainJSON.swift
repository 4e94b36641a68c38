import CXRFindings

/// `explain --json`: the resolved findings at the top level and, with an input image, how they land on it.
struct ExplainJSON: Encodable {
    var findings: FindingsJSON
    /// The DICOM window that made the picture, if the input is DICOM.
    var window: String?
    /// The atlas fit (with `match`), when a region was placed.
    var fit: AtlasFitJSON?
    /// The share of the image repainted and kept.
    var editCoverage: Double?
    var keepCoverage: Double?
    /// The pleural fluid measured where a removed effusion's area follows it (absent when none was found).
    var pleuralFluid: [PleuralFluid]?

    /// The findings' keys and these in one object, as explain has always printed them.
    func encode(to encoder: Encoder) throws {
        try findings.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encodeIfPresent(window, forKey: .window)
        try container.encodeIfPresent(fit, forKey: .fit)
        try container.encodeIfPresent(editCoverage, forKey: .editCoverage)
        try container.encodeIfPresent(keepCoverage, forKey: .keepCoverage)
        try container.encodeIfPresent(pleuralFluid, forKey: .pleuralFluid)
    }

    enum CodingKeys: String, CodingKey {
        case window, fit, editCoverage = "edit_coverage", keepCoverage = "keep_coverage"
        case pleuralFluid = "pleural_fluid"
    }
}
