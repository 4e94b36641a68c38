import CXRImaging
import CXRPipelines
import Foundation

/// Progress on stderr: "step 12/25 | 1.9 s/step | ETA 24 s", redrawn in place on a terminal.
struct ProgressReporter {
    let enabled: Bool
    let label: String

    init(_ options: OutputOptions, label: String) {
        enabled = !options.quiet && (options.progress || isatty(2) != 0)
        self.label = label
    }

    func callAsFunction(_ p: StepProgress) {
        guard enabled else { return }
        let perStep = p.elapsed / Double(max(p.step, 1))
        let eta = perStep * Double(p.total - p.step)
        let width = 24, filled = width * p.step / max(p.total, 1)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line = String(
            format: "\r%@ [%@] step %d/%d | %.2f s/step | ETA %.0f s", label, bar, p.step, p.total, perStep, eta)
        FileHandle.standardError.write(Data(line.utf8))
        if p.step == p.total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func note(_ message: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}

/// A line on stderr that is neither progress nor a warning (a drawn seed): shown even when stderr is not a terminal,
/// since the run cannot be repeated without it unless one reads the provenance.
func note(_ message: String) {
    FileHandle.standardError.write(Data("cxr-edit: \(message)\n".utf8))
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("cxr-edit: warning: \(message)\n".utf8))
}

/// The sampler settings of runs on `model` where none are given; a `cxr-edit.json` the model ignored unread is
/// reported here, as a warning.
func samplingDefaults(_ model: StableDiffusionModel) -> SamplingDefaults {
    samplingDefaults(model.recommendations, modelURL: model.url)
}

/// The same from `cxr-edit.json` read without loading the model (a batch decides what is done before it loads
/// one); a file that was ignored unread (a link to a huge file, a FIFO) is reported as a warning.
func samplingDefaults(_ recommendations: ModelRecommendations, modelURL: URL) -> SamplingDefaults {
    if let why = recommendations.ignored {
        warn("\(modelURL.appendingPathComponent(ModelRecommendations.fileName).path): ignored: \(why)")
    }
    return SamplingDefaults(recommendations: recommendations)
}

/// An output path that does not exist yet: `<stem>.<suffix>.png`, then `<stem>.<suffix>-2.png`, ...
func freshOutputPath(near input: URL?, stem: String, suffix: String) -> URL {
    let dir = input?.deletingLastPathComponent() ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
    var n = 1
    while true {
        let name = n == 1 ? "\(stem).\(suffix).png" : "\(stem).\(suffix)-\(n).png"
        let url = dir.appendingPathComponent(name)
        if !FileManager.default.fileExists(atPath: url.path) { return url }
        n += 1
    }
}

/// Refuses to start a long run whose output could not be written at the end. `allowDICOM`: the command writes
/// through `ImageIO.write`, which makes a `.dcm` name a DICOM file.
func checkOutputPath(_ url: URL, overwrite: Bool, allowDICOM: Bool = false) throws {
    let dir = url.deletingLastPathComponent()
    var isDir: ObjCBool = false
    guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
        throw CLIError("\(url.path): the output folder does not exist")
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        if isDirectory.boolValue { throw CLIError("\(url.path): is a directory; give a file name for the output") }
        if !overwrite { throw CLIError("\(url.path): exists already (pass --overwrite to replace it)") }
    }
    if allowDICOM && ImageIO.isDICOMName(url) { return }
    guard url.pathExtension.lowercased() == "png" else {
        throw CLIError(
            allowDICOM
                ? "\(url.path): outputs are written as PNG (with provenance text chunks) or DICOM; use a .png or .dcm name"
                : "\(url.path): outputs are written as PNG (with provenance text chunks); use a .png name")
    }
    try checkWritableFolder(dir)
}

/// Creates and removes a probe file in `dir`: the only check that also catches read-only file systems, ACLs and
/// full quotas for every user (a read-only output folder was found only after the whole run).
func checkWritableFolder(_ dir: URL) throws {
    let probe = dir.appendingPathComponent(".cxr-edit-write-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
        throw CLIError("\(dir.path): the output folder is not writable (\(String(cString: strerror(errno))))")
    }
    close(fd)
    unlink(probe)
}
