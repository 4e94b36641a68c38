import XCTest
@testable import CXRImaging

/// The edit report's "how much else did it touch" figures (the probe's own metric tests cover SSIM/MS-SSIM).
final class ImageQualityTests: XCTestCase {
    func plane(_ f: (Int, Int) -> Float) throws -> GrayPlane {
        try GrayPlane(width: 32, height: 24, values: (0..<(32 * 24)).map { f($0 % 32, $0 / 32) })
    }

    func testChangedFractionCountsOnlyRealChangesInsideTheRegion() throws {
        let a = try plane { x, y in Float((x * 7 + y * 3) % 256) / 255 }
        // Right half changed strongly, left half by less than the 2% threshold.
        let b = try plane { x, y in
            x >= 16 ? 1 - Float((x * 7 + y * 3) % 256) / 255 : Float((x * 7 + y * 3) % 256) / 255 + 0.01
        }
        let left = try Mask(width: 32, height: 24, values: (0..<(32 * 24)).map { $0 % 32 < 16 ? 1 : 0 })
        XCTAssertEqual(try ImageQuality.changedFraction(a, b, inside: left), 0)
        XCTAssertGreaterThan(try ImageQuality.changedFraction(a, b), 0.45)
        XCTAssertEqual(try ImageQuality.changedFraction(a, a), 0)
    }

    func testPSNROfKnownErrorAndOutsideRegion() throws {
        let a = try plane { _, _ in 0.4 }, b = try plane { x, _ in x < 16 ? 0.5 : 0.4 }
        let right = try Mask(width: 32, height: 24, values: (0..<(32 * 24)).map { $0 % 32 < 16 ? 1 : 0 })
        XCTAssertEqual(try XCTUnwrap(ImageQuality.psnr(a, b, outside: right)), .infinity)
        XCTAssertEqual(try XCTUnwrap(ImageQuality.psnr(a, b)), 10 * log10(1 / (0.01 / 2)), accuracy: 1e-4)
    }
}
