import XCTest
@testable import CXRImaging

final class SharpnessTests: XCTestCase {
    func testLaplacianVarianceAndRatio() throws {
        // A checkerboard of +-0.1 has Laplacian +-0.8 (x 255 grey levels): variance (0.8 * 255)^2.
        let w = 12
        let board = try GrayPlane(
            width: w, height: w, values: (0..<(w * w)).map { ($0 % w + $0 / w) % 2 == 0 ? 0.6 : 0.4 })
        XCTAssertEqual(ImageQuality.laplacianVariance(board), pow(0.8 * 255, 2), accuracy: 1e-6 * pow(0.8 * 255, 2))
        let flat = try GrayPlane(width: w, height: w, values: [Float](repeating: 0.5, count: w * w))
        XCTAssertEqual(ImageQuality.laplacianVariance(flat), 0)
        XCTAssertEqual(ImageQuality.sharpnessRatio(output: flat, input: board), 0)
        XCTAssertNil(ImageQuality.sharpnessRatio(output: board, input: flat))
        let ramp = try GrayPlane(width: w, height: w, values: (0..<(w * w)).map { Float($0 % w) / Float(w) })
        XCTAssertEqual(ImageQuality.laplacianVariance(ramp), 0, accuracy: 1e-6, "a linear ramp has no curvature")
    }
}
