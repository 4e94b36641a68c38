import CXRCheckpoint
import CXRModels
import CXRTensor
import Foundation

/// Named float32 tensors for a classifier, from a checkpoint file or from memory, with the attributes a
/// classifier reads besides its layers (labels in the metadata, a pickled model's attributes).
///
/// The classifiers' networks are built from CXRModels' layers, which read it as their `WeightProvider`. Shapes
/// must match exactly (no reshaping of same-sized tensors), and a wrong or truncated checkpoint is a one-line
/// `ClassifierError` naming the file instead of a crash in a kernel.
public final class WeightReader: WeightProvider {
    private let source: (any TensorSource)?
    private let memory: [String: Tensor]
    private let memoryAttributes: [String: TorchModuleAttribute]
    /// Shown in errors (the weights file).
    public let label: String

    /// Tensors in a `.safetensors` file or a torch checkpoint (a state_dict or a pickled torchxrayvision model).
    /// `refusalHint` is appended when the safe reader refuses or cannot read the file (e.g. how to convert
    /// another pickled model).
    public init(url: URL, refusalHint: String? = nil) throws {
        do {
            source = try WeightStore(url: url)
        } catch let e as CheckpointError {
            let hint = (e.kind == .refused || e.kind == .unsupported) ? refusalHint.map { "; \($0)" } ?? "" : ""
            throw ClassifierError("\(url.path): \(e.message)\(hint)")
        }
        memory = [:]
        memoryAttributes = [:]
        label = url.path
    }

    /// Tensors already in memory (tests, converted models), with the attributes a pickled model would carry.
    public init(
        tensors: [String: Tensor], label: String = "weights",
        moduleAttributes: [String: TorchModuleAttribute] = [:]
    ) {
        source = nil
        memory = tensors
        memoryAttributes = moduleAttributes
        self.label = label
    }

    /// All tensor names.
    public var parameterNames: [String] { source?.names ?? memory.keys.sorted() }

    /// The shape of `name`, or nil when absent.
    public func shape(_ name: String) -> [Int]? {
        if let source { return source.info(name)?.shape }
        return memory[name]?.shape
    }

    public func contains(_ name: String) -> Bool { shape(name) != nil }

    /// The tensor `name`; throws when it is absent, not float, or (if `shape` is given) of another shape.
    public func tensor(_ name: String, shape expected: [Int]? = nil) throws -> Tensor {
        let t: Tensor
        if let source {
            guard source.contains(name) else { throw ClassifierError("\(label): missing tensor '\(name)'") }
            do { t = try source.tensor(name) } catch let e as CheckpointError {
                throw ClassifierError("\(label): \(e.message)")
            }
        } else {
            guard let m = memory[name] else { throw ClassifierError("\(label): missing tensor '\(name)'") }
            t = m
        }
        if let expected, t.shape != expected {
            throw ClassifierError("\(label): tensor '\(name)' has shape \(t.shape), expected \(expected)")
        }
        guard t.data.count == t.shape.reduce(1, *) else {
            throw ClassifierError("\(label): tensor '\(name)' holds \(t.data.count) values for shape \(t.shape)")
        }
        return t
    }

    public func parameter(_ name: String) throws -> Tensor { try tensor(name) }

    public func parameter(_ name: String, expectedShape: [Int]) throws -> Tensor {
        try tensor(name, shape: expectedShape)
    }

    public func weight(_ name: String, expectedShape: [Int]) throws -> Weight {
        Weight(try tensor(name, shape: expectedShape))
    }

    /// Plain attributes of a pickled whole model (`TorchPickleFile.moduleAttributes`: torchxrayvision's
    /// `targets`, `pathologies`, a list `op_threshs`); empty for other sources.
    public var moduleAttributes: [String: TorchModuleAttribute] {
        if let store = source as? WeightStore {
            for s in store.sources { if let f = s.source as? TorchPickleFile { return f.moduleAttributes } }
        }
        return memoryAttributes
    }

    /// Safetensors metadata (empty for other sources).
    public var metadata: [String: String] {
        if let store = source as? WeightStore {
            for s in store.sources { if let f = s.source as? SafeTensorsFile { return f.metadata } }
        }
        return [:]
    }
}
