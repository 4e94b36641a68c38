import ArgumentParser
import CXRImaging
import Foundation

/// `--window N|minmax`: which of a DICOM input's windows or VOI LUTs makes the picture a command works on. Its own
/// option group so that every command reading an input image (edit, regions, explain, probe, synthesize) takes it
/// the same way.
struct WindowOptions: ParsableArguments {
    @Option(
        name: .customLong("window"),
        help: ArgumentHelp(
            "DICOM input: use its N-th window/VOI LUT (1-based; VOI LUTs first, then windows), or minmax for a window "
                + "over the pixel values (default: the first VOI LUT, else the first window, else min-max).",
            valueName: "N|minmax"))
    var window: DICOMWindow?

    /// What the reader is asked for: the default unless --window was given.
    var choice: DICOMWindow { window ?? .automatic }

    /// What a run spec's inputs are read with: --window when given (as --classifier replaces the spec's
    /// classifiers), else the spec's `window:`.
    func choice(over specWindow: DICOMWindow) -> DICOMWindow { window ?? specWindow }

    /// Reads `url` with the chosen window. A number the file does not have, or --window for a PNG/JPEG input,
    /// is the reader's one-line error (exit 1, before anything is written).
    func read(_ url: URL) throws -> WindowedImage { try ImageIO.read(url, window: choice) }

    /// The provenance entry for an output made from `input`: which VOI transformation the edit saw (DICOM only),
    /// so a reader of the output knows which picture was edited.
    func provenance(of input: WindowedImage) -> [String: String] {
        input.window.map { ["window": $0] } ?? [:]
    }
}

extension DICOMWindow: ExpressibleByArgument {}
