import XCTest
import CXRCheckpoint
import CXRFiles
import CXRImaging
import CXRSchedulers
import CXRTensor
@testable import CXRPipelines

/// Whole-pipeline parity with diffusers (StableDiffusionPipeline, Img2Img, Inpaint) on the tiny models:
/// same seed => same decoded 8-bit image. Fixtures: Tools/make_pipeline_fixtures.py.
final class PipelineParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    static let pipelines = fixtures.appendingPathComponent("pipelines")
    nonisolated(unsafe) static var models: [String: StableDiffusionModel] = [:]

    func model(_ name: String) throws -> StableDiffusionModel {
        if let m = Self.models[name] { return m }
        let m = try StableDiffusionModel.load(from: Self.fixtures.appendingPathComponent("models/\(name)"))
        Self.models[name] = m
        return m
    }

    struct Case {
        let name: String, file: String, model: String, pipeline: String, prompt: String, negative: String
        let seed: UInt64, steps: Int, guidance: Double, eta: Double, strength: Double?, scheduler: String?
        let width: Int, height: Int
    }

    func cases() throws -> [Case] {
        let json = try JSONValue(contentsOf: Self.pipelines.appendingPathComponent("cases.json"))
        return try XCTUnwrap(json["cases"]?.array).map { c in
            Case(
                name: c["name"]!.string!, file: c["file"]!.string!, model: c["model"]!.string!,
                pipeline: c["pipeline"]!.string!, prompt: c["prompt"]!.string!,
                negative: c["negative_prompt"]?.string ?? "", seed: UInt64(c["seed"]!.int!), steps: c["steps"]!.int!,
                guidance: c["guidance"]!.double!, eta: c["eta"]?.double ?? 0, strength: c["strength"]?.double,
                scheduler: c["scheduler"]!.string! == "default" ? nil : c["scheduler_class"]!.string!,
                width: c["width"]!.int!, height: c["height"]!.int!)
        }
    }

    /// Runs one fixture case; returns (mean |diff|, max |diff|) in grey levels of the 8-bit RGB output.
    func run(_ c: Case) throws -> (mean: Double, max: Int, latentErr: Float) {
        let ref = try SafeTensorsFile(url: Self.pipelines.appendingPathComponent(c.file))
        let inputs = try SafeTensorsFile(url: Self.pipelines.appendingPathComponent("inputs.safetensors"))
        let m = try model(c.model)
        var s = DiffusionSettings(
            prompt: c.prompt, negativePrompt: c.negative, steps: c.steps, guidance: c.guidance,
            seed: c.seed, eta: c.eta, strength: c.strength ?? 1)
        if let cls = c.scheduler { s.scheduler = try XCTUnwrap(SchedulerKind(className: cls), cls) }
        if ref.contains("latents_in") { s.initialNoise = try ref.tensor("latents_in") }
        let task: DiffusionTask
        switch c.pipeline {
        case "txt2img": task = .generate(width: c.width, height: c.height)
        case "img2img": task = .edit(image: try inputs.tensor("init_image"))
        case "inpaint":
            task = .inpaint(image: try inputs.tensor("init_image"), mask: try inputs.tensor("mask_condition"))
        default: throw XCTSkip("unknown pipeline \(c.pipeline)")
        }
        let result = try StableDiffusionPipeline(model: m).run(task, settings: s)
        let latentRef = try ref.tensor("latents_final")
        let latentErr = result.latents.maxAbsDifference(latentRef) / max(1, latentRef.maxAbs)
        let img = try RasterImage(
            floatsCHW: result.image.data, width: c.width, height: c.height, channels: 3, bitDepth: 8)
        let expected: [UInt8] = try ref.withRawBytes("image_u8") { Array($0.bindMemory(to: UInt8.self)) }
        XCTAssertEqual(img.samples.count, expected.count)
        var sum = 0, worst = 0
        for (a, b) in zip(img.samples, expected) {
            let d = abs(Int(a) - Int(b))
            sum += d
            worst = max(worst, d)
        }
        return (Double(sum) / Double(expected.count), worst, latentErr)
    }

    func check(_ filter: (Case) -> Bool) throws {
        let selected = try cases().filter(filter)
        XCTAssertFalse(selected.isEmpty)
        for c in selected {
            let r = try run(c)
            print(
                String(
                    format: "pipeline parity %@: mean |diff| %.4f, max |diff| %d, latents rel err %.2e", c.name, r.mean,
                    r.max, r.latentErr))
            XCTAssertLessThanOrEqual(r.mean, 0.5, c.name)
            XCTAssertLessThanOrEqual(r.max, 4, c.name)
            XCTAssertLessThan(r.latentErr, 1e-3, c.name)
        }
    }

    func testTextToImageEveryScheduler() throws { try check { $0.pipeline == "txt2img" && $0.model == "sd1-tiny" } }
    func testTextToImageSD2() throws { try check { $0.pipeline == "txt2img" && $0.model == "sd2-tiny" } }
    func testImageToImage() throws { try check { $0.pipeline == "img2img" } }
    func testInpaintFourAndNineChannels() throws { try check { $0.pipeline == "inpaint" } }

    /// The image layer reads input.png exactly as diffusers' image processor (RGB, [-1, 1]).
    func testInputImageConversionMatchesDiffusers() throws {
        let inputs = try SafeTensorsFile(url: Self.pipelines.appendingPathComponent("inputs.safetensors"))
        let png = try ImageIO.read(Self.pipelines.appendingPathComponent("input.png"))
        let t = Tensor(shape: [1, 3, png.height, png.width], data: png.floatPixelsCHW(channels: 3))
        XCTAssertEqual(t.maxAbsDifference(try inputs.tensor("init_image")), 0)
    }
}
