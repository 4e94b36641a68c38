import Foundation
import XCTest

/// `probe --dry-run` prints the plan and writes nothing; `--limit N` trims the inputs as `inputs.limit` does.
final class ProbeDryRunTests: XCTestCase {
    func testDryRunPrintsThePlanWritesNothingAndLimitTrims() throws {
        let dir = try CLI.tempDir(self, "dry")
        let inputs = dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
        for name in ["a.png", "b.png", "c.png"] {
            try FileManager.default.copyItem(at: RegionalEditTests.sample, to: inputs.appendingPathComponent(name))
        }
        try """
        inputs: in
        edits:
          - add: effusion
            side: right
          - add: cardiomegaly
        strengths: [0.5, 1.0]
        seeds: [0]
        steps: 4
        guidance: 4
        classifiers: [demo]
        """.write(to: dir.appendingPathComponent("s.yaml"), atomically: true, encoding: .utf8)
        let run = dir.appendingPathComponent("run")
        let base = [
            "probe", "--spec", dir.appendingPathComponent("s.yaml").path, "--out", run.path,
            "--model", CLI.sd1.path, "--dry-run",
        ]
        let r = try CLI.run(base + ["--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let plan = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(plan["counterfactuals"] as? Int, 12)
        XCTAssertEqual(plan["null_edits"] as? Int, 12)
        XCTAssertEqual(plan["denoising_steps"] as? Int, 3 * 2 * (2 + 4) * 2)
        XCTAssertGreaterThan(try XCTUnwrap(plan["estimated_seconds"] as? Double), 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: run.path), "--dry-run created the run directory")

        let limited = try CLI.run(base + ["--json", "--limit", "1"])
        XCTAssertEqual(limited.status, 0, limited.stderr)
        let one = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(one["counterfactuals"] as? Int, 4)

        let text = try CLI.run(base)
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("12 counterfactuals + 12 null edits on 3 images"), text.stdout)
        XCTAssertTrue(text.stdout.contains("estimated time"), text.stdout)

        CLI.assertFails(
            try CLI.run(base + ["--limit", "0"]), matches: ["--limit"], dir: dir,
            before: ["in", "s.yaml"], "--limit 0")
    }
}
