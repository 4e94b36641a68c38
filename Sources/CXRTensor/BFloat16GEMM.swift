import CBFloat16

/// C = alpha * A * B + beta * C with bfloat16 operands and float32 accumulation (AVX512-BF16).
///
/// oneDNN's BLAS-style API has no bf16 GEMM (only `dnnl_sgemm` and integer ones; its bf16 products are matmul
/// primitives, built per shape), and Debian's OpenBLAS, used before, was built without sbgemm, so the kernel is
/// ours (Sources/CBFloat16): VDPBF16PS over packed panels, blocked so a B panel stays in L1.
public enum BFloat16GEMM {
    /// Whether this CPU and OS can run the kernel.
    public static let isSupported: Bool = cxr_bf16_supported() == 1

    /// The product of two packed operands into row-major C (row stride `ldc`), on the shared thread budget.
    /// beta = 0 means C is not read.
    public static func multiply(
        alpha: Float = 1, _ a: BFloat16Matrix, _ b: BFloat16Matrix, beta: Float = 0,
        c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        precondition(a.side == .a && b.side == .b && a.columns == b.rows, "bf16 GEMM: operands do not fit")
        let m = a.rows, n = b.columns, k = a.columns
        if m == 0 || n == 0 { return }
        let ap = a.panels, bp = b.panels
        nonisolated(unsafe) let c = c
        // Split the side with more panels, so each thread shares the other operand (read from cache).
        if bp >= ap {
            Parallel.ranges(bp, minChunk: 2) { lo, hi in
                cxr_bf16_gemm(m, n, k, alpha, a.storage, b.storage, beta, c, ldc, 0, ap, lo, hi)
            }
        } else {
            Parallel.ranges(ap, minChunk: 4) { lo, hi in
                cxr_bf16_gemm(m, n, k, alpha, a.storage, b.storage, beta, c, ldc, lo, hi, 0, bp)
            }
        }
    }
}
