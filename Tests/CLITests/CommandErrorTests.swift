import Foundation
import XCTest

/// Wrong options, missing files, existing outputs and broken model folders, command by command.
final class CommandErrorTests: XCTestCase {
    let grey8 = CLI.bad.appendingPathComponent("ok/grey8.png").path

    func edit(_ extra: [String], out: URL, model: String = CLI.sd1.path, input: String? = nil) throws -> CLI.Result {
        try CLI.run(
            [
                "edit", input ?? grey8, "--model", model, "--prompt", "Small left pleural effusion.", "--steps", "2",
                "--quiet",
            ] + extra + (extra.contains("-o") ? [] : ["-o", out.appendingPathComponent("o.png").path]))
    }

    func testEditValueErrors() throws {
        let out = try CLI.tempDir(self)
        let cases: [([String], [String])] = [
            (["--strength", "1.5"], ["--strength", "1.5"]),
            (["--strength", "0"], ["--strength"]),
            (["--strength", "nan"], ["--strength"]),
            (["--steps", "0"], ["--steps", "0"]),
            (["--steps", "100000"], ["--steps"]),
            (["--guidance=-1"], ["--guidance"]),
            (["--eta", "2"], ["--eta"]),
            (["--margin=-3"], ["--margin"]),
            (["--global", "--region", "heart"], ["--global", "--region"]),
            (["--dilate", "4"], ["--dilate"]),
            (["--threads", "0"], ["--threads"]),
            (["--precision", "fp16"], ["--precision", "fp16"]),
            (["--vae-tiling", "sometimes"], ["--vae-tiling", "sometimes"]),
            (["--scheduler", "nonsense"], ["unknown scheduler", "nonsense"]),
            (["--prompt", "   "], ["--prompt"]),
            (["--prompt", "\n\t\r\n"], ["--prompt", "blank"]),
        ]
        for (args, matches) in cases {
            CLI.assertFails(try edit(args, out: out), matches: matches, dir: out, before: [], "edit \(args)")
        }
    }

