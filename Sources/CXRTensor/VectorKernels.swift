import CVectorKernels
import Foundation

/// Whether the AVX-512 kernels of CVectorKernels replace the portable Swift code of SiLU, of the Winograd
/// F(2x2,3x3) and F(4x4,3x3) transforms (inputs, outputs and weights) and of the fp16 weights' widening. They give
/// the same bits (the same operations in the same order); the Swift code is built for baseline x86-64, where its
/// 8-lane vectors are pairs of SSE operations, and its transforms gather the patch rows' phases one value at a time.
///
/// On by default where the CPU runs AVX-512F; `CXR_EDIT_VECTOR_KERNELS=0` keeps the portable code (A/B timing),
/// and the tests switch it to compare the two.
public enum VectorKernels {
    /// Whether this CPU and OS can run the kernels.
    public static let supported: Bool = cxr_vector_kernels_supported() == 1

    /// Whether they run (never where they are not supported).
    public static var enabled: Bool {
        get { supported && _enabled }
        set { _enabled = newValue }
    }
    nonisolated(unsafe) private static var _enabled: Bool =
        ProcessInfo.processInfo.environment["CXR_EDIT_VECTOR_KERNELS"] != "0"
}
