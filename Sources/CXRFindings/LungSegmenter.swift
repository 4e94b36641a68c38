import CXRCheckpoint
import CXRImaging
import CXRModels
import CXRTensor
import Foundation

/// Segments the lungs and the heart of a frontal chest radiograph with a small learned network.
///
/// Trained on the JSRT/SCR masks by Tools/train_lung_segmenter.py (model card:
/// Sources/CXRFindings/Resources/segmenter/README.md) and run here by the project's own kernels. The image is
/// prepared exactly as in training: grey, rank-equalised at its own size (so exposure, window and bit depth do not
/// matter), resized to 128x128 (bilinear, antialiased, aspect ignored), mapped to -1...1. The 64x64 logits are
/// resized bilinearly to a working size (the image's, reduced to 256 px on the long side: the masks place
/// regions, they need shape, not detail) and thresholded at 0 (probability 0.5).
public final class LungSegmenter: @unchecked Sendable {
    // Immutable after init (weights only), so sharing one instance between threads is safe.
    private let net: SegmenterNet

    /// Loads the network from a safetensors file (fp16 or fp32) with the training script's key names.
    public init(weightsURL: URL) throws {
        net = try SegmenterNet(CheckpointWeights(try SafeTensorsFile(url: weightsURL)))
    }

    /// The segmenter shipped in the CXRFindings resources, loaded once per process.
    public static func standard() throws -> LungSegmenter { try SegmenterCache.shared.get() }

    /// The bundled weights file, nil when the resource bundle lacks it.
    public static var standardWeightsURL: URL? {
        FindingsResources.url("lung-heart-segmenter.safetensors", subdirectory: "segmenter")
    }

    /// Lung and heart masks of `image` (any size, grey or RGB, 8/16-bit) at the working size.
    public func segment(_ image: RasterImage) -> LungMasks {
        let gray = image.toGray()
        let eq = RegionFitter.equalise(gray)
        let n = SegmenterNet.inputSize
        // Both sizes are positive and at most 65536, the only ways `resized` can fail.
        let small = try! FloatPlanes(width: gray.width, height: gray.height, channels: 1, data: eq)
            .resized(width: n, height: n, filter: .bilinear)
        let logits = net(Tensor(shape: [1, 1, n, n], data: small.data.map { $0 * 2 - 1 }))
        let k = max(1.0, Double(max(gray.width, gray.height)) / 256)
        let ww = max(8, Int((Double(gray.width) / k).rounded())), wh = max(8, Int((Double(gray.height) / k).rounded()))
        let m = SegmenterNet.outputSize
        let planes = try! FloatPlanes(width: m, height: m, channels: SegmenterNet.parts, data: logits.data)
            .resized(width: ww, height: wh, filter: .bilinear)
        func part(_ c: Int) -> [Bool] { planes.data[(c * ww * wh)..<((c + 1) * ww * wh)].map { $0 >= 0 } }
        return LungMasks(
            width: ww, height: wh, imageWidth: gray.width, imageHeight: gray.height,
            rightLung: part(0), leftLung: part(1), heart: part(2))
    }
}

private final class SegmenterCache: @unchecked Sendable {
    static let shared = SegmenterCache()
    private let lock = NSLock()
    private var cached: LungSegmenter?

    func get() throws -> LungSegmenter {
        lock.lock(); defer { lock.unlock() }
        if let cached { return cached }
        guard let url = LungSegmenter.standardWeightsURL else {
            throw FindingsError(
                "the lung segmenter's weights (segmenter/lung-heart-segmenter.safetensors) are missing "
                    + "from the CXRFindings resources")
        }
        let s = try LungSegmenter(weightsURL: url)
        cached = s
        return s
    }
}
