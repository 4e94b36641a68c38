import Foundation
import CXRFiles

/// A diffusers pipeline folder (`model_index.json` plus one sub-folder per component), as saved by
/// `DiffusionPipeline.save_pretrained` or downloaded from the Hub.
///
/// Finds each component's config and weights the way diffusers does, so the CLI can be pointed at a model
/// folder and nothing else.
public struct DiffusersFolder: Sendable {
    /// One entry of `model_index.json`: `"unet": ["diffusers", "UNet2DConditionModel"]`.
    public struct Component: Sendable, Equatable {
        public let name: String
        /// Library that defines the class ("diffusers", "transformers"); nil for `[null, null]` entries.
        public let library: String?
        public let className: String?
    }

    public let url: URL
    /// The parsed `model_index.json`.
    public let modelIndex: JSONValue
    /// `_class_name`, e.g. "StableDiffusionPipeline".
    public let className: String?
    /// `_diffusers_version`.
    public let diffusersVersion: String?
    /// Components by name (keys not starting with "_").
    public let components: [String: Component]

    public init(url: URL) throws {
        self.url = url
        let indexURL = url.appendingPathComponent("model_index.json")
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError(.missing, file: url.path, "model folder does not exist or is not a folder")
        }
        guard FileManager.default.fileExists(atPath: indexURL.path) else {
            throw CheckpointError(.missing, file: indexURL.path, "missing: not a diffusers model folder")
        }
        let index = try JSONValue(contentsOf: indexURL)
        guard case .object(let obj) = index else {
            throw CheckpointError(
                .malformed, file: indexURL.path, "model_index.json is a \(index.typeName), not an object")
        }
        modelIndex = index
        className = obj["_class_name"]?.string
        diffusersVersion = obj["_diffusers_version"]?.string
        var comps = [String: Component]()
        for (k, v) in obj where !k.hasPrefix("_") {
            // Components are [library, class] pairs; other keys (e.g. requires_safety_checker) are options.
            guard let a = v.array, a.count == 2 else { continue }
            comps[k] = Component(name: k, library: a[0].string, className: a[1].string)
        }
        components = comps
    }

    /// Component names, sorted.
    public var componentNames: [String] { components.keys.sorted() }

    private func componentDir(_ component: String) throws -> URL {
        guard !component.isEmpty, !component.contains("/"), component != ".", component != ".." else {
            throw CheckpointError(
                .missing, file: url.path, "invalid component name \(CheckpointError.quote(component))")
        }
        let dir = url.appendingPathComponent(component)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError(.missing, file: dir.path, "component folder is missing")
        }
        return dir
    }

    /// The component's configuration: `config.json`, or `scheduler_config.json` (schedulers) or
    /// `tokenizer_config.json` (tokenizers). Typed getters on the result name the file in their errors.
    public func config(_ component: String) throws -> JSONConfig {
        let dir = try componentDir(component)
        let names =
            component == "scheduler"
            ? ["scheduler_config.json", "config.json"]
            : ["config.json", "scheduler_config.json", "tokenizer_config.json"]
        for n in names {
            let f = dir.appendingPathComponent(n)
            if FileManager.default.fileExists(atPath: f.path) {
                let cfg = try JSONConfig(contentsOf: f)
                guard case .object = cfg.value else {
                    throw CheckpointError(.malformed, file: f.path, "config is a \(cfg.value.typeName), not an object")
                }
                return cfg
            }
        }
        throw CheckpointError(
            .missing, file: "\(url.path)/\(component)", "no config file (looked for \(names.joined(separator: ", ")))")
    }

    /// Weight file names looked for, in order, for a variant ("fp16") or none.
    static func weightCandidates(variant: String?) -> [String] {
        let bases: [(stem: String, ext: String)] = [
            ("diffusion_pytorch_model", "safetensors"), ("model", "safetensors"),
            ("diffusion_pytorch_model.safetensors.index", "json"), ("model.safetensors.index", "json"),
            ("diffusion_pytorch_model", "bin"), ("pytorch_model", "bin"),
        ]
        return bases.map { b in
            if let v = variant { return "\(b.stem).\(v).\(b.ext)" }
            return "\(b.stem).\(b.ext)"
        }
    }

    /// The weights of a component. Prefers plain files; falls back to the `.fp16.` variant when only that
    /// exists. With `variant` given, the variant files are preferred and plain files are the fallback.
    public func weights(_ component: String, variant: String? = nil) throws -> WeightStore {
        let dir = try componentDir(component)
        var order = DiffusersFolder.weightCandidates(variant: variant)
        if variant == nil {
            order += DiffusersFolder.weightCandidates(variant: "fp16")
        } else {
            order += DiffusersFolder.weightCandidates(variant: nil)
        }
        for n in order {
            let f = dir.appendingPathComponent(n)
            if FileManager.default.fileExists(atPath: f.path) {
                return try WeightStore(url: f)
            }
        }
        throw CheckpointError(
            .missing, file: "\(url.path)/\(component)", "no weights file (looked for \(order.joined(separator: ", ")))")
    }

    /// The file `weights(_:variant:)` would open, without opening it (nil if none).
    public func weightsFile(_ component: String, variant: String? = nil) -> URL? {
        guard let dir = try? componentDir(component) else { return nil }
        let order =
            DiffusersFolder.weightCandidates(variant: variant)
            + DiffusersFolder.weightCandidates(variant: variant == nil ? "fp16" : nil)
        return order.map { dir.appendingPathComponent($0) }.first { FileManager.default.fileExists(atPath: $0.path) }
    }
}
