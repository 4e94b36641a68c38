import CXRCheckpoint
import CXRTensor

/// Serves model parameters from any checkpoint source (safetensors, torch pickle, sharded store).
public struct CheckpointWeights: WeightProvider {
    public let source: any TensorSource

    public init(_ source: any TensorSource) { self.source = source }

    public var parameterNames: [String] { source.names }

    public func parameter(_ name: String) throws -> Tensor {
        guard source.contains(name) else { throw ModelError.missingWeight(name) }
        return try source.tensor(name)
    }
}
