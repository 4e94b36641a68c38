import Foundation
import XCTest

/// The model hash in provenance (and in probe/synthesize fingerprints) describes the bytes actually read
/// (issue 18, item 3): weights reached through a symbolic link and changed in place kept their old hash, because
/// the hash cache was keyed by the link's size and time.
final class ModelHashTests: XCTestCase {
    func modelHash(_ model: URL, out: URL) throws -> String {
        let png = out.appendingPathComponent("g.png")
        try? FileManager.default.removeItem(at: png)
        let g = try CLI.run([
            "generate", "--model", model.path, "--prompt", "x", "--steps", "1", "-o", png.path, "--quiet",
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        let r = try CLI.run(["provenance", "--json", png.path])
        let obj = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
        return try XCTUnwrap(obj["cxr-edit:model-sha256"], r.stdout)
    }

    func testWeightsBehindALinkChangedInPlaceGetANewHash() throws {
        let out = try CLI.tempDir(self)
        let model = try CLI.modelCopy(self)
        let store = try CLI.tempDir(self, "store").appendingPathComponent("unet.safetensors")
        let weights = model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")
        try FileManager.default.moveItem(at: weights, to: store)
        try FileManager.default.createSymbolicLink(at: weights, withDestinationURL: store)
        let before = try modelHash(model, out: out)
        XCTAssertEqual(try modelHash(model, out: out), before, "the same bytes hash the same")
        try NonFiniteModelTests.patch(store, tensor: "conv_out.bias", with: 0.125)
        XCTAssertNotEqual(try modelHash(model, out: out), before, "changed weights behind the link kept the old hash")
    }
}
