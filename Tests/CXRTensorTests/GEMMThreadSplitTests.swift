import XCTest
@testable import CXRTensor

/// `gemm` splits an fp32 product's rows among the threads; every element must keep the bits of the whole product
/// on one thread, whatever the thread count, the transposes and the row count (oneDNN's small-matrix kernel, which
/// sums in another order, runs for calls of fewer than 16 rows with B transposed: see `gemmRowBlock`).
final class GEMMThreadSplitTests: XCTestCase {
    override func tearDown() {
        ComputeThreads.set(ComputeThreads.defaultCount())
        super.tearDown()
    }

    func product(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, threads: Int) -> [Float] {
        ComputeThreads.set(threads)
        var seed: UInt64 = 7
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2_000_000) / 1_000_000 - 1
        }
        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
        var c = [Float](repeating: .nan, count: m * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    gemm(
                        .fp32, m: m, n: n, k: k, a: .floats(ap.baseAddress!, ld: transA ? m : k, transposed: transA),
                        b: .floats(bp.baseAddress!, ld: transB ? k : n, transposed: transB), c: cp.baseAddress!, ldc: n)
                }
            }
        }
        return c
    }

    func testSameBitsAtOneTwoAndThreeThreads() {
        // n * k large enough that even two-block products are split (minChunk 1).
        let n = 72, k = 160
        for m in [1, 13, 15, 16, 17, 20, 24, 31, 32, 33, 40, 47, 77, 130] {
            for (transA, transB) in [(false, false), (false, true), (true, false), (true, true)] {
                let one = product(m: m, n: n, k: k, transA: transA, transB: transB, threads: 1)
                XCTAssertFalse(one.contains { $0.isNaN }, "m=\(m): every element written")
                for threads in [2, 3] {
                    let split = product(m: m, n: n, k: k, transA: transA, transB: transB, threads: threads)
                    let differing = zip(one, split).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(differing, 0, "m=\(m) transA=\(transA) transB=\(transB) at \(threads) threads")
                }
            }
        }
    }
}
