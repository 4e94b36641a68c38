import CDNNL

/// Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C, through oneDNN's `dnnl_sgemm` on the
/// calling thread (`gemm` splits a large one among the threads).
///
/// `lda`, `ldb`, `ldc` are row strides in elements (row-major), so sub-blocks of larger matrices can be used.
/// oneDNN reports a failure (out of memory for its packing buffers, or arguments it rejects) instead of computing:
/// that ends the run through `GEMMFailure` rather than leaving C unwritten.
@inline(__always)
public func sgemm(
    transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    if k == 0 {
        // BLAS defines C = beta * C (C not read for beta = 0); oneDNN 2.6 leaves C as it was for three of the four
        // transpose combinations (GEMMCheck's m=3 n=4 k=0 cases caught it).
        for i in 0..<m {
            for j in 0..<n { c[i * ldc + j] = beta == 0 ? 0 : beta * c[i * ldc + j] }
        }
        return
    }
    let status = cxr_dnnl_sgemm(
        transA ? transposed : notTransposed, transB ? transposed : notTransposed, Int64(m), Int64(n), Int64(k), alpha,
        a, Int64(lda), b, Int64(ldb), beta, c, Int64(ldc))
    if status != dnnl_success {
        GEMMFailure.fail(
            "oneDNN sgemm failed (\(String(cString: dnnl_status2str(status)))) on a \(m)x\(k) by \(k)x\(n) product")
    }
}

/// `dnnl_sgemm`'s transpose arguments, BLAS's characters.
private let notTransposed = CChar(UInt8(ascii: "N")), transposed = CChar(UInt8(ascii: "T"))
