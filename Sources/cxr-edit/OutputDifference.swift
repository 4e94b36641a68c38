import CXRImaging

extension ExistingOutput.Difference {
    /// The difference in the words a user changed it with (the flag, the seed, the weights).
    var commandLineDescription: String {
        switch self {
        case .isFolder: return "it is a folder"
        case .deidentified(let isDeidentified):
            return isDeidentified ? "it was written with --anonymize" : "it was written without --anonymize"
        case .unreadable(let why): return "it cannot be read (\(why))"
        case .noProvenance: return "it has no cxr-edit provenance"
        case .entry(let key):
            switch key {
            case "cxr-edit:x:input-sha256": return "it was made from another input image (input SHA-256 differs)"
            case "cxr-edit:seed": return "it was made with another seed"
            case "cxr-edit:model-sha256": return "it was made with other model weights"
            case "cxr-edit:x:command":
                return "it was made with other options (its `cxr-edit provenance --command` differs)"
            default:
                let name = key.replacingOccurrences(of: "cxr-edit:x:", with: "")
                    .replacingOccurrences(of: "cxr-edit:", with: "")
                return "its recorded \(name) differs"
            }
        }
    }
}
