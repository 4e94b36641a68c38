import XCTest
import CXRCheckpoint
import CXRImaging
import CXRTensor
@testable import CXRPipelines

/// The bundled default model gives diffusers' image for the same seed (fixtures: Tools/make_cxr_mini_parity.py).
final class DefaultModelParityTests: XCTestCase {
    static let tests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    static let fixtures = tests.appendingPathComponent("Fixtures/cxr-mini")
    static let modelURL = tests.deletingLastPathComponent().appendingPathComponent("Models/cxr-mini")

    func compare(_ result: DiffusionResult, _ file: String, name: String) throws {
        let ref = try SafeTensorsFile(url: Self.fixtures.appendingPathComponent(file))
        let expected: [UInt8] = try ref.withRawBytes("image_u8") { Array($0.bindMemory(to: UInt8.self)) }
        let img = try RasterImage(
            floatsCHW: result.image.data, width: result.image.dim(3), height: result.image.dim(2),
            channels: 3, bitDepth: 8)
        XCTAssertEqual(img.samples.count, expected.count)
        var sum = 0, worst = 0
        for (a, b) in zip(img.samples, expected) {
            let d = abs(Int(a) - Int(b))
            sum += d
            worst = max(worst, d)
        }
        let mean = Double(sum) / Double(expected.count)
        print(String(format: "cxr-mini parity %@: mean |diff| %.4f, max |diff| %d", name, mean, worst))
        XCTAssertLessThanOrEqual(mean, 0.5, name)
        XCTAssertLessThanOrEqual(worst, 4, name)
    }

    func testSameSeedSameImageAsDiffusers() throws {
        let model = try StableDiffusionModel.load(from: Self.modelURL)
        let pipe = StableDiffusionPipeline(model: model)
        let t2i = try pipe.run(
            .generate(width: 256, height: 256),
            settings: DiffusionSettings(
                prompt: "65 year old male. PA chest radiograph. Small right pleural effusion.",
                steps: 8, guidance: 7, seed: 11))
        try compare(t2i, "txt2img.safetensors", name: "txt2img")
        let input = try ImageIO.read(Self.fixtures.appendingPathComponent("input.png"))
        let image = Tensor(shape: [1, 3, 256, 256], data: input.floatPixelsCHW(channels: 3))
        let i2i = try pipe.run(
            .edit(image: image),
            settings: DiffusionSettings(prompt: "Cardiomegaly.", steps: 8, guidance: 7, seed: 5, strength: 0.5))
        try compare(i2i, "img2img.safetensors", name: "img2img")
    }
}
