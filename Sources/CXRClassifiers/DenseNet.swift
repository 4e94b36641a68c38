import CXRModels
import CXRTensor
import Foundation

/// Shape of a torchxrayvision `xrv.models.DenseNet` (torchvision's DenseNet-BC layout, one input channel).
///
/// Inferred from the checkpoint's tensor shapes, so DenseNet-121/169/201 and reduced test models all load
/// without a separate config file.
public struct DenseNetArchitecture: Equatable, Sendable {
    public var growthRate: Int
    public var blockConfig: [Int]
    public var numInitFeatures: Int
    public var bnSize: Int
    public var inChannels: Int
    public var numClasses: Int

    public init(
        growthRate: Int, blockConfig: [Int], numInitFeatures: Int, bnSize: Int, inChannels: Int = 1,
        numClasses: Int = 18
    ) {
        self.growthRate = growthRate
        self.blockConfig = blockConfig
        self.numInitFeatures = numInitFeatures
        self.bnSize = bnSize
        self.inChannels = inChannels
        self.numClasses = numClasses
    }

    /// torchxrayvision's DenseNet-121: growth 32, blocks (6, 12, 24, 16), 64 initial features, 18 outputs.
    public static let densenet121 = DenseNetArchitecture(
        growthRate: 32, blockConfig: [6, 12, 24, 16],
        numInitFeatures: 64, bnSize: 4)

    /// Channels entering each block and the final feature width.
    var blockInputs: (inputs: [Int], final: Int) {
        var c = numInitFeatures
        var inputs: [Int] = []
        for (i, layers) in blockConfig.enumerated() {
            inputs.append(c)
            c += layers * growthRate
            if i != blockConfig.count - 1 { c /= 2 }
        }
        return (inputs, c)
    }

    /// Every tensor of the state_dict (BatchNorm buffers included, `num_batches_tracked` and `op_threshs`
    /// excluded), with torchxrayvision's names and shapes.
    public func parameterShapes() -> [(name: String, shape: [Int])] {
        var out: [(String, [Int])] = [("features.conv0.weight", [numInitFeatures, inChannels, 7, 7])]
        func bn(_ p: String, _ c: Int) {
            for k in ["weight", "bias", "running_mean", "running_var"] { out.append(("\(p).\(k)", [c])) }
        }
        bn("features.norm0", numInitFeatures)
        let (inputs, final) = blockInputs
        for (b, layers) in blockConfig.enumerated() {
            for l in 0..<layers {
                let p = "features.denseblock\(b + 1).denselayer\(l + 1)"
                let cin = inputs[b] + l * growthRate
                bn("\(p).norm1", cin)
                out.append(("\(p).conv1.weight", [bnSize * growthRate, cin, 1, 1]))
                bn("\(p).norm2", bnSize * growthRate)
                out.append(("\(p).conv2.weight", [growthRate, bnSize * growthRate, 3, 3]))
            }
            if b != blockConfig.count - 1 {
                let cin = inputs[b] + layers * growthRate
                bn("features.transition\(b + 1).norm", cin)
                out.append(("features.transition\(b + 1).conv.weight", [cin / 2, cin, 1, 1]))
            }
        }
        bn("features.norm5", final)
        out.append(("classifier.weight", [numClasses, final]))
        out.append(("classifier.bias", [numClasses]))
        return out
    }

    /// Learnable parameters (what `sum(p.numel() for p in model.parameters())` counts).
    public var parameterCount: Int {
        parameterShapes().filter { !$0.name.hasSuffix("running_mean") && !$0.name.hasSuffix("running_var") }
            .reduce(0) { $0 + $1.shape.reduce(1, *) }
    }

    /// Reads the architecture off the tensor shapes of a torchxrayvision/torchvision DenseNet state_dict.
    public static func infer(from w: WeightReader) throws -> DenseNetArchitecture {
        guard let conv0 = w.shape("features.conv0.weight"), conv0.count == 4 else {
            throw ClassifierError("\(w.label): not a DenseNet state_dict (no 4-D 'features.conv0.weight')")
        }
        var blocks: [Int] = []
        while w.contains("features.denseblock\(blocks.count + 1).denselayer1.conv1.weight") {
            var n = 1
            while w.contains("features.denseblock\(blocks.count + 1).denselayer\(n + 1).conv1.weight") { n += 1 }
            blocks.append(n)
            if blocks.count > 16 { break }
        }
        guard !blocks.isEmpty,
            let c1 = w.shape("features.denseblock1.denselayer1.conv1.weight"), c1.count == 4,
            let c2 = w.shape("features.denseblock1.denselayer1.conv2.weight"), c2.count == 4,
            let cls = w.shape("classifier.weight"), cls.count == 2
        else {
            throw ClassifierError("\(w.label): not a DenseNet state_dict (dense blocks or classifier missing)")
        }
        let growth = c2[0]
        guard growth > 0, c1[0] % growth == 0 else {
            throw ClassifierError("\(w.label): inconsistent dense layer shapes \(c1) / \(c2)")
        }
        return DenseNetArchitecture(
            growthRate: growth, blockConfig: blocks, numInitFeatures: conv0[0],
            bnSize: c1[0] / growth, inChannels: conv0[1], numClasses: cls[0])
    }
}

