import Foundation
import XCTest

/// Every file of the hostile-input corpora goes through the real binary: exit 1, one line naming the file or the
/// problem, no output, no crash. Corpora: Tests/Fixtures/bad (Tools/make_bad_inputs.py) plus the reader corpora
/// Tests/Fixtures/imaging/bad and Tests/Fixtures/checkpoint/bad.
final class BadCorpusTests: XCTestCase {
    /// Runs a hostile case under issue 18's bar: it must end within 60 s under a 4 GB address-space limit.
    func runHostile(_ args: [String]) throws -> CLI.Result {
        try CLI.run(args, timeout: 60, addressSpaceKiB: 4_000_000)
    }

    /// The one-line contract, or (for "either" cases) success with a written output.
    func check(_ r: CLI.Result, _ c: BadCase, name: String, dir: URL, output: String) {
        // Whatever happens, the next case starts from an empty folder.
        defer { for f in CLI.listing(dir) { try? FileManager.default.removeItem(at: dir.appendingPathComponent(f)) } }
        if c.expect == "either" {
            XCTAssertFalse(r.signaled, "\(name): crashed: \(r.stderr)")
            if r.status == 0 {
                XCTAssertEqual(CLI.listing(dir), [output], "\(name): accepted, so exactly the output must exist")
            } else {
                CLI.assertFails(r, matches: [], dir: dir, before: [], name)
            }
        } else {
            CLI.assertFails(r, matches: c.match, dir: dir, before: [], name)
        }
    }

    func testBadImagesForEdit() throws {
        let out = try CLI.tempDir(self)
        var n = 0
        for (rel, c) in try BadCase.all() where rel.hasPrefix("images/") {
            let r = try runHostile([
                "edit", CLI.bad.appendingPathComponent(rel).path, "--model", CLI.sd1.path,
                "--prompt", "Cardiomegaly.", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ])
            check(r, c, name: rel, dir: out, output: "o.png")
            n += 1
        }
        XCTAssertGreaterThanOrEqual(n, 25)
    }

