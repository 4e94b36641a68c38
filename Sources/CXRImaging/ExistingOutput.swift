import Foundation

/// What a rerun finds at an output's path: nothing, the output this request makes (to be skipped), or a file from
/// another request (which a batch must not mix with its own outputs).
public enum ExistingOutput: Equatable, Sendable {
    case absent
    case matching
    case differing(Difference)

    /// Why an existing file is not the output the request makes.
    public enum Difference: Equatable, Sendable {
        case isFolder
        /// A DICOM file that is de-identified (`true`) or not, where the request wants the opposite.
        case deidentified(Bool)
        /// The file's provenance cannot be read (the reader's error).
        case unreadable(String)
        case noProvenance
        /// The provenance entry `key` (a PNG text key, e.g. `cxr-edit:seed`) differs.
        case entry(key: String)
    }

    /// Compares the file's provenance with `expected`: every entry the request decides before it runs (prompts,
    /// seed, steps, strength, guidance, model weights, and the extras: input SHA-256, regions, the regenerating
    /// command with every option). `Software` is left out, so a new cxr-edit version resumes an older batch.
    /// `deidentified`: for a DICOM output, whether it must be de-identified. The provenance does not say, and a
    /// rerun that asks for de-identified files must not keep identifying ones.
    public static func check(_ url: URL, expected: Provenance, deidentified: Bool? = nil) -> ExistingOutput {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return .absent }
        if isDirectory.boolValue { return .differing(.isFolder) }
        if let deidentified, let data = try? Data(contentsOf: url, options: .alwaysMapped),
            (data.range(of: Data(deidentificationMarker.utf8)) != nil) != deidentified
        {
            return .differing(.deidentified(!deidentified))
        }
        let stored: Provenance?
        do { stored = try Provenance.read(from: url) } catch { return .differing(.unreadable("\(error)")) }
        guard let stored, let storedChunks = try? stored.textChunks(), let wanted = try? expected.textChunks() else {
            return .differing(.noProvenance)
        }
        var have: [String: String] = [:]
        for (key, value) in storedChunks { have[key] = value }
        for (key, value) in wanted where key != "Software" && key != "Source" && have[key] != value {
            return .differing(.entry(key: key))
        }
        return .matching
    }

    /// The De-identification Method (0012,0063) that de-identified DICOM files carry (Sources/CDICOM/dicom.cpp,
    /// `anonymize`).
    public static let deidentificationMarker = "cxr-edit: DICOM PS3.15 E.1-1 basic profile"
}
