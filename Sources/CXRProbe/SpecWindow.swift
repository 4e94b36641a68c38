import CXRImaging

/// The `window:` key of the probe and synthesize specs: which of a DICOM input's windows or VOI LUTs the run reads.
///
/// Why through `DICOMWindow(argument:)`: the CLI's `--window` parses the same type the same way, so a spec and a
/// command line that name a window mean the same picture (and `edit --window` edits the pixels a probe scores).
extension SpecReader {
    /// `N` (1-based: the file's VOI LUTs, then its windows), `minmax`, or `auto` (the default, also when absent).
    func window(_ k: String) throws -> DICOMWindow {
        guard let text = try string(k) else { return .automatic }
        if text.trimmingCharacters(in: .whitespaces).lowercased() == "auto" { return .automatic }
        guard let window = DICOMWindow(argument: text) else {
            throw fail(k, "must be a window number (1, 2, ...), minmax or auto, got '\(text)'")
        }
        return window
    }
}

extension DICOMWindow {
    /// How plans record the choice in their settings: nil for the default (absent from fingerprints and ids, which
    /// then stay those of runs made before `window:` existed), else what `--window` takes.
    var recorded: String? { self == .automatic ? nil : description }
}
