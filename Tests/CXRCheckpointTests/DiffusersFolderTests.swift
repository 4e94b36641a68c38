import Foundation
import XCTest
@testable import CXRCheckpoint
import CXRTensor

final class DiffusersFolderTests: XCTestCase {
    func testTinyFolder() throws {
        let exp = try Fixtures.expected()
        let m = try DiffusersFolder(url: Fixtures.url("diffusers_tiny"))
        XCTAssertEqual(m.className, "StableDiffusionPipeline")
        XCTAssertEqual(m.diffusersVersion, "0.30.0")
        XCTAssertEqual(
            m.componentNames,
            ["feature_extractor", "safety_checker", "scheduler", "text_encoder", "tokenizer", "unet", "vae"])
        XCTAssertEqual(
            m.components["unet"], .init(name: "unet", library: "diffusers", className: "UNet2DConditionModel"))
        XCTAssertEqual(m.components["safety_checker"]?.library, nil)

        let unetCfg = try m.config("unet")
        XCTAssertEqual(try unetCfg.int("in_channels"), 4)
        XCTAssertEqual(try unetCfg.intArray("block_out_channels"), [32, 64])
        XCTAssertEqual(try unetCfg.double("norm_eps"), 1e-5)
        XCTAssertNil(try unetCfg.optString("class_embed_type"))
        XCTAssertEqual(try m.config("scheduler").string("beta_schedule"), "scaled_linear")
        XCTAssertEqual(try m.config("tokenizer").int("model_max_length"), 77)

        // Plain file preferred; variant on request.
        let unet = try m.weights("unet")
        XCTAssertEqual(unet.file(of: "conv_in.weight")?.lastPathComponent, "diffusion_pytorch_model.safetensors")
        assertBitwiseEqual(try unet.tensor("conv_in.weight").data, exp["conv.weight"]!.f32, "unet f32")
        let unet16 = try m.weights("unet", variant: "fp16")
        XCTAssertEqual(unet16.file(of: "conv_in.weight")?.lastPathComponent, "diffusion_pytorch_model.fp16.safetensors")
        assertBitwiseEqual(try unet16.tensor("conv_in.weight").data, exp["conv.weight"]!.f16, "unet f16")

        // Only an fp16 variant exists: used automatically.
        let vae = try m.weights("vae")
        XCTAssertEqual(m.weightsFile("vae")?.lastPathComponent, "diffusion_pytorch_model.fp16.safetensors")
        XCTAssertEqual(vae.names, ["decoder.conv_out.bias"])
        assertBitwiseEqual(try vae.tensor("decoder.conv_out.bias").data, Array(exp["conv.bias"]!.f16.prefix(3)), "vae")

        // Sharded checkpoint through its index.
        let te = try m.weights("text_encoder")
        XCTAssertEqual(
            te.names, ["extra.scalar", "text_model.final_layer_norm.bias", "text_model.final_layer_norm.weight"])
        XCTAssertEqual(
            te.file(of: "text_model.final_layer_norm.weight")?.lastPathComponent, "model-00001-of-00002.safetensors")
        XCTAssertEqual(te.file(of: "extra.scalar")?.lastPathComponent, "model-00002-of-00002.safetensors")
        assertBitwiseEqual(try te.tensor("text_model.final_layer_norm.weight").data, exp["norm.weight"]!.f32, "te")
        XCTAssertEqual(try te.tensor("extra.scalar").shape, [])
        XCTAssertEqual(te.info("extra.scalar")?.dtype, .f32)
        assertCheckpointError("model-0000", kind: .missing) { _ = try te.tensor("nope") }
    }

    func testBrokenFolder() throws {
        let m = try DiffusersFolder(url: Fixtures.url("diffusers_broken"))
        assertCheckpointError(
            "diffusers_broken/unet", kind: .missing,
            contains: "no weights file (looked for diffusion_pytorch_model.safetensors"
        ) {
            _ = try m.weights("unet")
        }
        assertCheckpointError("unet/config.json", kind: .malformed, contains: "'in_channels' should be an integer") {
            _ = try m.config("unet").int("in_channels")
        }
        assertCheckpointError("vae/config.json", kind: .malformed, contains: "invalid JSON") { _ = try m.config("vae") }
        assertCheckpointError("model.safetensors.index.json", kind: .malformed, contains: "not a plain file name") {
            _ = try m.weights("text_encoder")
        }
        assertCheckpointError("diffusers_broken/scheduler", kind: .missing, contains: "component folder is missing") {
            _ = try m.config("scheduler")
        }
        assertCheckpointError("model_index.json", kind: .missing) { _ = try DiffusersFolder(url: Fixtures.dir) }
        assertCheckpointError("nowhere", kind: .missing) { _ = try DiffusersFolder(url: Fixtures.url("nowhere")) }
    }

    func testWeightStoreRejectsDuplicateNamesAcrossFiles() throws {
        let a = try SafeTensorsFile(url: Fixtures.url("tiny_f32.safetensors"))
        let b = try SafeTensorsFile(url: Fixtures.url("tiny_f16.safetensors"))
        assertCheckpointError("tiny_f16.safetensors", kind: .malformed, contains: "also appears in") {
            _ = try WeightStore(sources: [(a.url, a), (b.url, b)])
        }
    }
}
