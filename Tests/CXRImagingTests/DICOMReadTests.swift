import Foundation
import XCTest
@testable import CXRImaging

/// DICOM reading (Tests/Fixtures/dicom, made by Tools/make_dicom_fixtures.py): every transfer syntax gives the same
/// pixels, the display transformations match DCMTK's own dcm2pnm, MONOCHROME1 shows like MONOCHROME2.
final class DICOMReadTests: XCTestCase {
    static let dir = Fixture.dir.deletingLastPathComponent().appendingPathComponent("dicom")
    static func url(_ name: String) -> URL { dir.appendingPathComponent(name) }

    func read(_ name: String) throws -> RasterImage { try ImageIO.read(Self.url(name)) }

    func testTransferSyntaxesDecodeToTheSamePixels() throws {
        let reference = try read("cr12_explicit.dcm")
        XCTAssertEqual(reference.width, 48)
        XCTAssertEqual(reference.height, 40)
        XCTAssertEqual(reference.channels, 1)
        XCTAssertEqual(reference.bitDepth, 16, "12 bits stored read as 16-bit grey")
        for name in [
            "cr12_implicit.dcm", "cr12_deflate.dcm", "cr12_bigendian.dcm", "cr12_jpeg_lossless.dcm",
            "cr12_jpegls.dcm", "cr12_rle.dcm",
        ] {
            XCTAssertEqual(try read(name), reference, name)
        }
    }

    func testRescaleAndFirstWindowMatchDCM2PNM() throws {
        XCTAssertEqual(try read("cr12_explicit.dcm"), try read("cr12_dcm2pnm.png"))
        // The window clips: the sample spans more than the first window in rescaled units.
        let image = try read("cr12_explicit.dcm")
        XCTAssertEqual(image.samples.min(), 0)
        XCTAssertEqual(image.samples.max(), 65535)
    }

    func testLossyJPEGLSAndBaselineMatchDCMTKReference() throws {
        XCTAssertEqual(try read("cr12_jpegls_near.dcm"), try read("cr12_jpegls_near_dcm2pnm.png"))
        XCTAssertEqual(try read("sc8_jpeg_baseline.dcm"), try read("sc8_jpeg_baseline_dcm2pnm.png"))
        let lossy = try read("sc8_jpeg_baseline.dcm"), original = try read("sc8.dcm")
        let totalDiff = zip(lossy.samples, original.samples).map { abs(Int($0) - Int($1)) }.reduce(0, +)
        let meanDiff = totalDiff / lossy.pixelCount
        XCTAssertLessThanOrEqual(meanDiff, 4)
    }

    func testEightBitDataStayEightBitWithMinMaxWindow() throws {
        let image = try read("sc8.dcm")
        XCTAssertEqual(image.bitDepth, 8)
        XCTAssertEqual(image, try read("sc8_dcm2pnm.png"))
    }

    func testSignedPixelsMatchDCM2PNM() throws {
        XCTAssertEqual(try read("dx12_signed.dcm"), try read("dx12_signed_dcm2pnm.png"))
    }

    func testVOILUTIsAppliedBeforeTheWindow() throws {
        XCTAssertEqual(try read("dx14_voilut.dcm"), try read("dx14_voilut_dcm2pnm.png"))
    }

    func testMonochrome1DisplaysLikeMonochrome2() throws {
        let one = try read("dx12_mono1.dcm"), two = try read("dx12_mono2.dcm")
        XCTAssertEqual(one, try read("dx12_mono1_dcm2pnm.png"))
        let worst = zip(one.samples, two.samples).map { abs(Int($0) - Int($1)) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, 1, "the inverted file with the mirrored window shows the same picture")
        // Bright stays bright: the mean is far from the inverted mean.
        let mean = { (i: RasterImage) in i.samples.map(Int.init).reduce(0, +) / i.pixelCount }
        XCTAssertLessThan(abs(mean(one) - mean(two)), 2)
    }

    func testContentNotExtensionDecides() throws {
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let renamed = dir.appendingPathComponent("radiograph.png")
        try FileManager.default.copyItem(at: Self.url("cr12_rle.dcm"), to: renamed)
        XCTAssertEqual(try ImageIO.read(renamed), try read("cr12_explicit.dcm"))
    }
}
