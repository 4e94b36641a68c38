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
    /// `anonymized`: for a DICOM output, whether it must be de-identified (--anonymize). The provenance does not
    /// say, and a rerun that asks for de-identified files must not keep identifying ones.
    static func check(_ url: URL, expected: Provenance, anonymized: Bool? = nil) -> ExistingOutput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .absent }
        if isDirectory.boolValue { return .differing("it is a folder") }
        if let anonymized, let data = try? Data(contentsOf: url, options: .alwaysMapped),
           (data.range(of: Data(deidentificationMarker.utf8)) != nil) != anonymized {
            return .differing(anonymized ? "it was written without --anonymize" : "it was written with --anonymize")
        }
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

    /// The De-identification Method (0012,0063) that --anonymize writes (Sources/CDICOM/dicom.cpp, `anonymize`).
    static let deidentificationMarker = "cxr-edit: DICOM PS3.15 E.1-1 basic profile"

    /// A differing provenance entry in the words a user changed it with.
    private static func describe(_ key: String) -> String {
        switch key {
        case "cxr-edit:x:input-sha256": return "it was made from another input image (input SHA-256 differs)"
        case "cxr-edit:seed": return "it was made with another seed"
        case "cxr-edit:model-sha256": return "it was made with other model weights"
        case "cxr-edit:x:command": return "it was made with other options (its `cxr-edit provenance --command` differs)"
        default:
            let name = key.replacingOccurrences(of: "cxr-edit:x:", with: "")
                .replacingOccurrences(of: "cxr-edit:", with: "")
            return "its recorded \(name) differs"
        }
    }
}
