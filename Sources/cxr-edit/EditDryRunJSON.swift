/// `edit --dry-run --json` of one image: what the edit would do, without loading the model. The area actually placed
/// on this image, the settings resolved from their defaults, and the files it would read and write; the findings and
/// the fit under their keys as `edit --json` prints them.
struct EditDryRunJSON: Encodable {
    let dryRun = true
    var input: String
    var inputSHA256: String
    var output: String
    /// The --null-edit file, null without one.
    var nullEdit: String?
    /// `mask` for a --mask edit, else where the findings put the area (`ResolvedFindings.areaSource`).
    var area: String
    var editFraction: Double
    var mask: String?
    var strength: Double
    var steps: Int
    var guidance: Double
    /// The seed as typed (a decimal string; "0" without --seed).
    var seed: String
    var detail: String
    var margin: Int
    var invert: Bool
    var unet: String
    var findings: FindingsJSON
    var fit: AtlasFitJSON?

    /// The optionals other than the fit are written as null, not left out: a script finds every key on every run.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(dryRun, forKey: .dryRun)
        try container.encode(input, forKey: .input)
        try container.encode(inputSHA256, forKey: .inputSHA256)
        try container.encode(output, forKey: .output)
        try container.encode(nullEdit, forKey: .nullEdit)
        try container.encode(area, forKey: .area)
        try container.encode(editFraction, forKey: .editFraction)
        try container.encode(mask, forKey: .mask)
        try container.encode(strength, forKey: .strength)
        try container.encode(steps, forKey: .steps)
        try container.encode(guidance, forKey: .guidance)
        try container.encode(seed, forKey: .seed)
        try container.encode(detail, forKey: .detail)
        try container.encode(margin, forKey: .margin)
        try container.encode(invert, forKey: .invert)
        try container.encode(unet, forKey: .unet)
        try container.encode(findings, forKey: .findings)
        try container.encodeIfPresent(fit, forKey: .fit)
    }

    enum CodingKeys: String, CodingKey {
        case dryRun = "dry_run", input, inputSHA256 = "input_sha256", output, nullEdit = "null_edit", area
        case editFraction = "edit_fraction", mask, strength, steps, guidance, seed, detail, margin, invert, unet
        case findings, fit
    }
}
