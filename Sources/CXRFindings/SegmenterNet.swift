import CXRModels
import CXRTensor

/// The lung/heart segmentation network, layer for layer as `SegmenterNet` in Tools/train_lung_segmenter.py.
///
/// A small U-Net: five encoder blocks, each a stride-2 Conv3x3 then a Conv3x3 (GroupNorm(8) + SiLU after each),
/// from 128x128 down to 4x4; four decoder blocks that upsample 2x (nearest), concatenate the encoder output of
/// that size and apply two Conv3x3 (+ GroupNorm + SiLU); a 1x1 head gives three logits per pixel at 64x64
/// (right lung, left lung, heart). GroupNorm, unlike BatchNorm, behaves the same in training and inference.
struct SegmenterNet {
    /// Encoder widths at 64, 32, 16, 8 and 4 px (the training script's WIDTHS).
    static let widths = [16, 32, 64, 64, 64]
    static let inputSize = 128
    static let outputSize = 64
    static let parts = 3

    /// Conv3x3(stride) + GroupNorm + SiLU, twice.
    struct Block {
        let conv1: Conv2d
        let norm1: GroupNorm
        let conv2: Conv2d
        let norm2: GroupNorm

        init(_ p: ParameterScope, in inC: Int, out outC: Int, stride: Int) throws {
            conv1 = try Conv2d(p("conv1"), in: inC, out: outC, kernel: 3, stride: stride)
            norm1 = try GroupNorm(p("norm1"), groups: 8, channels: outC, eps: 1e-5)
            conv2 = try Conv2d(p("conv2"), in: outC, out: outC, kernel: 3)
            norm2 = try GroupNorm(p("norm2"), groups: 8, channels: outC, eps: 1e-5)
        }

        func callAsFunction(_ x: Tensor) -> Tensor {
            norm2(conv2(norm1(conv1(x), silu: true)), silu: true)
        }
    }

    let down: [Block]
    let up: [Block]
    let head: Conv2d

    init(_ weights: any WeightProvider) throws {
        let p = ParameterScope(weights)
        let w = Self.widths
        var down: [Block] = []
        for i in 0..<w.count {
            down.append(try Block(p("down.\(i)"), in: i == 0 ? 1 : w[i - 1], out: w[i], stride: 2))
        }
        var up: [Block] = []
        var inC = w[w.count - 1]
        for (k, i) in (0..<(w.count - 1)).reversed().enumerated() {
            let outC = i > 0 ? max(w[i], 16) : 16
            up.append(try Block(p("up.\(k)"), in: inC + w[i], out: outC, stride: 1))
            inC = outC
        }
        self.down = down
        self.up = up
        head = try Conv2d(p("head"), in: inC, out: Self.parts, kernel: 1)
    }

    /// Logits [N, 3, 64, 64] of inputs [N, 1, 128, 128] (equalised, -1...1).
    func callAsFunction(_ input: Tensor) -> Tensor {
        var x = input
        var skips: [Tensor] = []
        for block in down {
            x = block(x)
            skips.append(x)
        }
        skips.removeLast()
        for block in up {
            x = block(concatChannels(upsampleNearest2x(x), skips.removeLast()))
        }
        return head(x)
    }
}
