import CXRImaging
import Foundation
import XCTest

/// `--add/--remove` edit where the finding lives (its extent, fitted to the image) unless --global; --null-edit
/// writes the matched null edit beside the edit.
final class RegionalEditTests: XCTestCase {
    static let sample = CLI.testsDir.deletingLastPathComponent().appendingPathComponent("Samples/nih_00027426_000.png")

    func provenance(_ url: URL) throws -> [String: String] {
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
    }

    func json(_ r: CLI.Result) throws -> [String: Any] {
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stdout.split(separator: "\n").last)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    func testFindingsEditTheirExtentAndNullEditMatches() throws {
        let out = try CLI.tempDir(self)
        let edit = out.appendingPathComponent("e.png"), null = out.appendingPathComponent("n.png")
        let r = try CLI.run([
            "edit", Self.sample.path, "--model", CLI.sd1.path, "--add", "pleural effusion", "--side", "right",
            "--severity", "large", "--steps", "3", "--seed", "5", "-o", edit.path, "--null-edit", null.path,
            "--json", "--quiet",
        ])
        let o = try json(r)
        XCTAssertEqual(o["area"] as? String, "extents")
        XCTAssertEqual(o["mode"] as? String, "inpaint")
        XCTAssertEqual(o["strength"] as? Double, 0.8, "regional default strength")
        XCTAssertEqual(o["changed_fraction_outside"] as? Double, 0, "bit-exact beyond the margin")
        XCTAssertLessThan(try XCTUnwrap(o["repainted_fraction"] as? Double), 0.4)
        let findings = try XCTUnwrap(o["findings"] as? [String: Any])
        XCTAssertEqual(
            findings["edit_regions"] as? [String], ["right-cp-angle", "right-lower-zone", "right-middle-zone"])
        let n = try XCTUnwrap(o["null_edit"] as? [String: Any])
        XCTAssertEqual(n["prompt"] as? String, "Frontal chest radiograph.")
        // The default --detail difference builds the edit as input + (edit - null edit): the null edit is the input.
        XCTAssertEqual(n["psnr_db"] as? String, "inf")
        XCTAssertEqual(n["sharpness_ratio"] as? Double, 1)
        XCTAssertEqual(try ImageIO.read(null).samples, try ImageIO.read(Self.sample).toGray().samples)
        XCTAssertEqual(n["repainted_fraction"] as? Double, o["repainted_fraction"] as? Double, "same region")

        let pe = try provenance(edit), pn = try provenance(null)
        XCTAssertEqual(pe["cxr-edit:x:area"], "extents")
        XCTAssertEqual(pe["cxr-edit:x:regions"], "right-cp-angle+right-lower-zone+right-middle-zone(grow 18)")
        XCTAssertEqual(pe["cxr-edit:x:detail"], "difference")
        XCTAssertEqual(pe["cxr-edit:x:null-prompt"], "Frontal chest radiograph.")
        XCTAssertEqual(pe["cxr-edit:x:input-sha256"], try SHA256.hex(ofFileAt: Self.sample))
        XCTAssertNotNil(pe["cxr-edit:x:atlas-fit-score"])
        XCTAssertEqual(pn["cxr-edit:mode"], "null-edit")
        XCTAssertEqual(pn["cxr-edit:prompt"], "Frontal chest radiograph.")
        XCTAssertEqual(pn["cxr-edit:x:null-edit-of"], "e.png")
        XCTAssertTrue(pn["Source"]?.contains("synthetic") == true)
        for key in [
            "cxr-edit:seed", "cxr-edit:strength", "cxr-edit:mask-sha256", "cxr-edit:x:regions", "cxr-edit:x:margin",
        ] {
            XCTAssertEqual(pn[key], pe[key], key)
        }
        // The prompts differ, so the repainted pixels do; the report says how many.
        XCTAssertGreaterThan(try XCTUnwrap(n["difference_from_edit"] as? Double), 0)
    }

