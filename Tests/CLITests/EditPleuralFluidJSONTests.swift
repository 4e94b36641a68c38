import CXRImaging
import Foundation
import XCTest

/// `edit --json` reports the pleural fluid a removed effusion's area followed, as `explain --json` shows it for the
/// same image and options (and provenance records it), and null when nothing was measured.
final class EditPleuralFluidJSONTests: XCTestCase {
    /// The sample with its lower right hemithorax (image left) made opaque, as a large effusion shows.
    static func wetSample(in dir: URL) throws -> URL {
        let sample = try ImageIO.read(RegionalEditTests.sample).toGray()
        let w = sample.width, h = sample.height
        var samples = sample.samples
        for y in (h / 2)..<(h * 9 / 10) { for x in 0..<(w * 45 / 100) { samples[y * w + x] = 255 } }
        let wet = dir.appendingPathComponent("wet.png")
        try ImageIO.writePNG(
            try RasterImage(width: w, height: h, channels: 1, bitDepth: 8, samples: samples), to: wet)
        return wet
    }

    static func object(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func testRemovedEffusionReportsTheMeasuredFluid() throws {
        let out = try CLI.tempDir(self)
        let wet = try Self.wetSample(in: out)
        let finding = ["--remove", "pleural effusion", "--side", "right"]
        let edit = try CLI.run(
            ["edit", wet.path] + finding + [
                "--model", CLI.sd1.path, "--steps", "2", "-o", out.appendingPathComponent("dry.png").path, "--json",
                "--quiet",
            ])
        XCTAssertEqual(edit.status, 0, edit.stderr)
        let explain = try CLI.run(["explain", wet.path] + finding + ["--json"])
        XCTAssertEqual(explain.status, 0, explain.stderr)

        let reported = try XCTUnwrap(try Self.object(edit.stdout)["pleural_fluid"] as? [[String: Any]], edit.stdout)
        let shown = try XCTUnwrap(try Self.object(explain.stdout)["pleural_fluid"] as? [[String: Any]], explain.stdout)
        XCTAssertEqual(reported.count, 1)
        XCTAssertEqual(reported.first?["side"] as? String, "right")
        XCTAssertEqual(reported as NSArray, shown as NSArray, "the fluid explain shows for the same image and options")
        let level = try XCTUnwrap(reported.first?["level"] as? Double)
        let opacity = try XCTUnwrap(reported.first?["opacity"] as? Double)
        let provenance = try CLI.run(["provenance", out.appendingPathComponent("dry.png").path])
        XCTAssertTrue(provenance.stdout.contains("pleural-fluid"), provenance.stdout)
        let recorded = String(
            format: "right: lung opacity %.2f, fluid from %.0f%% of the lung height", opacity, level * 100)
        XCTAssertTrue(provenance.stdout.contains(recorded), provenance.stdout)
    }

    func testNullWhenNothingWasMeasured() throws {
        let out = try CLI.tempDir(self)
        for args in [
            [RegionalEditTests.sample.path, "--add", "pleural effusion", "--side", "right"],
            [RegionalEditTests.sample.path, "--prompt", "Cardiomegaly.", "--global"],
        ] {
            let r = try CLI.run(
                ["edit"] + args + [
                    "--model", CLI.sd1.path, "--steps", "2", "-o", out.appendingPathComponent("o.png").path,
                    "--overwrite", "--json", "--quiet",
                ])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(try Self.object(r.stdout)["pleural_fluid"] is NSNull, r.stdout)
        }
    }
}
