import Foundation
import XCTest
@testable import CXRImaging

/// Choosing a DICOM window or VOI LUT (`DICOMWindow`, the CLI's --window): the N-th transformation counts VOI LUTs
/// first, then windows; min-max ignores the file's; a number the file does not have is one clear error; a derived
/// file written with the same window keeps the unedited stored values.
final class DICOMWindowTests: XCTestCase {
    func read(_ name: String, _ window: DICOMWindow) throws -> WindowedImage {
        try ImageIO.read(DICOMReadTests.url(name), window: window)
    }

    func testArgumentParsing() {
        XCTAssertEqual(DICOMWindow(argument: "2"), .number(2))
        XCTAssertEqual(DICOMWindow(argument: "minmax"), .minMax)
        XCTAssertEqual(DICOMWindow(argument: "MinMax"), .minMax)
        for bad in ["0", "-1", "x", "", "1.5"] { XCTAssertNil(DICOMWindow(argument: bad), bad) }
        XCTAssertEqual(DICOMWindow.number(3).description, "3")
        XCTAssertEqual(DICOMWindow.minMax.description, "minmax")
    }

    func testChosenWindowsMatchDCM2PNM() throws {
        let first = try read("cr12_explicit.dcm", .number(1))
        XCTAssertEqual(first.image, try ImageIO.read(DICOMReadTests.url("cr12_dcm2pnm.png")))
        XCTAssertEqual(first.image, try read("cr12_explicit.dcm", .automatic).image, "the default is the first")
        XCTAssertEqual(first.window, "window 1 of 2: center 3000 width 5000")
        XCTAssertEqual(first.windowCount, 2)
        let second = try read("cr12_explicit.dcm", .number(2))
        XCTAssertEqual(second.image, try ImageIO.read(DICOMReadTests.url("cr12_window2_dcm2pnm.png")))
        XCTAssertEqual(second.window, "window 2 of 2: center 2000 width 3000")
        let minMax = try read("cr12_explicit.dcm", .minMax)
        XCTAssertEqual(minMax.image, try ImageIO.read(DICOMReadTests.url("cr12_minmax_dcm2pnm.png")))
        XCTAssertTrue(minMax.window?.hasPrefix("min-max window: center ") == true, minMax.window ?? "nil")
        XCTAssertEqual(try read("cr12_j2k_lossless.dcm", .number(2)).image, second.image, "JPEG 2000 too")
    }

    func testVOILUTsComeBeforeWindows() throws {
        let lut = try read("dx14_voilut.dcm", .number(1))
        XCTAssertEqual(lut.window, "VOI LUT 1 of 2: GAMMA 0.6")
        XCTAssertEqual(lut.windowCount, 2)
        XCTAssertEqual(lut.image, try ImageIO.read(DICOMReadTests.url("dx14_voilut_dcm2pnm.png")))
        let window = try read("dx14_voilut.dcm", .number(2))
        XCTAssertEqual(window.window, "window 2 of 2: center 8000 width 4000")
        XCTAssertNotEqual(window.image, lut.image)
    }

    func testAWindowTheFileLacksIsOneLineNamingTheCount() throws {
        for (name, number, words) in [
            ("cr12_explicit.dcm", 3, ["window 3", "has 2", "choose 1-2"]),
            ("sc8.dcm", 1, ["no window or VOI LUT", "minmax"]),
        ] {
            XCTAssertThrowsError(try read(name, .number(number)), name) { error in
                guard let e = error as? ImageError else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(e.file, name)
                XCTAssertFalse(e.description.contains("\n"))
                for w in words { XCTAssertTrue(e.reason.contains(w), "\(name): \"\(e.reason)\" lacks \"\(w)\"") }
            }
        }
        XCTAssertEqual(try read("sc8.dcm", .minMax).image, try read("sc8.dcm", .automatic).image)
    }

    func testPNGHasNoWindowToChoose() throws {
        let png = DICOMReadTests.url("cr12_dcm2pnm.png")
        XCTAssertNil(try ImageIO.read(png, window: .automatic).window)
        XCTAssertThrowsError(try ImageIO.read(png, window: .number(1))) { error in
            XCTAssertTrue("\(error)".contains("not a DICOM file"), "\(error)")
        }
    }

    /// Written with the window it was read with, an unedited picture keeps every stored value; the file's own
    /// windows are left as they were (a chosen min-max window is not written over them).
    func testDerivedFileWithTheChosenWindowKeepsStoredValues() throws {
        let dir = try Fixture.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = DICOMReadTests.url("cr12_explicit.dcm")
        let original = try Data(contentsOf: source)
        let pixelBytes = 48 * 40 * 2
        for window in [DICOMWindow.number(2), .minMax] {
            let out = dir.appendingPathComponent("derived-\(window).dcm")
            let image = try ImageIO.read(source, window: window).image
            try ImageIO.write(image, to: out, text: [("Software", "test")], source: source, window: window)
            let written = try Data(contentsOf: out)
            XCTAssertEqual(written.suffix(pixelBytes), original.suffix(pixelBytes), "\(window)")
            XCTAssertNil(written.range(of: Data("CXR-EDIT MIN-MAX".utf8)), "\(window)")
            XCTAssertEqual(try ImageIO.read(out, window: window).image, image, "\(window)")
        }
    }
}
