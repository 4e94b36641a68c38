import CXRImaging
import Foundation

/// RUN_DIR/run.json: the settings a run directory was started with. Resuming or merging with different settings
/// would mix incomparable rows, so it is refused. `Details` is what a kind of run adds (a probe's job count, a
/// dataset's requested labels), written beside the common keys.
public struct RunInfo<Details: Codable>: Codable {
    /// Hash of the plan's settings: a run directory holds the rows of one plan.
    public var fingerprint: String
    /// The plan's settings as the fingerprint hashed them. Kept as written, not decoded into the plan's types:
    /// those may change, and an older run must merge and report with its settings unchanged.
    public var settings: ExactJSON
    /// The spec file, the model folder and the software the run was started with.
    public var spec: String?
    public var model: String?
    public var software: String?
    /// The run directories a merge combined into this one.
    public var mergedFrom: [String]?
    public var details: Details

    enum CodingKeys: String, CodingKey {
        case fingerprint, settings, spec, model, software, mergedFrom = "merged_from"
    }

    /// `settings` are stored as the tree their JSON encoding reads back to (what the fingerprint hashed).
    public init<Settings: Encodable>(
        fingerprint: String, settings: Settings, spec: String, model: String,
        software: String, details: Details
    ) throws {
        guard let tree = try? ExactJSON(encoding: settings) else {
            throw ProbeError("internal error: the run settings are not valid JSON (NaN or infinity?)")
        }
        self.fingerprint = fingerprint; self.settings = tree; self.spec = spec; self.model = model
        self.software = software; self.details = details
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fingerprint = try c.decode(String.self, forKey: .fingerprint)
        settings = try c.decodeIfPresent(ExactJSON.self, forKey: .settings) ?? .object([:])
        spec = try c.decodeIfPresent(String.self, forKey: .spec)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        software = try c.decodeIfPresent(String.self, forKey: .software)
        mergedFrom = try c.decodeIfPresent([String].self, forKey: .mergedFrom)
        details = try Details(from: decoder)
    }

    /// The details write into the same object as the common keys (JSONEncoder hands every request the same one).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(fingerprint, forKey: .fingerprint)
        try c.encode(settings, forKey: .settings)
        try c.encodeIfPresent(spec, forKey: .spec)
        try c.encodeIfPresent(model, forKey: .model)
        try c.encodeIfPresent(software, forKey: .software)
        try c.encodeIfPresent(mergedFrom, forKey: .mergedFrom)
        try details.encode(to: encoder)
    }

    /// Writes run.json into `directory`, or checks that the one there is of the same settings.
    public func writeOrCheck(directory: URL) throws {
        if try Self.check(directory, fingerprint: fingerprint) { return }
        try write(to: directory)
    }

    public func write(to directory: URL) throws {
        try AtomicFile.write(StableJSON.pretty(self), to: Self.url(directory), overwrite: true)
    }

    /// True when `directory` has a run.json of the same settings, false when it has none; a run.json of other
    /// settings is an error. Reads only (a dry run checks with it).
    public static func check(_ directory: URL, fingerprint: String) throws -> Bool {
        guard let existing = try read(directory) else { return false }
        guard existing.fingerprint == fingerprint else {
            throw ProbeError(.runSettingsDiffer(path: directory.path))
        }
        return true
    }

    /// The run.json of `directory`; nil when it has none.
    public static func read(_ directory: URL) throws -> RunInfo? {
        let url = url(directory)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        guard let data = try? Data(contentsOf: url),
            (try? JSONDecoder().decode(ExactJSON.self, from: data)) != nil
        else {
            throw ProbeError("\(url.path): unreadable run information (not JSON)")
        }
        guard let info = try? JSONDecoder().decode(RunInfo.self, from: data) else {
            throw ProbeError("\(url.path): unreadable run information (no fingerprint, or not a run of this kind)")
        }
        return info
    }

    static func url(_ directory: URL) -> URL { directory.appendingPathComponent("run.json") }
}

/// The details of a run that records nothing beyond the common keys of run.json.
public struct NoRunDetails: Codable, Sendable {
    public init() {}
}
