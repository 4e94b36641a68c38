import CXRImaging
import XCTest

@testable import CXRPipelines

/// A model's UNets are built on first use: an edit builds the one it runs and never the other, with the same
/// result as when both were built at load.
final class LazyUNetTests: XCTestCase {
    func testEditsBuildOnlyTheUNetTheyRun() throws {
        let folder = try ImageEditorTests.twoUNetFolder(self)
        let original = try ImageEditorTests.image(width: 64, height: 48, bitDepth: 8)
        let region = try ImageEditorTests.rect(64, 48, x: 20..<44, y: 10..<30)

        let whole = try StableDiffusionModel.load(from: folder)
        XCTAssertFalse(whole.standardUNet.isBuilt)
        XCTAssertEqual(try XCTUnwrap(whole.inpaintingUNet).isBuilt, false)
        XCTAssertTrue(whole.hasInpaintingUNet, "known from the config alone")
        let global = EditRequest(image: original, prompt: "Cardiomegaly.", seed: 3, steps: 4, guidance: 4)
        let globalOut = try ImageEditor(model: whole).edit(global)
        XCTAssertEqual(globalOut.unet, .standard)
        XCTAssertTrue(whole.standardUNet.isBuilt)
        XCTAssertEqual(try XCTUnwrap(whole.inpaintingUNet).isBuilt, false, "a whole-image edit never builds it")

        let masked = try StableDiffusionModel.load(from: folder)
        let regional = EditRequest(
            image: original, prompt: "Right pleural effusion.", editMask: region, seed: 3, steps: 4, guidance: 4)
        let regionalOut = try ImageEditor(model: masked).edit(regional)
        XCTAssertEqual(regionalOut.unet, .inpaint)
        XCTAssertEqual(try XCTUnwrap(masked.inpaintingUNet).isBuilt, true)
        XCTAssertFalse(masked.standardUNet.isBuilt, "a masked edit with the inpainting UNet never builds unet/")

        // Built late or early, the UNets give the same pixels.
        let both = try StableDiffusionModel.load(from: folder)
        _ = try both.unet
        _ = try both.inpaintUNet
        let editor = ImageEditor(model: both)
        XCTAssertEqual(try editor.edit(global).image, globalOut.image)
        XCTAssertEqual(try editor.edit(regional).image, regionalOut.image)
    }
}
