import CXRImaging
import Foundation
import XCTest

/// A diffusers folder whose tokenizer transformers 5 saved (tokenizer.json + tokenizer_config.json only, no
/// vocab.json/merges.txt) works wherever cxr-edit takes `--model`, with the same ids and images as before.
final class TokenizerJSONFolderTests: XCTestCase {
    /// sd1-tiny with vocab.json and merges.txt removed (its tokenizer.json is the one transformers saved).
    func jsonOnlyModel() throws -> URL {
        let model = try CLI.modelCopy(self)
        for name in ["vocab.json", "merges.txt", "special_tokens_map.json"] {
            try? FileManager.default.removeItem(at: model.appendingPathComponent("tokenizer/\(name)"))
        }
        XCTAssertEqual(
            CLI.listing(model.appendingPathComponent("tokenizer")),
            ["tokenizer.json", "tokenizer_config.json"])
        return model
    }

    func testEveryModelCommandLoadsATokenizerJSONFolder() throws {
        let model = try jsonOnlyModel()
        let prompt = "Large right pleural effusion. NO pneumothorax!!"

        let info = try CLI.run(["info", model.path])
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("tokenizer: CLIP BPE"), info.stdout)

        let ours = try CLI.run(["tokenize", "--model", model.path, prompt])
        let original = try CLI.run(["tokenize", "--model", CLI.sd1.path, prompt])
        XCTAssertEqual(ours.status, 0, ours.stderr)
        XCTAssertEqual(ours.stdout, original.stdout, "same ids as the vocab.json/merges.txt folder")

        let out = try CLI.tempDir(self)
        for (folder, tag) in [(model, "json"), (CLI.sd1, "vocab")] {
            let g = try CLI.run([
                "generate", "--model", folder.path, "--prompt", prompt, "--steps", "2", "--seed", "3",
                "-o", out.appendingPathComponent("g-\(tag).png").path, "--quiet",
            ])
            XCTAssertEqual(g.status, 0, g.stderr)
            let e = try CLI.run([
                "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", folder.path,
                "--prompt", prompt, "--steps", "2", "--seed", "3",
                "-o", out.appendingPathComponent("e-\(tag).png").path, "--quiet",
            ])
            XCTAssertEqual(e.status, 0, e.stderr)
        }
        // Same tokenizer, same weights, same seed: the same pixels (the PNG text chunks name the model folder).
        for kind in ["g", "e"] {
            let a = try ImageIO.read(out.appendingPathComponent("\(kind)-json.png")).samples
            let b = try ImageIO.read(out.appendingPathComponent("\(kind)-vocab.png")).samples
            XCTAssertEqual(a, b, "\(kind): pixels differ between the two tokenizer layouts")
        }

        let bench = try CLI.run([
            "bench", "--model", model.path, "--size", "64", "--steps", "1", "--only", "text,unet",
            "--json",
        ])
        XCTAssertEqual(bench.status, 0, bench.stderr)
        XCTAssertTrue(bench.stdout.contains("\"text_encode_s\""), bench.stdout)
    }
}
