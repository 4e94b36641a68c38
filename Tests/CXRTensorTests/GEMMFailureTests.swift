import Foundation
import XCTest
@testable import CXRTensor

/// A oneDNN call that fails is not silent: `sgemm` hands one line naming oneDNN's status and the shape to
/// `GEMMFailure`, whose handler in the executable removes the run's temporary files, prints the line and exits 1.
final class GEMMFailureTests: XCTestCase {
    /// What the failing thread reported.
    final class Report: @unchecked Sendable {
        var message: String?
        let received = DispatchSemaphore(value: 0)
    }

    func testFailingSGEMMReachesTheFailureHandler() {
        let previous = GEMMFailure.handler
        defer { GEMMFailure.handler = previous }
        let report = Report()
        GEMMFailure.handler = { message in
            report.message = message
            report.received.signal()
            // A handler must not return (the product was not computed): this thread stays parked.
            while true { sleep(3600) }
        }
        // oneDNN rejects a row stride shorter than a row of A (lda 2 for k = 8) instead of computing.
        Thread {
            let a = [Float](repeating: 1, count: 64)
            var c = [Float](repeating: 7, count: 16)
            c.withUnsafeMutableBufferPointer { cp in
                sgemm(m: 4, n: 4, k: 8, a: a, lda: 2, b: a, ldb: 4, c: cp.baseAddress!, ldc: 4)
            }
        }.start()
        XCTAssertEqual(report.received.wait(timeout: .now() + 30), .success, "no failure reported")
        XCTAssertEqual(report.message, "oneDNN sgemm failed (invalid_arguments) on a 4x8 by 8x4 product")
    }
}
