import CXRRuns

/// summary.json of `probe report`: what the run holds (rows, images, whether it is complete), how intervals were
/// drawn, and per classifier the edits' statistics and the shortcut matrix.
struct ProbeSummary: Encodable {
    var rows: Int
    var runDirectory: String
    /// Edits in plan order.
    var edits: [String]
    var images: Int
    var complete: Bool
    var partial: Bool
    /// The plan's row count from run.json; null for a run directory without one.
    @ExplicitNull var expectedRows: Int?
    var bootstrap: BootstrapSettings
    @ExplicitNull var fingerprint: String?
    @ExplicitNull var model: String?
    @ExplicitNull var modelSHA256: String?
    var classifiers: [String: ClassifierSummary]
    var imageMetrics: ImageMetrics

    struct BootstrapSettings: Encodable {
        var resamples: Int
        var seed: UInt64
        var level: Double
        /// What is resampled: images, since the rows of one image are not independent.
        var unit: String
    }

    struct ClassifierSummary: Encodable {
        /// Per edit name.
        var edits: [String: EditStats]
        var shortcutMatrix: ShortcutMatrix

        enum CodingKeys: String, CodingKey { case edits, shortcutMatrix = "shortcut_matrix" }
    }

    /// Change outside the repainted area, over all rows.
    struct ImageMetrics: Encodable {
        @ExplicitNull var ssimOutsideMean: Double?
        /// Infinite PSNRs (identical outside) are left out of the mean.
        @ExplicitNull var psnrOutsideMeanFinite: Double?
        var identicalOutside: Int
        var rows: Int

        enum CodingKeys: String, CodingKey {
            case rows, ssimOutsideMean = "ssim_outside_mean", psnrOutsideMeanFinite = "psnr_outside_mean_finite"
            case identicalOutside = "identical_outside"
        }

        init(_ rows: [ProbeRow]) {
            func mean(_ v: [Double]) -> Double? {
                guard !v.isEmpty else { return nil }
                let m = v.reduce(0, +) / Double(v.count)
                return m.isFinite ? m : nil
            }
            ssimOutsideMean = mean(rows.compactMap(\.ssimOutside))
            psnrOutsideMeanFinite = mean(rows.compactMap(\.psnrOutside))
            identicalOutside = rows.filter(\.identicalOutside).count
            self.rows = rows.count
        }
    }

    enum CodingKeys: String, CodingKey {
        case rows, edits, images, complete, partial, bootstrap, fingerprint, model, classifiers
        case runDirectory = "run_directory", expectedRows = "expected_rows", modelSHA256 = "model_sha256"
        case imageMetrics = "image_metrics"
    }
}
