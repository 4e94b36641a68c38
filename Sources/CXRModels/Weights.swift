import CXRTensor

/// Where a model's parameters come from: a checkpoint (safetensors, .bin) or anything else that maps the
/// checkpoint's own key names to float32 tensors.
public protocol WeightProvider {
    /// All key names.
    var parameterNames: [String] { get }
    /// The tensor stored under `name`, widened to float32.
    func parameter(_ name: String) throws -> Tensor
    /// The tensor stored under `name` in its stored precision (fp16/bf16 stay 16-bit): used for the large
    /// GEMM weights of linear and convolution layers, which are widened per layer when used.
    func weight(_ name: String) throws -> Weight
    /// `parameter(_:)` told the shape the network expects (providers that invent weights need it).
    func parameter(_ name: String, expectedShape: [Int]) throws -> Tensor
    /// `weight(_:)` told the shape the network expects.
    func weight(_ name: String, expectedShape: [Int]) throws -> Weight
}

extension WeightProvider {
    public func weight(_ name: String) throws -> Weight { Weight(try parameter(name)) }
    public func parameter(_ name: String, expectedShape: [Int]) throws -> Tensor { try parameter(name) }
    public func weight(_ name: String, expectedShape: [Int]) throws -> Weight { try weight(name) }
}

/// A simple in-memory provider (tests, random initialisation).
public struct DictionaryWeights: WeightProvider {
    public var tensors: [String: Tensor]
    public init(_ tensors: [String: Tensor]) { self.tensors = tensors }
    public var parameterNames: [String] { Array(tensors.keys) }
    public func parameter(_ name: String) throws -> Tensor {
        guard let t = tensors[name] else { throw ModelError.missingWeight(name) }
        return t
    }
}

/// Errors in building a model from a config and a weights file; descriptions are one line.
public enum ModelError: Error, CustomStringConvertible, Equatable {
    case missingWeight(String)
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    case badConfig(file: String, message: String)
    case unsupported(file: String, message: String)
    /// A weight holds NaN or infinity: the model would silently produce a black image.
    case nonFinite(name: String, file: String)

    public var description: String {
        switch self {
        case .missingWeight(let n): return "weight '\(n)' is missing from the checkpoint"
        case .shapeMismatch(let n, let e, let f):
            return "weight '\(n)' has shape \(f), the config implies \(e)"
        case .badConfig(let file, let m): return "\(file): \(m)"
        case .unsupported(let file, let m): return "\(file): unsupported: \(m)"
        case .nonFinite(let n, let file):
            let prefix = file.isEmpty ? "" : "\(file): "
            return "\(prefix)weight '\(n)' contains NaN or infinite values (a corrupt checkpoint)"
        }
    }
}

/// Reads the parameters of one module: a view of a provider under a key prefix ("down_blocks.0.resnets.1").
public struct ParameterScope {
    public let provider: any WeightProvider
    public let prefix: String
    /// The GEMM precision of the linear and convolution layers built in this scope (and its children).
    public let precision: GEMMPrecision
    /// Whether the weights keep their derived copies (bf16 packed operands, widened values, Winograd transforms)
    /// between calls: yes for networks run many times per edit (the UNet, every step), no for those run once or
    /// twice (the text encoder, the VAE).
    public let keepsDerivedValues: Bool

    public init(
        _ provider: any WeightProvider, prefix: String = "", precision: GEMMPrecision = .fp32,
        keepsDerivedValues: Bool = true
    ) {
        self.provider = provider
        self.prefix = prefix
        self.precision = precision
        self.keepsDerivedValues = keepsDerivedValues
    }

    /// The scope of a child module.
    public func callAsFunction(_ child: String) -> ParameterScope {
        ParameterScope(
            provider, prefix: prefix.isEmpty ? child : "\(prefix).\(child)", precision: precision,
            keepsDerivedValues: keepsDerivedValues)
    }

    public func key(_ name: String) -> String { prefix.isEmpty ? name : "\(prefix).\(name)" }

    /// The parameter `name`, checked against the shape the config implies (element count must match; the
    /// stored shape may differ, e.g. a 1x1 conv [C, C, 1, 1] used as a linear [C, C]).
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        let t = try provider.parameter(key(name), expectedShape: shape)
        guard t.shape == shape || t.count == shape.reduce(1, *) else {
            throw ModelError.shapeMismatch(name: key(name), expected: shape, found: t.shape)
        }
        return t.shape == shape ? t : t.reshaped(shape)
    }

    /// Like `tensor(_:shape:)` but keeps the stored precision (see `WeightProvider.weight`).
    public func weight(_ name: String, shape: [Int]) throws -> Weight {
        let t = try provider.weight(key(name), expectedShape: shape)
        guard t.shape == shape || t.count == shape.reduce(1, *) else {
            throw ModelError.shapeMismatch(name: key(name), expected: shape, found: t.shape)
        }
        let shaped = t.shape == shape ? t : t.reshaped(shape)
        return keepsDerivedValues ? shaped : shaped.derivingOnEveryUse()
    }

    /// Whether the checkpoint has a parameter named `name` in this scope.
    public func has(_ name: String, in names: Set<String>) -> Bool { names.contains(key(name)) }
}
