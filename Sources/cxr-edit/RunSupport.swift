import CXRImaging
import CXRPipelines
import CXRSchedulers
import CXRTensor
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
        let line = String(format: "\r%@ [%@] step %d/%d | %.2f s/step | ETA %.0f s", label, bar, p.step, p.total, perStep, eta)
        FileHandle.standardError.write(Data(line.utf8))
        if p.step == p.total { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    func note(_ message: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\(message)\n".utf8))
    }
}

func warn(_ message: String) {
    FileHandle.standardError.write(Data("cxr-edit: warning: \(message)\n".utf8))
}

/// Settings a model folder may recommend in `cxr-edit.json` (e.g. RoentGen: 75 steps, guidance 4), with the
/// fallbacks used when it recommends none.
struct ModelDefaults {
    static let fallbackSteps = 50
    static let fallbackGuidance = 7.5
    var steps = ModelDefaults.fallbackSteps
    var guidance = ModelDefaults.fallbackGuidance

    init(modelURL: URL) {
        let r = (try? ModelRecommendations(modelFolder: modelURL)) ?? ModelRecommendations()
        steps = r.steps ?? steps
        guidance = r.guidance ?? guidance
    }
}

/// SHA-256 over the SHA-256s of a model's weight files. Each file's hash is cached: the cache key is (path, size, mtime) and lives in
/// ~/.cache/cxr-edit, so that a 2 GB checkpoint is hashed once, not on every run.
func modelHash(_ model: StableDiffusionModel) -> String {
    var files = [URL]()
    for component in ["text_encoder", "unet", "vae"] + (model.recommendations.inpaintUNet.map { [$0] } ?? []) {
        if let store = try? model.folder.weights(component) { files += store.sources.map(\.url) }
    }
    var combined = SHA256()
    for file in files {
        combined.update(Array(fileHash(file).utf8))
    }
    return combined.finalize().map { String(format: "%02x", $0) }.joined()
}

private func fileHash(_ url: URL) -> String {
    let attrs = try? FileManager.default.attributesOfItem(atPath: url.path)
    let size = (attrs?[.size] as? NSNumber)?.intValue ?? 0
    let mtime = (attrs?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
    let key = SHA256.hex(of: Array("\(url.resolvingSymlinksInPath().path)|\(size)|\(mtime)".utf8))
    let cacheDir = FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/cxr-edit/hashes")
    let cacheFile = cacheDir.appendingPathComponent(key)
    if let cached = try? String(contentsOf: cacheFile, encoding: .utf8), cached.count == 64 { return cached }
    guard let h = try? SHA256.hex(ofFileAt: url) else { return "unreadable" }
    try? FileManager.default.createDirectory(at: cacheDir, withIntermediateDirectories: true)
    try? h.write(to: cacheFile, atomically: true, encoding: .utf8)
    return h
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
    if FileManager.default.fileExists(atPath: url.path) && !overwrite {
        throw CLIError("\(url.path): exists already (pass --overwrite to replace it)")
    }
    if allowDICOM && ImageIO.isDICOMName(url) { return }
    guard url.pathExtension.lowercased() == "png" else {
        throw CLIError(allowDICOM
            ? "\(url.path): outputs are written as PNG (with provenance text chunks) or DICOM; use a .png or .dcm name"
            : "\(url.path): outputs are written as PNG (with provenance text chunks); use a .png name")
    }
}

/// Reads a float32 (or float64) little-endian C-order .npy array (numpy's format 1.0-3.0).
func readNpy(_ url: URL) throws -> Tensor {
    let name = url.lastPathComponent
    guard let data = try? Data(contentsOf: url) else { throw CLIError("\(url.path): cannot be read") }
    let bytes = [UInt8](data)
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
        throw CLIError("\(name): not a .npy file")
    }
    let major = bytes[6]
    let headerLen: Int, start: Int
    if major == 1 { headerLen = Int(bytes[8]) | Int(bytes[9]) << 8; start = 10 } else {
        guard bytes.count >= 12 else { throw CLIError("\(name): truncated .npy header") }
        headerLen = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24; start = 12
    }
    guard headerLen < 65536, start + headerLen <= bytes.count,
          let header = String(bytes: bytes[start..<(start + headerLen)], encoding: .utf8) else {
        throw CLIError("\(name): bad .npy header")
    }
    guard !header.contains("'fortran_order': True") else { throw CLIError("\(name): Fortran-order arrays are not supported") }
    let isF4 = header.contains("'<f4'"), isF8 = header.contains("'<f8'")
    guard isF4 || isF8 else { throw CLIError("\(name): only little-endian float32/float64 arrays are supported") }
    guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
        throw CLIError("\(name): .npy header has no shape")
    }
    var shape = [Int]()
    for part in header[open.upperBound..<close].split(separator: ",") {
        let text = part.trimmingCharacters(in: .whitespaces)
        if text.isEmpty { continue }
        guard let d = Int(text), d >= 0 else { throw CLIError("\(name): invalid shape dimension '\(text)'") }
        shape.append(d)
    }
    var count = 1
    for d in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: d)
        guard !overflow, product <= 1 << 28 else { throw CLIError("\(name): shape \(shape) is too large") }
        count = product
    }
    let body = start + headerLen
    let esz = isF4 ? 4 : 8
    guard count > 0, count <= 1 << 28, bytes.count - body == count * esz else {
        throw CLIError("\(name): data size does not match shape \(shape)")
    }
    var values = [Float](repeating: 0, count: count)
    bytes.withUnsafeBytes { raw in
        for i in 0..<count {
            values[i] = isF4 ? Float(bitPattern: raw.loadUnaligned(fromByteOffset: body + 4 * i, as: UInt32.self))
                : Float(Double(bitPattern: raw.loadUnaligned(fromByteOffset: body + 8 * i, as: UInt64.self)))
        }
    }
    return Tensor(shape: shape, data: values)
}
