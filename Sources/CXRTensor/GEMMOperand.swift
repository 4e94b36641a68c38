/// One operand of `gemm`: float32 values as stored (row-major with row stride `ld`; `transposed` uses the stored
/// matrix's transpose), or a bf16 copy already packed for its side (a weight, packed once and cached).
public enum GEMMOperand {
    case floats(UnsafePointer<Float>, ld: Int, transposed: Bool)
    case packed(BFloat16Matrix)
}

/// The fewest rows of C one call gets when a GEMM is split among threads. oneDNN's sgemm gives an element the same
/// arithmetic whichever rows around it a call covers, except that with B transposed (linear layers, attention
/// scores) a call of fewer than 16 rows runs its small-matrix kernel, which sums in another order (measured with
/// oneDNN 2.6.3 on Zen 5: every row count from 1 to 15 differs from the whole product in ~90% of the elements, 16
/// and more in none). So the rows are split into blocks of 16, the last one taking the remainder: no call then has
/// fewer than 16 rows unless the whole product has, and results do not depend on the thread count. (OpenBLAS,
/// used before, needed blocks of exactly 12 rows, its kernel's group.)
let gemmRowBlock = 16

/// Row-major C = alpha * op(A) * op(B) + beta * C (op(A) m x k, op(B) k x n) in `precision`: oneDNN's sgemm
/// for fp32, the bf16 kernel (float32 operands rounded and packed here, per call) for bf16. The one GEMM entry
/// of the layers, so the precision is a parameter of each operation rather than a second implementation.
///
/// fp32 runs on the thread budget by splitting the rows of C into blocks of `gemmRowBlock`, each a single-threaded
/// sgemm (see `ComputeThreads`); products under ~2^17 multiply-adds, where a hand-off costs more than it saves, and
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
        let blocks = max(1, m / gemmRowBlock)
        let minBlocks = max(1, (1 << 17) / max(1, gemmRowBlock * n * k))
        Parallel.ranges(blocks, minChunk: minBlocks) { lo, hi in
            let r0 = lo * gemmRowBlock, rows = (hi == blocks ? m : hi * gemmRowBlock) - r0
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
