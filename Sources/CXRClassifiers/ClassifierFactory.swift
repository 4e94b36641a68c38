import Foundation

/// Builds a classifier from the short spec strings used by run specifications and the CLI:
///
/// - `demo` — the bundled demo classifier (`DemoClassifier.locate()`); `demo:DIR` — a demo-format model folder.
/// - `densenet121:PATH` — native torchxrayvision DenseNet from a `.safetensors` file, a state_dict `.pt`, or
///   torchxrayvision's own `.pt` (a pickled whole model, read without running it)
///   (`densenet:PATH` is accepted too; the depth is read from the weights).
/// - `cmd:COMMAND` — an external adapter process, COMMAND split into words like a shell would (quotes,
///   backslashes; no variable expansion), e.g. `cmd:python3 Tools/classifiers/xrv_adapter.py --weights all`.
public enum ClassifierFactory {
    /// - Parameters:
    ///   - baseDirectory: relative `PATH`/`DIR` values are resolved against it (e.g. the run spec's folder);
    ///     default: the current directory.
    ///   - timeout: per-request timeout for `cmd:` classifiers.
    public static func make(spec: String, baseDirectory: URL? = nil, timeout: TimeInterval = 120) throws -> Classifier {
        let s = spec.trimmingCharacters(in: .whitespaces)
        func path(_ p: String) throws -> URL {
            let t = p.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty else { throw ClassifierError("classifier spec '\(spec)': missing path after ':'") }
            let expanded = (t as NSString).expandingTildeInPath
            if expanded.hasPrefix("/") { return URL(fileURLWithPath: expanded) }
            let base = baseDirectory ?? URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            return base.appendingPathComponent(expanded)
        }
        if s == "demo" { return try DemoClassifier() }
        if let rest = s.dropPrefix("demo:") { return try DemoClassifier(directory: try path(rest)) }
        for prefix in ["densenet121:", "densenet:"] {
            if let rest = s.dropPrefix(prefix) {
                let url = try path(rest)
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw ClassifierError("classifier spec '\(spec)': \(url.path) does not exist")
                }
                return try DenseNetClassifier(weightsURL: url)
            }
        }
        if let rest = s.dropPrefix("cmd:") {
            let words = try ShellWords.split(rest)
            guard !words.isEmpty else { throw ClassifierError("classifier spec '\(spec)': empty command") }
            return try ExternalCommandClassifier(command: words, timeout: timeout)
        }
        throw ClassifierError(
            "unknown classifier spec '\(spec)': expected demo, demo:DIR, densenet121:PATH or cmd:COMMAND")
    }
}

extension String {
    fileprivate func dropPrefix(_ p: String) -> String? { hasPrefix(p) ? String(dropFirst(p.count)) : nil }
}
