import CXRImaging
import Foundation
import XCTest

/// Conventions users bring from diffusers scripts, stable-diffusion.cpp and AUTOMATIC1111: `--seed -1`, short
/// flags, `--cfg-scale`, a fitted region exported as a mask, the model's default settings in `info`.
final class ConventionTests: XCTestCase {
    static let grey8 = CLI.bad.appendingPathComponent("ok/grey8.png")

    func provenance(_ url: URL) throws -> [String: String] {
        let r = try CLI.run(["provenance", "--json", url.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: String])
    }

    /// `--seed -1` draws a seed, says which, and records it: running again with that seed gives the same image.
    func testRandomSeedIsPrintedRecordedAndReproduces() throws {
        let out = try CLI.tempDir(self)
        let drawn = out.appendingPathComponent("drawn.png"), again = out.appendingPathComponent("again.png")
        let r = try CLI.run([
            "edit", Self.grey8.path, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps",
            "2", "--seed", "-1", "-o", drawn.path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        let line = try XCTUnwrap(r.stderrLines.first { $0.contains("drew seed") }, r.stderr)
        let printed = try XCTUnwrap(line.split(separator: " ").last.map(String.init))
        XCTAssertNotNil(UInt64(printed), line)
        XCTAssertEqual(try provenance(drawn)["cxr-edit:seed"], printed)
        XCTAssertTrue(try provenance(drawn)["cxr-edit:x:command"]?.contains("--seed \(printed) ") == true)
        let r2 = try CLI.run([
            "edit", Self.grey8.path, "--model", CLI.sd1.path, "--prompt", "Cardiomegaly.", "--steps",
            "2", "--seed", printed, "-o", again.path, "--quiet",
        ])
        XCTAssertEqual(r2.status, 0, r2.stderr)
        XCTAssertEqual(try Data(contentsOf: again), try Data(contentsOf: drawn))

        // generate too; other negative seeds stay errors.
        let g = try CLI.run([
            "generate", "--model", CLI.sd1.path, "-p", "Cardiomegaly.", "--steps", "2", "--seed", "-1",
            "-o", out.appendingPathComponent("g.png").path,
        ])
        XCTAssertEqual(g.status, 0, g.stderr)
        let gLine = try XCTUnwrap(g.stderrLines.first { $0.contains("drew seed") }, g.stderr)
        XCTAssertEqual(
            try provenance(out.appendingPathComponent("g.png"))["cxr-edit:seed"],
            gLine.split(separator: " ").last.map(String.init))
        let bad = try CLI.run([
            "edit", Self.grey8.path, "--prompt", "x", "--seed", "-2", "-o",
            out.appendingPathComponent("x.png").path,
        ])
        CLI.assertUsageError(bad, mentions: "--seed", dir: try CLI.tempDir(self, "empty"), "--seed -2")
    }

    /// `-p`, `-n`, `-s` and `--cfg-scale` are the long options under other names: the same file, byte for byte.
    func testShortFlagsAndCfgScaleAreTheLongOptions() throws {
        let out = try CLI.tempDir(self)
        let long = out.appendingPathComponent("long.png"), short = out.appendingPathComponent("short.png")
        let common = ["edit", Self.grey8.path, "--model", CLI.sd1.path, "--steps", "3", "--seed", "7", "--quiet"]
        let a = try CLI.run(
            common + [
                "--prompt", "Cardiomegaly.", "--negative-prompt", "Pleural effusion.",
                "--strength", "0.7", "--guidance", "3.5", "-o", long.path,
            ])
        let b = try CLI.run(
            common + [
                "-p", "Cardiomegaly.", "-n", "Pleural effusion.", "-s", "0.7",
                "--cfg-scale", "3.5", "-o", short.path,
            ])
        XCTAssertEqual(a.status, 0, a.stderr)
        XCTAssertEqual(b.status, 0, b.stderr)
        XCTAssertEqual(try Data(contentsOf: short), try Data(contentsOf: long))
        let p = try provenance(short)
        XCTAssertEqual(
            [p["cxr-edit:negative-prompt"], p["cxr-edit:strength"], p["cxr-edit:guidance"]],
            ["Pleural effusion.", "0.7", "3.5"])
        // The values really arrive: another -s changes the image.
        let other = out.appendingPathComponent("other.png")
        XCTAssertEqual(try CLI.run(common + ["-p", "Cardiomegaly.", "-s", "0.3", "-o", other.path]).status, 0)
        XCTAssertNotEqual(try ImageIO.read(other).samples, try ImageIO.read(short).samples)
    }

    /// `regions --export-mask` writes the fitted region as a binary mask: editing with it as --mask repaints exactly
    /// the area --region repaints (the same pixels, the same recorded area hash).
    func testExportedRegionMaskIsTheRegionEditsArea() throws {
        let out = try CLI.tempDir(self)
        let mask = out.appendingPathComponent("rlz.png")
        let r = try CLI.run([
            "regions", RegionalEditTests.sample.path, "--region", "right-lower-zone", "--dilate", "4",
            "-o", out.appendingPathComponent("overlay.png").path, "--export-mask", mask.path,
        ])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains(mask.path), r.stdout)
        let m = try ImageIO.read(mask)
        XCTAssertEqual([m.width, m.height, m.channels], [512, 512, 1])
        XCTAssertEqual(Set(m.samples), [0, 255], "binary: white = region")
        let white = Double(m.samples.filter { $0 == 255 }.count) / Double(m.samples.count)
        XCTAssertGreaterThan(white, 0.01)
        XCTAssertLessThan(white, 0.2)

        let common = [
            "edit", RegionalEditTests.sample.path, "--model", CLI.sd1.path, "-p", "Right pleural effusion.",
            "--steps", "2", "--seed", "3", "--quiet",
        ]
        let byMask = out.appendingPathComponent("mask.png"), byRegion = out.appendingPathComponent("region.png")
        XCTAssertEqual(try CLI.run(common + ["--mask", mask.path, "-o", byMask.path]).status, 0)
        XCTAssertEqual(
            try CLI.run(common + ["--region", "right-lower-zone", "--dilate", "4", "-o", byRegion.path])
                .status, 0)
        XCTAssertEqual(try ImageIO.read(byMask).samples, try ImageIO.read(byRegion).samples)
        XCTAssertEqual(try provenance(byMask)["cxr-edit:mask-sha256"], try provenance(byRegion)["cxr-edit:mask-sha256"])

        CLI.assertFails(
            try CLI.run([
                "regions", RegionalEditTests.sample.path, "-o",
                out.appendingPathComponent("o2.png").path, "--export-mask",
                out.appendingPathComponent("m2.png").path,
            ]),
            matches: ["--export-mask", "--region"], dir: out, before: CLI.listing(out),
            "--export-mask without --region")
    }

    /// `info` shows the steps and guidance that edit and generate use without --steps/--guidance.
    func testInfoShowsTheModelsDefaultSettings() throws {
        let plain = try CLI.run(["info", CLI.sd1.path])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("defaults: 50 steps, guidance 7.5 (cxr-edit's fallback"), plain.stdout)
        let model = try CLI.modelCopy(self)
        try Data(#"{"steps": 33, "guidance": 4.5}"#.utf8).write(to: model.appendingPathComponent("cxr-edit.json"))
        let r = try CLI.run(["info", model.path])
        XCTAssertTrue(r.stdout.contains("defaults: 33 steps, guidance 4.5 (cxr-edit.json)"), r.stdout)
        let j = try CLI.run(["info", "--json", model.path])
        let obj = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        let defaults = try XCTUnwrap(obj["defaults"] as? [String: Any])
        XCTAssertEqual(defaults["steps"] as? Int, 33)
        XCTAssertEqual(defaults["guidance"] as? Double, 4.5)
        // The values info shows are the ones a run records.
        let out = try CLI.tempDir(self)
        let edited = out.appendingPathComponent("e.png")
        let e = try CLI.run([
            "edit", Self.grey8.path, "--model", model.path, "-p", "Cardiomegaly.", "-o", edited.path,
            "--quiet",
        ])
        XCTAssertEqual(e.status, 0, e.stderr)
        let p = try provenance(edited)
        XCTAssertEqual([p["cxr-edit:steps"], p["cxr-edit:guidance"]], ["33", "4.5"])
    }

    /// `tokenize --tokens` shows the strings behind the ids: the same ids as the plain output, up to the end token,
    /// and strings that spell the (normalised) prompt.
    func testTokenizeShowsTheTokenStrings() throws {
        let prompt = "Small right apical pneumothorax."
        let plain = try CLI.run(["tokenize", "--model", CLI.sd1.path, prompt])
        let r = try CLI.run(["tokenize", "--model", CLI.sd1.path, "--tokens", prompt])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = r.stdout.split(separator: "\n").map { $0.split(separator: "\t", maxSplits: 1).map(String.init) }
        XCTAssertTrue(rows.allSatisfy { $0.count == 2 }, r.stdout)
        let ids = plain.stdout.split(separator: " ").map { String($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        XCTAssertEqual(rows.map { $0[0] }, Array(ids.prefix(rows.count)))
        XCTAssertEqual(rows.first?[1], "<|startoftext|>")
        XCTAssertEqual(rows.last?[1], "<|endoftext|>")
        let spelled = rows.dropFirst().dropLast().map { $0[1] }.joined().replacingOccurrences(of: "</w>", with: " ")
        XCTAssertEqual(spelled.trimmingCharacters(in: .whitespaces), "small right apical pneumothorax .")
    }
}
