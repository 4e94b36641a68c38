/// The loaded SGEMM against a plain double-precision loop on odd shapes, all four transposes, padded strides,
/// alpha and beta, and k = 0: kernels that compute wrong numbers on this CPU (BLAS libraries, JIT-generated ones
/// included, have shipped such bugs) are caught by the tests and reported by `cxr-edit --version` instead of
/// spoiling images.
public enum GEMMCheck {
    public struct Case: Sendable {
        public var m, n, k: Int
        public var transA, transB: Bool
        public var alpha, beta: Float
    }

    /// Shapes around kernel-block edges (1, 3, 7, 17, 33, 65 rows), attention's K = 40, single rows and columns
    /// (oneDNN's GEMV kernels), and one big enough for its blocked, packing path rather than its small-matrix one.
    public static let cases: [Case] = {
        let shapes = [
            (1, 1, 1), (1, 17, 33), (13, 1, 7), (7, 9, 5), (31, 33, 40), (65, 3, 129), (3, 4, 0),
            (100, 77, 64), (130, 129, 260),
        ]
        var all = [Case]()
        for (i, (m, n, k)) in shapes.enumerated() {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                let (alpha, beta): (Float, Float) = i % 2 == 0 ? (1, 0) : (0.75, -0.5)
                all.append(Case(m: m, n: n, k: k, transA: ta, transB: tb, alpha: alpha, beta: beta))
            }
        }
        return all
    }()

    /// A GEMM under test: C = alpha * op(A) * op(B) + beta * C for the case, row-major, strides lda, ldb, ldc.
    public typealias Multiply = (
        Case, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int,
        UnsafeMutablePointer<Float>, Int
    ) -> Void

    /// The GEMM every fp32 layer runs (`sgemm`, oneDNN's).
    public static let loaded: Multiply = { c, a, lda, b, ldb, out, ldc in
        sgemm(
            transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, alpha: c.alpha,
            a: a, lda: lda, b: b, ldb: ldb, beta: c.beta, c: out, ldc: ldc)
    }

    /// Descriptions of the cases whose result is off by more than fp32 rounding allows; empty when all pass.
    /// `operandRounding` is the unit roundoff of a GEMM that rounds its operands first (2⁻⁸ for bf16, whose
    /// significand has 8 bits): each product may then be off by 2u + u² of its magnitude on top of the fp32
    /// summation error, and no more.
    public static func run(
        _ cases: [Case] = cases, operandRounding: Double = 0,
        multiply: Multiply = loaded
    ) -> [String] {
        var failures = [String]()
        var seed: UInt64 = 0x5EED
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2_000_000) / 1_000_000 - 1
        }
        for c in cases {
            // Row-major storage of op(A) (m x k) and op(B) (k x n) as stored, with 3 elements of padding per row
            // so a kernel that confuses the stride with the width fails.
            let aRows = c.transA ? c.k : c.m, aCols = c.transA ? c.m : c.k
            let bRows = c.transB ? c.n : c.k, bCols = c.transB ? c.k : c.n
            let lda = aCols + 3, ldb = bCols + 3, ldc = c.n + 3
            let a = (0..<max(1, aRows * lda)).map { _ in next() }
            let b = (0..<max(1, bRows * ldb)).map { _ in next() }
            var out = (0..<(c.m * ldc)).map { _ in next() }
            let start = out
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    out.withUnsafeMutableBufferPointer { cp in
                        multiply(c, ap.baseAddress!, lda, bp.baseAddress!, ldb, cp.baseAddress!, ldc)
                    }
                }
            }
            var worst = 0.0
            for i in 0..<c.m {
                for j in 0..<ldc {
                    let got = Double(out[i * ldc + j])
                    if j >= c.n {
                        // Padding must be untouched.
                        if got != Double(start[i * ldc + j]) { worst = .infinity }
                        continue
                    }
                    var sum = 0.0, magnitude = 0.0
                    for p in 0..<c.k {
                        let x = Double(c.transA ? a[p * lda + i] : a[i * lda + p])
                        let y = Double(c.transB ? b[j * ldb + p] : b[p * ldb + j])
                        sum += x * y
                        magnitude += abs(x * y)
                    }
                    // beta = 0 means C is not read (BLAS), so a NaN there would not propagate either.
                    let old = c.beta == 0 ? 0 : Double(c.beta) * Double(start[i * ldc + j])
                    let want = Double(c.alpha) * sum + old
                    // fp32's worst case for any summation order: (k + 2) units of rounding times the magnitudes.
                    let u = operandRounding
                    let allowed =
                        Double(c.k + 2) * 0x1p-24 * (Double(abs(c.alpha)) * magnitude + abs(old))
                        + (2 * u + u * u) * Double(abs(c.alpha)) * magnitude + 1e-30
                    worst = max(worst, abs(got - want) / allowed)
                }
            }
            if !(worst <= 1) {
                failures.append(
                    "gemm m=\(c.m) n=\(c.n) k=\(c.k) \(c.transA ? "T" : "N")\(c.transB ? "T" : "N") "
                        + "alpha=\(c.alpha) beta=\(c.beta): error \(worst) times the rounding allowance")
            }
        }
        return failures
    }
}
