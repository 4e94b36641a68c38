import Foundation
import XCTest
@testable import CXRImaging

/// JPEG 2000 and HTJ2K DICOM (decoded by OpenJPEG inside CDICOM): the lossless files give back the uncompressed
/// fixture's pixels exactly, the lossy ones stay within a stated tolerance, and a derived file written from a JPEG
/// 2000 source keeps its stored values. The hostile cases are in Tests/Fixtures/dicom/bad (DICOMBadInputTests).
final class DICOMJPEG2000Tests: XCTestCase {
    func read(_ name: String) throws -> RasterImage { try ImageIO.read(DICOMReadTests.url(name)) }

    func testLosslessJPEG2000GivesTheUncompressedPixels() throws {
        let reference = try read("cr12_explicit.dcm")
        // Raw codestream, split over three fragments, inside a JP2 wrapper, and HTJ2K (OpenJPEG 2.5 decodes it).
        for name in ["cr12_j2k_lossless.dcm", "cr12_j2k_fragments.dcm", "cr12_j2k_jp2.dcm", "cr12_htj2k_lossless.dcm"] {
            XCTAssertEqual(try read(name), reference, name)
        }
        XCTAssertEqual(try read("sc8_j2k_lossless.dcm"), try read("sc8.dcm"), "8 bits allocated")
    }

    /// The lossy files (9/7 wavelet at 2:1, HTJ2K at quantisation step 0.002) against the uncompressed picture, in
    /// the 16-bit display values the first window gives (one stored value is about 26 display steps there): the
    /// mean error stays under 0.5% of the range and no pixel is off by more than 2%.
    func testLossyJPEG2000StaysWithinTolerance() throws {
        let reference = try read("cr12_explicit.dcm")
        for name in ["cr12_j2k_lossy.dcm", "cr12_htj2k_lossy.dcm"] {
            let lossy = try read(name)
            XCTAssertEqual([lossy.width, lossy.height, lossy.bitDepth], [48, 40, 16], name)
            XCTAssertNotEqual(lossy, reference, "\(name) is lossy: some pixel differs")
            let errors = zip(lossy.samples, reference.samples).map { abs(Int($0) - Int($1)) }
            let mean = Double(errors.reduce(0, +)) / Double(errors.count)
            XCTAssertLessThan(mean, 0.005 * 65535, name)
            XCTAssertLessThanOrEqual(errors.max() ?? 0, 65535 / 50, name)
        }
    }

    func testDerivedFileFromJPEG2000KeepsTheStoredValuesUncompressed() throws {
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = DICOMReadTests.url("cr12_j2k_lossless.dcm")
        let out = dir.appendingPathComponent("derived.dcm")
        try ImageIO.write(try ImageIO.read(source), to: out, text: [("Software", "test")], source: source)
        let written = try Data(contentsOf: out)
        let original = try Data(contentsOf: DICOMReadTests.url("cr12_explicit.dcm"))
        let pixelBytes = 48 * 40 * 2
        XCTAssertEqual(written.suffix(pixelBytes), original.suffix(pixelBytes), "stored values bit for bit")
        XCTAssertNotNil(written.range(of: Data("1.2.840.10008.1.2.1\0".utf8)), "explicit VR little endian")
        XCTAssertEqual(try ImageIO.read(out), try read("cr12_explicit.dcm"))
    }

    /// Damaged codestreams inside well-formed DICOM (every truncation of the file, and each byte of the codestream
    /// inverted in turn, the fragment lengths left alone) decode or are refused in one line; none crash.
    func testDamagedCodestreamsDecodeOrAreRefusedInOneLine() throws {
        for name in ["cr12_j2k_lossless.dcm", "cr12_htj2k_lossless.dcm"] {
            let good = try Data(contentsOf: DICOMReadTests.url(name))
            var refused = 0
            func attempt(_ bytes: Data) {
                do {
                    let image = try ImageIO.decode(bytes, name: "damaged.dcm")
                    XCTAssertEqual([image.width, image.height], [48, 40], name)
                } catch let e as ImageError {
                    XCTAssertFalse(e.description.contains("\n"), "\(name): \(e)")
                    refused += 1
                } catch {
                    XCTFail("\(name): not an ImageError: \(error)")
                }
            }
            for cut in stride(from: 0, to: good.count, by: 53) { attempt(good.prefix(cut)) }
            // The codestream starts at its SOC marker and ends 8 bytes before the file (the sequence delimiter).
            let start = try XCTUnwrap(good.range(of: Data([0xFF, 0x4F, 0xFF, 0x51]))).lowerBound
            for i in stride(from: start, to: good.count - 8, by: 3) {
                var damaged = good
                damaged[i] ^= 0xFF
                attempt(damaged)
            }
            XCTAssertGreaterThan(refused, 50, name)
        }
    }
}
