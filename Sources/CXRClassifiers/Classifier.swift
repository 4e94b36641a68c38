import CXRImaging

/// A chest X-ray classifier as the probe uses it: images in, one probability per label out.
///
/// Implementations: the native DenseNet-121 (torchxrayvision's architecture and preprocessing), the bundled
/// demo classifier, and an external command speaking JSON lines (how users plug in their own PyTorch model).
public protocol Classifier: AnyObject {
    /// Short name used in results and reports ("demo", "densenet121", "cmd:my_model").
    var name: String { get }
    /// The labels this classifier scores (torchxrayvision's names where they apply, e.g. "Effusion").
    var labels: [String] { get }
    /// Probabilities in [0, 1] per label, one dictionary per image, in the order given.
    func predict(_ images: [RasterImage]) throws -> [[String: Double]]
}

/// A classifier failed or answered something unusable; the description is one line naming the classifier.
public struct ClassifierError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
