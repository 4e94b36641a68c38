import XCTest
@testable import CXRImaging

final class ImageMetricsTests: XCTestCase {
    func image(_ f: (Int, Int) -> Int) throws -> RasterImage {
        try RasterImage(width: 32, height: 24, channels: 1, bitDepth: 8,
                        samples: (0..<(32 * 24)).map { UInt16(f($0 % 32, $0 / 32)) })
    }

    func testIdenticalImages() throws {
        let a = try image { x, y in (x * 7 + y * 3) % 256 }
        XCTAssertEqual(try ImageMetrics.psnr(a, a), .infinity)
        XCTAssertEqual(try ImageMetrics.ssim(a, a), 1, accuracy: 1e-12)
        XCTAssertEqual(try ImageMetrics.changedFraction(a, a), 0)
    }

    func testRegionRestrictsTheComparison() throws {
        let a = try image { x, y in (x * 7 + y * 3) % 256 }
        // Change only the right half, strongly.
        let b = try image { x, y in x >= 16 ? 255 - (x * 7 + y * 3) % 256 : (x * 7 + y * 3) % 256 }
        let left = (0..<(32 * 24)).map { $0 % 32 < 16 }
        XCTAssertEqual(try ImageMetrics.psnr(a, b, region: left), .infinity)
        XCTAssertEqual(try ImageMetrics.changedFraction(a, b, region: left), 0)
        XCTAssertLessThan(try ImageMetrics.psnr(a, b), 20)
        XCTAssertGreaterThan(try ImageMetrics.changedFraction(a, b), 0.4)
        XCTAssertLessThan(try ImageMetrics.ssim(a, b), 0.8)
    }

    func testPSNROfKnownError() throws {
        let a = try image { _, _ in 100 }, b = try image { _, _ in 110 }
        // MSE = (10/255)^2 => PSNR = 20 log10(255/10)
        XCTAssertEqual(try ImageMetrics.psnr(a, b), 20 * log10(25.5), accuracy: 1e-9)
    }
}
