import CBFloat16

/// A GEMM operand rounded to bfloat16 and laid out in the panels the bf16 kernel reads (see cxr_bf16.h), so a
/// weight is converted and packed once and then reused by every call.
public final class BFloat16Matrix: @unchecked Sendable {
    /// Which side of the product it is packed for: A (m x k) or B (k x n).
    public enum Side: Sendable { case a, b }

    public let side: Side
    /// Rows and columns of the operand as it enters the product (op(A) is m x k, op(B) is k x n).
    public let rows: Int, columns: Int
    let storage: UnsafeMutablePointer<UInt16>
    let count: Int

    /// Rounds and packs op(X) from row-major float32 at `values` with row stride `ld`; `transposed` means the
    /// operand is Xᵀ of the stored matrix. Panels are packed in parallel.
    public convenience init(
        side: Side, rows: Int, columns: Int, values: UnsafePointer<Float>, ld: Int, transposed: Bool
    ) {
        self.init(unpackedSide: side, rows: rows, columns: columns)
        nonisolated(unsafe) let dst = storage
        let trans: Int32 = transposed ? 1 : 0
        switch side {
        case .a:
            let panels = (rows + Int(CXR_BF16_MR) - 1) / Int(CXR_BF16_MR)
            Parallel.ranges(panels, minChunk: 8) { lo, hi in
                cxr_bf16_pack_a(values, ld, trans, rows, columns, dst, lo, hi)
            }
        case .b:
            let panels = (columns + Int(CXR_BF16_NR) - 1) / Int(CXR_BF16_NR)
            Parallel.ranges(panels, minChunk: 4) { lo, hi in
                cxr_bf16_pack_b(values, ld, trans, rows, columns, dst, lo, hi)
            }
        }
    }

    /// An operand whose panels the caller writes into `storage` (uninitialised here) before any product reads it: the
    /// Winograd input transform packs its output directly (`winogradPackedBands`).
    init(unpackedSide side: Side, rows: Int, columns: Int) {
        precondition(BFloat16GEMM.isSupported, "BFloat16Matrix needs a CPU with AVX512-BF16")
        self.side = side
        self.rows = rows
        self.columns = columns
        count = side == .a ? cxr_bf16_packed_a_count(rows, columns) : cxr_bf16_packed_b_count(rows, columns)
        storage = .allocate(capacity: max(1, count))
    }

    deinit { storage.deallocate() }

    /// Bytes held.
    public var byteCount: Int { count * 2 }

    /// Number of kernel panels (MR rows of A, NR columns of B).
    var panels: Int {
        side == .a
            ? (rows + Int(CXR_BF16_MR) - 1) / Int(CXR_BF16_MR)
            : (columns + Int(CXR_BF16_NR) - 1) / Int(CXR_BF16_NR)
    }
}
