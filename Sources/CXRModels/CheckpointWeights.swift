import CXRCheckpoint
import CXRTensor

/// Serves model parameters from any checkpoint source (safetensors, torch pickle, sharded store).
///
/// fp16/bf16 safetensors weights are served without a copy: a `Weight` that views the read-only file mapping
/// and keeps it alive. The UNet then costs its file size in memory (page cache shared with the file), not
/// twice that, and loading is nearly instant.
///
/// Every value served is checked to be finite: a checkpoint with a NaN or an infinity in any weight would
/// otherwise give an all-black image with exit 0 (NaN propagates through every layer and is drawn as 0).
/// The element count is checked against the shape the network expects *before* the tensor is read, so a
/// checkpoint that declares a huge tensor (e.g. a stride-0 view) cannot make us allocate it.
public struct CheckpointWeights: WeightProvider {
    public let source: any TensorSource

    public init(_ source: any TensorSource) { self.source = source }

    public var parameterNames: [String] { source.names }

    public func parameter(_ name: String) throws -> Tensor {
        guard source.contains(name) else { throw ModelError.missingWeight(name) }
        let t = try source.tensor(name)
        try Self.checkFinite(t.data, name: name, file: filePath(holding: name))
        return t
    }

    public func parameter(_ name: String, expectedShape: [Int]) throws -> Tensor {
        try checkCount(name, expectedShape: expectedShape)
        return try parameter(name)
    }

    public func weight(_ name: String, expectedShape: [Int]) throws -> Weight {
        try checkCount(name, expectedShape: expectedShape)
        return try weight(name)
    }

    public func weight(_ name: String) throws -> Weight {
        guard let info = source.info(name) else { throw ModelError.missingWeight(name) }
        let format: Weight.Format
        switch info.dtype {
        case .f16: format = .f16
        case .bf16: format = .bf16
        default: return Weight(try parameter(name))
        }
        guard info.isContiguous, let file = Self.safetensorsFile(holding: name, in: source) else {
            return Weight(try parameter(name))
        }
        let count = info.count
        let view: UnsafePointer<UInt16>? = try file.withRawBytes(name) { raw in
            guard raw.count == count * 2, let base = raw.baseAddress, Int(bitPattern: base) % 2 == 0 else { return nil }
            return base.assumingMemoryBound(to: UInt16.self)
        }
        guard let view, count > 0 else { return Weight(try parameter(name)) }
        try Self.checkFinite(
            UnsafeBufferPointer(start: view, count: count), format: format, name: name,
            file: file.url.path)
        // The pointer stays valid while `file` (which owns the mapping) is alive: the Weight retains it.
        return Weight(shape: info.shape, viewing: view, format: format, owner: file)
    }

    /// Refuses a stored tensor whose element count differs from the network's, before any of it is read.
    private func checkCount(_ name: String, expectedShape: [Int]) throws {
        guard let info = source.info(name) else { throw ModelError.missingWeight(name) }
        guard info.count == expectedShape.reduce(1, *) else {
            throw ModelError.shapeMismatch(name: name, expected: expectedShape, found: info.shape)
        }
    }

    /// Throws when any float32 value is NaN or infinite.
    static func checkFinite(_ values: [Float], name: String, file: String) throws {
        try values.withUnsafeBufferPointer { v in
            // Bit test: exponent all ones means NaN or infinity (faster than isFinite on every element).
            try v.withMemoryRebound(to: UInt32.self) { bits in
                var bad: UInt32 = 0
                for b in bits { bad |= (b & 0x7F80_0000) == 0x7F80_0000 ? 1 : 0 }
                if bad != 0 { throw ModelError.nonFinite(name: name, file: file) }
            }
        }
    }

    /// Throws when any 16-bit value (IEEE half or bfloat16) is NaN or infinite.
    static func checkFinite(
        _ bits: UnsafeBufferPointer<UInt16>, format: Weight.Format, name: String,
        file: String
    ) throws {
        let exponent: UInt16 = format == .bf16 ? 0x7F80 : 0x7C00
        var bad: UInt16 = 0
        for b in bits { bad |= (b & exponent) == exponent ? 1 : 0 }
        if bad != 0 { throw ModelError.nonFinite(name: name, file: file) }
    }

    /// The path of the file that stores `name` (for messages), or "" when the source does not say.
    func filePath(holding name: String) -> String {
        if let f = source as? SafeTensorsFile { return f.url.path }
        if let f = source as? TorchPickleFile { return f.url.path }
        if let store = source as? WeightStore {
            for s in store.sources where s.source.info(name) != nil { return s.url.path }
        }
        return ""
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