/// The DenseNet network in inference mode: features (conv0, norm0, ReLU, max-pool, dense blocks and
/// transitions, norm5), ReLU, global average pool, linear — torchxrayvision's `features2` + `classifier`, built
/// from CXRModels' layers.
public final class DenseNetModel: @unchecked Sendable {
    /// BatchNorm + ReLU + 1x1 conv to `bnSize * growthRate` channels, BatchNorm + ReLU + 3x3 conv to
    /// `growthRate`; its output is appended to its input's channels.
    private struct DenseLayer {
        let norm1: BatchNorm2d
        let conv1: Conv2d
        let norm2: BatchNorm2d
        let conv2: Conv2d

        init(_ p: ParameterScope, in inC: Int, growthRate: Int, bnSize: Int) throws {
            let width = bnSize * growthRate
            norm1 = try BatchNorm2d(p("norm1"), channels: inC)
            conv1 = try Conv2d(p("conv1"), in: inC, out: width, kernel: 1, bias: false)
            norm2 = try BatchNorm2d(p("norm2"), channels: width)
            conv2 = try Conv2d(p("conv2"), in: width, out: growthRate, kernel: 3, bias: false)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            concatChannels(x, conv2(norm2(conv1(norm1(x, relu: true)), relu: true)))
        }
    }

    /// BatchNorm + ReLU + 1x1 conv halving the channels, then 2x2 average pooling.
    private struct Transition {
        let norm: BatchNorm2d
        let conv: Conv2d

        init(_ p: ParameterScope, in inC: Int) throws {
            norm = try BatchNorm2d(p("norm"), channels: inC)
            conv = try Conv2d(p("conv"), in: inC, out: inC / 2, kernel: 1, bias: false)
        }

        func callAsFunction(_ x: Tensor) -> Tensor { avgPool2d(conv(norm(x, relu: true)), kernel: 2, stride: 2) }
    }

    public let architecture: DenseNetArchitecture
    private let conv0: Conv2d
    private let norm0: BatchNorm2d
    private let blocks: [[DenseLayer]]
    private let transitions: [Transition]
    private let norm5: BatchNorm2d
    private let classifier: Linear

    /// Loads and shape-checks every tensor of the architecture inferred from `weights`.
    public init(weights w: WeightReader) throws {
        let a = try DenseNetArchitecture.infer(from: w)
        architecture = a
        let root = ParameterScope(w)
        let features = root("features")
        conv0 = try Conv2d(
            features("conv0"), in: a.inChannels, out: a.numInitFeatures, kernel: 7, stride: 2, bias: false)
        norm0 = try BatchNorm2d(features("norm0"), channels: a.numInitFeatures)
        let (inputs, final) = a.blockInputs
        var blocks: [[DenseLayer]] = []
        var transitions: [Transition] = []
        for (b, layers) in a.blockConfig.enumerated() {
            let block = features("denseblock\(b + 1)")
            blocks.append(
                try (0..<layers).map { l in
                    try DenseLayer(
                        block("denselayer\(l + 1)"), in: inputs[b] + l * a.growthRate, growthRate: a.growthRate,
                        bnSize: a.bnSize)
                })
            if b != a.blockConfig.count - 1 {
                transitions.append(
                    try Transition(features("transition\(b + 1)"), in: inputs[b] + layers * a.growthRate))
            }
        }
        self.blocks = blocks
        self.transitions = transitions
        norm5 = try BatchNorm2d(features("norm5"), channels: final)
        classifier = try Linear(root("classifier"), in: final, out: a.numClasses)
    }

    /// Raw classifier outputs (logits), [N, numClasses], for input [N, inChannels, H, W] (H, W >= 32).
    public func logits(_ input: Tensor) throws -> Tensor {
        guard input.rank == 4, input.shape[1] == architecture.inChannels, input.shape[2] >= 32, input.shape[3] >= 32,
            input.count == input.shape.reduce(1, *)
        else {
            throw ClassifierError(
                "densenet: input shape \(input.shape) is not [N, \(architecture.inChannels), H>=32, W>=32]")
        }
        var x = maxPool2d(norm0(conv0(input), relu: true), kernel: 3, stride: 2, padding: 1)
        for (b, block) in blocks.enumerated() {
            for layer in block { x = layer(x) }
            if b < transitions.count { x = transitions[b](x) }
        }
        return classifier(globalAveragePool(norm5(x, relu: true)))
    }
}
