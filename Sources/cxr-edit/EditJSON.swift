import CXRFindings
import CXRPipelines

/// `edit --json` of one image: the file written with the settings that made it, the report's figures beside them
/// (one flat object, as edit has always printed it), the resolved findings, the atlas fit when a region was placed,
/// and the null edit when one was written.
struct EditJSON: Encodable {
    /// The null edit written beside the edit: its file and prompts, its own figures, and how much it differs from
    /// the edit (the changes the prompts made).
    struct NullEdit: Encodable {
        var output: String
        var seconds: Double
        var prompt: String
        var negativePrompt: String
        var report: EditReport
        var differenceFromEdit: Double

        func encode(to encoder: Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(output, forKey: .output)
            try container.encode(seconds, forKey: .seconds)
            try container.encode(prompt, forKey: .prompt)
            try container.encode(negativePrompt, forKey: .negativePrompt)
            try container.encode(differenceFromEdit, forKey: .differenceFromEdit)
        }

        enum CodingKeys: String, CodingKey {
            case output, seconds, prompt, negativePrompt = "negative_prompt"
            case differenceFromEdit = "difference_from_edit"
        }
    }

    var output: String
    var seconds: Double
    var denoisingSteps: Int
    var width: Int
    var height: Int
    var bitDepth: Int
    var seed: UInt64
    var strength: Double
    /// The --mask file as given; null without one (an optional encoded as such, not left out).
    var mask: String?
    var mode: String
    var unet: String
    var detail: String
    var margin: Int
    var area: String
    var report: EditReport
    var findings: FindingsJSON
    var fit: AtlasFitJSON?
    /// The pleural fluid a removed effusion's area followed, one entry per side where it was measured (as `explain`
    /// shows it and provenance records it as `cxr-edit:x:pleural-fluid`); null when none was measured.
    var pleuralFluid: [PleuralFluid]?
    var nullEdit: NullEdit?

    /// The report's keys and these in one object.
    func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(output, forKey: .output)
        try container.encode(seconds, forKey: .seconds)
        try container.encode(denoisingSteps, forKey: .denoisingSteps)
        try container.encode(width, forKey: .width)
        try container.encode(height, forKey: .height)
        try container.encode(bitDepth, forKey: .bitDepth)
        try container.encode(seed, forKey: .seed)
        try container.encode(strength, forKey: .strength)
        try container.encode(mask, forKey: .mask)
        try container.encode(mode, forKey: .mode)
        try container.encode(unet, forKey: .unet)
        try container.encode(detail, forKey: .detail)
        try container.encode(margin, forKey: .margin)
        try container.encode(area, forKey: .area)
        try container.encode(findings, forKey: .findings)
        try container.encodeIfPresent(fit, forKey: .fit)
        try container.encode(pleuralFluid, forKey: .pleuralFluid)
        try container.encodeIfPresent(nullEdit, forKey: .nullEdit)
    }

    enum CodingKeys: String, CodingKey {
        case output, seconds, denoisingSteps = "denoising_steps", width, height, bitDepth = "bit_depth", seed
        case strength, mask, mode, unet, detail, margin, area, findings, fit, pleuralFluid = "pleural_fluid"
        case nullEdit = "null_edit"
    }
}
