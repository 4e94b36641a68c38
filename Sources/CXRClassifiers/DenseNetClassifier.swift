import CXRFiles
import CXRImaging
import CXRTensor
import Foundation

/// torchxrayvision's DenseNet run natively: its preprocessing (`XRVPreprocessing`), network (`DenseNetModel`)
/// and output mapping — sigmoid, then the operating-point normalisation `op_norm` when `op_threshs` are known
/// (each label's threshold maps to 0.5, so "p > 0.5" means "above the operating point").
///
/// Weights: a `.safetensors` file, a torch `.pt` holding the state_dict (torchxrayvision's names), or one of
/// torchxrayvision's own downloads — pickled whole models, zip or legacy layout — which the safe unpickler
/// reads without running them (`TorchPickleFile`), labels and operating points included when the model
/// carries them.
public final class DenseNetClassifier: Classifier, @unchecked Sendable {
    /// torchxrayvision's 18 default output names (`xrv.datasets.default_pathologies`).
    public static let defaultLabels = [
        "Atelectasis", "Consolidation", "Infiltration", "Pneumothorax", "Edema", "Emphysema", "Fibrosis",
        "Effusion", "Pneumonia", "Pleural_Thickening", "Cardiomegaly", "Nodule", "Mass", "Hernia",
        "Lung Lesion", "Fracture", "Lung Opacity", "Enlarged Cardiomediastinum",
    ]
    /// Appended to refusal errors: the pickles read directly are torchxrayvision DenseNets; anything else is
    /// converted in Python, where the user decides to trust it.
    public static let conversionHint =
        "only torchxrayvision DenseNet models and state_dicts are read directly; "
        + "convert other models with Tools/classifiers/xrv_to_safetensors.py (see docs/classifiers.md)"

    public let name: String
    /// The labels reported by `predict`: outputs whose name is non-empty and whose operating point is not NaN.
    public let labels: [String]
    /// One name per network output ("" for outputs the weights do not train, as in torchxrayvision).
    public let outputLabels: [String]
    /// Per-output operating points (NaN = none), or nil to report plain sigmoid probabilities.
    public let opThresholds: [Float]?
    /// Side of the square network input (torchxrayvision: 224).
    public let inputSize: Int
    public let model: DenseNetModel

    /// Loads weights. Labels: `labels` if given, else the safetensors metadata "labels" (a JSON list, written by
    /// the converter), else a pickled model's `targets` or `pathologies`, else torchxrayvision's 18 names when
    /// there are 18 outputs. Operating points: the "op_threshs" tensor (a state_dict entry or a pickled model's
    /// buffer), else a pickled model's `op_threshs` list, unless `useOperatingPoints` is false.
    public convenience init(
        weightsURL url: URL, name: String = "densenet121", labels: [String]? = nil,
        useOperatingPoints: Bool = true, inputSize: Int = 224
    ) throws {
        let w = try WeightReader(url: url, refusalHint: DenseNetClassifier.conversionHint)
        try self.init(
            weights: w, name: name, labels: labels, useOperatingPoints: useOperatingPoints, inputSize: inputSize)
    }

    public init(
        weights w: WeightReader, name: String = "densenet121", labels: [String]? = nil,
        useOperatingPoints: Bool = true, inputSize: Int = 224
    ) throws {
        let model = try DenseNetModel(weights: w)
        let k = model.architecture.numClasses
        var names: [String]
        if let labels {
            names = labels
        } else if let meta = w.metadata["labels"] {
            guard let list = (try? JSONValue(data: Data(meta.utf8), source: w.label))?.stringArray else {
                throw ClassifierError("\(w.label): metadata 'labels' is not a JSON list of strings")
            }
            names = list
        } else if case .strings(let list)? = w.moduleAttributes["targets"] ?? w.moduleAttributes["pathologies"] {
            names = list
        } else if k == DenseNetClassifier.defaultLabels.count {
            names = DenseNetClassifier.defaultLabels
        } else {
            names = (0..<k).map { "output_\($0)" }
        }
        guard names.count == k else {
            throw ClassifierError("\(w.label): \(names.count) labels for \(k) outputs")
        }
        var op: [Float]? = nil
        if useOperatingPoints, w.contains("op_threshs") {
            op = try w.tensor("op_threshs", shape: [k]).data
        } else if useOperatingPoints, case .numbers(let list)? = w.moduleAttributes["op_threshs"] {
            guard list.count == k else {
                throw ClassifierError("\(w.label): \(list.count) op_threshs for \(k) outputs")
            }
            op = list.map { Float($0) }
        }
        var reported: [String] = []
        for (i, n) in names.enumerated() where !n.isEmpty && !(op.map { $0[i].isNaN } ?? false) {
            guard !reported.contains(n) else { throw ClassifierError("\(w.label): label '\(n)' appears twice") }
            reported.append(n)
        }
        guard (32...4096).contains(inputSize) else {
            throw ClassifierError("densenet: invalid input size \(inputSize)")
        }
        self.model = model
        self.name = name
        self.outputLabels = names
        self.opThresholds = op
        self.labels = reported
        self.inputSize = inputSize
    }

    /// Sigmoid then `op_norm` (torchxrayvision's formula) for one row of logits; NaN thresholds give 0.5.
    public static func probabilities(logits: [Float], opThresholds: [Float]?) -> [Float] {
        logits.enumerated().map { i, z in
            let p = Activation.sigmoid.apply(z)
            guard let op = opThresholds else { return p }
            let t = op[i]
            if t.isNaN { return 0.5 }
            return p < t ? p / (t * 2) : 1 - (1 - p) / ((1 - t) * 2)
        }
    }

    /// Output values (after sigmoid / op_norm) for preprocessed inputs [N, 1, H, W], one row per image.
    public func outputs(forInput x: Tensor) throws -> [[Float]] {
        let z = try model.logits(x)
        let k = model.architecture.numClasses
        return (0..<x.shape[0]).map { b in
            DenseNetClassifier.probabilities(logits: Array(z.data[(b * k)..<((b + 1) * k)]), opThresholds: opThresholds)
        }
    }

    public func predict(_ images: [RasterImage]) throws -> [[String: Double]] {
        var result: [[String: Double]] = []
        for image in images {  // one at a time keeps peak memory at one image's activations
            let x = try XRVPreprocessing.tensor(from: image, size: inputSize)
            let row = try outputs(forInput: x.reshaped([1, 1, inputSize, inputSize]))[0]
            var d: [String: Double] = [:]
            for (i, n) in outputLabels.enumerated() where labels.contains(n) { d[n] = Double(row[i]) }
            result.append(d)
        }
        return result
    }
}
