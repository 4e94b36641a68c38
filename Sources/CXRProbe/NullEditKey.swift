import CXRPipelines

/// Everything in an edit request that changes its pixels (the image by its key, masks by their hashes): the hash
/// of its JSON names a null edit (`images/null-<id>.png`, rows' `null.id`), so that edits sharing one make it once
/// and a resumed run finds the ones it made. The keys and value types are those the hash was first made of.
struct NullEditKey: Encodable {
    var image: String
    var prompt: String
    var negativePrompt: String
    var editMask: String
    var keepMask: String
    var strength: Double
    var seed: Int
    var steps: Int
    var guidance: Double
    var scheduler: String
    var eta: Double
    var invert: Bool
    var sourcePrompt: String
    /// Left out when empty, so keys of requests made before it existed hash as they did.
    var sourceNegativePrompt: String?
    var detail: RecordedDetail
    var margin: Int
    var unet: String

    init(_ r: EditRequest) {
        image = r.imageKey ?? ""; prompt = r.prompt; negativePrompt = r.negativePrompt
        editMask = r.editMask.map(ProbeRunner.maskHash) ?? ""; keepMask = r.keepMask.map(ProbeRunner.maskHash) ?? ""
        strength = r.strength; seed = Int(r.seed); steps = r.steps; guidance = r.guidance
        scheduler = r.scheduler?.rawValue ?? ""; eta = r.eta; invert = r.invert; sourcePrompt = r.sourcePrompt
        sourceNegativePrompt = r.sourceNegativePrompt.isEmpty ? nil : r.sourceNegativePrompt
        detail = RecordedDetail(r.detail); margin = r.margin; unet = r.unet?.rawValue ?? "auto"
    }

    enum CodingKeys: String, CodingKey {
        case image, prompt, strength, seed, steps, guidance, scheduler, eta, invert, detail, margin, unet
        case negativePrompt = "negative_prompt", editMask = "edit_mask", keepMask = "keep_mask"
        case sourcePrompt = "source_prompt", sourceNegativePrompt = "source_negative_prompt"
    }
}
