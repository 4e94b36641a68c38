import XCTest

@testable import CXRTensor

/// `TensorBufferPool`: large buffers are reused for the same size within a scope, released on a miss and at the end of
/// the scope, and a recycled buffer that something still references is never written over.
final class TensorBufferPoolTests: XCTestCase {
    private let count = TensorBufferPool.minimumCount

    private func baseAddress(_ t: Tensor) -> UnsafeRawPointer? {
        t.data.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    func testARecycledBufferServesTheNextTensorOfItsSize() {
        TensorBufferPool.withScope { pool in
            var first = Tensor(unfilled: [1, count])
            let address = baseAddress(first)
            TensorBufferPool.recycle(&first)
            XCTAssertEqual(first.count, 0, "recycling empties the tensor")
            XCTAssertEqual(pool.statistics.cachedFloats, count)
            let second = Tensor(unfilled: [count, 1])
            XCTAssertEqual(second.shape, [count, 1])
            XCTAssertEqual(baseAddress(second), address, "the same memory, not a fresh allocation")
            XCTAssertEqual(pool.statistics.hits, 1)
            XCTAssertEqual(pool.statistics.misses, 1, "only the first tensor was allocated")
            XCTAssertEqual(pool.statistics.cachedFloats, 0)
        }
    }

    func testAMissFreesWhatThePoolHolds() {
        TensorBufferPool.withScope { pool in
            var a = Tensor(unfilled: [count]), b = Tensor(unfilled: [count])
            TensorBufferPool.recycle(&a)
            TensorBufferPool.recycle(&b)
            XCTAssertEqual(pool.statistics.cachedFloats, 2 * count)
            let other = Tensor(unfilled: [count + 1])
            XCTAssertEqual(other.count, count + 1)
            XCTAssertEqual(pool.statistics.cachedFloats, 0, "a buffer of another size releases the cached ones")
            XCTAssertEqual(pool.statistics.hits, 0)
        }
    }

    func testTheScopeReleasesItsBuffersAndOutsideNothingIsPooled() {
        let pool = TensorBufferPool.withScope { pool -> TensorBufferPool in
            var t = Tensor(unfilled: [count])
            TensorBufferPool.recycle(&t)
            XCTAssertEqual(pool.statistics.cachedFloats, count)
            return pool
        }
        XCTAssertEqual(pool.statistics.cachedFloats, 0, "the scope's end frees the cached buffers")
        XCTAssertNil(TensorBufferPool.current)
        var t = Tensor(repeating: 2, shape: [count])
        TensorBufferPool.recycle(&t)
        XCTAssertEqual(t.count, count, "without a scope recycling leaves the tensor as it is")
        XCTAssertEqual(t.data[count - 1], 2)
    }

    func testSmallTensorsAreNotPooled() {
        TensorBufferPool.withScope { pool in
            var t = Tensor(repeating: 1, shape: [count - 1])
            TensorBufferPool.recycle(&t)
            XCTAssertEqual(t.count, count - 1)
            XCTAssertEqual(pool.statistics.cachedFloats, 0)
            _ = Tensor(unfilled: [count - 1])
            XCTAssertEqual(pool.statistics.misses, 0, "small tensors never ask the pool")
        }
    }

    func testALiveCopyOfARecycledBufferKeepsItsValues() {
        TensorBufferPool.withScope { _ in
            var t = Tensor(repeating: 3, shape: [count])
            let live = t
            TensorBufferPool.recycle(&t)
            var reused = Tensor(unfilled: [count])
            reused.data.withUnsafeMutableBufferPointer { $0.update(repeating: -1) }
            XCTAssertNotEqual(baseAddress(reused), baseAddress(live), "writing must not reach the live copy")
            XCTAssertEqual(live.data[0], 3)
            XCTAssertEqual(live.data[count - 1], 3)
            XCTAssertEqual(reused.data[count / 2], -1)
        }
    }

    func testNestedScopesEachHaveTheirOwnPool() {
        TensorBufferPool.withScope { outer in
            var t = Tensor(unfilled: [count])
            TensorBufferPool.recycle(&t)
            TensorBufferPool.withScope { inner in
                XCTAssertTrue(TensorBufferPool.current === inner)
                _ = Tensor(unfilled: [count])
                XCTAssertEqual(inner.statistics.misses, 1, "the outer scope's buffer is not the inner's")
            }
            XCTAssertTrue(TensorBufferPool.current === outer)
            XCTAssertEqual(outer.statistics.cachedFloats, count)
        }
    }
}
