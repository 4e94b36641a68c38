/// A plain attribute of a pickled whole model, of the kinds classifiers read: torchxrayvision keeps its output
/// names in `targets`/`pathologies` and, in its spring-2020 releases, its operating points in `op_threshs` as
/// a list of floats. Other attribute kinds are not kept.
public enum TorchModuleAttribute: Sendable, Equatable {
    /// A list of strings.
    case strings([String])
    /// A list (or tuple) of numbers; NaN stays NaN.
    case numbers([Double])
}
