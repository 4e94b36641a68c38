import Foundation
import COpenBLAS

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, through OpenBLAS on the calling thread
/// (`gemm` splits a large one among the threads).
///
/// `lda`, `ldb`, `ldc` are row strides in elements (row-major), so sub-blocks of larger matrices can be used.
@inline(__always)
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    OpenBLASThreads.singleThreaded()
    cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// What the loaded OpenBLAS says about itself.
public enum OpenBLASLibrary {
    /// The kernel set it chose when it loaded (e.g. "Haswell", "Cooperlake").
    public static var coreName: String { openblas_get_corename().map { String(cString: $0) } ?? "" }

    /// Its build configuration: version, DYNAMIC_ARCH (can switch cores at load time) or the one fixed target.
    public static var config: String {
        (openblas_get_config().map { String(cString: $0) } ?? "").trimmingCharacters(in: .whitespaces)
    }
}
