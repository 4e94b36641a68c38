import CThreadPool
import Foundation
import XCTest
@testable import CXRTensor

/// The worker pool behind `Parallel` (CThreadPool): every item of every loop runs exactly once, whether the
/// workers are spinning, asleep or late, and loops started from other threads or inside a loop still run.
final class ThreadPoolTests: XCTestCase {
    override func tearDown() {
        ComputeThreads.set(ComputeThreads.defaultCount())
        super.tearDown()
    }

    /// Counts how often each item of a loop of `count` ran, `loops` loops in a row, `workers` workers.
    func hits(loops: Int, count: Int, workers: Int32, pauseEvery: Int = 0) -> [Int] {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: loops * count)
        hits.initialize(repeating: 0, count: loops * count)
        defer { hits.deallocate() }
        for loop in 0..<loops {
            var base = hits + loop * count
            withUnsafeMutablePointer(to: &base) { context in
                cxr_pool_run(
                    workers, count,
                    { context, i in
                        let p = context!.assumingMemoryBound(to: UnsafeMutablePointer<Int>.self).pointee
                        // Atomic enough: each item's counter is written by the thread that claimed it.
                        p[i] += 1
                    }, context)
            }
            // Now and then long enough for the workers to stop spinning and sleep.
            if pauseEvery > 0 && loop % pauseEvery == pauseEvery - 1 { usleep(2000) }
        }
        return Array(UnsafeBufferPointer(start: hits, count: loops * count))
    }

    func testEveryItemOfEveryLoopRunsOnce() {
        for (loops, count, workers) in [(20_000, 2, Int32(1)), (3_000, 7, 3), (200, 1000, 1), (50, 1, 1)] {
            XCTAssertEqual(
                hits(loops: loops, count: count, workers: workers), [Int](repeating: 1, count: loops * count),
                "\(loops) loops of \(count) on \(workers) workers")
        }
    }

    func testWorkersWakeFromSleep() {
        cxr_pool_set_spin_microseconds(50)
        defer { cxr_pool_set_spin_microseconds(300) }
        XCTAssertEqual(hits(loops: 300, count: 4, workers: 1, pauseEvery: 3), [Int](repeating: 1, count: 1200))
    }

    /// A loop from a second thread while the first thread's loops run, and loops inside a loop's items: each runs
    /// on its own thread alone, and every item still runs once.
    func testConcurrentAndNestedLoops() {
        ComputeThreads.set(2)
        let n = 400
        let outer = UnsafeMutablePointer<Int>.allocate(capacity: n * n)
        let other = UnsafeMutablePointer<Int>.allocate(capacity: n * n)
        outer.initialize(repeating: 0, count: n * n)
        other.initialize(repeating: 0, count: n * n)
        defer { outer.deallocate(); other.deallocate() }
        nonisolated(unsafe) let o = outer, t = other
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for r in 0..<n { Parallel.for(n) { t[r * n + $0] += 1 } }
            done.signal()
        }
        Parallel.for(n) { r in Parallel.for(n) { o[r * n + $0] += 1 } }
        done.wait()
        XCTAssertEqual(Array(UnsafeBufferPointer(start: outer, count: n * n)), [Int](repeating: 1, count: n * n))
        XCTAssertEqual(Array(UnsafeBufferPointer(start: other, count: n * n)), [Int](repeating: 1, count: n * n))
    }
}