    func testReaderImagingCorpusThroughEdit() throws {
        let out = try CLI.tempDir(self)
        let dir = CLI.fixtures.appendingPathComponent("imaging/bad")
        let files = CLI.listing(dir).filter { !$0.hasPrefix(".") }
        XCTAssertGreaterThanOrEqual(files.count, 15)
        for f in files {
            let r = try runHostile([
                "edit", dir.appendingPathComponent(f).path, "--model", CLI.sd1.path,
                "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ])
            CLI.assertFails(r, matches: [f], dir: out, before: [], "imaging/bad/\(f)")
        }
    }

    func testBadImagesForProvenance() throws {
        // provenance reads only the chunk structure: broken PNGs are refused, non-PNGs too.
        for (rel, _) in try BadCase.all() where rel.hasPrefix("images/") && rel.hasSuffix(".png") {
            let r = try CLI.run(["provenance", CLI.bad.appendingPathComponent(rel).path])
            XCTAssertFalse(r.signaled, rel)
            XCTAssertEqual(r.status, 1, "\(rel): \(r.stderr)")
            XCTAssertEqual(r.stderrLines.count, 1, "\(rel): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix("cxr-edit: error: "), rel)
        }
    }

    func testBadMasks() throws {
        let out = try CLI.tempDir(self)
        var n = 0
        for (rel, c) in try BadCase.all() where rel.hasPrefix("masks/") {
            let r = try runHostile([
                "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path,
                "--mask", CLI.bad.appendingPathComponent(rel).path, "--model", CLI.sd1.path,
                "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ])
            check(r, c, name: rel, dir: out, output: "o.png")
            n += 1
        }
        XCTAssertGreaterThanOrEqual(n, 6)
    }

    func testBadNoiseArrays() throws {
        let out = try CLI.tempDir(self)
        for (rel, c) in try BadCase.all() where rel.hasPrefix("npy/") {
            for cmd in [["edit", CLI.bad.appendingPathComponent("ok/grey8.png").path], ["generate"]] {
                let r = try runHostile(
                    cmd + [
                        "--noise", CLI.bad.appendingPathComponent(rel).path, "--model", CLI.sd1.path,
                        "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
                    ])
                check(r, c, name: "\(cmd[0]) --noise \(rel)", dir: out, output: "o.png")
            }
        }
    }

    /// Broken configs, tokenizers and hostile pickles, each in a copy of sd1-tiny: `edit` loads everything and
    /// must refuse; `info` reads configs and headers only and must refuse or describe, never crash.
    func testBrokenModelFolders() throws {
        let out = try CLI.tempDir(self)
        let marker = "/tmp/cxr-edit-pwned-marker"
        try? FileManager.default.removeItem(atPath: marker)
        var n = 0
        for (rel, c) in try BadCase.all() {
            guard let target = c.target else { continue }
            let model = try CLI.modelCopy(self)
            let dst = model.appendingPathComponent(target)
            try? FileManager.default.removeItem(at: dst)
            try FileManager.default.copyItem(at: CLI.bad.appendingPathComponent(rel), to: dst)
            if let remove = c.remove { try FileManager.default.removeItem(at: model.appendingPathComponent(remove)) }

            let r = try runHostile([
                "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path,
                "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ])
            check(r, c, name: "edit with \(rel)", dir: out, output: "o.png")

            let info = try CLI.run(["info", model.path])
            XCTAssertFalse(info.signaled, "info with \(rel): crashed")
            if info.status != 0 { CLI.assertFails(info, matches: [], "info with \(rel)") }
            if rel.hasPrefix("weights/") { CLI.assertFails(info, matches: c.match, "info with \(rel)") }
            try FileManager.default.removeItem(at: model.deletingLastPathComponent())
            n += 1
        }
        XCTAssertGreaterThanOrEqual(n, 25)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a pickle was executed")
    }

    /// Tests/Fixtures/checkpoint/bad: every broken safetensors / torch file as the UNet's weights.
    func testReaderCheckpointCorpusAsUNetWeights() throws {
        let out = try CLI.tempDir(self)
        let dir = CLI.fixtures.appendingPathComponent("checkpoint/bad")
        let files = CLI.listing(dir).filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") }
        XCTAssertGreaterThanOrEqual(files.count, 25)
        for f in files {
            let model = try CLI.modelCopy(self)
            let unet = model.appendingPathComponent("unet")
            try FileManager.default.removeItem(at: unet.appendingPathComponent("diffusion_pytorch_model.safetensors"))
            let name = f.hasSuffix(".bin") ? "diffusion_pytorch_model.bin" : "diffusion_pytorch_model.safetensors"
            try FileManager.default.copyItem(at: dir.appendingPathComponent(f), to: unet.appendingPathComponent(name))
            for args in [
                ["info", model.path],
                [
                    "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path, "--prompt", "x",
                    "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
                ],
            ] {
                let r = try CLI.run(args)
                if f == "empty.safetensors" || f.hasPrefix("random") || f.hasPrefix("truncated") || f.hasPrefix("short")
                {
                    CLI.assertFails(r, matches: [name], dir: out, before: [], "\(args[0]) with unet weights \(f)")
                } else if r.status == 0 {
                    XCTFail("\(args[0]) accepted unet weights \(f)")
                } else {
                    // Structurally valid files may fail on a missing tensor instead; still one line, no output.
                    CLI.assertFails(r, matches: [], dir: out, before: [], "\(args[0]) with unet weights \(f)")
                }
            }
            try FileManager.default.removeItem(at: model.deletingLastPathComponent())
        }
    }

    /// Inputs that crashed a fuzzer once (Tests/Fixtures/bad/fuzz-regressions, kept by Tools/fuzz/run.sh), replayed
    /// through the CLI: images to `edit`, JSON as the UNet config, safetensors as the UNet weights.
    func testFuzzRegressionsThroughTheCLI() throws {
        let root = CLI.bad.appendingPathComponent("fuzz-regressions")
        let out = try CLI.tempDir(self)
        for f in CLI.listing(root.appendingPathComponent("fuzz-image")) {
            let r = try runHostile([
                "edit", root.appendingPathComponent("fuzz-image/\(f)").path, "--model", CLI.sd1.path,
                "--prompt", "x", "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ])
            XCTAssertFalse(r.signaled, "fuzz-image/\(f) crashes the CLI")
            if r.status != 0 { CLI.assertFails(r, matches: [], dir: out, before: [], "fuzz-image/\(f)") }
            try? FileManager.default.removeItem(at: out.appendingPathComponent("o.png"))
        }
        for (dir, target) in [
            ("fuzz-json", "unet/config.json"), ("fuzz-safetensors", "unet/diffusion_pytorch_model.safetensors"),
        ] {
            for f in CLI.listing(root.appendingPathComponent(dir)) {
                let model = try CLI.modelCopy(self)
                try FileManager.default.removeItem(at: model.appendingPathComponent(target))
                try FileManager.default.copyItem(
                    at: root.appendingPathComponent("\(dir)/\(f)"), to: model.appendingPathComponent(target))
                for args in [
                    ["info", model.path],
                    [
                        "edit", CLI.bad.appendingPathComponent("ok/grey8.png").path, "--model", model.path, "--prompt",
                        "x",
                        "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
                    ],
                ] {
                    let r = try CLI.run(args)
                    XCTAssertFalse(r.signaled, "\(dir)/\(f) crashes `cxr-edit \(args[0])`")
                    if r.status != 0 { CLI.assertFails(r, matches: [], "\(args[0]) with \(dir)/\(f)") }
                    try? FileManager.default.removeItem(at: out.appendingPathComponent("o.png"))
                }
                try FileManager.default.removeItem(at: model.deletingLastPathComponent())
            }
        }
    }
}
