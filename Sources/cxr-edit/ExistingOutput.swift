import CXRImaging
import Foundation

/// What a rerun of a batch finds at an output's path: nothing, the output this request makes (skipped), or a file
/// from another request (an error unless --overwrite, so that a batch never mixes outputs of two settings).
enum ExistingOutput: Equatable {
    case absent
    case matching
    /// Says what differs, in words.
    case differing(String)

    /// Compares the file's provenance with `expected`: every entry the request decides before it runs (prompts,
    /// seed, steps, strength, guidance, model weights, and the extras: input SHA-256, regions, the regenerating
    /// command with every option). `Software` is left out, so a new cxr-edit version resumes an older batch.
    static func check(_ url: URL, expected: Provenance) -> ExistingOutput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .absent }
        if isDirectory.boolValue { return .differing("it is a folder") }
        let stored: Provenance?
        do { stored = try Provenance.read(from: url) } catch { return .differing("it cannot be read (\(error))") }
        guard let stored, let storedChunks = try? stored.textChunks(), let wanted = try? expected.textChunks() else {
            return .differing("it has no cxr-edit provenance")
        }
        var have: [String: String] = [:]
        for (key, value) in storedChunks { have[key] = value }
        for (key, value) in wanted where key != "Software" && key != "Source" && have[key] != value {
            return .differing(describe(key))
        }
        return .matching
    }

    /// A differing provenance entry in the words a user changed it with.
    private static func describe(_ key: String) -> String {
        switch key {
        case "cxr-edit:x:input-sha256": return "it was made from another input image (input SHA-256 differs)"
        case "cxr-edit:seed": return "it was made with another seed"
        case "cxr-edit:model-sha256": return "it was made with other model weights"
        case "cxr-edit:x:command": return "it was made with other options (its `cxr-edit provenance --command` differs)"
        default: return "its recorded \(key.replacingOccurrences(of: "cxr-edit:x:", with: "").replacingOccurrences(of: "cxr-edit:", with: "")) differs"
        }
    }
}