    /// `--detail on` (the detail transfer) and `off` still re-render the region: their null edits differ from the
    /// input inside it, and the difference is what `--detail difference` cancels.
    func testDetailOnAndOffKeepTheRenderedNullEdit() throws {
        let out = try CLI.tempDir(self)
        for mode in ["on", "off"] {
            let null = out.appendingPathComponent("n-\(mode).png")
            let r = try CLI.run([
                "edit", Self.sample.path, "--model", CLI.sd1.path, "--add", "cardiomegaly", "--steps", "3",
                "--detail", mode, "-o", out.appendingPathComponent("e-\(mode).png").path, "--null-edit", null.path,
                "--json", "--quiet",
            ])
            let n = try XCTUnwrap(try json(r)["null_edit"] as? [String: Any])
            XCTAssertNotNil(n["psnr_db"] as? Double, mode)
            XCTAssertNotEqual(try ImageIO.read(null).samples, try ImageIO.read(Self.sample).toGray().samples, mode)
            XCTAssertEqual(try provenance(null)["cxr-edit:x:detail"], mode)
        }
    }

    func testGlobalAndPromptOnlyEditTheWholeImage() throws {
        let out = try CLI.tempDir(self)
        for (args, name) in [
            (["--add", "cardiomegaly", "--global"], "g.png"), (["--prompt", "Cardiomegaly."], "p.png"),
        ] {
            let r = try CLI.run(
                [
                    "edit", Self.sample.path, "--model", CLI.sd1.path, "--steps", "3", "--json", "--quiet",
                    "-o", out.appendingPathComponent(name).path,
                ] + args)
            let o = try json(r)
            XCTAssertEqual(o["area"] as? String, "whole-image", name)
            XCTAssertEqual(o["mode"] as? String, "edit", name)
            XCTAssertEqual(o["strength"] as? Double, 0.5, name)
            XCTAssertEqual(o["repainted_fraction"] as? Double, 1, name)
            XCTAssertTrue(o["changed_fraction_outside"] is NSNull, name)
        }
        // --unet inpaint needs a region.
        CLI.assertFails(
            try CLI.run([
                "edit", Self.sample.path, "--model", CLI.sd1.path, "--add", "cardiomegaly", "--global",
                "--unet", "inpaint", "-o", out.appendingPathComponent("x.png").path,
            ]),
            matches: ["--unet inpaint"], "--unet inpaint without a region")
    }

    /// A poor atlas fit (here a 64x48 test pattern, score 0.48) refuses region edits unless --force, which records a
    /// warning; `regions` prints the score.
    func testWeakFitNeedsForce() throws {
        let out = try CLI.tempDir(self)
        let input = CLI.bad.appendingPathComponent("ok/grey8.png").path
        let o = out.appendingPathComponent("o.png")
        let args = [
            "edit", input, "--model", CLI.sd1.path, "--add", "cardiomegaly", "--steps", "2", "-o", o.path, "--quiet",
        ]
        CLI.assertFails(
            try CLI.run(args), matches: ["fits this image poorly", "0.48", "--force"], dir: out, before: [],
            "weak fit")
        let forced = try CLI.run(args + ["--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        XCTAssertTrue(forced.stderr.contains("weak atlas fit"), forced.stderr)
        XCTAssertTrue(try provenance(o)["cxr-edit:x:warning"]?.contains("weak atlas fit") == true)
        XCTAssertEqual(
            try CLI.run([
                "edit", input, "--model", CLI.sd1.path, "--add", "cardiomegaly", "--global", "--steps", "2",
                "-o", out.appendingPathComponent("g.png").path, "--quiet",
            ]).status, 0,
            "whole-image edits need no fit")
        let r = try CLI.run(["regions", input, "-o", out.appendingPathComponent("ov.png").path])
        XCTAssertTrue(r.stdout.contains("fit score: 0.476"), r.stdout)
    }
}
