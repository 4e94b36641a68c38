import CXRCheckpoint
import CXRFiles
import CXRImaging
import CXRModels
import CXRTensor
import Foundation

/// The bundled demonstration classifier (Models/cxr-demo-classifier): a small CNN trained in this repository on
/// openly licensed radiographs so that `cxr-edit probe` runs offline. Not a clinical tool; see its MODEL_CARD.md.
///
/// Network: 3x3 convolution + BatchNorm + ReLU layers (strides from config.json), global average pool, linear,
/// sigmoid per label. Input: grey, centre square crop, bilinear resize (Pillow's filter) to `inputSize`,
/// x = v / max * 2 - 1 — as Tools/classifiers/demo_cnn.py computes it.
public final class DemoClassifier: Classifier, @unchecked Sendable {
    public let name: String
    public let labels: [String]
    public let inputSize: Int
    /// The model folder.
    public let directory: URL
    /// Each 3x3 convolution with its BatchNorm folded in (a ReLU follows each).
    private let layers: [Conv2d]
    private let classifier: Linear

    /// Folder name under `Models/`.
    public static let folderName = "cxr-demo-classifier"

    /// Finds the model folder: `$CXR_EDIT_CLASSIFIER`, then `Models/cxr-demo-classifier` beside the executable
    /// or in up to six parent folders, then `./Models/cxr-demo-classifier`. Nil when none has a config.json.
    public static func locate(
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executable: String = CommandLine.arguments.first ?? "",
        currentDirectory: String = FileManager.default.currentDirectoryPath
    ) -> URL? {
        let fm = FileManager.default
        func ok(_ u: URL) -> Bool { fm.fileExists(atPath: u.appendingPathComponent("config.json").path) }
        if let env = environment["CXR_EDIT_CLASSIFIER"], !env.isEmpty {
            let u = URL(fileURLWithPath: env)
            if ok(u) { return u }
        }
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0...6 {
            let u = dir.appendingPathComponent("Models").appendingPathComponent(folderName)
            if ok(u) { return u }
            dir = dir.deletingLastPathComponent()
        }
        let cwd = URL(fileURLWithPath: currentDirectory).appendingPathComponent("Models").appendingPathComponent(
            folderName)
        return ok(cwd) ? cwd : nil
    }

    /// The bundled model found by `locate()`.
    public convenience init() throws {
        guard let dir = DemoClassifier.locate() else {
            throw ClassifierError(
                "demo classifier: Models/\(DemoClassifier.folderName) not found beside the executable or in the current folder; set CXR_EDIT_CLASSIFIER to its folder"
            )
        }
        try self.init(directory: dir)
    }

    /// Loads config.json and model.safetensors from `directory`.
    public init(directory: URL, name: String = "demo") throws {
        let cfgURL = directory.appendingPathComponent("config.json")
        let cfg: JSONConfig
        do { cfg = try JSONConfig(contentsOf: cfgURL) } catch let e as CheckpointError {
            throw ClassifierError("\(cfgURL.path): \(e.message)")
        }
        let labels: [String], size: Int, eps: Double, specs: [(Int, Int)]
        do {
            guard try cfg.string("architecture") == "cxr-demo-cnn" else {
                throw ClassifierError("\(cfgURL.path): architecture is not 'cxr-demo-cnn'")
            }
            labels = try cfg.stringArray("labels")
            let input = try cfg.config("input")
            size = try input.int("size")
            eps = try cfg.optDouble("batch_norm_eps", default: 1e-5)
            guard let list = cfg["layers"]?.array else {
                throw ClassifierError("\(cfgURL.path): 'layers' is not a list")
            }
            specs = try list.map { v in
                guard let o = v["out_channels"]?.int, let s = v["stride"]?.int, (1...4096).contains(o),
                    (1...4).contains(s)
                else {
                    throw ClassifierError("\(cfgURL.path): a layer needs out_channels (1...4096) and stride (1...4)")
                }
                return (o, s)
            }
        } catch let e as CheckpointError {
            throw ClassifierError("\(cfgURL.path): \(e.message)")
        }
        guard !labels.isEmpty, Set(labels).count == labels.count, !labels.contains("") else {
            throw ClassifierError("\(cfgURL.path): labels must be non-empty and distinct")
        }
        guard (16...1024).contains(size), !specs.isEmpty else {
            throw ClassifierError("\(cfgURL.path): input size must be 16...1024 and layers non-empty")
        }
        let p = ParameterScope(try WeightReader(url: directory.appendingPathComponent("model.safetensors")))
        var layers: [Conv2d] = []
        var c = 1
        for (i, (out, stride)) in specs.enumerated() {
            let conv = try Conv2d(p("layers.\(i).conv"), in: c, out: out, kernel: 3, stride: stride, bias: false)
            layers.append(conv.folding(try BatchNorm2d(p("layers.\(i).bn"), channels: out, eps: Float(eps))))
            c = out
        }
        self.classifier = try Linear(p("classifier"), in: c, out: labels.count)
        self.layers = layers
        self.labels = labels
        self.inputSize = size
        self.directory = directory
        self.name = name
    }

    /// [1, size, size] network input for one image.
    public static func preprocess(_ image: RasterImage, size: Int) throws -> Tensor {
        let grey = image.toGray()
        var planes = grey.floatPlanes()
        if grey.bitDepth == 16 {
            let s = Float(255.0 / 65535.0)
            for i in 0..<planes.data.count { planes.data[i] *= s }
        }
        let (cropped, side) = XRVPreprocessing.centerCrop(planes.data, width: grey.width, height: grey.height)
        var p = try FloatPlanes(width: side, height: side, channels: 1, data: cropped)
        if side != size { p = try p.resized(width: size, height: size, filter: .bilinear) }
        return Tensor(shape: [1, size, size], data: p.data.map { $0 / 255 * 2 - 1 })
    }

    /// Probabilities for preprocessed inputs [N, 1, size, size].
    public func outputs(forInput input: Tensor) throws -> [[Float]] {
        guard input.rank == 4, input.shape[1] == 1, input.shape[2] >= 8, input.shape[3] >= 8,
            input.count == input.shape.reduce(1, *)
        else {
            throw ClassifierError("demo classifier: input shape \(input.shape) is not [N, 1, H, W]")
        }
        var x = input
        for conv in layers { x = activated(conv(x), .relu) }
        let z = classifier(globalAveragePool(x))
        let k = labels.count
        return (0..<input.shape[0]).map { b in (0..<k).map { Activation.sigmoid.apply(z.data[b * k + $0]) } }
    }

    public func predict(_ images: [RasterImage]) throws -> [[String: Double]] {
        guard !images.isEmpty else { return [] }
        let xs = try images.map {
            try DemoClassifier.preprocess($0, size: inputSize).reshaped([1, 1, inputSize, inputSize])
        }
        let rows = try outputs(forInput: Tensor.concatBatch(xs))
        return rows.map { row in
            var d: [String: Double] = [:]
            for (i, n) in labels.enumerated() { d[n] = Double(row[i]) }
            return d
        }
    }
}
