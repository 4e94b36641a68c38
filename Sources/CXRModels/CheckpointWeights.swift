import CXRCheckpoint
import CXRTensor

/// Serves model parameters from any checkpoint source (safetensors, torch pickle, sharded store).
///
/// fp16/bf16 safetensors weights are served without a copy: a `Weight` that views the read-only file mapping
/// and keeps it alive. The UNet then costs its file size in memory (page cache shared with the file), not
/// twice that, and loading is nearly instant.
public struct CheckpointWeights: WeightProvider {
    public let source: any TensorSource

    public init(_ source: any TensorSource) { self.source = source }

    public var parameterNames: [String] { source.names }

    public func parameter(_ name: String) throws -> Tensor {
        guard source.contains(name) else { throw ModelError.missingWeight(name) }
        return try source.tensor(name)
    }

    public func weight(_ name: String) throws -> Weight {
        guard let info = source.info(name) else { throw ModelError.missingWeight(name) }
        let format: Weight.Format
        switch info.dtype {
        case .f16: format = .f16
        case .bf16: format = .bf16
        default: return Weight(try source.tensor(name))
        }
        guard info.isContiguous, let file = Self.safetensorsFile(holding: name, in: source) else {
            return Weight(try source.tensor(name))
        }
        let count = info.count
        let view: UnsafePointer<UInt16>? = try file.withRawBytes(name) { raw in
            guard raw.count == count * 2, let base = raw.baseAddress, Int(bitPattern: base) % 2 == 0 else { return nil }
            return base.assumingMemoryBound(to: UInt16.self)
        }
        guard let view, count > 0 else { return Weight(try source.tensor(name)) }
        // The pointer stays valid while `file` (which owns the mapping) is alive: the Weight retains it.
        return Weight(shape: info.shape, viewing: view, format: format, owner: file)
    }

    /// The single safetensors file that stores `name`, if the source is one or a store of such files.
    static func safetensorsFile(holding name: String, in source: any TensorSource) -> SafeTensorsFile? {
        if let f = source as? SafeTensorsFile { return f }
        if let store = source as? WeightStore {
            for s in store.sources where s.source.info(name) != nil {
                return s.source as? SafeTensorsFile
            }
        }
        return nil
    }
}
