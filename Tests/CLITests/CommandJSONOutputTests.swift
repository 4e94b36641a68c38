import CXRImaging
import Foundation
import XCTest

/// `--json` outputs of commands, pinned by the bytes the command wrote while it built them as dictionaries
/// (Tests/Fixtures/cli): scripts that read them, or compare them, see the same text after they are typed.
final class CommandJSONOutputTests: XCTestCase {
    func testExplainListJSON() throws {
        let r = try CLI.run(["explain", "--list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(
            r.stdout,
            try String(
                contentsOf: CLI.fixtures.appendingPathComponent("cli/explain-list.json"),
                encoding: .utf8))
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
        let escapedOut = out.path.replacingOccurrences(of: "/", with: #"\/"#)
        let stdout = r.stdout.replacingOccurrences(of: escapedOut, with: "OUT")
            .replacingOccurrences(
                of: #""seconds":[0-9.eE+-]+"#, with: #""seconds":SECONDS"#,
                options: .regularExpression)
        XCTAssertEqual(
            stdout,
            try String(
                contentsOf: CLI.fixtures.appendingPathComponent("cli/generate.json"),
                encoding: .utf8))
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
        func escaped(_ url: URL) -> String { url.path.replacingOccurrences(of: "/", with: #"\/"#) }
        printed = printed.replacingOccurrences(of: escaped(out), with: "OUT")
            .replacingOccurrences(of: escaped(CLI.bad.appendingPathComponent("ok")), with: "IN")
            .replacingOccurrences(
                of: #""seconds":[0-9.eE+-]+"#, with: #""seconds":SECONDS"#,
                options: .regularExpression)
        XCTAssertEqual(
            printed,
            try String(
                contentsOf: CLI.fixtures.appendingPathComponent("cli/edit-batch.json"),
                encoding: .utf8))
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
        XCTAssertEqual(
            r.stdout,
            try String(
                contentsOf: CLI.fixtures.appendingPathComponent("cli/provenance.json"),
                encoding: .utf8))
    }
}
