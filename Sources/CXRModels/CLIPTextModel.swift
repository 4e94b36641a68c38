import CXRCheckpoint
import CXRFiles
import CXRTensor

/// The text tower of CLIP as transformers' `CLIPTextModel` (SD 1.x: OpenAI ViT-L/14, quick_gelu; SD 2.x:
/// OpenCLIP ViT-H/14 as diffusers stores it, gelu, 23 layers). Output: last_hidden_state after the final
/// layer norm, [batch, tokens, hidden].
public struct CLIPTextConfig: Sendable, Equatable {
    public var vocabSize: Int
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layers: Int
    public var heads: Int
    public var maxPositions: Int
    public var activation: Activation
    public var layerNormEps: Float

    public init(
        vocabSize: Int, hiddenSize: Int, intermediateSize: Int, layers: Int, heads: Int,
        maxPositions: Int, activation: Activation, layerNormEps: Float
    ) {
        self.vocabSize = vocabSize; self.hiddenSize = hiddenSize; self.intermediateSize = intermediateSize
        self.layers = layers; self.heads = heads; self.maxPositions = maxPositions
        self.activation = activation; self.layerNormEps = layerNormEps
    }

    public init(_ c: JSONConfig) throws {
        vocabSize = try c.positive("vocab_size", c.optInt("vocab_size", default: 49408), max: 1 << 22)
        hiddenSize = try c.positive("hidden_size", c.optInt("hidden_size", default: 512), max: 1 << 16)
        intermediateSize = try c.positive(
            "intermediate_size", c.optInt("intermediate_size", default: 2048), max: 1 << 18)
        layers = try c.positive("num_hidden_layers", c.optInt("num_hidden_layers", default: 12), max: 512)
        heads = try c.positive("num_attention_heads", c.optInt("num_attention_heads", default: 8), max: 1024)
        maxPositions = try c.positive(
            "max_position_embeddings", c.optInt("max_position_embeddings", default: 77), max: 1 << 16)
        let act = try c.optString("hidden_act", default: "quick_gelu")
        guard let a = Activation(configName: act) else {
            throw ModelError.unsupported(file: c.file, message: "hidden_act '\(act)'")
        }
        activation = a
        layerNormEps = Float(try c.number("layer_norm_eps", default: 1e-5, above: 0, upTo: 1))
        guard hiddenSize % heads == 0 else {
            throw ModelError.badConfig(
                file: c.file, message: "hidden_size \(hiddenSize) is not divisible by \(heads) heads")
        }
    }

    /// Parameter count implied by the config.
    public var parameterCount: Int {
        let d = hiddenSize, f = intermediateSize
        let perLayer = 4 * (d * d + d) + 2 * 2 * d + (d * f + f) + (f * d + d)
        return vocabSize * d + maxPositions * d + layers * perLayer + 2 * d
    }
}

public struct CLIPTextModel {
    public let config: CLIPTextConfig
    let tokenEmbedding: Weight
    let positionEmbedding: Tensor
    let layers: [CLIPEncoderLayer]
    let finalLayerNorm: LayerNorm

    /// Loads weights named as transformers writes them, with or without the leading `text_model.`.
    public init(config: CLIPTextConfig, weights: any WeightProvider) throws {
        self.config = config
        let hasPrefix = weights.parameterNames.contains { $0.hasPrefix("text_model.") }
        // Run a few times per edit (once per prompt batch): its derived copies are made per use (see
        // `ParameterScope.keepsDerivedValues`), so the kept-copy budget goes to the UNet.
        let root = ParameterScope(weights, prefix: hasPrefix ? "text_model" : "", keepsDerivedValues: false)
        let d = config.hiddenSize
        tokenEmbedding = try root("embeddings.token_embedding").weight("weight", shape: [config.vocabSize, d])
        positionEmbedding = try root("embeddings.position_embedding").tensor("weight", shape: [config.maxPositions, d])
        layers = try (0..<config.layers).map { try CLIPEncoderLayer(root("encoder.layers.\($0)"), config: config) }
        finalLayerNorm = try LayerNorm(root("final_layer_norm"), dim: d, eps: config.layerNormEps)
    }

    /// ids: [batch][tokens] -> last_hidden_state [batch, tokens, hidden].
    public func callAsFunction(_ ids: [[Int]]) throws -> Tensor {
        let b = ids.count, l = ids.first?.count ?? 0, d = config.hiddenSize
        guard l <= config.maxPositions else {
            throw ModelError.badConfig(
                file: "text_encoder", message: "\(l) tokens exceed max_position_embeddings \(config.maxPositions)")
        }
        var h = Tensor(zeros: [b, l, d])
        for (bi, row) in ids.enumerated() {
            guard row.count == l else {
                throw ModelError.badConfig(file: "text_encoder", message: "ragged token batch")
            }
            for (t, id) in row.enumerated() {
                guard id >= 0 && id < config.vocabSize else {
                    throw ModelError.badConfig(
                        file: "text_encoder", message: "token id \(id) outside the vocabulary of \(config.vocabSize)")
                }
                let dst = (bi * l + t) * d
                h.data.withUnsafeMutableBufferPointer { hp in
                    let row = hp.baseAddress! + dst
                    tokenEmbedding.widen(into: row, from: id * d, count: d)
                    for j in 0..<d { row[j] += positionEmbedding.data[t * d + j] }
                }
            }
        }
        for layer in layers { h = layer(h) }
        return finalLayerNorm(h)
    }
}

struct CLIPEncoderLayer {
    let norm1: LayerNorm, norm2: LayerNorm
    let q: Linear, k: Linear, v: Linear, out: Linear
    let fc1: Linear, fc2: Linear
    let heads: Int
    let activation: Activation

    init(_ p: ParameterScope, config c: CLIPTextConfig) throws {
        let d = c.hiddenSize
        norm1 = try LayerNorm(p("layer_norm1"), dim: d, eps: c.layerNormEps)
        norm2 = try LayerNorm(p("layer_norm2"), dim: d, eps: c.layerNormEps)
        q = try Linear(p("self_attn.q_proj"), in: d, out: d)
        k = try Linear(p("self_attn.k_proj"), in: d, out: d)
        v = try Linear(p("self_attn.v_proj"), in: d, out: d)
        out = try Linear(p("self_attn.out_proj"), in: d, out: d)
        fc1 = try Linear(p("mlp.fc1"), in: d, out: c.intermediateSize)
        fc2 = try Linear(p("mlp.fc2"), in: c.intermediateSize, out: d)
        heads = c.heads
        activation = c.activation
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let n = norm1(x)
        var h = add(x, out(attention(q: q(n), k: k(n), v: v(n), heads: heads, causal: true)))
        var m = fc1(norm2(h))
        applyActivation(&m, activation)
        addInPlace(&h, fc2(m))
        return h
    }
}
