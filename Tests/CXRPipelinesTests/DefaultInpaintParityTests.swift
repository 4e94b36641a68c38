import XCTest
import CXRCheckpoint
import CXRImaging
import CXRTensor
@testable import CXRPipelines

/// The bundled model's inpainting UNet (`unet-inpaint`, the one regional edits use) gives diffusers'
/// StableDiffusionInpaintPipeline image for the same seed (fixture: Tools/make_cxr_mini_parity.py, case "inpaint").
extension DefaultModelParityTests {
    func testRegionalUNetSameSeedSameImageAsDiffusers() throws {
        let model = try StableDiffusionModel.load(from: Self.modelURL)
        XCTAssertNotNil(try model.inpaintUNet, "Models/cxr-mini names an inpainting UNet in cxr-edit.json")
        let input = try ImageIO.read(Self.fixtures.appendingPathComponent("input.png"))
        let image = Tensor(shape: [1, 3, 256, 256], data: input.floatPixelsCHW(channels: 3))
        let mask = try Mask.read(Self.fixtures.appendingPathComponent("inpaint_mask.png"), size: (256, 256))
        let settings = DiffusionSettings(
            prompt: "Frontal chest radiograph. Severe cardiomegaly.", steps: 10, guidance: 7,
            seed: 3, strength: 0.8, unet: .inpaint)
        let result = try StableDiffusionPipeline(model: model).run(
            .inpaint(image: image, mask: Tensor(shape: [1, 1, 256, 256], data: mask.values)), settings: settings)
        try compare(result, "inpaint.safetensors", name: "inpaint (unet-inpaint)")
    }
}
