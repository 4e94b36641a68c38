import Foundation
import XCTest

/// `edit --dry-run` runs the real edit's checks (input, mask, region fit, output paths) and describes the area the
/// run would repaint; options the run would ignore or refuse are refused by both.
final class EditDryRunTests: XCTestCase {
    let sample = RegionalEditTests.sample

    func testDryRunDescribesThePlacedAreaAndWritesNothing() throws {
        let dir = try CLI.tempDir(self, "edit-dry")
        let out = dir.appendingPathComponent("out.png")
        let text = try CLI.run([
            "edit", sample.path, "--model", CLI.sd1.path, "--add", "effusion", "--side", "right",
            "-o", out.path, "--dry-run",
        ])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("right-cp-angle + right-lower-zone"), text.stdout)
        XCTAssertTrue(text.stdout.contains("atlas fit score"), text.stdout)
        XCTAssertTrue(text.stdout.contains("output:          \(out.path)"), text.stdout)

        let json = try CLI.run([
            "edit", sample.path, "--model", CLI.sd1.path, "--add", "effusion", "--side", "right",
            "-o", out.path, "--dry-run", "--json",
        ])
        XCTAssertEqual(json.status, 0, json.stderr)
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(obj["dry_run"] as? Bool, true)
        XCTAssertEqual(obj["area"] as? String, "extents")
        XCTAssertEqual(obj["output"] as? String, out.path)
        let fraction = try XCTUnwrap(obj["edit_fraction"] as? Double)
        XCTAssertTrue(fraction > 0.02 && fraction < 0.5, "a one-sided effusion repaints part of the image: \(fraction)")
        XCTAssertNotNil((obj["fit"] as? [String: Any])?["score"])

        // --mask: the area is the mask's, not "whole image".
        let mask = dir.appendingPathComponent("m.png")
        try FileManager.default.copyItem(at: sample, to: mask)
        let masked = try CLI.run([
            "edit", sample.path, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.",
            "--mask", mask.path, "-o", out.path, "--dry-run",
        ])
        XCTAssertEqual(masked.status, 0, masked.stderr)
        XCTAssertTrue(masked.stdout.contains("edit region:     the white pixels of \(mask.path)"), masked.stdout)
        XCTAssertFalse(masked.stdout.contains("whole image"), masked.stdout)
        XCTAssertEqual(CLI.listing(dir), ["m.png"], "a dry run wrote something")
    }

    func testDryRunRefusesWhatTheRunRefuses() throws {
        let dir = try CLI.tempDir(self, "edit-dry-refuse")
        let existing = dir.appendingPathComponent("exists.png")
        try FileManager.default.copyItem(at: sample, to: existing)
        let mask = dir.appendingPathComponent("m.png")
        try FileManager.default.copyItem(at: sample, to: mask)
        let base = ["edit", sample.path, "--model", CLI.sd1.path]
        let cases: [(String, [String], [String])] = [
            ("existing output", ["--add", "effusion", "-o", existing.path], ["exists"]),
            ("no prompt", ["-o", dir.appendingPathComponent("a.png").path], ["say what to change"]),
            (
                "mask and region",
                [
                    "--add", "effusion", "--region", "heart", "--mask", mask.path,
                    "-o", dir.appendingPathComponent("b.png").path,
                ], ["--region or --mask"]
            ),
            (
                "source prompt without invert",
                [
                    "--add", "effusion", "--source-prompt", "Normal chest.",
                    "-o", dir.appendingPathComponent("c.png").path,
                ], ["--invert"]
            ),
        ]
        for (name, args, matches) in cases {
            for dry in [true, false] {
                let r = try CLI.run(base + args + (dry ? ["--dry-run"] : ["--steps", "2"]))
                CLI.assertFails(
                    r, matches: matches, dir: dir, before: ["exists.png", "m.png"],
                    "\(name)\(dry ? " (dry run)" : "")")
            }
        }
    }
}
