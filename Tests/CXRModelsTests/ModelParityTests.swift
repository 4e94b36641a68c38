import XCTest
import CXRCheckpoint
import CXRFiles
import CXRTensor
@testable import CXRModels

/// Parity of each network with diffusers/transformers on the tiny random-weight models that
/// Tools/make_model_fixtures.py writes (Tests/Fixtures/models) with their recorded outputs (Tests/Fixtures/parity).
final class ModelParityTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    func reference(_ model: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(url: Self.fixtures.appendingPathComponent("parity/\(model).safetensors"))
    }

    func component(_ model: String, _ name: String) -> URL {
        Self.fixtures.appendingPathComponent("models/\(model)/\(name)")
    }

    /// The safetensors weights file of a component (plain or `.fp16` variant).
    func weights(_ model: String, _ name: String) throws -> CheckpointWeights {
        let dir = component(model, name)
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.hasSuffix(".safetensors")
        }.sorted()
        guard let f = files.first else { throw XCTSkip("\(model)/\(name) has no safetensors file") }
        return CheckpointWeights(try SafeTensorsFile(url: dir.appendingPathComponent(f)))
    }

    func config(_ model: String, _ name: String) throws -> JSONConfig {
        try JSONConfig(contentsOf: component(model, name).appendingPathComponent("config.json"))
    }

    /// Error relative to the reference's scale: max |a - b| / max(1, max |b|).
    func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
        a.maxAbsDifference(b) / max(1, b.maxAbs)
    }

    func promptIDs(_ ref: SafeTensorsFile) throws -> [[Int]] {
        let info = try XCTUnwrap(ref.info("prompt_ids"))
        let flat: [Int] = try ref.withRawBytes("prompt_ids") { raw in
            (0..<info.count).map { Int(raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        }
        let l = info.shape[1]
        return (0..<info.shape[0]).map { Array(flat[($0 * l)..<(($0 + 1) * l)]) }
    }

    func checkTextEncoder(_ model: String) throws {
        let ref = try reference(model)
        let enc = try CLIPTextModel(
            config: CLIPTextConfig(config(model, "text_encoder")), weights: weights(model, "text_encoder"))
        let out = try enc(promptIDs(ref))
        let err = relativeError(out, try ref.tensor("text_hidden"))
        print("parity \(model) text_encoder: rel err \(err)")
        XCTAssertLessThan(err, 1e-4)
    }

    func checkUNet(_ model: String) throws {
        let ref = try reference(model)
        let unet = try UNet2DConditionModel(config: UNetConfig(config(model, "unet")), weights: weights(model, "unet"))
        let sample = try ref.tensor("unet_sample"), ctx = try ref.tensor("unet_context")
        for (key, ts) in [
            ("unet_out_t999", [Float(999)]), ("unet_out_t10", [Float(10)]), ("unet_out_mixed", [Float(999), 10]),
        ] {
            let out = unet(sample, timesteps: ts, context: ctx)
            let err = relativeError(out, try ref.tensor(key))
            print("parity \(model) \(key): rel err \(err)")
            XCTAssertLessThan(err, 1e-4, key)
        }
    }

    func checkVAE(_ model: String) throws {
        let ref = try reference(model)
        let vae = try AutoencoderKL(config: VAEConfig(config(model, "vae")), weights: weights(model, "vae"))
        let post = vae.encode(try ref.tensor("vae_image"))
        let errMean = relativeError(post.mean, try ref.tensor("vae_mean"))
        let errLogvar = relativeError(post.logvar, try ref.tensor("vae_logvar"))
        let dec = vae.decode(try ref.tensor("vae_latent_in"))
        let errDec = relativeError(dec, try ref.tensor("vae_decoded"))
        print("parity \(model) vae: mean \(errMean) logvar \(errLogvar) decode \(errDec)")
        XCTAssertLessThan(errMean, 1e-4)
        XCTAssertLessThan(errLogvar, 1e-4)
        XCTAssertLessThan(errDec, 1e-4)
    }

    func testSD1TextEncoder() throws { try checkTextEncoder("sd1-tiny") }
    func testSD2TextEncoder() throws { try checkTextEncoder("sd2-tiny") }
    func testSD1UNet() throws { try checkUNet("sd1-tiny") }
    func testSD2UNet() throws { try checkUNet("sd2-tiny") }
    func testSD1VAE() throws { try checkVAE("sd1-tiny") }
    func testSD2VAEStoredAsBF16() throws { try checkVAE("sd2-tiny") }
    func testInpaintVAE() throws { try checkVAE("sd1-inpaint-tiny") }

    func testTimestepFeaturesOrderIsCosThenSin() {
        let f = UNet2DConditionModel.timestepFeatures([0, 1], dim: 4, flipSinToCos: true, freqShift: 0)
        XCTAssertEqual(Array(f.data[0..<4]), [1, 1, 0, 0])
        XCTAssertEqual(f.data[4], cosf(1), accuracy: 1e-7)
        XCTAssertEqual(f.data[6], sinf(1), accuracy: 1e-7)
        XCTAssertEqual(f.data[5], cosf(expf(-logf(10000) / 2)), accuracy: 1e-6)
    }

    func testMissingWeightIsNamed() throws {
        let cfg = try CLIPTextConfig(config("sd1-tiny", "text_encoder"))
        XCTAssertThrowsError(try CLIPTextModel(config: cfg, weights: DictionaryWeights([:]))) { e in
            XCTAssertTrue("\(e)".contains("embeddings.token_embedding.weight"), "\(e)")
        }
    }

    func testUnsupportedUNetConfigIsRejected() throws {
        var values = try XCTUnwrap(config("sd1-tiny", "unet").value.object)
        values["class_embed_type"] = .string("timestep")
        XCTAssertThrowsError(try UNetConfig(JSONConfig(value: .object(values), file: "unet/config.json"))) { e in
            XCTAssertEqual("\(e)", "unet/config.json: unsupported: 'class_embed_type' is set (not an SD 1.x/2.x UNet)")
        }
    }
}