    func testEditFileErrors() throws {
        let out = try CLI.tempDir(self)
        let missing = out.appendingPathComponent("nope.png").path
        CLI.assertFails(
            try edit([], out: out, input: missing), matches: ["nope.png"], dir: out, before: [], "missing input")
        CLI.assertFails(
            try edit([], out: out, input: out.path), matches: ["directory"], dir: out, before: [], "folder as input")
        CLI.assertFails(
            try edit(["--mask", missing], out: out), matches: ["nope.png"], dir: out, before: [], "missing mask")
        CLI.assertFails(
            try edit(["--noise", out.appendingPathComponent("n.npy").path], out: out), matches: ["n.npy"],
            dir: out, before: [], "missing noise file")
        CLI.assertFails(
            try edit([], out: out, model: out.appendingPathComponent("no-model").path), matches: ["no-model"],
            dir: out, before: [], "missing model folder")
        CLI.assertFails(
            try edit(["-o", out.appendingPathComponent("missing-dir/o.png").path], out: out),
            matches: ["missing-dir", "does not exist"], dir: out, before: [], "output folder missing")
        CLI.assertFails(
            try edit(["-o", out.appendingPathComponent("o.jpg").path], out: out), matches: ["o.jpg", "png"],
            dir: out, before: [], "non-PNG output name")
        // Size limits judge what a symbolic link points to, before reading: a link to a 600 MiB (sparse) file.
        let src = try CLI.tempDir(self, "src")
        let big = src.appendingPathComponent("big.bin")
        _ = FileManager.default.createFile(atPath: big.path, contents: nil)
        let h = try FileHandle(forWritingTo: big)
        try h.truncate(atOffset: 600 << 20)
        try h.close()
        let link = src.appendingPathComponent("link.png")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: big)
        let t0 = Date()
        CLI.assertFails(
            try edit([], out: out, input: link.path), matches: ["link.png", "exceeds the limit"], dir: out,
            before: [], "symlink to a huge file")
        XCTAssertLessThan(Date().timeIntervalSince(t0), 5, "the huge file was read before the limit was applied")
        CLI.assertFails(
            try edit([], out: out, input: "/dev/zero"), matches: ["zero", "not a regular file"], dir: out,
            before: [], "a device as input")
    }

    func testOutputExistsIsRefusedUnlessOverwrite() throws {
        let out = try CLI.tempDir(self)
        let target = out.appendingPathComponent("o.png")
        let sentinel = Data("not overwritten".utf8)
        try sentinel.write(to: target)
        CLI.assertFails(
            try edit([], out: out), matches: ["o.png", "--overwrite"], dir: out, before: ["o.png"], "existing output")
        XCTAssertEqual(try Data(contentsOf: target), sentinel)
        let r = try edit(["--overwrite"], out: out)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(CLI.listing(out), ["o.png"])
        XCTAssertNotEqual(try Data(contentsOf: target), sentinel)
    }

    func testUsageErrorsExitTwo() throws {
        let out = try CLI.tempDir(self)
        CLI.assertUsageError(
            try edit(["--steps", "many"], out: out), mentions: "--steps", dir: out, "non-numeric --steps")
        CLI.assertUsageError(
            try edit(["--no-such-option"], out: out), mentions: "--no-such-option", dir: out, "unknown option")
        CLI.assertUsageError(try edit(["--detail", "maybe"], out: out), mentions: "--detail", dir: out, "bad --detail")
        CLI.assertUsageError(try edit(["--unet", "big"], out: out), mentions: "--unet", dir: out, "bad --unet")
        CLI.assertUsageError(try CLI.run(["info"]), mentions: "MODEL_DIR", dir: out, "info without folder")
        CLI.assertUsageError(
            try CLI.run(["generate", "--count", "x"]), mentions: "--count", dir: out, "generate --count x")
        // bench printed a raw CommandError(...) dump with exit 1 for these (issue 18).
        for args in [["--size", "7"], ["--steps", "0"], ["--only", "gpu"], ["--threads", "0"]] {
            let r = try CLI.run(["bench"] + args)
            CLI.assertUsageError(r, mentions: args[0], dir: out, "bench \(args.joined(separator: " "))")
            XCTAssertFalse(r.stderr.contains("CommandError"), r.stderr)
        }
    }

    func testGenerateErrors() throws {
        let out = try CLI.tempDir(self)
        func gen(_ extra: [String]) throws -> CLI.Result {
            try CLI.run(
                [
                    "generate", "--model", CLI.sd1.path, "--steps", "2", "--quiet", "-o",
                    out.appendingPathComponent("g.png").path,
                ] + extra)
        }
        CLI.assertFails(try gen([]), matches: ["--prompt"], dir: out, before: [], "generate without prompt")
        CLI.assertFails(
            try gen(["--prompt", "x", "--count", "0"]), matches: ["--count"], dir: out, before: [], "--count 0")
        CLI.assertFails(
            try gen(["--prompt", "x", "--steps", "0"]), matches: ["--steps"], dir: out, before: [], "--steps 0")
        CLI.assertFails(
            try gen(["--prompt", "x", "--width", "60"]), matches: ["60"], dir: out, before: [],
            "width not a multiple of 8")
        CLI.assertFails(
            try gen(["--prompt", "x", "--width=-64"]), matches: ["-64"], dir: out, before: [], "negative width")
        CLI.assertFails(
            try gen(["--prompt", "x", "--height", "1000000000"]), matches: ["1000000000"], dir: out, before: [],
            "absurd height must be refused before allocation")
        try Data("x".utf8).write(to: out.appendingPathComponent("g-2.png"))
        CLI.assertFails(
            try gen(["--prompt", "x", "--count", "3"]), matches: ["g-2.png"], dir: out, before: ["g-2.png"],
            "one of the numbered outputs exists")
    }

    func testInfoBrokenFolders() throws {
        let out = try CLI.tempDir(self)
        CLI.assertFails(
            try CLI.run(["info", out.appendingPathComponent("absent").path]), matches: ["absent"], "missing folder")
        CLI.assertFails(
            try CLI.run(["info", out.path]), matches: ["model_index.json"], "folder without model_index.json")
        CLI.assertFails(
            try CLI.run(["info", CLI.bad.appendingPathComponent("ok/grey8.png").path]), matches: ["grey8.png"],
            "a file instead of a folder")
        for component in ["vae", "unet", "text_encoder", "tokenizer", "scheduler"] {
            let model = try CLI.modelCopy(self)
            try FileManager.default.removeItem(at: model.appendingPathComponent(component))
            CLI.assertFails(try CLI.run(["info", model.path]), matches: [component], "info without \(component)")
            CLI.assertFails(
                try edit([], out: out, model: model.path), matches: [component], dir: out, before: [],
                "edit without \(component)")
        }
        // Missing weights, truncated weights, an oversized (sparse) config.
        let model = try CLI.modelCopy(self)
        let weights = model.appendingPathComponent("unet/diffusion_pytorch_model.safetensors")
        try FileManager.default.removeItem(at: weights)
        CLI.assertFails(
            try CLI.run(["info", model.path]), matches: ["unet", "no weights file"], "missing unet weights")
        try FileManager.default.copyItem(
            at: CLI.sd1.appendingPathComponent("unet/diffusion_pytorch_model.safetensors"), to: weights)
        let h = try FileHandle(forWritingTo: weights)
        try h.truncate(atOffset: 100_000)
        try h.close()
        CLI.assertFails(
            try CLI.run(["info", model.path]), matches: ["diffusion_pytorch_model.safetensors", "truncated"],
            "truncated unet weights")
        CLI.assertFails(
            try edit([], out: out, model: model.path), matches: ["diffusion_pytorch_model.safetensors"],
            dir: out, before: [], "edit with truncated unet weights")
        let fresh = try CLI.modelCopy(self)
        let vaeConfig = fresh.appendingPathComponent("vae/config.json")
        try FileManager.default.removeItem(at: vaeConfig)
        _ = FileManager.default.createFile(atPath: vaeConfig.path, contents: nil)
        let c = try FileHandle(forWritingTo: vaeConfig)
        try c.truncate(atOffset: 64 << 20)  // sparse: 64 MiB of zeros
        try c.close()
        CLI.assertFails(try CLI.run(["info", fresh.path]), matches: ["config.json", "limit"], "64 MiB config")
        // The same through a symbolic link, and a link to a device.
        try FileManager.default.moveItem(at: vaeConfig, to: fresh.appendingPathComponent("big.json"))
        try FileManager.default.createSymbolicLink(
            at: vaeConfig, withDestinationURL: fresh.appendingPathComponent("big.json"))
        CLI.assertFails(
            try CLI.run(["info", fresh.path]), matches: ["config.json", "limit"], "symlink to a 64 MiB config")
        try FileManager.default.removeItem(at: vaeConfig)
        try FileManager.default.createSymbolicLink(at: vaeConfig, withDestinationURL: URL(fileURLWithPath: "/dev/zero"))
        CLI.assertFails(
            try CLI.run(["info", fresh.path]), matches: ["config.json", "not a regular file"],
            "config linked to /dev/zero")
    }

    func testTokenize() throws {
        let r = try CLI.run(["tokenize", "--model", CLI.sd1.path, "Small right apical pneumothorax."])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout.split(separator: " ").count, 77)
        let long = Array(repeating: "bilateral", count: 120).joined(separator: " ")
        let w = try CLI.run(["tokenize", "--model", CLI.sd1.path, long])
        XCTAssertEqual(w.status, 0)
        XCTAssertEqual(w.stderrLines.count, 1, w.stderr)
        XCTAssertTrue(w.stderr.hasPrefix("cxr-edit: warning: "), w.stderr)
        XCTAssertTrue(w.stderr.contains("77"), w.stderr)

        let out = try CLI.tempDir(self)
        CLI.assertFails(
            try CLI.run(["tokenize", "--model", out.path, "x"]), matches: ["tokenizer"], "model without tokenizer")
        let model = try CLI.modelCopy(self)
        try Data("{\"a\": ".utf8).write(to: model.appendingPathComponent("tokenizer/vocab.json"))
        CLI.assertFails(
            try CLI.run(["tokenize", "--model", model.path, "x"]), matches: ["vocab.json"], "broken vocab.json")
        try FileManager.default.removeItem(at: model.appendingPathComponent("tokenizer/merges.txt"))
        CLI.assertFails(
            try CLI.run(["tokenize", "--model", model.path, "x"]), matches: ["tokenizer"], "missing merges.txt")
    }

    func testEditWarnsOnLongPrompt() throws {
        let out = try CLI.tempDir(self)
        let long = Array(repeating: "opacity", count: 100).joined(separator: " ")
        let r = try CLI.run([
            "edit", grey8, "--model", CLI.sd1.path, "--prompt", long, "--steps", "2", "--quiet",
            "-o", out.appendingPathComponent("o.png").path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stderrLines.filter { $0.hasPrefix("cxr-edit: warning: ") }.count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("tokens"), r.stderr)
    }

    func testProvenanceErrors() throws {
        CLI.assertFails(
            try CLI.run(["provenance", CLI.bad.appendingPathComponent("ok/grey8.png").path]),
            matches: ["grey8.png", "no cxr-edit provenance"], "a PNG not written by cxr-edit")
        CLI.assertFails(
            try CLI.run(["provenance", CLI.bad.appendingPathComponent("ok/flat.jpg").path]),
            matches: ["flat.jpg", "not a PNG"], "a JPEG")
        CLI.assertFails(try CLI.run(["provenance", "/nonexistent/x.png"]), matches: ["x.png"], "missing file")
        CLI.assertFails(
            try CLI.run(["provenance", CLI.fixtures.appendingPathComponent("imaging/bad/truncated.png").path]),
            matches: ["truncated.png"], "truncated PNG")
    }
}
