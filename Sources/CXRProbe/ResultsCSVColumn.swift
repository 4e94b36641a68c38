import CXRRuns

/// The fixed columns of results.csv, in file order (the per-label probability columns follow them). Scripts read the
/// file by column name and position, so the order is part of the format: new columns go at the end.
enum ResultsCSVColumn: String, CaseIterable {
    case id, image, edit, action, mode, area, target, strength, seed, steps, guidance, scheduler, classifier
    case targetBefore = "target_before", targetAfter = "target_after", targetDelta = "target_delta"
    case targetFlip = "target_flip", targetEffect = "target_effect", targetNullDelta = "target_null_delta"
    case offTargetMeanAbsDelta = "off_target_mean_abs_delta"
    case prompt, nullPrompt = "null_prompt", nullOutput = "null_output", fitScore = "fit_score"
    case psnrOutside = "psnr_outside", ssimOutside = "ssim_outside", identicalOutside = "identical_outside"
    case psnrDB = "psnr_db", sharpnessRatio = "sharpness_ratio", seconds, output, modelSHA256 = "model_sha256"
    case maskSHA256 = "mask_sha256"

    /// The field of `row` as scored by `classifier`: numbers as results.jsonl writes them, flags true/false, no
    /// value empty.
    func field(of row: ProbeRow, classifier: String, comparison e: ClassifierComparison) -> String {
        func number(_ x: Double?) -> String { x.map(StableJSON.text) ?? "" }
        func flag(_ b: Bool?) -> String { b.map { $0 ? "true" : "false" } ?? "" }
        switch self {
        case .id: return row.id
        case .image: return row.image
        case .edit: return row.edit
        case .action: return row.action
        case .mode: return row.mode
        case .area: return row.area
        case .target: return row.target ?? ""
        case .strength: return number(row.strength)
        case .seed: return String(row.seed)
        case .steps: return String(row.steps)
        case .guidance: return number(row.guidance)
        case .scheduler: return row.scheduler
        case .classifier: return classifier
        case .targetBefore: return number(e.targetBefore)
        case .targetAfter: return number(e.targetAfter)
        case .targetDelta: return number(e.targetDelta)
        case .targetFlip: return flag(e.targetFlip)
        case .targetEffect: return number(e.targetEffect)
        case .targetNullDelta: return number(e.targetNullDelta)
        case .offTargetMeanAbsDelta: return number(e.offTargetMeanAbsDelta)
        case .prompt: return row.prompt
        case .nullPrompt: return row.null.prompt
        case .nullOutput: return row.null.output ?? ""
        case .fitScore: return number(row.fitScore)
        case .psnrOutside: return number(row.psnrOutside)
        case .ssimOutside: return number(row.ssimOutside)
        case .identicalOutside: return flag(row.identicalOutside)
        case .psnrDB: return number(row.psnrDB)
        case .sharpnessRatio: return number(row.sharpnessRatio)
        case .seconds: return number(row.seconds)
        case .output: return row.output ?? ""
        case .modelSHA256: return row.modelSHA256
        case .maskSHA256: return row.maskSHA256 ?? ""
        }
    }
}
