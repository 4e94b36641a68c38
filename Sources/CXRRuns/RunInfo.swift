import CXRImaging
import Foundation

/// RUN_DIR/run.json: the settings a run directory was started with. Resuming or merging with different settings
/// would mix incomparable rows, so it is refused.
public enum RunInfo {
    public static func writeOrCheck<Settings: Encodable>(directory: URL, fingerprint: String, settings: Settings,
                                                         extra: [String: Any]) throws {
        let url = directory.appendingPathComponent("run.json")
        if try check(directory, fingerprint: fingerprint) { return }
        var obj = extra
        obj["fingerprint"] = fingerprint
        obj["settings"] = StableJSON.object(settings)
        try AtomicFile.write(StableJSON.pretty(obj), to: url, overwrite: true)
    }

    /// True when `directory` has a run.json of the same settings, false when it has none; a run.json of other
    /// settings is an error. Reads only (a dry run checks with it).
    public static func check(_ directory: URL, fingerprint: String) throws -> Bool {
        guard let existing = try read(directory) else { return false }
        guard existing["fingerprint"] as? String == fingerprint else {
            throw ProbeError(.runSettingsDiffer(path: directory.path))
        }
        return true
    }

    public static func read(_ directory: URL) throws -> [String: Any]? {
        let url = directory.appendingPathComponent("run.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url), let obj = ExactJSON.object(data) else {
            throw ProbeError("\(url.path): unreadable run information (not JSON)")
        }
        return obj
    }
}
