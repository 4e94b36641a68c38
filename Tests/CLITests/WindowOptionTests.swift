import CXRImaging
import Foundation
import XCTest

/// `--window N|minmax` on the commands that read an input image (edit, regions, explain, probe, synthesize; the
/// run specs' `window:`): the chosen window is
/// what the command sees, the output's provenance records it and its regeneration command repeats it, and a
/// window the file lacks (or --window on a PNG) is one line, exit 1, nothing written.
final class WindowOptionTests: XCTestCase {
    static let dicom = CLI.fixtures.appendingPathComponent("dicom")
    static let cr12 = dicom.appendingPathComponent("cr12_explicit.dcm").path

    func testEditRecordsTheChosenWindowAndRegeneratesWithIt() throws {
        let out = try CLI.tempDir(self)
        let png = out.appendingPathComponent("window2.png")
        let r = try CLI.run([
            "edit", Self.cr12, "--window", "2", "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.",
            "--steps", "2", "-o", png.path, "--quiet",
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = Dictionary(try ImageIO.readText(png).map { ($0.key, $0.value) }) { first, _ in first }
        XCTAssertEqual(text["cxr-edit:x:window"], "window 2 of 2: center 2000 width 3000")
        XCTAssertTrue(text["cxr-edit:x:command"]?.contains(" --window 2 ") == true, text["cxr-edit:x:command"] ?? "")
        // Without --window the default is recorded all the same, and the command has no --window.
        let plain = out.appendingPathComponent("default.png")
        XCTAssertEqual(
            try CLI.run([
                "edit", Self.cr12, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.",
                "--steps", "2", "-o", plain.path, "--quiet",
            ]).status, 0)
        let plainText = Dictionary(try ImageIO.readText(plain).map { ($0.key, $0.value) }) { first, _ in first }
        XCTAssertEqual(plainText["cxr-edit:x:window"], "window 1 of 2: center 3000 width 5000")
        XCTAssertFalse(plainText["cxr-edit:x:command"]?.contains("--window") ?? true)
    }

    func testAWindowTheInputLacksIsRefusedBeforeAnythingIsWritten() throws {
        let out = try CLI.tempDir(self)
        for output in ["o.png", "o.dcm"] {
            let r = try CLI.run([
                "edit", Self.cr12, "--window", "3", "--model", CLI.sd1.path, "--prompt", "x",
                "--steps", "2", "-o", out.appendingPathComponent(output).path, "--quiet",
            ])
            CLI.assertFails(
                r, matches: ["cr12_explicit.dcm", "window 3", "has 2", "choose 1-2"], dir: out, before: [],
                "edit --window 3 -o \(output)")
        }
        let png = CLI.fixtures.appendingPathComponent("dicom/cr12_dcm2pnm.png").path
        CLI.assertFails(
            try CLI.run([
                "edit", png, "--window", "1", "--model", CLI.sd1.path, "--prompt", "x",
                "--steps", "2", "-o", out.appendingPathComponent("o.png").path, "--quiet",
            ]),
            matches: ["cr12_dcm2pnm.png", "not a DICOM file"], dir: out, before: [], "PNG input")
        CLI.assertFails(
            try CLI.run([
                "regions", Self.cr12, "--window", "9",
                "-o", out.appendingPathComponent("r.png").path,
            ]),
            matches: ["window 9", "has 2"], dir: out, before: [], "regions --window 9")
        CLI.assertFails(
            try CLI.run([
                "explain", Self.dicom.appendingPathComponent("sc8.dcm").path, "--window", "1",
                "--add", "effusion",
            ]),
            matches: ["sc8.dcm", "no window or VOI LUT"], "explain, file without windows")
    }

    /// A DICOM input probed with a window is the picture `edit --window` edits: the probe's counterfactual is the
    /// edit's, pixel for pixel, whether the window comes from the spec's `window:` or from `probe --window` (which
    /// overrides the spec's), and its provenance names the window as the edit's does.
    func testProbeWithAWindowEditsThePicturesOfEditWithThatWindow() throws {
        let dir = try CLI.tempDir(self)
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        let image = inputs.appendingPathComponent("cr12.dcm")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: Self.cr12), to: image)
        func probe(specWindow: String, arguments: [String]) throws -> (image: RasterImage, window: String?) {
            let spec = dir.appendingPathComponent("s-\(specWindow).yaml")
            try """
            inputs: in
            window: \(specWindow)
            edits: [{name: heart, prompt: "Cardiomegaly."}]
            strengths: [0.5]
            seeds: [3]
            steps: 2
            guidance: 4
            classifiers: [demo]
            """.write(to: spec, atomically: true, encoding: .utf8)
            let run = dir.appendingPathComponent("run-\(specWindow)")
            let p = try CLI.run(
                ["probe", "--spec", spec.path, "--out", run.path, "--model", CLI.sd1.path, "--quiet"] + arguments)
            XCTAssertEqual(p.status, 0, p.stderr)
            let line = try String(contentsOf: run.appendingPathComponent("results.jsonl"), encoding: .utf8)
            let row = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            XCTAssertEqual(row["window"] as? String, "2", "the row says which window the input was read with")
            let output = run.appendingPathComponent(try XCTUnwrap(row["output"] as? String))
            let text = Dictionary(try ImageIO.readText(output).map { ($0.key, $0.value) }) { first, _ in first }
            return (try ImageIO.read(output), text["cxr-edit:x:window"])
        }
        func edit(_ arguments: [String]) throws -> RasterImage {
            let png = dir.appendingPathComponent("edit\(arguments.joined()).png")
            let r = try CLI.run(
                [
                    "edit", image.path, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--strength", "0.5",
                    "--seed", "3", "--steps", "2", "--guidance", "4", "-o", png.path, "--quiet",
                ] + arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            return try ImageIO.read(png)
        }
        let windowed = try edit(["--window", "2"])
        XCTAssertNotEqual(windowed, try edit([]), "the comparison is not vacuous: window 2 is another picture")
        for (specWindow, arguments) in [("2", [String]()), ("auto", ["--window", "2"]), ("1", ["--window", "2"])] {
            let probed = try probe(specWindow: specWindow, arguments: arguments)
            XCTAssertEqual(
                probed.image, windowed, "window: \(specWindow) \(arguments): the probe edited another picture")
            XCTAssertEqual(probed.window, "window 2 of 2: center 2000 width 3000")
        }
    }

    func testRegionsAndExplainTakeTheWindow() throws {
        let out = try CLI.tempDir(self)
        let r = try CLI.run([
            "regions", Self.cr12, "--window", "minmax",
            "-o", out.appendingPathComponent("r.png").path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let e = try CLI.run([
            "explain", Self.dicom.appendingPathComponent("dx14_voilut.dcm").path, "--window", "2",
            "--add", "effusion", "--region", "auto", "--json",
        ])
        XCTAssertEqual(e.status, 0, e.stderr)
        let obj = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(obj?["window"] as? String, "window 2 of 2: center 8000 width 4000")
    }
}
