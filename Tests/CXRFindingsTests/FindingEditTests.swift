import CXRFindings
import CXRImaging
import Foundation
import XCTest

/// `FindingEdit`, the one resolution of findings and regions: the area rules that `cxr-edit edit` and the probe
/// share, and problems typed so that each caller names its own flags or keys.
final class FindingEditTests: XCTestCase {
    func testAreaComesFromRegionsThenMaskThenExtentsThenWholeImage() throws {
        let effusion = FindingEdit(adds: ["effusion"], sides: ["right"], severities: ["large"])
        let extents = try effusion.resolve()
        XCTAssertEqual(extents.areaSource, .extents)
        XCTAssertEqual(extents.regions.editDescription, "right-cp-angle+right-lower-zone+right-middle-zone(grow 18)")
        XCTAssertEqual(extents.nullPrompt, EditSpec.defaultBasePrompt)

        var named = effusion
        named.regions = ["heart"]
        XCTAssertEqual(try named.resolve().areaSource, .named)
        XCTAssertEqual(try named.resolve().regions.editDescription, "heart")

        var automatic = effusion
        automatic.regions = ["AUTO", "heart"]
        let both = try automatic.resolve()
        XCTAssertEqual(both.areaSource, .extents)
        XCTAssertEqual(both.regions.edit.last, ExtentArea(regions: ["heart"], grow: 0))

        var masked = effusion
        masked.editMaskFile = "m.png"
        XCTAssertEqual(try masked.resolve().areaSource, .maskFile)
        XCTAssertTrue(try masked.resolve().regions.isEmpty)

        var global = effusion
        global.wholeImage = true
        XCTAssertEqual(try global.resolve().areaSource, .wholeImage)

        let prompt = try FindingEdit(prompt: "Cardiomegaly.", negativePrompt: "blurry").resolve()
        XCTAssertEqual(prompt.areaSource, .wholeImage)
        XCTAssertEqual(prompt.prompt, "Cardiomegaly.")
        XCTAssertEqual(prompt.nullNegativePrompt, "blurry")
    }

    func testProblemsAreTyped() throws {
        func problem(_ edit: FindingEdit) -> FindingsError.Problem? {
            do {
                _ = try edit.resolve()
                return nil
            } catch {
                return (error as? FindingsError)?.problem
            }
        }
        XCTAssertEqual(problem(FindingEdit(dilate: 2000)), .dilationOutOfRange(pixels: 2000))
        XCTAssertEqual(
            problem(FindingEdit(regions: ["heart"], wholeImage: true)), .areaGivenTwice(.wholeImage, .named))
        XCTAssertEqual(
            problem(FindingEdit(wholeImage: true, editMaskFile: "m.png")), .areaGivenTwice(.wholeImage, .maskFile))
        XCTAssertEqual(
            problem(FindingEdit(regions: ["heart"], editMaskFile: "m.png")), .areaGivenTwice(.named, .maskFile))
        XCTAssertEqual(problem(FindingEdit(adds: ["effusion"], sides: ["up"])), .unknownSide(word: "up"))
        XCTAssertEqual(problem(FindingEdit(prompt: "x", severities: ["large"])), .qualifierWithoutFinding)
        XCTAssertEqual(
            problem(FindingEdit(adds: ["effusion"], sides: ["left", "right"])),
            .qualifierCountMismatch(.side, given: 2, findings: 1, action: .add))
        XCTAssertEqual(problem(FindingEdit(prompt: "x", regions: ["auto"])), .automaticRegionWithoutFinding)
        XCTAssertEqual(problem(FindingEdit(prompt: "x", dilate: 4)), .dilationWithoutRegion(.wholeImage))
        XCTAssertEqual(
            problem(FindingEdit(prompt: "x", editMaskFile: "m.png", dilate: 4)), .dilationWithoutRegion(.maskFile))
    }

    func testPlacingReadsMaskFilesAndRefusesAnEmptyOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("finding-edit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let image = try RasterImage(
            width: 8, height: 8, channels: 1, bitDepth: 8, samples: Array(repeating: 100, count: 64))
        let white = dir.appendingPathComponent("white.png")
        let black = dir.appendingPathComponent("black.png")
        for (url, value): (URL, UInt16) in [(white, 255), (black, 0)] {
            let mask = try RasterImage(
                width: 8, height: 8, channels: 1, bitDepth: 8, samples: Array(repeating: value, count: 64))
            try ImageIO.writePNG(mask, to: url)
        }
        let placed = try FindingEdit(prompt: "x", editMaskFile: white.path, keepMaskFiles: [black.path]).resolve()
            .place(on: image)
        XCTAssertEqual(placed.edit?.coverage, 1)
        XCTAssertEqual(placed.keep?.coverage, 0)
        XCTAssertNil(placed.fit, "a mask file needs no atlas fit")
        XCTAssertThrowsError(try FindingEdit(prompt: "x", editMaskFile: black.path).resolve().place(on: image)) {
            XCTAssertEqual(($0 as? FindingsError)?.problem, .emptyMask(file: black.path))
        }
    }
}
