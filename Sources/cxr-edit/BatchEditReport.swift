/// The batch edit's `--json`: every output of the batch, made now or found from an earlier run, and the counts.
struct BatchEditReport: Encodable {
    struct Output: Encodable {
        var input: String
        var seed: UInt64
        var output: String
        /// "written" or "skipped" (already there with the same settings).
        var status: String
        /// Left out when the batch makes no null edits.
        var nullEdit: String?
        /// Left out for a skipped output.
        var seconds: Double?

        enum CodingKeys: String, CodingKey { case input, seed, output, status, nullEdit = "null_edit", seconds }
    }

    var outputs: [Output]
    var written: Int
    var skipped: Int
    var total: Int
    var images: Int
    var seeds: [UInt64]
    var outDir: String
    var seconds: Double

    enum CodingKeys: String, CodingKey {
        case outputs, written, skipped, total, images, seeds, seconds, outDir = "out_dir"
    }
}
