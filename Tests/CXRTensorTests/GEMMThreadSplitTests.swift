import XCTest
@testable import CXRTensor

/// `gemm` cuts an fp32 product's rows into single-threaded sgemm calls fixed by the product's shape
/// (`GEMMCallPartition`) and shares the calls among the threads: every element must keep its bits whatever the
/// thread count, the transposes and the row count. (oneDNN's sgemm gives an element different bits in calls of
/// different row counts: on AVX2 no per-thread row block kept them, see `GEMMCallPartition`.)
final class GEMMThreadSplitTests: XCTestCase {
    override func tearDown() {
        ComputeThreads.set(ComputeThreads.defaultCount())
        super.tearDown()
    }

    struct Operands {
        let a: [Float], b: [Float]
        let m: Int, n: Int, k: Int, lda: Int, ldb: Int, transA: Bool, transB: Bool
    }

    /// Operands with row strides wider than the rows (so a call's offset into A must use lda, not k or m).
    func operands(m: Int, n: Int, k: Int, transA: Bool, transB: Bool) -> Operands {
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2_000_000) / 1_000_000 - 1
        }
        let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 5
        let a = (0..<((transA ? k : m) * lda)).map { _ in next() }
        let b = (0..<((transB ? n : k) * ldb)).map { _ in next() }
        return Operands(a: a, b: b, m: m, n: n, k: k, lda: lda, ldb: ldb, transA: transA, transB: transB)
    }

    func product(_ o: Operands, threads: Int, beta: Float = 0) -> [Float] {
        ComputeThreads.set(threads)
        var c = (0..<(o.m * o.n)).map { Float($0 % 7) - 3 }  // beta must scale these, whichever call has the row
        o.a.withUnsafeBufferPointer { ap in
            o.b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    gemm(
                        .fp32, m: o.m, n: o.n, k: o.k, alpha: 0.5,
                        a: .floats(ap.baseAddress!, ld: o.lda, transposed: o.transA),
                        b: .floats(bp.baseAddress!, ld: o.ldb, transposed: o.transB), beta: beta, c: cp.baseAddress!,
                        ldc: o.n)
                }
            }
        }
        return c
    }

    /// The same product in float64, element by element.
    func reference(_ o: Operands, beta: Float) -> [Double] {
        (0..<(o.m * o.n)).map { e in
            let i = e / o.n, j = e % o.n
            var sum = 0.0
            for p in 0..<o.k {
                let x = o.transA ? o.a[p * o.lda + i] : o.a[i * o.lda + p]
                let y = o.transB ? o.b[j * o.ldb + p] : o.b[p * o.ldb + j]
                sum += Double(x) * Double(y)
            }
            return 0.5 * sum + Double(beta) * Double(e % 7 - 3)
        }
    }

    func testSameBitsAtOneTwoAndThreeThreads() {
        let n = 72, k = 160
        var split = 0
        for m in [1, 13, 16, 17, 33, 47, 77, 130, 131, 257, 300, 517, 1030] {
            if GEMMCallPartition(m: m, n: n, k: k).calls > 1 { split += 1 }
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                let o = operands(m: m, n: n, k: k, transA: transA, transB: transB)
                let one = product(o, threads: 1, beta: 0.25)
                let ref = reference(o, beta: 0.25)
                let worst = zip(one, ref).map { abs(Double($0) - $1) }.max() ?? .nan
                XCTAssertLessThan(worst, 1e-3, "m=\(m) transA=\(transA) transB=\(transB): against float64")
                for threads in [2, 3] {
                    let other = product(o, threads: threads, beta: 0.25)
                    let differing = zip(one, other).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "m=\(m) transA=\(transA) transB=\(transB) at \(threads) threads")
                }
            }
        }
        XCTAssertGreaterThanOrEqual(split, 5, "the shapes must include products cut into several calls")
    }

    func testPartitionCoversEveryRowOnceInCallsOfWholeBlocks() {
        for (m, n, k) in [
            (1, 8, 8), (63, 4096, 4096), (154, 3072, 768), (300, 72, 160), (1024, 32, 288),
            (4096, 320, 2880), (4097, 320, 320), (3841, 64, 64), (100_000, 4, 4),
        ] {
            let p = GEMMCallPartition(m: m, n: n, k: k)
            XCTAssertGreaterThanOrEqual(p.calls, 1)
            XCTAssertLessThanOrEqual(p.calls, GEMMCallPartition.maxCalls)
            var next = 0
            for i in 0..<p.calls {
                let (first, count) = p.rows(ofCall: i)
                XCTAssertEqual(first, next, "m=\(m): calls are contiguous")
                XCTAssertGreaterThan(count, 0, "m=\(m): no empty call")
                if p.calls > 1 && i < p.calls - 1 { XCTAssertEqual(count % 16, 0, "m=\(m): whole 16-row blocks") }
                next = first + count
            }
            XCTAssertEqual(next, m, "m=\(m) n=\(n) k=\(k): every row in one call")
            if p.calls > 1 {
                XCTAssertGreaterThanOrEqual(p.rowsPerCall, GEMMCallPartition.minRows)
                XCTAssertGreaterThanOrEqual(p.rowsPerCall * n * k, GEMMCallPartition.minMultiplyAdds)
            }
        }
        // Large products use every call (all threads of a 16-core run have work); small ones are one call.
        XCTAssertEqual(GEMMCallPartition(m: 4096, n: 320, k: 2880).calls, 16)
        XCTAssertEqual(GEMMCallPartition(m: 154, n: 3072, k: 768).calls, 2)
        XCTAssertEqual(GEMMCallPartition(m: 100, n: 64, k: 64).calls, 1)
    }
}
