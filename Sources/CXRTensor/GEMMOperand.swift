/// One operand of `gemm`: float32 values as stored (row-major with row stride `ld`; `transposed` uses the stored
/// matrix's transpose), or a bf16 copy already packed for its side (a weight, packed once and cached).
public enum GEMMOperand {
    case floats(UnsafePointer<Float>, ld: Int, transposed: Bool)
    case packed(BFloat16Matrix)
}

/// Rows of C per block when a GEMM is split among threads. OpenBLAS's Haswell (and Zen) SGEMM computes a row-major C
/// in groups of 12 rows (3 x its 4-column unroll, C being column-major to it), with arithmetic that depends on where an
/// element falls in its group; splitting anywhere else, or along columns, changes the last bits of some elements
/// (measured: a 64 x 512 product split at a column differs in ~15% of its elements). Blocks of 12 rows give every
/// element the arithmetic of one whole single-threaded call, so results do not depend on the thread count.
let gemmRowBlock = 12

/// Row-major C = alpha * op(A) * op(B) + beta * C (op(A) m x k, op(B) k x n) in `precision`: OpenBLAS's SGEMM
/// for fp32, the bf16 kernel (float32 operands rounded and packed here, per call) for bf16. The one GEMM entry
/// of the layers, so the precision is a parameter of each operation rather than a second implementation.
///
/// fp32 runs on the thread budget by splitting the rows of C into blocks of `gemmRowBlock`, each a single-threaded
/// SGEMM (see `ComputeThreads`); products under ~2^17 multiply-adds, where a hand-off costs more than it saves, and
/// GEMMs inside a parallel loop run whole on the calling thread.
public func gemm(
    _ precision: GEMMPrecision, m: Int, n: Int, k: Int, alpha: Float = 1, a: GEMMOperand,
    b: GEMMOperand, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
) {
    if m == 0 || n == 0 { return }
    switch precision {
    case .fp32:
        guard case .floats(let aValues, let lda, let ta) = a, case .floats(let bp, let ldb, let tb) = b else {
            preconditionFailure("an fp32 GEMM takes float32 operands")
        }
        nonisolated(unsafe) let ap = aValues, c = c
        let blocks = (m + gemmRowBlock - 1) / gemmRowBlock
        let minBlocks = max(1, (1 << 17) / max(1, gemmRowBlock * n * k))
        Parallel.ranges(blocks, minChunk: minBlocks) { lo, hi in
            let r0 = lo * gemmRowBlock, rows = min(m, hi * gemmRowBlock) - r0
            sgemm(
                transA: ta, transB: tb, m: rows, n: n, k: k, alpha: alpha, a: ta ? ap + r0 : ap + r0 * lda,
                lda: lda, b: bp, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc)
        }
    case .bf16:
        let pa = a.packed(side: .a, rows: m, columns: k)
        let pb = b.packed(side: .b, rows: k, columns: n)
        BFloat16GEMM.multiply(alpha: alpha, pa, pb, beta: beta, c: c, ldc: ldc)
    }
}

extension GEMMOperand {
    /// The operand as a bf16 matrix for `side` (packing float32 values now).
    func packed(side: BFloat16Matrix.Side, rows: Int, columns: Int) -> BFloat16Matrix {
        switch self {
        case .packed(let p):
            precondition(
                p.side == side && p.rows == rows && p.columns == columns,
                "packed operand \(p.rows)x\(p.columns) used as \(rows)x\(columns)")
            return p
        case .floats(let values, let ld, let transposed):
            return BFloat16Matrix(
                side: side, rows: rows, columns: columns, values: values, ld: ld,
                transposed: transposed)
        }
    }
}
