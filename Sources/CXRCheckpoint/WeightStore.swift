import Foundation
import CXRFiles
import CXRTensor

/// Several tensor sources seen as one: the shards of a sharded checkpoint, or any set of weight files.
///
/// Knows which file each name comes from (for error messages and provenance) and refuses a name that appears
/// in two files, since silently picking one would hide a broken checkpoint.
public final class WeightStore: TensorSource, @unchecked Sendable {
    /// The sources with the file each was opened from.
    public let sources: [(url: URL, source: any TensorSource)]
    public let names: [String]
    private let owner: [String: Int]

    /// Merges sources; a tensor name present in two of them is an error naming both files.
    public init(sources: [(url: URL, source: any TensorSource)]) throws {
        var owner = [String: Int]()
        for (i, s) in sources.enumerated() {
            for n in s.source.names {
                if let j = owner[n] {
                    throw CheckpointError(
                        .malformed, file: s.url.path,
                        "tensor \(CheckpointError.quote(n)) also appears in \(sources[j].url.path)")
                }
                owner[n] = i
            }
        }
        self.sources = sources
        self.owner = owner
        self.names = owner.keys.sorted()
    }

    /// Opens one weights file by its name: `.safetensors`, a sharded `*.index.json`, or a torch checkpoint
    /// (`.bin`, `.pt`, `.pth`, `.ckpt`).
    public convenience init(url: URL) throws {
        let name = url.lastPathComponent
        if name.hasSuffix(".json") {
            try self.init(sources: WeightStore.openIndex(url))
        } else {
            try self.init(sources: [(url, try WeightStore.openFile(url))])
        }
    }

    /// A single weights file as a source, by extension.
    public static func openFile(_ url: URL) throws -> any TensorSource {
        switch url.pathExtension.lowercased() {
        case "safetensors": return try SafeTensorsFile(url: url)
        case "bin", "pt", "pth", "ckpt": return try TorchPickleFile(url: url)
        default:
            throw CheckpointError(
                .unsupported, file: url.path,
                "unknown weights file type (expected .safetensors, .bin, .pt, .pth or .ckpt)")
        }
    }

    /// Reads a sharded-checkpoint index (`{"weight_map": {name: shard_file}}`), opens each shard from the same
    /// folder, and checks that every listed tensor is in the shard the index names.
    static func openIndex(_ url: URL) throws -> [(url: URL, source: any TensorSource)] {
        let path = url.path
        let index = try JSONConfig(contentsOf: url)
        let mapValue = try index.config("weight_map")
        guard let map = mapValue.value.object, !map.isEmpty else {
            throw CheckpointError(.malformed, file: path, "weight_map is empty")
        }
        var byShard = [String: [String]]()
        for (name, v) in map {
            guard let shard = v.string else {
                throw CheckpointError(
                    .malformed, file: path, "weight_map entry \(CheckpointError.quote(name)) is not a file name")
            }
            // Shards must sit beside the index: no paths, no parent references.
            guard !shard.isEmpty, !shard.contains("/"), !shard.contains("\\"), shard != ".", shard != ".." else {
                throw CheckpointError(
                    .malformed, file: path,
                    "weight_map names shard \(CheckpointError.quote(shard)), which is not a plain file name")
            }
            byShard[shard, default: []].append(name)
        }
        let dir = url.deletingLastPathComponent()
        var out = [(url: URL, source: any TensorSource)]()
        for shard in byShard.keys.sorted() {
            let shardURL = dir.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: shardURL.path) else {
                throw CheckpointError(
                    .missing, file: path, "shard \(CheckpointError.quote(shard)) listed in weight_map does not exist")
            }
            let src = try openFile(shardURL)
            for name in byShard[shard]! where src.info(name) == nil {
                throw CheckpointError(
                    .malformed, file: shardURL.path,
                    "tensor \(CheckpointError.quote(name)) listed in \(url.lastPathComponent) is not in this shard")
            }
            out.append((shardURL, src))
        }
        return out
    }

    /// The file that holds `name`.
    public func file(of name: String) -> URL? {
        owner[name].map { sources[$0].url }
    }

    public func info(_ name: String) -> TensorInfo? {
        guard let i = owner[name] else { return nil }
        return sources[i].source.info(name)
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let i = owner[name] else {
            let where_ =
                sources.count == 1
                ? sources[0].url.path : "\(sources.count) weight files (first: \(sources.first?.url.path ?? "none"))"
            throw CheckpointError(.missing, file: where_, "no tensor named \(CheckpointError.quote(name))")
        }
        return try sources[i].source.tensor(name)
    }
}
