import CXRImaging
import Foundation
import XCTest

/// `--json` outputs of commands, pinned by the bytes the command wrote while it built them as dictionaries
/// (Tests/Fixtures/cli): scripts that read them, or compare them, see the same text after they are typed. Outputs
/// with measured figures (fits, edits) compare their numbers within 2% (`assertSameJSON`).
final class CommandJSONOutputTests: XCTestCase {
    func testExplainListJSON() throws {
        let r = try CLI.run(["explain", "--list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try Self.fixture("explain-list.json"))
    }

    /// Seeds above Int64's range are written exactly; the output paths (slashes escaped) and the seconds, which
    /// differ from run to run, are replaced by `OUT` and `SECONDS` on both sides.
    func testGenerateJSON() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("cxr-generate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        let r = try CLI.run([
            "generate", "--model", CLI.sd1.path, "--prompt", #"Large "right" effusion / test"#,
            "--steps", "2", "--seed", "18446744073709551615", "--count", "2",
            "-o", out.appendingPathComponent("a.png").path, "--json", "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let stdout = Self.maskingSeconds(r.stdout.replacingOccurrences(of: Self.escaped(out), with: "OUT"))
        XCTAssertEqual(stdout, try Self.fixture("generate.json"))
    }

    /// A batch edit: written rows (with null edits and seconds), then skipped ones with and without null edits.
    /// Inputs, outputs and seconds are replaced by `IN`, `OUT` and `SECONDS` on both sides.
    func testBatchEditJSON() throws {
        let out = try CLI.tempDir(self).appendingPathComponent("out")
        let inputs = ["grey8.png", "grey16.png"].map { CLI.bad.appendingPathComponent("ok/\($0)").path }
        let args =
            ["edit"] + inputs + [
                "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps", "2",
                "--out-dir", out.path, "--seeds", "0,18446744073709551615", "--json", "--quiet",
            ]
        var printed = ""
        for more in [["--null-edits"], ["--null-edits"], []] {
            let r = try CLI.run(args + more)
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        printed = Self.maskingSeconds(
            printed.replacingOccurrences(of: Self.escaped(out), with: "OUT")
                .replacingOccurrences(of: Self.escaped(CLI.bad.appendingPathComponent("ok")), with: "IN"))
        XCTAssertEqual(printed, try Self.fixture("edit-batch.json"))
    }

    /// Every text chunk, the last of a repeated key, exact (control characters escaped by JSON, not the terminal).
    func testProvenanceJSON() throws {
        let url = try CLI.tempDir(self).appendingPathComponent("p.png")
        let image = try RasterImage(width: 2, height: 2, channels: 1, bitDepth: 8, samples: [0, 64, 128, 255])
        let text: [(key: String, value: String)] = [
            ("Software", "cxr-edit test"), ("cxr-edit:mode", "edit"), ("cxr-edit:model", "/models/sd1 (tiny)"),
            ("cxr-edit:prompt", "first"), ("cxr-edit:prompt", "a / \"b\"\r\n\u{1B}[31m"), ("Source", "synthétique"),
            ("cxr-edit:x:Zeta", "1"), ("cxr-edit:x:alpha", "2"), ("Comment", "\u{7}tab\tend"),
        ]
        try ImageIO.writePNG(image, to: url, text: text, overwrite: true)
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, try Self.fixture("provenance.json"))
    }

    /// `explain --json` without an image, with one (a segmented and a weak template fit, kept regions), and for a
    /// prompt alone.
    func testExplainJSON() throws {
        let sample = RegionalEditTests.sample.path
        let grey8 = CLI.bad.appendingPathComponent("ok/grey8.png").path
        var printed = ""
        for args in [
            ["--add", "pleural effusion", "--side", "right", "--severity", "large", "--keep-region", "heart"],
            [sample, "--add", "cardiomegaly", "--region", "auto", "--dilate", "12"],
            [
                sample, "--remove", "PTX", "--side", "left", "--prompt", "PA chest x-ray", "--negative-prompt",
                "blurry / noisy", "--keep-region", "heart",
            ],
            ["--prompt", "Cardiomegaly."],
            [grey8, "--prompt", "x", "--region", "heart"],
        ] {
            let r = try CLI.run(["explain"] + args + ["--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        try Self.assertSameJSON(printed, fixture: "explain.json")
    }

    /// `regions --json` with named regions and an exported mask, the default drawing, and a weak template fit.
    /// The temporary folder is `OUT` on both sides.
    func testRegionsJSON() throws {
        let out = try CLI.tempDir(self)
        let sample = RegionalEditTests.sample.path
        var printed = ""
        for args in [
            [
                sample, "--region", "right-lower-zone,heart", "--dilate", "4", "-o",
                out.appendingPathComponent("r.png").path,
                "--export-mask", out.appendingPathComponent("m.png").path,
            ],
            [sample, "-o", out.appendingPathComponent("d.png").path],
            [CLI.bad.appendingPathComponent("ok/grey8.png").path, "-o", out.appendingPathComponent("g.png").path],
        ] {
            let r = try CLI.run(["regions"] + args + ["--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        try Self.assertSameJSON(
            printed.replacingOccurrences(of: Self.escaped(out), with: "OUT"), fixture: "regions.json")
    }

    /// `info --json` of the three fixture models (`MODELS`) and of a copy with a cxr-edit.json (`OUT`). The machine
    /// (CPU, GEMM kernels) differs from host to host: it is `MACHINE` on both sides.
    func testInfoJSON() throws {
        let copy = try CLI.modelCopy(self)
        try Data(#"{"steps": 33, "guidance": 4.5, "inpaint_unet": "unet"}"#.utf8).write(
            to: copy.appendingPathComponent("cxr-edit.json"))
        let models = CLI.sd1.deletingLastPathComponent()
        var printed = ""
        for model in ["sd1-tiny", "sd1-inpaint-tiny", "sd2-tiny"].map(models.appendingPathComponent) + [copy] {
            let r = try CLI.run(["info", "--json", model.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        printed = printed.replacingOccurrences(of: Self.escaped(models), with: "MODELS")
            .replacingOccurrences(of: Self.escaped(copy.deletingLastPathComponent()), with: "OUT")
            .replacingOccurrences(
                of: #""machine" : \{\n(?:    .*\n)*  \}"#, with: #""machine" : MACHINE"#, options: .regularExpression)
        XCTAssertEqual(printed, try Self.fixture("info.json"))
    }

    /// `bench --json` (all parts but sgemm, then the UNet alone): the keys and the computed work are pinned; the
    /// times, load, memory, thread count and machine differ from run to run and are `N` and `MACHINE` on both sides.
    func testBenchJSON() throws {
        var printed = ""
        for only in ["text,unet,vae-encode,vae-decode", "unet"] {
            let r = try CLI.run([
                "bench", "--model", CLI.sd1.path, "--size", "64", "--steps", "1", "--only", only, "--json",
            ])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        printed = printed.replacingOccurrences(of: Self.escaped(CLI.sd1.deletingLastPathComponent()), with: "MODELS")
            .replacingOccurrences(
                of: #""machine":\{(?:"gemm":\{[^{}]*\}|[^{}])*\}"#, with: #""machine":MACHINE"#,
                options: .regularExpression
            )
            .replacingOccurrences(
                of:
                    #""(load_average|load_s|peak_rss_mb|threads|[a-z_]+_s|[a-z_]+_cpu|[a-z_]+_gflops|unet_peak_fraction)":[0-9.eE+-]+"#,
                with: #""$1":N"#, options: .regularExpression)
        XCTAssertEqual(printed, try Self.fixture("bench.json"))
    }

    /// `bench` says which `--vae-tiling` its VAE figures were measured with, in the JSON and in the text output.
    func testBenchReportsTheVAETilingMode() throws {
        for mode in ["on", "off"] {
            let base = ["bench", "--model", CLI.sd1.path, "--size", "64", "--steps", "1", "--only", "vae-decode"]
            let json = try CLI.run(base + ["--vae-tiling", mode, "--json"])
            XCTAssertEqual(json.status, 0, json.stderr)
            XCTAssertTrue(json.stdout.contains(#""vae_tiling":"\#(mode)""#), json.stdout)
            let text = try CLI.run(base + ["--vae-tiling", mode])
            XCTAssertEqual(text.status, 0, text.stderr)
            XCTAssertEqual(text.stdout.split(separator: "\n").first, "vae_tiling \(mode)", text.stdout)
            XCTAssertTrue(text.stdout.contains("vae_decode_s "), text.stdout)
        }
    }

    /// `edit --dry-run --json` of a finding's extent with a kept region, of a forced weak fit with a null edit, and of
    /// a whole-image edit: the findings and the fit under their keys. Paths are `OUT`, `SAMPLES` and `FIXTURES`.
    func testEditDryRunJSON() throws {
        let out = try CLI.tempDir(self)
        let sample = RegionalEditTests.sample
        let grey8 = CLI.bad.appendingPathComponent("ok/grey8.png").path
        var printed = ""
        for args in [
            [sample.path, "--add", "effusion", "--side", "right", "--keep-region", "heart", "-o", "e.png"],
            [
                grey8, "--prompt", "x", "--region", "heart", "--force", "-o", "g.png", "--null-edit",
                out.appendingPathComponent("n.png").path,
            ],
            [grey8, "--prompt", "x", "-o", "w.png"],
        ] {
            let named = args.map {
                $0.hasSuffix(".png") && !$0.contains("/") ? out.appendingPathComponent($0).path : $0
            }
            let r = try CLI.run(["edit"] + named + ["--model", CLI.sd1.path, "--dry-run", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        printed = printed.replacingOccurrences(of: Self.escaped(out), with: "OUT")
            .replacingOccurrences(of: Self.escaped(sample.deletingLastPathComponent()), with: "SAMPLES")
            .replacingOccurrences(of: Self.escaped(CLI.fixtures), with: "FIXTURES")
        try Self.assertSameJSON(printed, fixture: "edit-dry-run.json")
    }

    /// `edit --json` of one image: a region on a forced weak fit with a null edit (pasted back, so the PSNR outside is
    /// "inf"), a 16-bit whole-image edit with a seed above Int64's range, and a --mask edit. The measured figures
    /// are pinned with the layout (the fixture models' pixels are the same run to run); paths are `OUT` and
    /// `FIXTURES`, seconds `SECONDS`.
    func testEditJSON() throws {
        let out = try CLI.tempDir(self)
        let ok = CLI.bad.appendingPathComponent("ok")
        var printed = ""
        for args in [
            [
                ok.appendingPathComponent("grey8.png").path, "--prompt", "x", "--region", "heart", "--force",
                "--seed", "7", "-o", "r.png", "--null-edit", out.appendingPathComponent("n.png").path,
            ],
            [
                ok.appendingPathComponent("grey16.png").path, "--prompt", "Cardiomegaly.", "--seed",
                "18446744073709551615", "-o", "w.png",
            ],
            [
                ok.appendingPathComponent("grey8.png").path, "--prompt", "x", "--mask",
                ok.appendingPathComponent("mask_right.png").path, "-o", "m.png",
            ],
        ] {
            let named = args.map {
                $0.hasSuffix(".png") && !$0.contains("/") ? out.appendingPathComponent($0).path : $0
            }
            let r = try CLI.run(
                ["edit"] + named + ["--model", CLI.sd1.path, "--steps", "2", "--json", "--quiet"])
            XCTAssertEqual(r.status, 0, r.stderr)
            printed += r.stdout
        }
        printed = Self.maskingSeconds(
            printed.replacingOccurrences(of: Self.escaped(out), with: "OUT")
                .replacingOccurrences(of: Self.escaped(CLI.fixtures), with: "FIXTURES"))
        try Self.assertSameJSON(printed, fixture: "edit.json")
    }

    /// The text byte for byte, except that each number may differ from the fixture's by 2% (plus 1e-6): fit
    /// figures come from thresholded segmenter masks and edit figures from images made through GEMMs, so another
    /// CPU's BLAS kernel (rounding its sums in another order) may move a border pixel or one grey level and the
    /// figures' last digits (SegmenterTests allow a pixel for the same reason). Keys, order, strings, nulls and
    /// the number layout stay exact.
    private static func assertSameJSON(
        _ printed: String, fixture name: String, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        // CXR_EDIT_WRITE_FIXTURES=1 regenerates the fixture from this run (after a deliberate change of output;
        // review the diff before committing it).
        if ProcessInfo.processInfo.environment["CXR_EDIT_WRITE_FIXTURES"] == "1" {
            try printed.write(to: CLI.fixtures.appendingPathComponent("cli/\(name)"), atomically: true, encoding: .utf8)
        }
        let expected = try fixture(name)
        let number = try NSRegularExpression(pattern: #"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"#)
        func split(_ text: String) -> (layout: String, numbers: [Double]) {
            let range = NSRange(text.startIndex..., in: text)
            let numbers = number.matches(in: text, range: range).map {
                Double(String(text[Range($0.range, in: text)!]))!
            }
            return (number.stringByReplacingMatches(in: text, range: range, withTemplate: "#"), numbers)
        }
        let (got, want) = (split(printed), split(expected))
        XCTAssertEqual(got.layout, want.layout, "\(name): keys, strings or layout differ", file: file, line: line)
        guard got.numbers.count == want.numbers.count else { return }
        for (a, b) in zip(got.numbers, want.numbers) where abs(a - b) > 1e-6 + 0.02 * max(abs(a), abs(b)) {
            XCTFail("\(name): \(a) differs from the fixture's \(b) by more than 2%", file: file, line: line)
        }
    }

    private static func fixture(_ name: String) throws -> String {
        try String(contentsOf: CLI.fixtures.appendingPathComponent("cli/\(name)"), encoding: .utf8)
    }

    /// Wall times vary from run to run: every `"seconds":` value reads `SECONDS` on both sides.
    private static func maskingSeconds(_ text: String) -> String {
        text.replacingOccurrences(
            of: #""seconds":[0-9.eE+-]+"#, with: #""seconds":SECONDS"#, options: .regularExpression)
    }

    /// A path as JSONSerialization writes it by default (slashes escaped).
    private static func escaped(_ url: URL) -> String { url.path.replacingOccurrences(of: "/", with: #"\/"#) }
}
