import Foundation

/// The radiographs a batch edit reads, in a stable order: the files named, and the images at the top level of
/// each folder named (sorted by name; hidden files and other kinds of file skipped, so a folder may hold a CSV or
/// notes beside its images). A file named twice (or named and inside a named folder) is edited once.
struct BatchInputs {
    /// The names a folder's images are recognised by (a DICOM file without this ending is named on its own).
    static let imageExtensions: Set<String> = ["png", "jpg", "jpeg", "dcm"]

    let files: [URL]
    /// The folders named, standardized (an --out-dir among them would turn outputs into inputs).
    let folders: [URL]

    /// Lists the inputs; a missing path or a folder without images stops the batch before anything is read.
    init(arguments: [String]) throws {
        var files: [URL] = [], folders: [URL] = [], seen = Set<String>()
        func add(_ url: URL) {
            if seen.insert(url.standardizedFileURL.path).inserted { files.append(url) }
        }
        for argument in arguments {
            let url = URL(fileURLWithPath: argument)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw CLIError("\(argument): no such file or folder")
            }
            guard isDirectory.boolValue else {
                add(url)
                continue
            }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
                throw CLIError("\(argument): the folder cannot be listed (\(error.localizedDescription))")
            }
            let images = names.filter { !$0.hasPrefix(".") && Self.imageExtensions.contains(Self.fileExtension($0)) }
            guard !images.isEmpty else {
                throw CLIError("\(argument): the folder has no images (.png, .jpg, .jpeg or .dcm files)")
            }
            folders.append(url.standardizedFileURL)
            for name in images.sorted() { add(url.appendingPathComponent(name)) }
        }
        self.files = files
        self.folders = folders
    }

    static func fileExtension(_ name: String) -> String { (name as NSString).pathExtension.lowercased() }

    /// The output's name for `input` and `seed`: `<stem>.seed<N>.png`, `.dcm` for a .dcm input (a DICOM output
    /// keeps the input's patient and study; docs/dicom.md); a null edit adds `.null` before the extension.
    static func outputName(for input: URL, seed: UInt64, null: Bool = false) -> String {
        let stem = input.deletingPathExtension().lastPathComponent
        let ext = fileExtension(input.lastPathComponent) == "dcm" ? "dcm" : "png"
        return "\(stem).seed\(seed)\(null ? ".null" : "").\(ext)"
    }
}
