extension Weight {
    /// Calls `body` with the weight, seen as a matrix of `shape[0]` rows (an [O, C, kh, kw] kernel is O x C·kh·kw),
    /// as a GEMM operand in `precision`: widened float32 values for fp32; for bf16 a packed copy, rounded from
    /// the stored values on first use and kept with the weight (a weight is reused by every step, so packing
    /// costs once per run instead of once per call; made per call for `derivingOnEveryUse()` weights).
    /// `transposed` uses the matrix's transpose (a linear layer's [out, in] weight is B = Wᵀ).
    public func withOperand<R>(
        _ precision: GEMMPrecision, side: BFloat16Matrix.Side, transposed: Bool,
        _ body: (GEMMOperand) throws -> R
    ) rethrows -> R {
        let rows = shape[0], columns = count / max(1, rows)
        switch precision {
        case .fp32:
            return try withFloats { try body(.floats($0, ld: columns, transposed: transposed)) }
        case .bf16:
            let packed = derived.value("bf16 \(side) \(transposed ? "T" : "N")") { () -> BFloat16Matrix in
                let m = withFloatsOnce {
                    BFloat16Matrix(
                        side: side, rows: transposed ? columns : rows, columns: transposed ? rows : columns,
                        values: $0, ld: columns, transposed: transposed)
                }
                releaseStoredPages()
                return m
            }
            return try body(.packed(packed))
        }
    }

    /// A value derived from this weight once (e.g. its packed Winograd transform), kept with it for later calls
    /// (made per call for `derivingOnEveryUse()` weights).
    public func cached<T: AnyObject>(_ key: String, make: () -> T) -> T { derived.value(key, make: make) }
}
