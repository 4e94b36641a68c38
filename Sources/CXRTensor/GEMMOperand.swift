/// One operand of `gemm`: float32 values as stored (row-major with row stride `ld`; `transposed` uses the stored
/// matrix's transpose), or a bf16 copy already packed for its side (a weight, packed once and cached).
public enum GEMMOperand {
    case floats(UnsafePointer<Float>, ld: Int, transposed: Bool)
    case packed(BFloat16Matrix)
}

/// How an fp32 product's rows are cut into single-threaded sgemm calls: fixed by the product's shape alone, never by
/// the thread count, so that every element gets the same arithmetic at any `--threads` (the threads share out
/// whole calls). oneDNN's sgemm gives an element bits that depend on the call's row count and the element's place
/// in it (its tail kernels; gemv for one row). On AVX-512 (Zen 5) only calls under 16 rows with B transposed
/// differed, and blocks of 16 rows per thread kept the bits; on AVX2 (oneDNN 2.6.3 on Zen 3) no block size
/// does: calls of rows [a, b) with a and b on a 16- to 192-row grid differ from the whole call in 3-86% of the
/// shapes tried (Tools/bench/onednn/sgemm_row_split.c).
struct GEMMCallPartition {
    /// Rows of the product.
    let m: Int
    /// Rows of each call (a multiple of 16), the last call taking the remainder.
    let rowsPerCall: Int
    /// The number of calls.
    let calls: Int

    /// At most this many calls: enough for the thread counts a CPU run uses, and a power of two so that
    /// 2, 4, 8 and 16 threads get equal shares.
    static let maxCalls = 16
    /// Calls get at least this many rows and multiply-adds, so that the per-call work (B packed once per call)
    /// stays small against the product.
    static let minRows = 64
    static let minMultiplyAdds = 1 << 18

    init(m: Int, n: Int, k: Int) {
        let multiplyAdds = m * n * max(k, 1)
        var calls = 1
        while calls < Self.maxCalls && m / (2 * calls) >= Self.minRows
            && multiplyAdds / (2 * calls) >= Self.minMultiplyAdds
        {
            calls *= 2
        }
        self.m = m
        rowsPerCall = max(16, ((m + calls - 1) / calls + 15) / 16 * 16)
        self.calls = (m + rowsPerCall - 1) / rowsPerCall
    }

    /// Rows of call `i`: its first row and its row count.
    func rows(ofCall i: Int) -> (first: Int, count: Int) {
        let first = i * rowsPerCall
        return (first, min(rowsPerCall, m - first))
    }
}

/// Row-major C = alpha * op(A) * op(B) + beta * C (op(A) m x k, op(B) k x n) in `precision`: oneDNN's sgemm
/// for fp32, the bf16 kernel (float32 operands rounded and packed here, per call) for bf16. The one GEMM entry
/// of the layers, so the precision is a parameter of each operation rather than a second implementation.
///
/// fp32 runs on the thread budget as the single-threaded sgemm calls of `GEMMCallPartition` (see
/// `ComputeThreads`), shared out among the threads; a product too small to split (under 2^19 multiply-adds or
/// 128 rows) is one call, and inside a parallel loop the calls run one after another on the calling thread.
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
        let partition = GEMMCallPartition(m: m, n: n, k: k)
        Parallel.ranges(partition.calls, minChunk: 1) { lo, hi in
            for call in lo..<hi {
                let (r0, rows) = partition.rows(ofCall: call)
                sgemm(
                    transA: ta, transB: tb, m: rows, n: n, k: k, alpha: alpha, a: ta ? ap + r0 : ap + r0 * lda,
                    lda: lda, b: bp, ldb: ldb, beta: beta, c: c + r0 * ldc, ldc: ldc)
            }
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
