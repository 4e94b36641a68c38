import CXRImaging
import CXRRuns
import Foundation

/// The content each input had when a run directory's rows were made. A file replaced under the same name must not
/// add a second set of rows beside the first (the report would count one image twice), so the run and its dry run
/// (`ProbeSurvey`) hash every input and refuse one whose hash differs from its rows'.
struct RecordedInputs {
    private var sha256: [String: String] = [:]

    init(rows: [ProbeRow]) {
        for row in rows { sha256[row.image] = row.imageSHA256 }
    }

    /// SHA-256 of `input`'s file, refused when it differs from the one its rows recorded.
    func currentSHA256(of input: InputImage) throws -> String {
        let sha: String
        do { sha = try SHA256.hex(ofFileAt: input.url) } catch {
            throw ProbeError("\(input.url.path): cannot read the input image")
        }
        if let old = sha256[input.name], old != sha {
            throw ProbeError(
                "\(input.url.path): changed since this run made its rows (sha256 \(old.prefix(12))...); "
                    + "restore it or use a new run directory")
        }
        return sha
    }
}
